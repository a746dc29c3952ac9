"""The rules one hour record (志愿服务记录) meets, free of storage.

The national rules (MCA Order 67, 2021, 志愿服务记录与证明出具办法) set the tone:
whoever organises an activity records its hours, whoever records certifies,
records are true, accurate, complete and timely, and volunteers can ask for
corrections. What that means here:

* Hours are whole minutes (times.py). A record's service date (服务日期) is the
  civil date of its start in Asia/Shanghai; the 24-hour rule counts the
  minutes of one volunteer's live records by service date, as the national
  system counts hours per day.
* A record is refused (409 naming what it conflicts with) when its time
  overlaps another live record of the same volunteer (in any team or
  organisation; intervals are half-open, so 09:00-10:00 and 10:00-11:00 do not
  overlap); when the volunteer's minutes on its service date would exceed 24
  hours; when it lies outside the activity's window by more than the
  tolerance (settings.window_tolerance_minutes); when the volunteer is not
  registered; when the activity is full.
"""
import datetime

from services.common.clock import china_date, rfc3339
from services.common.errors import Conflict, InvalidInput
from services.volunteer.times import minutes_between

DAY_MINUTES = 24 * 60


def format_hours(minutes):
    """Minutes as hours with two decimals, rounded half up: 150 -> "2.50", -20 -> "-0.33"."""
    sign = "-" if minutes < 0 else ""
    hundredths = (abs(minutes) * 100 + 30) // 60
    whole, part = divmod(hundredths, 100)
    return f"{sign}{whole}.{part:02d}"


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
        problems["start"] = [f"before the activity starts ({rfc3339(opens)}) by more than "
                             f"{tolerance_minutes} minutes"]
    if end > closes + slack:
        problems["end"] = [f"after the activity ends ({rfc3339(closes)}) by more than "
                           f"{tolerance_minutes} minutes"]
    if problems:
        raise Conflict(
            f"the time lies outside activity {activity['_id']}'s window "
            f"{rfc3339(opens)} - {rfc3339(closes)} (tolerance {tolerance_minutes} minutes)",
            fields=problems,
            details={"activity_id": activity["_id"], "starts_at": rfc3339(opens),
                     "ends_at": rfc3339(closes), "tolerance_minutes": tolerance_minutes})


def overlapping(slots, start, end, exclude=None):
    """The live slots whose time overlaps [start, end) (half-open)."""
    return [s for s in slots if s.get("live", True) and s["_id"] != exclude
            and s["start"] < end and s["end"] > start]


def check_overlap(volunteer_number, slots, start, end, exclude=None):
    clash = overlapping(slots, start, end, exclude)
    if clash:
        first = min(clash, key=lambda s: s["start"])
        raise Conflict(
            f"volunteer {volunteer_number} already has record {first['_id']} from "
            f"{rfc3339(first['start'])} to {rfc3339(first['end'])}, which overlaps this time",
            fields={"start": [f"overlaps record {first['_id']}"],
                    "end": [f"overlaps record {first['_id']}"]},
            details={"conflicting_record": first["_id"],
                     "conflicting_records": [s["_id"] for s in sorted(clash, key=lambda s: s["start"])]})


def check_day_total(volunteer_number, slots, service_date, minutes, exclude=None):
    """At most 24 hours of live records per service date."""
    same_day = [s for s in slots if s.get("live", True) and s["_id"] != exclude
                and s["service_date"] == service_date]
    before = sum(s["minutes"] for s in same_day)
    if before + minutes > DAY_MINUTES:
        ids = [s["_id"] for s in sorted(same_day, key=lambda s: s["start"])]
        named = f"; records that day: {', '.join(ids)}" if ids else ""
        raise Conflict(
            f"volunteer {volunteer_number} would have {format_hours(before + minutes)} hours on "
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


def check_record(volunteer_number, activity, slots, start, end, tolerance_minutes,
                 exclude=None):
    """Every rule a record (or the replacement time of a correction) must meet.

    `slots` are the volunteer's live time slots around the time (hour_records.py);
    `exclude` is the slot being replaced by a correction. Returns the minutes.
    """
    check_window(activity, start, end, tolerance_minutes)
    minutes = minutes_between(start, end)
    check_overlap(volunteer_number, slots, start, end, exclude)
    check_day_total(volunteer_number, slots, china_date(start).isoformat(), minutes, exclude)
    return minutes
