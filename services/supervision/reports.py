"""Monthly reports (月报): one per operating station and month, due on the due day.

    reports: {_id: "<station id>:<YYYY-MM>", station_id, division_code, county, city,
              province, station_name, month, due_at, status (submitted | returned | overdue),
              late, overdue, overdue_at, revision, submitted_at, last_submitted_at,
              casework, group_work, community_activities, served {elderly, children,
              disabled, others}, narrative, prefill {...}, revisions [...], returned [...]}

Month M's report is due on SUPERVISION_REPORT_DUE_DAY (25) of M at 23:59:59
China time (rules.report_due_at). Until it is filed there is no document: the
station reads a draft pre-filled from this service's read models for that
month (volunteer hours approved and volunteers active, money received and
spent: scorecard.py, kept from the volunteer and charity services' events;
status, 六有 and staffing: stations_view.py, from the registry's), and adds its
own counts and a narrative.

* Filed after its due time: `late` (decided by the first filing; a correction
  after a return keeps it).
* A filed report is never changed silently: filing again is a 409 until an
  officer returns it for correction (with a reason); the corrected filing is
  the next revision and every revision is kept.
* Not filed at its due time: the scheduled job (due_jobs.py) marks it overdue
  once, with an event; filing it afterwards is late.
"""
from pymongo.errors import DuplicateKeyError

from services.common import access, queries
from services.common.clock import china_date, now_ms
from services.common.errors import Conflict, InvalidInput, write_conflict
from services.common.jsonable import jsonable
from services.supervision import roles, rules, scorecard, settings, stations_view

FIGURES = ("casework", "group_work", "community_activities", "served", "narrative")
EXPORT_COLUMNS = [("station_id", "社工站编号"), ("station_name", "社工站"), ("month", "月份"),
                  ("status", "状态"), ("late", "迟报"), ("overdue", "逾期未报"),
                  ("submitted_at", "报送时间"), ("casework", "个案"), ("group_work", "小组"),
                  ("community_activities", "社区活动"), ("served_elderly", "服务老年人"),
                  ("served_children", "服务儿童"), ("served_disabled", "服务残疾人"),
                  ("served_others", "服务其他"), ("volunteer_hours", "志愿服务时长"),
                  ("volunteers_active", "活跃志愿者"), ("raised_fen", "收入(分)"),
                  ("spent_fen", "支出(分)")]


def ensure_indexes(db):
    for field in ("division_code", "county", "city", "province"):
        db.reports.create_index([(field, 1), ("month", -1)])
    db.reports.create_index([("month", 1), ("status", 1)])


def report_id(station_id, month):
    return f"{station_id}:{month}"


def prefill(db, station, month, session=None):
    flows = scorecard.month_flows(db, "station", station["_id"], month, session=session)
    return {"volunteer_minutes": flows["volunteer_minutes"],
            "volunteer_hours": round(flows["volunteer_minutes"] / 60, 2),
            "volunteers_active": flows["volunteers_active"], "raised_fen": flows["raised_fen"],
            "spent_fen": flows["spent_fen"], "status": station.get("status"),
            "checklist_met": station.get("checklist_met"),
            "staffing": (station.get("staffing") or None)}


def _event(tx, name, doc, **extra):
    tx.emit(name, doc["_id"], jsonable({
        **{k: doc[k] for k in ("station_id", "division_code", "county", "city", "province", "month",
                               "due_at", "revision", "late")},
        "report_id": doc["_id"], "was_overdue": bool(doc.get("overdue")), **extra}))


def _base(station, month, due_at):
    return {"_id": report_id(station["_id"], month), **queries.regions_of(station),
            "station_id": station["_id"], "station_name": station.get("name"), "month": month,
            "due_at": due_at}


def submit(tx, station_id, month, data, caller, now=None):
    roles.ensure_station_worker(caller, "file monthly reports")
    rules.parse_month(month)
    station = stations_view.load(tx.db, station_id, caller, session=tx.session)
    now = now or now_ms()
    today = china_date(now)
    if month > rules.month_of(today):
        raise InvalidInput(f"the report of {month} cannot be filed before the month begins",
                           fields={"month": ["in the future"]})
    status = rules.status_on(station.get("status_history"), min(rules.last_day(month), today))
    if status not in ("operating", "suspended"):
        raise Conflict(f"station {station_id} was not operating in {month} ({status or 'not built'})",
                       fields={"month": ["station not operating then"]})
    due_at = rules.report_due_at(month, settings.report_due_day())
    doc = tx.db.reports.find_one({"_id": report_id(station_id, month)}, session=tx.session)
    if doc is not None and doc["status"] == "submitted":
        raise Conflict(f"the report of {month} is filed; an officer returns it for correction "
                       "before it is filed again", fields={"month": ["already filed"]},
                       details={"status": "submitted", "revision": doc["revision"]})
    first = doc is None or doc["status"] == "overdue"
    figures = {k: jsonable(data.get(k)) for k in FIGURES}
    filing = {"revision": (doc["revision"] if doc else 0) + 1, "submitted_at": now,
              "submitted_by": access.actor(caller), **figures,
              "prefill": prefill(tx.db, station, month, tx.session)}
    new = {**(doc or _base(station, month, due_at)), **figures, "status": "submitted",
           "revision": filing["revision"], "prefill": filing["prefill"], "last_submitted_at": now,
           "revisions": (doc or {}).get("revisions", []) + [filing]}
    new.setdefault("returned", [])
    new.setdefault("overdue", False)
    if first:
        new.update(late=rules.is_late(now, due_at), submitted_at=now)
    if doc is None:
        try:
            tx.db.reports.insert_one(new, session=tx.session)
        except DuplicateKeyError:
            raise write_conflict(f"report {new['_id']} was filed meanwhile")
    else:
        result = tx.db.reports.replace_one({"_id": doc["_id"], "revision": doc["revision"],
                                            "status": doc["status"]}, new, session=tx.session)
        if result.matched_count != 1:
            raise write_conflict(f"report {doc['_id']} changed meanwhile")
    _event(tx, "report.submitted", new, submitted_at=now,
           **{k: new[k] for k in ("casework", "group_work", "community_activities")},
           served={k: (new["served"] or {}).get(k, 0) for k in ("elderly", "children", "disabled", "others")})
    return view(new)


def return_report(tx, station_id, month, data, caller):
    roles.ensure_officer(caller, "return reports for correction")
    rules.parse_month(month)
    stations_view.load(tx.db, station_id, caller, session=tx.session)
    doc = tx.db.reports.find_one({"_id": report_id(station_id, month)}, session=tx.session)
    if doc is None or doc["status"] != "submitted":
        state = "not filed" if doc is None or doc["status"] == "overdue" else "already returned"
        raise Conflict(f"the report of {month} is {state}; only a filed report is returned",
                       fields={"month": [state]})
    line = {"at": now_ms(), "by": access.actor(caller), "reason": data["reason"],
            "revision": doc["revision"]}
    result = tx.db.reports.update_one({"_id": doc["_id"], "status": "submitted",
                                       "revision": doc["revision"]},
                                      {"$set": {"status": "returned"}, "$push": {"returned": line}},
                                      session=tx.session)
    if result.matched_count != 1:
        raise write_conflict(f"report {doc['_id']} changed meanwhile")
    doc["status"] = "returned"
    doc["returned"] = doc.get("returned", []) + [line]
    _event(tx, "report.returned", doc)
    return view(doc)


def mark_overdue(tx, station, month, due_at, now):
    """Mark the station's report of `month` overdue if it was not filed: True if marked now."""
    if tx.db.reports.find_one({"_id": report_id(station["_id"], month)}, {"_id": 1},
                              session=tx.session) is not None:
        return False
    doc = {**_base(station, month, due_at), "status": "overdue", "late": None, "overdue": True,
           "overdue_at": now, "revision": 0, "submitted_at": None, "returned": [], "revisions": [],
           **{k: None for k in FIGURES}}
    try:
        tx.db.reports.insert_one(doc, session=tx.session)
    except DuplicateKeyError:
        raise write_conflict(f"report {doc['_id']} was written meanwhile")
    _event(tx, "report.overdue", doc)
    return True


# -- questions -------------------------------------------------------------------------------


def view(doc, prefill_now=None):
    out = {k: v for k, v in doc.items() if k not in ("_id", "revisions")}
    out["id"] = doc["_id"]
    if prefill_now is not None:
        out["prefill"] = prefill_now
    out["revisions"] = [{k: r[k] for k in ("revision", "submitted_at", "submitted_by")}
                        for r in doc.get("revisions", [])]
    return jsonable(out)


def get(db, station_id, month, caller):
    """The filed report, or the draft: the figures pre-filled as of now."""
    rules.parse_month(month)
    station = stations_view.load(db, station_id, caller)
    doc = db.reports.find_one({"_id": report_id(station_id, month)})
    if doc is not None and doc["status"] != "overdue":
        return view(doc)
    due_at = rules.report_due_at(month, settings.report_due_day())
    draft = doc or {**_base(station, month, due_at), "status": "draft", "late": None,
                    "overdue": False, "revision": 0, "submitted_at": None, "returned": [],
                    **{k: None for k in FIGURES}}
    return view(draft, prefill_now=prefill(db, station, month))


def _selector(query, caller):
    selector = queries.scoped(caller, query.get("region"))
    for key in ("month", "status"):
        if query.get(key):
            selector[key] = query[key]
    if query.get("late") is not None:
        selector["late"] = query["late"]
    return selector


def list_page(db, query, caller):
    return queries.page(db.reports, _selector(query, caller), query,
                        lambda docs: [view(d) for d in docs], sort=(("month", -1), ("_id", 1)))


def export(db, query, caller):
    rows = []
    for doc in queries.export_rows(db.reports, _selector(query, caller), [("month", -1), ("_id", 1)]):
        item = view(doc)
        served = item.get("served") or {}
        pre = item.get("prefill") or {}
        item.update({f"served_{k}": served.get(k) for k in ("elderly", "children", "disabled", "others")})
        item.update({k: pre.get(k) for k in ("volunteer_hours", "volunteers_active", "raised_fen",
                                             "spent_fen")})
        rows.append([item.get(k) for k, _ in EXPORT_COLUMNS])
    return {"name": "monthly-reports", "columns": [{"key": k, "title": t} for k, t in EXPORT_COLUMNS],
            "rows": rows}
