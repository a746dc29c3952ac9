"""The supervision rules that need no storage: months and quarters, due times in
China, the rectification lifecycle and its escalation steps, station status on a date.

Every due time is a civil date's last second in China (Asia/Shanghai): month M's
report is due on the 25th of M at 23:59:59 China time, i.e. 15:59:59Z. A report
filed within that second is on time; one filed at 16:00:00Z is late.
"""
import calendar
import datetime
import re

from services.common.clock import CHINA, UTC, china_date
from services.common.errors import Conflict, InvalidInput

MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
QUARTER = re.compile(r"^(\d{4})Q([1-4])$")
ONE_SECOND = datetime.timedelta(seconds=1)

# -- months and quarters ---------------------------------------------------


def parse_month(text, field="month"):
    """(year, month) of "YYYY-MM"; InvalidInput naming `field` otherwise."""
    match = MONTH.match(text or "") if isinstance(text, str) else None
    if not match or not 2000 <= int(match[1]) <= 2100:
        raise InvalidInput(f"{field} must be a month YYYY-MM", fields={field: ["not a month YYYY-MM"]})
    return int(match[1]), int(match[2])


def month_of(day):
    """"2026-11" of a civil date (or of an ISO date string)."""
    if isinstance(day, str):
        day = datetime.date.fromisoformat(day[:10])
    return f"{day.year:04d}-{day.month:02d}"


def china_month(moment):
    """The China month an instant falls in."""
    return month_of(china_date(moment))


def add_months(month, count):
    year, mon = parse_month(month)
    index = year * 12 + (mon - 1) + count
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def months_between(first, last):
    """Every month from `first` to `last`, both included."""
    out, month = [], first
    while month <= last:
        out.append(month)
        month = add_months(month, 1)
    return out


def first_day(month):
    year, mon = parse_month(month)
    return datetime.date(year, mon, 1)


def last_day(month):
    year, mon = parse_month(month)
    return datetime.date(year, mon, calendar.monthrange(year, mon)[1])


def quarter_of(month):
    """"2026Q4" of "2026-11" (or of a date)."""
    if not isinstance(month, str):
        month = month_of(month)
    year, mon = parse_month(month)
    return f"{year}Q{(mon - 1) // 3 + 1}"


def parse_quarter(text, field="quarter"):
    match = QUARTER.match(text or "") if isinstance(text, str) else None
    if not match or not 2000 <= int(match[1]) <= 2100:
        raise InvalidInput(f"{field} must be a quarter like 2026Q3", fields={field: ["not a quarter YYYYQn"]})
    return int(match[1]), int(match[2])


def quarter_months(quarter):
    year, q = parse_quarter(quarter)
    return [f"{year}-{m:02d}" for m in range(3 * q - 2, 3 * q + 1)]


def quarter_end(quarter):
    return last_day(quarter_months(quarter)[-1])


# -- due times --------------------------------------------------------------


def end_of_day(day):
    """The last second of a civil date in China, as a UTC instant (23:59:59 China)."""
    return datetime.datetime(day.year, day.month, day.day, 23, 59, 59, tzinfo=CHINA).astimezone(UTC)


def report_due_on(month, due_day):
    """The civil date month M's report is due: the due day, or the month's last day if shorter."""
    year, mon = parse_month(month)
    return datetime.date(year, mon, min(due_day, calendar.monthrange(year, mon)[1]))


def report_due_at(month, due_day):
    return end_of_day(report_due_on(month, due_day))


def is_late(filed_at, due_at):
    """Filed after the due second: late. Anything within 23:59:59.xxx is still on time."""
    return filed_at >= due_at + ONE_SECOND


def has_passed(due_at, now):
    return now >= due_at + ONE_SECOND


def due_months(now, due_day, lookback):
    """The report months whose due time has passed, the last `lookback` of them."""
    month = china_month(now)
    if not has_passed(report_due_at(month, due_day), now):
        month = add_months(month, -1)
    return [add_months(month, -k) for k in reversed(range(lookback))]


# -- stations ----------------------------------------------------------------

LIVE = ("built", "operating", "suspended")


def status_on(history, day):
    """The station's status on a civil date, from its dated history (None before it existed)."""
    day = day.isoformat() if isinstance(day, datetime.date) else day
    status = None
    for entry in history or ():
        if entry["on"] <= day:
            status = entry["status"]
    return status


def operating_on(history, day):
    return status_on(history, day) == "operating"


# -- rectification -------------------------------------------------------------

RECTIFICATION_STATUSES = ("open", "in_progress", "submitted", "reopened", "closed")
# What may follow what; `submitted -> closed` is the verification.
RECTIFICATION_TRANSITIONS = {
    "open": ("in_progress", "submitted"),
    "in_progress": ("submitted",),
    "submitted": ("closed", "reopened"),
    "reopened": ("in_progress", "submitted"),
    "closed": (),
}
# The station owes work in these; past the deadline they are overdue.
OWED = ("open", "in_progress", "reopened")
ESCALATION_LEVELS = ("county", "city", "province")
SEVERITIES = ("minor", "major", "critical")


def check_rectification_step(current, to, item_id):
    if to not in RECTIFICATION_TRANSITIONS[current]:
        if current == "closed":
            message = f"rectification {item_id} is already closed"
        else:
            message = f"rectification {item_id} is {current}; it cannot become {to}"
        raise Conflict(message, fields={"status": [f"{current} -> {to} not allowed"]},
                       details={"status": current, "allowed": list(RECTIFICATION_TRANSITIONS[current])})


def escalation_steps(deadline, step_days):
    """[(level, due instant)]: overdue past the deadline day goes to the county; each
    `step_days` later still unresolved, one level up (city, then province)."""
    first = end_of_day(deadline) + ONE_SECOND
    return [(level, first + datetime.timedelta(days=step_days * k))
            for k, level in enumerate(ESCALATION_LEVELS)]


def escalations_due(deadline, step_days, reached, now):
    """The levels to escalate to now, after the `reached` ones (a count), in order."""
    return [(level, at) for level, at in escalation_steps(deadline, step_days)[reached:] if now >= at]


def next_escalation_at(deadline, step_days, reached):
    steps = escalation_steps(deadline, step_days)
    return steps[reached][1] if reached < len(steps) else None


def region_at(level, regions):
    return regions[{"county": "county", "city": "city", "province": "province"}[level]]


def default_deadline(visited_on, severity, days_by_severity):
    return visited_on + datetime.timedelta(days=days_by_severity[severity])
