"""The volunteer service's domain rules, free of storage so they are easy to test and read.

The national rules (MCA Order 67, 2021, 志愿服务记录与证明出具办法) set the tone:
whoever organises an activity records its hours, whoever records certifies,
records are true, accurate, complete and timely, and volunteers can ask for
corrections. What that means here:

* ID numbers (居民身份证号码, GB 11643-1999): 17 digits and a check character
  (ISO 7064 MOD 11-2; X stands for 10); digits 7-14 are the birth date, which
  must equal the birth date given. The number is kept only as a keyed hash
  (for matching) and a masked form (first 6 and last 4 characters).
* Hours are whole minutes (integers; never floats). Times are truncated to the
  minute. Times and dates lie in the years 2000-2100 (birth dates 1900-2100):
  a 400 naming the field otherwise, an import row rejected with that reason.
  A record's service date (服务日期) is the civil date of its start in
  Asia/Shanghai; the 24-hour rule counts the minutes of one volunteer's live
  records by service date, as the national system counts hours per day.
* A record is refused (409 naming what it conflicts with) when its time
  overlaps another live record of the same volunteer (in any team or
  organisation; intervals are half-open, so 09:00-10:00 and 10:00-11:00 do not
  overlap); when the volunteer's minutes on its service date would exceed 24
  hours; when it lies outside the activity's window by more than the
  tolerance; when the volunteer is not registered; when the activity is full.
* Silver-age teams (银龄志愿服务队) take members aged 60 or over on the day they
  join.
* Free text (names, titles, places, notes, reasons, skills) holds no control
  characters; descriptions may break lines (text_problem).
"""
import datetime
import hashlib
import hmac
import re
from zoneinfo import ZoneInfo


from services.common.errors import Conflict, InvalidInput

CHINA = ZoneInfo("Asia/Shanghai")
UTC = datetime.timezone.utc

# --------------------------------------------------------------------------
# Vocabularies

TEAM_KINDS = ("general", "silver_age", "party_member", "youth", "women", "professional")
SILVER_AGE = 60

CATEGORIES = (
    "elderly",               # 为老服务
    "children",              # 儿童关爱
    "disabled",              # 助残服务
    "poverty_relief",        # 帮困救助
    "community_governance",  # 社区治理
    "environment",           # 生态环保
    "culture_education",     # 文化教育
    "health",                # 医疗卫生
    "emergency",             # 应急救援
    "legal_aid",             # 法律援助
    "other",
)

AVAILABILITY = ("weekday_morning", "weekday_afternoon", "weekday_evening",
                "weekend_morning", "weekend_afternoon", "weekend_evening", "holidays")

MEMBER_ROLES = ("member", "leader")

STATUSES = ("recorded", "approved", "rejected")
DAY_MINUTES = 24 * 60
MAX_ACTIVITY_DAYS = 366

# --------------------------------------------------------------------------
# ID numbers (GB 11643-1999)

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"


def normalise_id_number(value):
    return (value or "").strip().upper() if isinstance(value, str) else ""


def id_check_character(first17):
    total = sum(int(d) * w for d, w in zip(first17, _WEIGHTS))
    return _CHECK[total % 11]


def id_number_problem(value):
    """Why `value` is not a valid 18-character ID number, or None."""
    number = normalise_id_number(value)
    if len(number) != 18 or not number[:17].isdigit() or not (number[17].isdigit() or number[17] == "X"):
        return "must be 18 characters: 17 digits and a digit or X"
    if birth_date_of(number) is None:
        return "characters 7-14 must be the birth date (YYYYMMDD)"
    if id_check_character(number[:17]) != number[17]:
        return "check character does not match (GB 11643-1999, ISO 7064 MOD 11-2)"
    return None


def birth_date_of(number):
    """The birth date in characters 7-14 of an ID number, or None."""
    digits = normalise_id_number(number)[6:14]
    try:
        born = datetime.date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
    except (ValueError, IndexError):
        return None
    if born.year < 1900:
        return None
    return born


def hash_id_number(number, key):
    """The keyed hash under which an ID number is matched (HMAC-SHA256, hex)."""
    return hmac.new(key.encode("utf-8"), normalise_id_number(number).encode("ascii"),
                    hashlib.sha256).hexdigest()


def mask_id_number(number):
    number = normalise_id_number(number)
    return number[:6] + "*" * (len(number) - 10) + number[-4:] if len(number) > 10 else "*" * len(number)


# --------------------------------------------------------------------------
# Free text

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")                           # every control character
_CONTROL_BUT_LINES = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")   # all but tab, LF, CR


def text_problem(value, lines=False):
    """Why free text is refused, or None: names, titles, places, notes and
    reasons hold no control characters (no one types them, and an Excel export
    cannot hold most of them); descriptions (`lines`) may hold tabs and line breaks."""
    if (_CONTROL_BUT_LINES if lines else _CONTROL).search(value):
        return "must not contain control characters"
    return None


# --------------------------------------------------------------------------
# Numbers

def volunteer_number(county, seq):
    """V + the 6-digit county code + an 8-digit sequence of that county."""
    return f"V{county}{seq:08d}"


def certificate_number(year, seq):
    return f"ZYZM-{year}-{seq:08d}"


# --------------------------------------------------------------------------
# Ages and teams

def age_on(birth_date, day):
    years = day.year - birth_date.year
    if (day.month, day.day) < (birth_date.month, birth_date.day):
        years -= 1
    return years


def check_member_age(kind, volunteer_number_, birth_date, joined_on):
    """Silver-age teams take members 60 or over on the day they join."""
    if kind != "silver_age":
        return
    age = age_on(birth_date, joined_on)
    if age < SILVER_AGE:
        raise Conflict(
            f"volunteer {volunteer_number_} is {age} on {joined_on.isoformat()}; a silver-age team "
            f"takes members {SILVER_AGE} or over",
            fields={"volunteer_number": [f"under {SILVER_AGE} on the day of joining"]},
            details={"volunteer_number": volunteer_number_, "age": age,
                     "joined_on": joined_on.isoformat()})


# --------------------------------------------------------------------------
# Time

# The years the service's times and dates lie in (birth dates reach back to
# 1900): years 1 and 9999 are valid ISO 8601, but converting between UTC and
# China time, or looking a day either side, would leave Python's calendar.
FIRST_YEAR, LAST_YEAR = 2000, 2100


def years_problem(moment, first=FIRST_YEAR, last=LAST_YEAR):
    """Why a date or time (its year as written) lies outside first-last, or None."""
    return None if first <= moment.year <= last else f"must lie in the years {first}-{last}"


def check_years(**moments):
    """A 400 naming every time outside the service's years: check_years(start=..., end=...)."""
    problems = {name: [problem] for name, moment in moments.items() if (problem := years_problem(moment))}
    if problems:
        raise InvalidInput(f"{', '.join(problems)} must lie in the years {FIRST_YEAR}-{LAST_YEAR}",
                           fields=problems)


def china_date(moment):
    return moment.astimezone(CHINA).date()


def china_today():
    return datetime.datetime.now(CHINA).date()


def to_minute(moment):
    """A timezone-aware time in UTC, truncated to the minute (naive: China time)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=CHINA)
    return moment.astimezone(UTC).replace(second=0, microsecond=0)


def minutes_between(start, end):
    return int((end - start).total_seconds() // 60)


def format_hours(minutes):
    """Minutes as hours with two decimals, rounded half up: 150 -> "2.50", -20 -> "-0.33"."""
    sign = "-" if minutes < 0 else ""
    hundredths = (abs(minutes) * 100 + 30) // 60
    whole, part = divmod(hundredths, 100)
    return f"{sign}{whole}.{part:02d}"


def iso(moment):
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


# --------------------------------------------------------------------------
# Hour records


def check_interval(start, end, now, tolerance_minutes):
    """Shape of one record's time: at least a minute long and not in the future
    (hours are recorded once served; the tolerance allows for clocks)."""
    if end <= start:
        raise InvalidInput("end must be after start (whole minutes)",
                           fields={"end": ["must be after start"]})
    if now is not None and end > now + datetime.timedelta(minutes=tolerance_minutes):
        raise InvalidInput("hours are recorded once served: end is in the future",
                           fields={"end": ["in the future"]})


def check_window(activity, start, end, tolerance_minutes):
    """The record must lie within the activity's window, give or take the tolerance."""
    slack = datetime.timedelta(minutes=tolerance_minutes)
    opens, closes = activity["starts_at"], activity["ends_at"]
    problems = {}
    if start < opens - slack:
        problems["start"] = [f"before the activity starts ({iso(opens)}) by more than "
                             f"{tolerance_minutes} minutes"]
    if end > closes + slack:
        problems["end"] = [f"after the activity ends ({iso(closes)}) by more than "
                           f"{tolerance_minutes} minutes"]
    if problems:
        raise Conflict(
            f"the time lies outside activity {activity['_id']}'s window "
            f"{iso(opens)} - {iso(closes)} (tolerance {tolerance_minutes} minutes)",
            fields=problems,
            details={"activity_id": activity["_id"], "starts_at": iso(opens),
                     "ends_at": iso(closes), "tolerance_minutes": tolerance_minutes})


def overlapping(slots, start, end, exclude=None):
    """The live slots whose time overlaps [start, end) (half-open)."""
    return [s for s in slots if s.get("live", True) and s["_id"] != exclude
            and s["start"] < end and s["end"] > start]


def check_overlap(volunteer_number_, slots, start, end, exclude=None):
    clash = overlapping(slots, start, end, exclude)
    if clash:
        first = min(clash, key=lambda s: s["start"])
        raise Conflict(
            f"volunteer {volunteer_number_} already has record {first['_id']} from "
            f"{iso(first['start'])} to {iso(first['end'])}, which overlaps this time",
            fields={"start": [f"overlaps record {first['_id']}"],
                    "end": [f"overlaps record {first['_id']}"]},
            details={"conflicting_record": first["_id"],
                     "conflicting_records": [s["_id"] for s in sorted(clash, key=lambda s: s["start"])]})


def check_day_total(volunteer_number_, slots, service_date, minutes, exclude=None):
    """At most 24 hours of live records per service date."""
    same_day = [s for s in slots if s.get("live", True) and s["_id"] != exclude
                and s["service_date"] == service_date]
    before = sum(s["minutes"] for s in same_day)
    if before + minutes > DAY_MINUTES:
        ids = [s["_id"] for s in sorted(same_day, key=lambda s: s["start"])]
        named = f"; records that day: {', '.join(ids)}" if ids else ""
        raise Conflict(
            f"volunteer {volunteer_number_} would have {format_hours(before + minutes)} hours on "
            f"{service_date}, more than 24{named}",
            fields={"end": [f"more than 24 hours on {service_date}"]},
            details={"service_date": service_date, "minutes_that_day": before,
                     "minutes": minutes, "conflicting_records": ids,
                     **({"conflicting_record": ids[0]} if ids else {})})


def not_registered(number):
    return Conflict(f"no registered volunteer {number}: register the volunteer first",
                    fields={"volunteer_number": ["not a registered volunteer"]},
                    details={"volunteer_number": number})


def check_capacity(activity, is_new_participant):
    if is_new_participant and activity.get("participants", 0) >= activity["capacity"]:
        raise Conflict(
            f"activity {activity['_id']} is full: {activity['capacity']} volunteers already "
            "have hours there",
            fields={"activity_id": ["at capacity"]},
            details={"activity_id": activity["_id"], "capacity": activity["capacity"]})


def check_record(volunteer_number_, activity, slots, start, end, tolerance_minutes,
                 exclude=None):
    """Every rule a record (or the replacement time of a correction) must meet.

    `slots` are the volunteer's live time slots around the time (see hours.py);
    `exclude` is the slot being replaced by a correction. Returns the minutes.
    """
    check_window(activity, start, end, tolerance_minutes)
    minutes = minutes_between(start, end)
    check_overlap(volunteer_number_, slots, start, end, exclude)
    check_day_total(volunteer_number_, slots, china_date(start).isoformat(), minutes, exclude)
    return minutes


# --------------------------------------------------------------------------
# Totals

LEVELS = ("volunteer", "team", "station", "township", "county", "city", "province")
REGION_LEVELS = {2: "province", 4: "city", 6: "county", 9: "township"}
CHILD_LEVEL = {"province": "city", "city": "county", "county": "township",
               "township": "station", "station": "team", "team": None, "volunteer": None}


def totals_keys(data):
    """(id, level, code, parent) of every total one hours event counts toward.

    A team counts twice: `team:<team>` holds all its hours wherever they were
    served (no parent; the `team_id` question), and `team:<team>@<station>` its
    hours at the activity's station, a child of that station. A team may hold
    activities at stations other than its own (activities.py), so no single
    station is the team's parent."""
    number, team, station = data["volunteer_number"], data["team_id"], data["station_id"]
    township, county, city, province = data["division_code"], data["county"], data["city"], data["province"]
    return [
        (f"volunteer:{number}", "volunteer", number, None),
        (f"team:{team}", "team", team, None),
        (f"team:{team}@{station}", "team", team, station),
        (f"station:{station}", "station", station, township),
        (f"township:{township}", "township", township, county),
        (f"county:{county}", "county", county, city),
        (f"city:{city}", "city", city, province),
        (f"province:{province}", "province", province, None),
    ]


def member_change(old_minutes, delta):
    """(new minutes, change in distinct volunteers) when a volunteer's minutes
    somewhere move by `delta`: a volunteer counts while their minutes are > 0."""
    new = old_minutes + delta
    return new, int(new > 0) - int(old_minutes > 0)
