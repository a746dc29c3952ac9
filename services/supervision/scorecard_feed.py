"""How each event moves the scorecard (scorecard.py): the inbox handlers.

Each handler runs in the inbox transaction with the processed-event marker, so
a redelivered or replayed event changes nothing. Where a figure depends on
what came before (a station's steps, its latest inspection score, the first
session of a station's quarter, a volunteer's first minutes in a month), the
handler keeps a small document in `scorecard_marks` and adds only the
difference, so events may arrive in any order:

    score:<station>                  {points [{month, at, score_centi}]}   latest score steps
    supervised:<station>:<quarter>   {month}     the earliest month with a session
    volunteer:<number>:<month>       {places {"station:<id>": minutes, "county:<code>": ...}}

Months: sessions by `held_on`, inspections by `visited_on`, rectification
changes by their China date, reports by their report month, hours by their
service date (a correction by its own), money by `received_on` / `paid_on`.
"""
from pymongo import UpdateOne
from pymongo.errors import BulkWriteError, DuplicateKeyError

from services.common.clock import parse_instant, utcnow
from services.common.errors import write_conflict
from services.supervision import contract, figures, rules, scorecard, stations_view


def _insert_mark(db, session, doc):
    try:
        db.scorecard_marks.insert_one(doc, session=session)
    except DuplicateKeyError:
        raise write_conflict(f"scorecard mark {doc['_id']} stored meanwhile")


def on_station_change(db, session, before, after):
    on_station_changes(db, session, [(before, after)])


def on_station_changes(db, session, changes):
    """The station levels that each (before, after) moved, in one bulk_write."""
    scorecard.write_months(db, session, [
        (month, place, scorecard.inc(levels=change))
        for before, after in changes
        for month, change in sorted(figures.difference(figures.station_steps(before),
                                                       figures.station_steps(after)).items())
        for place in scorecard.places(stations_view.regions_of(after))])


def apply_session(db, session, event):
    data = contract.SESSION_RECORDED.read(event)
    month = rules.month_of(data["held_on"])
    scorecard.increment(db, session, data, month, flows={"sessions": 1})
    key = f"supervised:{data['station_id']}:{data['quarter']}"
    mark = db.scorecard_marks.find_one({"_id": key}, session=session)
    if mark is None:
        _insert_mark(db, session, {"_id": key, "month": month})
        scorecard.increment(db, session, data, month, flows={"supervised": 1})
    elif month < mark["month"]:
        db.scorecard_marks.update_one({"_id": key}, {"$set": {"month": month}}, session=session)
        scorecard.increment(db, session, data, mark["month"], flows={"supervised": -1})
        scorecard.increment(db, session, data, month, flows={"supervised": 1})


def apply_inspection(db, session, event):
    data = contract.INSPECTION_COMPLETED.read(event)
    month = rules.month_of(data["visited_on"])
    key = f"score:{data['station_id']}"
    mark = db.scorecard_marks.find_one({"_id": key}, session=session)
    points = (mark or {}).get("points", [])
    added = points + [{"month": month, "at": event.get("time") or "", "inspection": data["inspection_id"],
                       "score_centi": int(round(data["score"] * 100))}]
    if mark is None:
        _insert_mark(db, session, {"_id": key, "points": added})
    else:
        result = db.scorecard_marks.update_one({"_id": key, "points": {"$size": len(points)}},
                                               {"$set": {"points": added}}, session=session)
        if result.matched_count != 1:
            raise write_conflict(f"{key} changed meanwhile")
    scorecard.apply_steps(db, session, data, figures.difference(figures.score_steps(points),
                                                                figures.score_steps(added)))
    scorecard.increment(db, session, data, month, flows={"inspections": 1})


def _rectification(event, spec):
    data = spec.read(event)
    return data, rules.month_of(data["on"])


def apply_rectification_opened(db, session, event):
    data, month = _rectification(event, contract.RECTIFICATION_OPENED)
    scorecard.increment(db, session, data, month, levels={"rect_open": 1}, flows={"rect_opened": 1})


def apply_rectification_closed(db, session, event):
    data, month = _rectification(event, contract.RECTIFICATION_CLOSED)
    scorecard.increment(db, session, data, month,
                        levels={"rect_open": -1, "rect_overdue": -1 if data["overdue"] else 0},
                        flows={"rect_closed": 1})


def apply_rectification_overdue(db, session, event):
    data, month = _rectification(event, contract.RECTIFICATION_OVERDUE)
    scorecard.increment(db, session, data, month, levels={"rect_overdue": 1})


def apply_report_submitted(db, session, event):
    data = contract.REPORT_SUBMITTED.read(event)
    if data["revision"] != 1:
        return   # a correction after a return: the first filing counted
    flows = {"reports_late" if data["late"] else "reports_on_time": 1}
    if data["was_overdue"]:
        flows["reports_missing"] = -1
    scorecard.increment(db, session, data, data["month"], flows=flows)


def apply_report_overdue(db, session, event):
    data = contract.REPORT_OVERDUE.read(event)
    scorecard.increment(db, session, data, data["month"],
                        flows={"reports_overdue": 1, "reports_missing": 1})


def apply_report_returned(db, session, event):
    data = contract.REPORT_RETURNED.read(event)
    scorecard.increment(db, session, data, data["month"], flows={"reports_returned": 1})


def _event_month(event, day):
    if day:
        return rules.month_of(day)
    return rules.china_month(parse_instant(event.get("time")) or utcnow())


def _hours(event, approved, corrected):
    """(data, month, minutes added) of an hours event, or None when it adds none."""
    spec = approved if event["type"] == approved.type else corrected
    data = spec.read(event)
    delta = data.get("minutes") if spec is approved else data.get("delta_minutes")
    if not delta:
        return None
    return data, _event_month(event, data.get("service_date")), delta


def _minutes_added(minutes, data, month, delta):
    """Add `delta` to a volunteer's month at each place of `data`, in `minutes` (the
    mark's places, changed here): the mark's $inc fields and the scorecard's changes.
    A place counts the volunteer active while their minutes there are above 0."""
    increments, changes = {}, []
    for place in scorecard.places(data):
        name = f"{place[0]}:{place[1]}"
        before = minutes.get(name, 0)
        minutes[name] = before + delta
        increments[f"places.{name}"] = delta
        changes.append((month, place, scorecard.inc(flows={
            "volunteer_minutes": delta, "volunteers_active": (before + delta > 0) - (before > 0)})))
    return increments, changes


def _volunteer_minutes(db, session, data, month, delta):
    key = f"volunteer:{data['volunteer_number']}:{month}"
    mark = db.scorecard_marks.find_one({"_id": key}, session=session)
    increments, changes = _minutes_added(dict((mark or {}).get("places", {})), data, month, delta)
    if mark is None:
        _insert_mark(db, session, {"_id": key, "places": {k.split(".", 1)[1]: v
                                                          for k, v in increments.items()}})
    else:
        db.scorecard_marks.update_one({"_id": key}, {"$inc": increments}, session=session)
    scorecard.write_months(db, session, changes)


def apply_hours(approved, corrected):
    """The handler of volunteer hours.approved (minutes) and hours.corrected (delta_minutes)."""
    def handle(db, session, event):
        told = _hours(event, approved, corrected)
        if told is not None:
            _volunteer_minutes(db, session, *told)
    return handle


def apply_hours_many(approved, corrected):
    """apply_hours of each event in order, in one read of the marks and two bulk_writes
    (marks, scorecard): the same sums, since every change is an addition whose sign of
    "active" depends only on the mark's minutes before it, kept here in order."""
    def handle_many(db, session, events):
        told = [found for event in events if (found := _hours(event, approved, corrected))]
        keys = list(dict.fromkeys(f"volunteer:{data['volunteer_number']}:{month}"
                                  for data, month, _delta in told))
        if not keys:
            return
        stored = {doc["_id"]: doc for doc in db.scorecard_marks.find(
            {"_id": {"$in": keys}}, session=session)}
        minutes = {key: dict(stored[key].get("places", {})) if key in stored else {} for key in keys}
        increments, changes = {key: {} for key in keys}, []
        for data, month, delta in told:
            key = f"volunteer:{data['volunteer_number']}:{month}"
            added, moved = _minutes_added(minutes[key], data, month, delta)
            for field, value in added.items():
                increments[key][field] = increments[key].get(field, 0) + value
            changes.extend(moved)
        # A new mark's upsert is filtered on its absence: if it was stored meanwhile, the
        # insert collides with it (a write conflict), as _insert_mark's does.
        writes = [UpdateOne({"_id": key} if key in stored else {"_id": key, "places": {"$exists": False}},
                            {"$inc": fields}, upsert=key not in stored)
                  for key, fields in increments.items()]
        try:
            db.scorecard_marks.bulk_write(writes, ordered=False, session=session)
        except (DuplicateKeyError, BulkWriteError):
            raise write_conflict(f"scorecard marks of {keys} stored meanwhile")
        scorecard.write_months(db, session, changes)
    return handle_many


def apply_money(spec, figure, date_field):
    """Donations received (raised_fen) and disbursements paid (spent_fen), from the charity service."""
    def handle(db, session, event):
        data = spec.read(event)
        regions = {k: data.get(k) for k in ("station_id", "county", "city", "province")}
        scorecard.increment(db, session, regions, _event_month(event, data.get(date_field)),
                            flows={figure: data["amount_fen"]})
    return handle
