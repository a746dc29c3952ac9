"""One sheet row's cells as values, each bad cell with its problem.

Pure functions: `station_row`, `staff_row` and `room_row` take {column key: raw
cell} (text, numbers or dates as openpyxl reads them) and answer (item,
problems, notes). `problems` maps a column key to its messages; a row with
any problem is refused as a whole.

Cells as officers write them: dates `2021-05-01`, `2021/5/1`, `2021.5.1`,
`2021年5月1日`, `20210501` or Excel date cells; populations `12000`, `12,000`,
`12000人` or `1.2万`; codes and phones typed as numbers are read as their
digits. A blank cell is "not given": for a station already registered it
keeps what is stored (an import never clears a value).
"""
import datetime
import re

from services.registry import sheet_format, sheet_history
from services.registry.schemas import CREDIT_CODE
from services.common.schemas import PHONE

_DATE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[ T]0{1,2}:00(?::00)?)?$")
_COMPACT_DATE = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_SEPARATORS = re.compile(r"[;；,，、\s]+")
_POPULATION = re.compile(r"^(\d{1,3}(?:,\d{3})+|\d+)人?$")
_TEN_THOUSANDS = re.compile(r"^(\d+(?:\.\d+)?)万人?$")
_STATION_ID = re.compile(r"^\d{9}-\d{2}$")
_TOWNSHIP_CODE = re.compile(r"^\d{9}$")
_VILLAGE_CODE = re.compile(r"^\d{12}$")
MAX_POPULATION = 5_000_000


def text(value):
    """A cell as stripped text ('' when blank); whole numbers without '.0'."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, datetime.datetime):
        return value.date().isoformat() if value.time() == datetime.time() else value.isoformat(" ")
    if isinstance(value, datetime.date):
        return value.isoformat()
    return str(value).replace("\u3000", " ").strip()


def parse_date(value):
    """A civil date from a cell, or ValueError saying why not."""
    if isinstance(value, datetime.datetime):
        return value.date()     # Excel keeps the date as written, without a zone
    if isinstance(value, datetime.date):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if 19000101 <= value <= 21001231 and float(value).is_integer():
            return parse_date(str(int(value)))
        if 1 <= value < 100_000:
            from openpyxl.utils.datetime import from_excel

            return from_excel(value).date()
        raise ValueError(f"{value} is not a date")
    raw = text(value)
    match = _DATE.match(raw) or _COMPACT_DATE.match(raw)
    if not match:
        raise ValueError(f"{raw!r} is not a date like 2021-05-01")
    try:
        return datetime.date(*(int(g) for g in match.groups()))
    except ValueError:
        raise ValueError(f"{raw!r} is not a date of the calendar") from None


def parse_dates(value):
    """Several dates in one cell (a station suspended twice): [date, ...]."""
    if value is None or isinstance(value, (datetime.date, int, float)):
        return [] if value is None else [parse_date(value)]
    raw = text(value)
    if not raw:
        return []
    try:
        return [parse_date(raw)]
    except ValueError:
        return [parse_date(part) for part in _SEPARATORS.split(raw) if part]


def parse_population(value):
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        number = value
    else:
        raw = text(value).replace(" ", "")
        if match := _POPULATION.match(raw):
            number = int(match[1].replace(",", ""))
        elif match := _TEN_THOUSANDS.match(raw):
            number = float(match[1]) * 10_000
        else:
            raise ValueError(f"{raw!r} is not a number of people")
    if not float(number).is_integer():
        raise ValueError(f"{value!r} is not a whole number of people")
    number = int(number)
    if not 0 <= number <= MAX_POPULATION:
        raise ValueError(f"{number} is not between 0 and {MAX_POPULATION:,}")
    return number


def _control_characters(raw):
    return any(ord(c) < 32 or ord(c) == 127 for c in raw)


class _Row:
    """Collects a row's values and problems."""

    def __init__(self, values):
        self.values = values
        self.item = {}
        self.problems = {}
        self.notes = []

    def problem(self, key, message):
        self.problems.setdefault(key, []).append(message)

    def text(self, key, *, required=False, low=0, high=120, pattern=None, pattern_says=None):
        raw = text(self.values.get(key))
        if not raw:
            if required:
                self.problem(key, "required")
            self.item[key] = None
            return None
        if _control_characters(raw):
            self.problem(key, "holds control characters")
        elif not low <= len(raw) <= high:
            self.problem(key, f"must be {low} to {high} characters")
        elif pattern is not None and not pattern.match(raw):
            self.problem(key, pattern_says)
        self.item[key] = raw
        return raw

    def date(self, key):
        raw = self.values.get(key)
        self.item[key] = None
        if raw is None or not text(raw):
            return None
        try:
            self.item[key] = parse_date(raw)
        except ValueError as exc:
            self.problem(key, str(exc))
        return self.item[key]

    def word(self, key, words, *, required=False, what):
        raw = text(self.values.get(key))
        self.item[key] = None
        if not raw:
            if required:
                self.problem(key, "required")
            return None
        value = sheet_format.value_of(words, raw)
        if value is None:
            accepted = "、".join(names[0] for names in words.values())
            self.problem(key, f"{raw!r} is no {what}: one of {accepted}")
        self.item[key] = value
        return value

    def answer(self):
        return self.item, self.problems, self.notes


def _regex_validator(validator):
    return re.compile(validator.regex.pattern)


_CREDIT = _regex_validator(CREDIT_CODE)
_PHONE = _regex_validator(PHONE)


def _station_key(row, name_key):
    """The columns naming a station's township (all rows) and the station (staff, rooms)."""
    row.text("station_id", high=12, pattern=_STATION_ID,
             pattern_says="must be a station id like 340102001-01")
    row.text("division_code", high=9, pattern=_TOWNSHIP_CODE,
             pattern_says="must be a 9-digit township-level code")
    for key in ("city", "county", "township"):
        row.text(key, high=60)
    if name_key is not None:
        row.text(name_key, low=2, high=120)
    if not (row.item.get("station_id") or row.item.get("division_code") or row.item.get("township")):
        row.problem("division_code" if name_key is None else "station_id",
                    "give the township: its code or its name" if name_key is None else
                    "give the station: its id, or its township and name")
    elif name_key is not None and not row.item.get("station_id") and not row.item.get(name_key):
        row.problem(name_key, "required (or give the station's id)")


def station_row(values, today):
    """A station row: its township, fields, operator and history steps."""
    row = _Row(values)
    _station_key(row, None)
    row.text("name", required=True, low=2, high=120)
    row.text("address", high=300)
    raw = values.get("population_served")
    row.item["population_served"] = None
    if raw is not None and text(raw):
        try:
            row.item["population_served"] = parse_population(raw)
        except ValueError as exc:
            row.problem("population_served", f"malformed population: {exc}")
    row.text("operator_name", low=2, high=120)
    credit = text(values.get("operator_credit_code")).upper()
    row.item["operator_credit_code"] = credit or None
    if credit and not _CREDIT.match(credit):
        row.problem("operator_credit_code", "must be an 18-character unified social credit code")
    start, end = row.date("contract_start"), row.date("contract_end")
    if start and end and end < start:
        row.problem("contract_end", f"before {sheet_format.heading('station', 'contract_start')}")
    if not row.item["operator_name"] and (credit or start or end):
        row.problem("operator_name", "required with the operator's code or contract dates")
    row.text("second_station_reason", low=4, high=300)

    dates = {}
    for field in sheet_history.DATE_FIELDS:
        raw = values.get(field)
        try:
            parsed = parse_dates(raw)
        except ValueError as exc:
            row.problem(field, str(exc))
            continue
        if field in sheet_history.LIST_FIELDS:
            dates[field] = parsed
        elif len(parsed) > 1:
            row.problem(field, "give one date")
        else:
            dates[field] = parsed[0] if parsed else None
    status = row.word("status", sheet_format.STATUS_WORDS, what="station status")
    # The history is judged whatever else is wrong, so the row lists every reason.
    if not set(row.problems) & {*sheet_history.DATE_FIELDS, "status"}:
        steps, problems, notes = sheet_history.steps_from_dates(dates, status, today)
        for key, messages in problems.items():
            for message in messages:
                row.problem(key, message)
        row.notes.extend(notes)
        row.item["steps"] = steps
    return row.answer()


def staff_row(values, today):
    """A staff row: which station, and the person."""
    row = _Row(values)
    _station_key(row, "station_name")
    row.text("staff_id", high=32)
    row.text("person_name", required=True, low=2, high=60)
    row.word("role", sheet_format.ROLE_WORDS, required=True, what="role")
    phone = text(values.get("phone")).replace(" ", "")
    row.item["phone"] = phone or None
    if phone and not _PHONE.match(phone):
        row.problem("phone", "must be a phone number")
    row.word("certification", sheet_format.CERTIFICATION_WORDS, what="certification level")
    since = row.date("since")
    if since and since > today:
        row.problem("since", f"{since.isoformat()} is in the future")
    return row.answer()


def room_row(values, today):
    """A room row: which station, and the room with its village."""
    row = _Row(values)
    _station_key(row, "station_name")
    row.text("room_id", high=32)
    row.word("room_kind", sheet_format.ROOM_KIND_WORDS, required=True, what="room kind")
    row.text("room_name", required=True, low=2, high=120)
    row.text("village_code", high=12, pattern=_VILLAGE_CODE,
             pattern_says="must be a 12-digit village or community committee code")
    row.text("village", high=60)
    if not row.item["village_code"] and not row.item["village"]:
        row.problem("village_code", "give the village or community: its code or its name")
    row.text("address", high=300)
    opened = row.date("opened_on")
    if opened and opened > today:
        row.problem("opened_on", f"{opened.isoformat()} is in the future")
    return row.answer()


PARSERS = {sheet_format.STATION: station_row, sheet_format.STAFF: staff_row,
           sheet_format.ROOM: room_row}
