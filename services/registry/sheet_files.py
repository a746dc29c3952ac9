"""Reading the files of a station import: CSV or Excel, each sheet found by its headings.

An upload is {"content": base64, "content_type", "filename"} (the gateway's, or
`wushe import-stations`'s). A CSV file is one sheet (UTF-8 with or without BOM,
or GB18030/GBK as Excel saves it in China); an .xlsx workbook holds one per
worksheet. In each, the header row is the first of its first ten non-empty
rows that names a station, staff or room sheet (sheet_format.recognise), so a
title row above it is fine; rows are numbered as the sheet numbers them.

A workbook's sheets that are none of the three (a page of notes) are ignored
and listed; a CSV file that is none, a recognised sheet lacking a column, or a
file that cannot be read is a 400 naming it; more than MAX_ROWS data rows in
all is a 413.
"""
import base64
import binascii
import csv
import io
from collections import namedtuple

from services.common.errors import InvalidInput, PayloadTooLarge
from services.registry import sheet_format
from services.registry.schemas import MAX_SHEET_FILES

MAX_ROWS = 30_000
MAX_FILES = MAX_SHEET_FILES
HEADER_SEARCH = 10
XLSX_TYPES = ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",)
CSV_TYPES = ("text/csv", "application/csv", "text/plain", "application/vnd.ms-excel")

# rows: [(row number, {column key: raw cell})]; headings: {key: the heading as written}
Sheet = namedtuple("Sheet", "kind label rows headings")


def _bad_file(label, message):
    return InvalidInput(f"{label}: {message}", fields={"file": [f"{label}: {message}"]},
                        details={"file": label})


def _decode(upload, index):
    label = (upload.get("filename") if isinstance(upload, dict) else None) or f"file {index + 1}"
    if not isinstance(upload, dict) or not isinstance(upload.get("content"), str):
        raise _bad_file(label, "send the sheet as the request body or as a multipart file")
    try:
        content = base64.b64decode(upload["content"], validate=True)
    except (binascii.Error, ValueError):
        raise _bad_file(label, "the file could not be decoded")
    if not content.strip():
        raise _bad_file(label, "the file is empty")
    content_type = (upload.get("content_type") or "").split(";")[0].strip().lower()
    filename = label.lower()
    if content[:4] == b"PK\x03\x04" or content_type in XLSX_TYPES or filename.endswith(".xlsx"):
        return content, "xlsx", label
    if content_type in CSV_TYPES or filename.endswith(".csv") or not content_type \
            or content_type == "application/octet-stream":
        return content, "csv", label
    raise InvalidInput(f"{label}: cannot read {content_type}: send text/csv or an .xlsx workbook",
                       fields={"Content-Type": ["text/csv or application/vnd.openxmlformats-"
                                                "officedocument.spreadsheetml.sheet"]})


def _csv_tables(content, label):
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = content.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise _bad_file(label, "the CSV file is neither UTF-8 nor GB18030 text")
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    try:
        rows = list(enumerate(csv.reader(io.StringIO(text), dialect), start=1))
    except csv.Error as exc:
        raise _bad_file(label, f"the CSV file is not readable: {exc}")
    return [(label, rows)]


def _xlsx_tables(content, label):
    import openpyxl

    try:
        book = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - zipfile, XML and openpyxl errors alike
        raise _bad_file(label, f"not a readable .xlsx workbook ({type(exc).__name__})")
    try:
        tables = []
        for sheet in book.worksheets:
            rows = []
            for number, row in enumerate(sheet.iter_rows(values_only=True), start=1):
                rows.append((number, list(row)))
                if len(rows) > MAX_ROWS + HEADER_SEARCH:   # far too many: stop reading
                    break
            tables.append((f"{label} / {sheet.title}", rows))
        return tables
    finally:
        book.close()


def _blank(value):
    return value is None or (isinstance(value, str) and not value.strip())


def _sheet(label, rows):
    """The table as a Sheet, or None when no header row names a station sheet."""
    rows = [(n, row) for n, row in rows if not all(_blank(v) for v in row)]
    for at, (_, header) in enumerate(rows[:HEADER_SEARCH]):
        found = sheet_format.recognise(header)
        if found is None:
            continue
        kind, columns = found
        missing = sheet_format.missing_columns(kind, columns)
        if missing:
            raise InvalidInput(
                f"{label}: a {kind} sheet lacks the column(s) {', '.join(missing)}",
                fields={"file": [f"{label}: missing column {m}" for m in missing]},
                details={"file": label, "kind": kind, "missing_columns": missing})
        headings = {key: str(header[pos]).strip() for key, pos in columns.items()}
        data = [(n, {key: (row[pos] if pos < len(row) else None) for key, pos in columns.items()})
                for n, row in rows[at + 1:]]
        return Sheet(kind, label, data, headings)
    return None


def read(uploads):
    """(sheets, ignored): the Sheets of every file, and [{sheet, reason}] of workbook
    sheets that are none of the three kinds."""
    if not isinstance(uploads, list) or not uploads:
        raise InvalidInput("send at least one sheet", fields={"file": ["missing"]})
    if len(uploads) > MAX_FILES:
        raise PayloadTooLarge(f"at most {MAX_FILES} files in one import",
                              fields={"file": [f"more than {MAX_FILES} files"]})
    sheets, ignored, total = [], [], 0
    for index, upload in enumerate(uploads):
        content, kind, label = _decode(upload, index)
        tables = _xlsx_tables(content, label) if kind == "xlsx" else _csv_tables(content, label)
        for table_label, rows in tables:
            sheet = _sheet(table_label, rows)
            if sheet is None:
                if kind == "csv":
                    raise _bad_file(label, "no header row names a station, staff or room sheet "
                                           "(see docs/station-sheets.md), e.g. 站点名称 and 乡镇代码")
                if any(not _blank(v) for _, row in rows for v in row):
                    ignored.append({"sheet": table_label, "reason": "no station, staff or room headings"})
                continue
            total += len(sheet.rows)
            if total > MAX_ROWS:
                raise PayloadTooLarge(f"more than {MAX_ROWS} rows in one import; split it",
                                      fields={"file": [f"more than {MAX_ROWS} rows"]},
                                      details={"max_rows": MAX_ROWS})
            sheets.append(sheet)
    if not sheets:
        raise InvalidInput("no sheet of stations, staff or rooms found (see docs/station-sheets.md)",
                           fields={"file": ["no station, staff or room sheet"]},
                           details={"ignored": ignored})
    return sheets, ignored
