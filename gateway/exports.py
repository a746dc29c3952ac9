"""CSV and Excel renderings of the rows a service answers for an export.

A service's export RPC answers {"name", "columns": [{"key", "title"}], "rows":
[[...], ...]} (JSON, already masked for the caller); this module turns it into
a download:

* CSV: UTF-8 with a BOM (so Excel in China opens the Chinese headers right),
  CRLF line ends, the column titles as header.
* XLSX: one sheet, a bold frozen header row, written with openpyxl in
  write-only mode.

Text a spreadsheet would take for a formula stays text (CSV injection): in CSV
a cell starting with = + - @, tab or CR is prefixed with a quote; in XLSX such
a cell is written as a string cell, never as a formula. Numbers stay numbers.

XLSX cannot hold control characters other than tab, LF and CR: they are
dropped from the cell (services refuse them in new text; older rows may hold
some), rather than failing the whole download.
"""
import csv
import datetime
import io
from urllib.parse import quote

from flask import Response

CSV_TYPE = "text/csv; charset=utf-8"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value):
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _xlsx_cell(sheet, value):
    if isinstance(value, str):
        from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

        value = ILLEGAL_CHARACTERS_RE.sub("", value)
    if isinstance(value, str) and value.startswith("="):
        from openpyxl.cell import WriteOnlyCell

        cell = WriteOnlyCell(sheet, value=value)
        cell.data_type = "s"   # openpyxl would otherwise store a formula
        return cell
    return value


def _titles(result):
    return [c["title"] for c in result["columns"]]


def to_csv(result):
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(_titles(result))
    for row in result["rows"]:
        writer.writerow(["" if v is None else safe_cell(v) for v in row])
    return "\ufeff" + out.getvalue()


def to_xlsx(result, sheet_title=None):
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    book = Workbook(write_only=True)
    sheet = book.create_sheet(title=(sheet_title or result.get("name") or "export")[:31])
    sheet.freeze_panes = "A2"
    header = []
    for title in _titles(result):
        cell = WriteOnlyCell(sheet, value=title)
        cell.font = Font(bold=True)
        header.append(cell)
    sheet.append(header)
    for row in result["rows"]:
        sheet.append([_xlsx_cell(sheet, v) for v in row])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def download(result, fmt, basename=None):
    """A Flask Response with the rendering and a Content-Disposition to save it."""
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M")
    name = f"{basename or result.get('name') or 'export'}-{stamp}.{fmt}"
    if fmt == "xlsx":
        body, content_type = to_xlsx(result), XLSX_TYPE
    else:
        body, content_type = to_csv(result).encode("utf-8"), CSV_TYPE
    response = Response(body, content_type=content_type)
    response.headers["Content-Disposition"] = (
        f"attachment; filename=\"{name}\"; filename*=UTF-8''{quote(name)}")
    response.headers["X-Row-Count"] = str(len(result["rows"]))
    return response
