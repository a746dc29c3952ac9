"""Time as the platform keeps it: instants in UTC, civil dates in China.

Every stored and answered instant is timezone-aware UTC, written as RFC 3339
with `Z`. Every civil date (a station opened "on 2026-04-15", an hour record's
service day, a report due "on the 25th") is a date in Asia/Shanghai, whatever
the server's own zone.
"""
import datetime
from zoneinfo import ZoneInfo

UTC = datetime.timezone.utc
CHINA = ZoneInfo("Asia/Shanghai")


def utcnow():
    return datetime.datetime.now(UTC)


def now_ms():
    """Now, to the millisecond: what Mongo keeps, so an answer equals a later read."""
    moment = utcnow()
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def china_now():
    return datetime.datetime.now(CHINA)


def china_today():
    """Today's civil date in China."""
    return china_now().date()


def china_date(moment):
    """The civil date in China of an aware instant (a naive one is taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(CHINA).date()


def rfc3339(moment):
    """`2026-11-22T08:30:00.123000Z`: an aware instant in UTC (a naive one is taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def parse_instant(text):
    """An RFC 3339 / ISO 8601 instant as an aware UTC datetime (no zone: UTC); None if not one."""
    if not isinstance(text, str):
        return None
    try:
        moment = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)
