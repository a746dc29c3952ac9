"""The supervision service's settings, read from the environment (README "Configuration").

Read at each use rather than at import, so a test or an operator changing one
sees it at the next request; only the timer's interval is fixed at start.
"""
import json

from services.common import config

# Figures of the overall score and their default weights (docs/supervision.md).
DEFAULT_WEIGHTS = {"supervision": 20, "inspection": 25, "reports": 20, "rectification": 15,
                   "liuyou": 10, "staffing": 10}
DEFAULT_RECTIFICATION_DAYS = {"minor": 60, "major": 30, "critical": 14}


def _int(name, default, low, high):
    raw = config.env(name, str(default))
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name} must be a whole number, got {raw!r}")
    if not low <= value <= high:
        raise ValueError(f"{name} must be between {low} and {high}, got {value}")
    return value


def report_due_day():
    """Day of month M on which month M's report is due, at 23:59:59 China time
    (每月25日之前调度). A day past the month's end means its last day."""
    return _int("SUPERVISION_REPORT_DUE_DAY", 25, 1, 31)


def due_check_seconds():
    """How often the scheduled job looks for missed due times."""
    return _int("SUPERVISION_DUE_CHECK_SECONDS", 60, 1, 86400)


def report_lookback_months():
    """How many past report months the scheduled job checks (a service down at a
    due time catches up when it starts again, within this window)."""
    return _int("SUPERVISION_REPORT_LOOKBACK_MONTHS", 2, 1, 24)


def escalation_days():
    """Days between the steps of an overdue rectification's escalation (county, city, province)."""
    return _int("SUPERVISION_ESCALATION_DAYS", 7, 1, 365)


def rectification_days():
    """{severity: days} from the inspection date to a rectification's default deadline."""
    return _mapping("SUPERVISION_RECTIFICATION_DAYS", DEFAULT_RECTIFICATION_DAYS, 1, 730)


def score_weights():
    """{figure: weight} of the overall score (SUPERVISION_SCORE_WEIGHTS, e.g. "inspection=40,reports=60")."""
    return _mapping("SUPERVISION_SCORE_WEIGHTS", DEFAULT_WEIGHTS, 0, 1000)


def year_end_due():
    """(month, day) the year-end assessment (年底考核) is due, SUPERVISION_YEAR_END_DUE=MM-DD."""
    raw = config.env("SUPERVISION_YEAR_END_DUE", "12-31")
    try:
        month, day = (int(part) for part in raw.split("-"))
    except ValueError:
        raise ValueError(f"SUPERVISION_YEAR_END_DUE must be MM-DD, got {raw!r}")
    if not (1 <= month <= 12 and 1 <= day <= 31):
        raise ValueError(f"SUPERVISION_YEAR_END_DUE must be MM-DD, got {raw!r}")
    return month, day


def _mapping(name, default, low, high):
    raw = config.env(name)
    if raw is None:
        return dict(default)
    try:
        if raw.strip().startswith("{"):
            pairs = json.loads(raw).items()
        else:
            pairs = (part.split("=", 1) for part in raw.split(",") if part.strip())
        found = {key.strip(): int(value) for key, value in pairs}
    except (ValueError, AttributeError):
        raise ValueError(f"{name} must be key=number pairs separated by commas, got {raw!r}")
    unknown = set(found) - set(default)
    if unknown:
        raise ValueError(f"{name} names unknown keys {sorted(unknown)}; known: {sorted(default)}")
    if any(not low <= v <= high for v in found.values()):
        raise ValueError(f"{name} values must be between {low} and {high}")
    return {**{k: 0 for k in default}, **found} if name.endswith("WEIGHTS") else {**default, **found}
