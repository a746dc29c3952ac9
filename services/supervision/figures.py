"""The scorecard's figures, without storage: what a station contributes to each
month, and the rates and overall score of a summed scorecard.

Two kinds of figures (scorecard.py keeps both per region and month):

* levels (a state at the end of a month: stations operating, 六有 met, open
  rectification items, latest inspection score...) are kept as monthly
  *changes*; a month's level is the sum of the changes up to that month. A
  station's levels are step functions of the month, built from what its events
  said (status history, 六有 and staffing as last reported, inspection scores),
  so an event changes only the months where its station's steps moved;
* flows (reports filed for the month, sessions held, hours approved, money in
  and out) are counts of the month itself.
"""
from services.supervision import rules

STATION_LEVELS = ("live", "operating", "liuyou_items", "liuyou_full", "staffing_ok")
SCORE_LEVELS = ("inspected", "score_centi")
LEVELS = STATION_LEVELS + SCORE_LEVELS + ("rect_open", "rect_overdue")
FLOWS = ("reports_on_time", "reports_late", "reports_overdue", "reports_missing", "reports_returned",
         "sessions", "supervised", "volunteer_minutes", "volunteers_active", "raised_fen",
         "spent_fen", "rect_opened", "rect_closed", "inspections")
LIUYOU_ITEMS = 6

# -- a station's level steps ------------------------------------------------------


def _known_on(points, month):
    """The values last reported by `month` (before the first report: the first one)."""
    chosen = points[0] if points else None
    for point in points:
        if point["month"] <= month:
            chosen = point
    return chosen


def station_levels(station, month):
    """{level: value} of one station at the end of `month`."""
    status = rules.status_on(station.get("status_history"), rules.last_day(month))
    operating = 1 if status == "operating" else 0
    known = _known_on(station.get("known") or [], month) or {}
    met = known.get("checklist_met") or 0
    return {"live": 1 if status in rules.LIVE else 0, "operating": operating,
            "liuyou_items": operating * met,
            "liuyou_full": operating * (1 if met == LIUYOU_ITEMS else 0),
            "staffing_ok": operating * (1 if known.get("meets_rule") else 0)}


def _steps(months, value_at, names):
    out = {}
    for month in sorted(set(months)):
        now, before = value_at(month), value_at(rules.add_months(month, -1))
        change = {k: now[k] - before[k] for k in names if now[k] != before[k]}
        if change:
            out[month] = change
    return out


def station_steps(station):
    """{month: {level: change}} whose running sum is the station's levels."""
    if not station:
        return {}
    months = [rules.month_of(h["on"]) for h in station.get("status_history") or ()]
    months += [p["month"] for p in station.get("known") or ()]
    return _steps(months, lambda m: station_levels(station, m), STATION_LEVELS)


def score_levels(points, month):
    """inspected (0/1) and the latest score (in hundredths) by the end of `month`."""
    latest = None
    for point in sorted(points, key=lambda p: (p["month"], p["at"])):
        if point["month"] <= month:
            latest = point
    return {"inspected": 1 if latest else 0, "score_centi": latest["score_centi"] if latest else 0}


def score_steps(points):
    return _steps([p["month"] for p in points], lambda m: score_levels(points, m), SCORE_LEVELS)


def difference(old, new):
    """{month: {figure: change}} that turns the steps `old` into `new`."""
    out = {}
    for month in set(old) | set(new):
        names = set(old.get(month, {})) | set(new.get(month, {}))
        change = {k: new.get(month, {}).get(k, 0) - old.get(month, {}).get(k, 0) for k in names}
        change = {k: v for k, v in change.items() if v}
        if change:
            out[month] = change
    return out


# -- rates and the overall score ---------------------------------------------------


def _ratio(part, whole):
    return round(min(part / whole, 1.0), 4) if whole else None


def rates(levels, flows, quarter):
    """The rates the overall score weighs, each from 0 to 1 (None: nothing to rate)."""
    operating = levels["operating"]
    filed = flows["reports_on_time"] + flows["reports_late"] + flows["reports_missing"]
    return {
        "supervision": _ratio(quarter["supervised"], operating),
        "inspection": round(levels["score_centi"] / levels["inspected"] / 10000, 4)
        if levels["inspected"] else None,
        "reports": _ratio(flows["reports_on_time"], filed),
        "rectification": round(1 - levels["rect_overdue"] / levels["rect_open"], 4)
        if levels["rect_open"] > 0 else (1.0 if operating else None),
        "liuyou": _ratio(levels["liuyou_items"], LIUYOU_ITEMS * operating),
        "staffing": _ratio(levels["staffing_ok"], operating),
    }


def overall(rated, weights):
    """100 x the weighted mean of the rates that exist (weights of missing rates drop out)."""
    used = {k: w for k, w in weights.items() if w and rated.get(k) is not None}
    total = sum(used.values())
    if not total:
        return None
    return round(100 * sum(rated[k] * w for k, w in used.items()) / total, 2)
