"""The service's times: whole minutes in UTC, in the years 2000-2100.

Hours are whole minutes (integers; never floats): times are truncated to the
minute. Times and dates lie in the years 2000-2100 (birth dates 1900-2100):
a 400 naming the field otherwise, an import row rejected with that reason.
Civil dates are China's (services.common.clock).
"""
from services.common.clock import CHINA, UTC
from services.common.errors import InvalidInput

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


def to_minute(moment):
    """A timezone-aware time in UTC, truncated to the minute (naive: China time)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=CHINA)
    return moment.astimezone(UTC).replace(second=0, microsecond=0)


def minutes_between(start, end):
    return int((end - start).total_seconds() // 60)
