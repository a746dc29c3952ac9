"""Reading hour-record sheets (CSV or Excel .xlsx) as officers keep them.

Columns (the header row; English or Chinese names, any order, extra columns
ignored):
    volunteer_number  志愿者编号      or  id_number  身份证号 (matched by hash)
    activity_id       活动编号
    start             开始时间
    end               结束时间
    note              备注            (optional)

Times: ISO 8601 (`2026-05-01T09:00:00+08:00`), or without an offset
(`2026-05-01 09:00`, `2026/5/1 9:00`), then China time; Excel date cells too;
in the years 2000-2100 (times.FIRST_YEAR-LAST_YEAR). Notes hold no control
characters. A row breaking either is rejected with its reason.
CSV files may be UTF-8 (with or without BOM) or GB18030/GBK, as Excel saves
them in China. The first non-empty row is the header; empty rows are skipped;
row numbers in the report are the sheet's (the header's is 1 if it is first).

An unreadable file or a missing column is a 400 naming it; more than MAX_ROWS
data rows is a 413 (PayloadTooLarge).
"""
import base64
import binascii
import csv
import datetime
import io
import re

from services.common.clock import CHINA
from services.common.errors import InvalidInput, PayloadTooLarge
from services.volunteer.id_numbers import id_number_problem, normalise_id_number
from services.volunteer.text import text_problem
from services.volunteer.times import years_problem
from services.volunteer.vocabulary import MAX_SHEET_ROWS as MAX_ROWS

XLSX_TYPES = ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",)
CSV_TYPES = ("text/csv", "application/csv", "text/plain", "application/vnd.ms-excel")

HEADERS = {
    "volunteer_number": ("volunteer_number", "志愿者编号", "志愿者号", "志愿者编码"),
    "id_number": ("id_number", "身份证号", "身份证号码", "证件号码", "公民身份号码"),
    "activity_id": ("activity_id", "活动编号", "活动id", "活动编码"),
    "start": ("start", "开始时间", "开始", "服务开始时间"),
    "end": ("end", "结束时间", "结束", "服务结束时间"),
    "note": ("note", "备注", "说明"),
}
_LOOKUP = {name.lower(): key for key, names in HEADERS.items() for name in names}

_TIME = re.compile(
    r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})[ T](\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?"
    r"\s*(Z|[+-]\d{2}:?\d{2})?$")
_NUMBER = re.compile(r"^V\d{14}$")


def _bad_file(message):
    return InvalidInput(message, fields={"file": [message]})


def decode_upload(upload):
    """{"content": base64, "content_type", "filename"} from the gateway -> (bytes, kind)."""
    if not isinstance(upload, dict) or not isinstance(upload.get("content"), str):
        raise _bad_file("send the sheet as the request body or as multipart field `file`")
    try:
        content = base64.b64decode(upload["content"], validate=True)
    except (binascii.Error, ValueError):
        raise _bad_file("the file could not be decoded")
    if not content.strip():
        raise _bad_file("the file is empty")
    content_type = (upload.get("content_type") or "").split(";")[0].strip().lower()
    filename = (upload.get("filename") or "").lower()
    if content[:4] == b"PK\x03\x04" or content_type in XLSX_TYPES or filename.endswith(".xlsx"):
        return content, "xlsx"
    if content_type in CSV_TYPES or filename.endswith(".csv") or not content_type \
            or content_type == "application/octet-stream":
        return content, "csv"
    raise InvalidInput(f"cannot read {content_type}: send text/csv or an .xlsx sheet",
                       fields={"Content-Type": ["text/csv or "
                                                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"]})


def _csv_rows(content):
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = content.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise _bad_file("the CSV file is neither UTF-8 nor GB18030 text")
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    try:
        return [(i, row) for i, row in enumerate(csv.reader(io.StringIO(text), dialect), start=1)]
    except csv.Error as exc:
        raise _bad_file(f"the CSV file is not readable: {exc}")


def _xlsx_rows(content):
    import openpyxl

    try:
        book = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - zipfile, XML and openpyxl errors alike
        raise _bad_file(f"not a readable .xlsx workbook ({type(exc).__name__})")
    try:
        sheet = book.worksheets[0]
        rows = []
        for i, row in enumerate(sheet.iter_rows(values_only=True), start=1):
            rows.append((i, list(row)))
            if len(rows) > MAX_ROWS + 1000:   # far too many; stop reading
                break
        return rows
    finally:
        book.close()


def _blank(value):
    return value is None or (isinstance(value, str) and not value.strip())


def read(content, kind):
    """[(row number, {column: raw value})] of the data rows."""
    rows = _xlsx_rows(content) if kind == "xlsx" else _csv_rows(content)
    rows = [(i, row) for i, row in rows if not all(_blank(v) for v in row)]
    if not rows:
        raise _bad_file("the sheet has no header row")
    header_number, header = rows[0]
    columns = {}
    for position, name in enumerate(header):
        key = _LOOKUP.get(str(name or "").strip().lstrip("\ufeff").lower().replace(" ", ""))
        if key and key not in columns:
            columns[key] = position
    missing = [k for k in ("activity_id", "start", "end") if k not in columns]
    if "volunteer_number" not in columns and "id_number" not in columns:
        missing.insert(0, "volunteer_number")
    if missing:
        raise InvalidInput(
            f"the sheet lacks the column(s) {', '.join(missing)}",
            fields={"file": [f"missing column {m} ({HEADERS[m][1]})" for m in missing]},
            details={"missing_columns": missing,
                     "accepted_headers": {k: list(v) for k, v in HEADERS.items()}})
    data = rows[1:]
    if len(data) > MAX_ROWS:
        raise PayloadTooLarge(
            f"the sheet has more than {MAX_ROWS} rows; split it",
            fields={"file": [f"more than {MAX_ROWS} rows"]}, details={"max_rows": MAX_ROWS})
    out = []
    for number, row in data:
        values = {key: (row[pos] if pos < len(row) else None) for key, pos in columns.items()}
        out.append((number, values))
    return out


def parse_time(value):
    """An aware datetime from a cell (naive: China time), or ValueError."""
    if isinstance(value, datetime.datetime):
        moment = value
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        from openpyxl.utils.datetime import from_excel

        moment = from_excel(value)
        if not isinstance(moment, datetime.datetime):
            raise ValueError("not a date and time")
    elif isinstance(value, str):
        match = _TIME.match(value.strip())
        if not match:
            raise ValueError("not a date and time like 2026-05-01 09:00")
        year, month, day, hour, minute, second, offset = match.groups()
        moment = datetime.datetime(int(year), int(month), int(day), int(hour), int(minute),
                                   int(second or 0))
        if offset:
            if offset == "Z":
                moment = moment.replace(tzinfo=datetime.timezone.utc)
            else:
                sign = 1 if offset[0] == "+" else -1
                digits = offset[1:].replace(":", "")
                delta = datetime.timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
                moment = moment.replace(tzinfo=datetime.timezone(sign * delta))
    else:
        raise ValueError("not a date and time")
    problem = years_problem(moment)
    if problem:
        raise ValueError(problem)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=CHINA)
    return moment


def _text(value):
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def parse_row(values):
    """(item, None) or (None, {field: [problems]}); items carry `id_number`
    instead of `volunteer_number` when the sheet gives only that."""
    problems, item = {}, {}
    number = _text(values.get("volunteer_number"))
    id_number = _text(values.get("id_number"))
    if number:
        if not _NUMBER.match(number):
            problems["volunteer_number"] = ["must be a volunteer number (V + 14 digits)"]
        item["volunteer_number"] = number
    elif id_number:
        problem = id_number_problem(id_number)
        if problem:
            problems["id_number"] = [problem]
        item["id_number"] = normalise_id_number(id_number)
    else:
        problems["volunteer_number"] = ["give volunteer_number or id_number"]
    activity_id = _text(values.get("activity_id"))
    if not activity_id or len(activity_id) > 64:
        problems["activity_id"] = ["required" if not activity_id else "too long"]
    item["activity_id"] = activity_id
    for key in ("start", "end"):
        raw = values.get(key)
        if _blank(raw):
            problems[key] = ["required"]
            continue
        try:
            item[key] = parse_time(raw)
        except (ValueError, OverflowError) as exc:
            problems[key] = [str(exc)]
    if "start" in item and "end" in item and item["end"] <= item["start"]:
        problems["end"] = ["must be after start"]
    note = _text(values.get("note"))
    if len(note) > 500:
        problems["note"] = ["at most 500 characters"]
    elif problem := text_problem(note):
        problems["note"] = [problem]
    item["note"] = note or None
    return (None, problems) if problems else (item, None)
