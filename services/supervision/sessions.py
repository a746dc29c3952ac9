"""Supervision sessions (督导), and the quarterly rule.

    sessions: {_id: "SS2026000001", station_id, division_code, county, city, province,
               supervisor_id, kind, setting, method, held_on, quarter, duration_minutes,
               topics, agreed, follow_ups, staff_ids, room_workers, recorded_at, recorded_by}

Rules:
* a session is held at a station that was built, operating or suspended on that
  day, on a day not in the future;
* an internal session is held by the station's own supervisor; in an external
  one, no supervisor supervises their own station: neither the station whose
  staff they are, nor one run by their organisation;
* the staff supervised are the station's (as the registry last listed them);
* quarterly rule: every operating station has at least one session in each
  quarter. Recording a session adds the station's quarter to
  `supervised_quarters` (supervised_quarters.py), so the stations short of it
  in a region are two indexed queries (`gaps`).
"""
from services.common import access, queries, sequences
from services.common.clock import china_today, now_ms
from services.common.errors import Conflict, InvalidInput
from services.common.jsonable import jsonable
from services.supervision import (assignment, roles, rules, stations_view, supervised_quarters,
                                  supervisors)

EXPORT_COLUMNS = [("id", "记录编号"), ("station_id", "社工站"), ("supervisor_id", "督导"),
                  ("kind", "形式"), ("setting", "内外部"), ("method", "方式"), ("held_on", "日期"),
                  ("duration_minutes", "时长(分钟)"), ("topics", "主题"), ("supervisees", "督导对象人数")]
GAP_COLUMNS = [("station_id", "社工站编号"), ("name", "社工站"), ("county_name", "区县"),
               ("city_name", "市"), ("status", "状态"), ("quarter", "季度"), ("sessions", "督导次数")]


def ensure_indexes(db):
    for field in ("division_code", "county", "city", "province"):
        db.sessions.create_index([(field, 1), ("held_on", -1)])
    db.sessions.create_index([("station_id", 1), ("quarter", 1)])
    db.sessions.create_index([("supervisor_id", 1), ("held_on", -1)])


def check_supervisor(supervisor, station, setting):
    """Conflict unless this supervisor may hold a session of this setting here."""
    own_staff = supervisor["kind"] == "internal" and supervisor.get("station_id") == station["_id"]
    if setting == "internal":
        if not own_staff:
            raise Conflict("an internal session is held by the station's own supervisor",
                           fields={"supervisor_id": ["not this station's supervisor"]})
        return
    runs_it = assignment.normalise(supervisor.get("organisation")) is not None and \
        assignment.normalise(supervisor.get("organisation")) == assignment.normalise(station.get("operator_name"))
    if own_staff or runs_it:
        why = "is on its staff" if own_staff else "works for the organisation that runs it"
        raise Conflict(f"a supervisor cannot supervise their own station in an external session: "
                       f"{supervisor['_id']} {why}",
                       fields={"supervisor_id": ["own station"]},
                       details={"supervisor_id": supervisor["_id"], "station_id": station["_id"]})


def record(tx, data, caller):
    roles.ensure_officer(caller, "record supervision sessions")
    station = stations_view.load(tx.db, data["station_id"], caller, session=tx.session)
    held_on = data["held_on"]
    if held_on > china_today():
        raise InvalidInput("held_on must not be in the future", fields={"held_on": ["in the future"]})
    status = rules.status_on(station.get("status_history"), held_on)
    if status not in rules.LIVE:
        raise Conflict(f"station {station['_id']} was {status or 'not registered'} on {held_on}",
                       fields={"held_on": ["station not built, operating or suspended then"]})
    supervisor = supervisors.find(tx.db, data["supervisor_id"], tx.session)
    check_supervisor(supervisor, station, data["setting"])
    known_staff = {m["id"] for m in station.get("staff") or []}
    strangers = sorted(set(data["staff_ids"]) - known_staff)
    if strangers:
        raise InvalidInput(f"not staff of station {station['_id']}: {', '.join(strangers)}",
                           fields={"staff_ids": [f"not staff of this station: {s}" for s in strangers]})
    quarter = rules.quarter_of(held_on)
    number = sequences.next_number(tx, f"session:{held_on.year}")
    doc = {"_id": f"SS{held_on.year}{number:06d}", **queries.regions_of(station),
           "station_id": station["_id"], "supervisor_id": supervisor["_id"], "kind": data["kind"],
           "setting": data["setting"], "method": data["method"], "held_on": held_on.isoformat(),
           "quarter": quarter, "duration_minutes": data["duration_minutes"], "topics": data["topics"],
           "agreed": data.get("agreed"), "follow_ups": data["follow_ups"],
           "staff_ids": sorted(set(data["staff_ids"])), "room_workers": data["room_workers"],
           "recorded_at": now_ms(), "recorded_by": access.actor(caller)}
    tx.db.sessions.insert_one(doc, session=tx.session)
    supervised_quarters.add(tx, station, quarter)
    tx.emit("session.recorded", doc["_id"], jsonable({
        **stations_view.regions_of(station), "session_id": doc["_id"],
        "supervisor_id": doc["supervisor_id"], "kind": doc["kind"], "setting": doc["setting"],
        "method": doc["method"], "held_on": doc["held_on"], "quarter": quarter,
        "duration_minutes": doc["duration_minutes"], "supervisees": supervisees(doc)}))
    return view(doc)


def supervisees(doc):
    return len(doc["staff_ids"]) + doc["room_workers"]


def view(doc):
    out = {k: v for k, v in doc.items() if k != "_id"}
    out["id"] = doc["_id"]
    out["supervisees"] = supervisees(doc)
    return jsonable(out)


def get(db, session_id, caller):
    doc = queries.load_in_region(db.sessions, session_id, caller, what="supervision session",
                                 field="session_id")
    return view(doc)


def _selector(query, caller):
    selector = queries.scoped(caller, query.get("region"))
    for key in ("station_id", "supervisor_id", "quarter"):
        if query.get(key):
            selector[key] = query[key]
    return selector


def list_page(db, query, caller):
    return queries.page(db.sessions, _selector(query, caller), query,
                        lambda docs: [view(d) for d in docs], sort=(("held_on", -1), ("_id", 1)))


def export(db, query, caller):
    rows = []
    for doc in queries.export_rows(db.sessions, _selector(query, caller), [("held_on", -1), ("_id", 1)]):
        item = view(doc)
        item["topics"] = "、".join(item["topics"])
        rows.append([item.get(k) for k, _ in EXPORT_COLUMNS])
    return {"name": "supervision-sessions",
            "columns": [{"key": k, "title": t} for k, t in EXPORT_COLUMNS], "rows": rows}


# -- the quarterly rule ---------------------------------------------------------------


def _gaps(db, query, caller):
    quarter = query.get("quarter") or rules.quarter_of(china_today())
    rules.parse_quarter(quarter)
    # Operating on the quarter's last day, or today while the quarter runs.
    as_of = min(rules.quarter_end(quarter), china_today())
    region = queries.scoped(caller, query.get("region"))
    supervised = supervised_quarters.stations_in(db, region, quarter)
    found = [s for s in db.stations.find({**region, "status": {"$in": list(rules.LIVE)}}).sort("_id", 1)
             if s["_id"] not in supervised and rules.operating_on(s.get("status_history"), as_of)]
    return quarter, found


def gaps(db, query, caller):
    """Stations operating in the quarter with no supervision session in it."""
    quarter, found = _gaps(db, query, caller)
    page, per_page = query["page"], query["per_page"]
    items = [{**stations_view.view(s), "quarter": quarter, "sessions": 0}
             for s in found[(page - 1) * per_page: page * per_page]]
    return {"items": items, "total": len(found), "page": page, "per_page": per_page,
            "quarter": quarter}


def export_gaps(db, query, caller):
    quarter, found = _gaps(db, query, caller)
    rows = [[{**stations_view.view(s), "quarter": quarter, "sessions": 0}.get(k) for k, _ in GAP_COLUMNS]
            for s in found[:queries.EXPORT_LIMIT]]
    return {"name": f"supervision-gaps-{quarter}",
            "columns": [{"key": k, "title": t} for k, t in GAP_COLUMNS], "rows": rows}
