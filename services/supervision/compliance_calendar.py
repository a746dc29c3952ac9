"""The compliance calendar of a station or a region for one month: what falls due in it.

Entries (`kind`): the monthly report (due day, 23:59:59 China time), the
quarterly supervision (in a quarter's last month: due on its last day), campaign
inspections (due on the last day of their campaign's period), rectification
deadlines, and the year-end assessment (SUPERVISION_YEAR_END_DUE, default 12-31).

A station's entries each have a `state`: done, pending (not yet due) or
overdue. A region's entries carry `counts` instead: the monthly report and
quarterly supervision from the region's scorecard (scorecard.py), deadlines and
inspections from an indexed query of the month's items.
"""
import collections
import datetime

from services.common import access, queries
from services.common.clock import china_today, utcnow
from services.common.errors import InvalidInput
from services.common.jsonable import jsonable
from services.supervision import (rectifications, reports, rules, scorecard, settings, stations_view,
                                  supervised_quarters)


def _state(done, due_at, now):
    if done:
        return "done"
    return "overdue" if rules.has_passed(due_at, now) else "pending"


def _year_end(month):
    mm, dd = settings.year_end_due()
    year, mon = rules.parse_month(month)
    if mon != mm:
        return None
    return datetime.date(year, mm, min(dd, rules.last_day(month).day))


def station_calendar(db, station_id, month, caller, now=None):
    station = stations_view.load(db, station_id, caller)
    now = now or utcnow()
    entries = []
    due_day = settings.report_due_day()
    due_at = rules.report_due_at(month, due_day)
    if rules.status_on(station.get("status_history"), rules.report_due_on(month, due_day)) in \
            ("operating", "suspended") or station["status"] == "operating":
        report = db.reports.find_one({"_id": reports.report_id(station_id, month)}, {"status": 1})
        filed = report is not None and report["status"] != "overdue"
        entries.append({"kind": "monthly_report", "due_at": due_at, "ref": reports.report_id(station_id, month),
                        "state": _state(filed, due_at, now)})
    quarter = rules.quarter_of(month)
    if rules.quarter_months(quarter)[-1] == month:
        due = rules.end_of_day(rules.quarter_end(quarter))
        entries.append({"kind": "quarterly_supervision", "due_at": due, "ref": quarter,
                        "state": _state(supervised_quarters.supervised(db, station_id, quarter), due, now)})
    first, last = rules.first_day(month).isoformat(), rules.last_day(month).isoformat()
    for inspection in db.inspections.find({"station_id": station_id,
                                           "due_on": {"$gte": first, "$lte": last}}):
        due = rules.end_of_day(datetime.date.fromisoformat(inspection["due_on"]))
        entries.append({"kind": "inspection", "due_at": due, "ref": inspection["_id"],
                        "state": _state(inspection["status"] == "completed", due, now)})
    for item in rectifications.in_month(db, {"station_id": station_id}, month):
        due = rules.end_of_day(datetime.date.fromisoformat(item["deadline"]))
        entries.append({"kind": "rectification", "due_at": due, "ref": item["_id"],
                        "state": "overdue" if item["overdue"] and item["status"] != "closed" else
                        _state(item["status"] == "closed", due, now)})
    year_end = _year_end(month)
    if year_end:
        due = rules.end_of_day(year_end)
        done = db.inspections.find_one({"station_id": station_id, "kind": "year_end",
                                        "status": "completed",
                                        "visited_on": {"$gte": f"{year_end.year}-01-01"}}, {"_id": 1})
        entries.append({"kind": "year_end_assessment", "due_at": due, "ref": str(year_end.year),
                        "state": _state(done is not None, due, now)})
    for entry in entries:
        entry.update(station_id=station_id, counts=None)
    return {"station_id": station_id, "region": None, "month": month,
            "entries": sorted(entries, key=lambda e: (e["due_at"], e["kind"]))}


def region_calendar(db, region, month, caller, now=None):
    region = access.narrow(caller, region)
    if len(region) not in scorecard.LEVEL_OF:
        raise InvalidInput("a region calendar is of a province, city or county; a station's: give "
                           "station_id", fields={"region": ["a province, city or county code"]})
    now = now or utcnow()
    level = scorecard.LEVEL_OF[len(region)]
    sums = scorecard.sums(db, level, region, month)
    levels, flows, quarter_flows = sums["levels"], sums["flows"], sums["quarter"]
    due_at = rules.report_due_at(month, settings.report_due_day())
    filed = flows["reports_on_time"] + flows["reports_late"]
    entries = [{"kind": "monthly_report", "due_at": due_at, "ref": month, "counts": {
        "stations": levels["operating"], "on_time": flows["reports_on_time"], "late": flows["reports_late"],
        "overdue": flows["reports_missing"],
        "pending": max(levels["operating"] - filed - flows["reports_missing"], 0)}}]
    quarter = rules.quarter_of(month)
    if rules.quarter_months(quarter)[-1] == month:
        entries.append({"kind": "quarterly_supervision", "due_at": rules.end_of_day(rules.quarter_end(quarter)),
                        "ref": quarter, "counts": {"stations": levels["operating"],
                                                   "supervised": quarter_flows["supervised"],
                                                   "sessions": quarter_flows["sessions"]}})
    selector = queries.region_filter(region)
    first, last = rules.first_day(month).isoformat(), rules.last_day(month).isoformat()
    inspection_counts = collections.Counter(
        d["status"] for d in db.inspections.find({**selector, "due_on": {"$gte": first, "$lte": last}},
                                                 {"status": 1}))
    if inspection_counts:
        entries.append({"kind": "inspection", "due_at": rules.end_of_day(rules.last_day(month)),
                        "ref": month, "counts": dict(inspection_counts)})
    items = rectifications.in_month(db, selector, month)
    if items:
        counts = collections.Counter("done" if i["status"] == "closed" else
                                     "overdue" if i["overdue"] else "pending" for i in items)
        entries.append({"kind": "rectification", "due_at": rules.end_of_day(rules.last_day(month)),
                        "ref": month, "counts": dict(counts)})
    year_end = _year_end(month)
    if year_end:
        done = db.inspections.count_documents({**selector, "kind": "year_end", "status": "completed",
                                               "visited_on": {"$gte": f"{year_end.year}-01-01"}})
        entries.append({"kind": "year_end_assessment", "due_at": rules.end_of_day(year_end),
                        "ref": str(year_end.year), "counts": {"stations": levels["live"], "assessed": done}})
    for entry in entries:
        entry.update(station_id=None, state=None)
    return {"region": region, "station_id": None, "month": month,
            "entries": sorted(entries, key=lambda e: (e["due_at"], e["kind"]))}


def calendar(db, query, caller):
    month = query.get("month") or rules.month_of(china_today())
    rules.parse_month(month)
    if query.get("station_id"):
        return jsonable(station_calendar(db, query["station_id"], month, caller))
    region = access.narrow(caller, query.get("region"))
    if len(region) == 9:   # a station's staff: their station
        station = db.stations.find_one({"division_code": region}, sort=[("_id", 1)])
        if station is not None:
            return jsonable(station_calendar(db, station["_id"], month, caller))
    return jsonable(region_calendar(db, region, month, caller))
