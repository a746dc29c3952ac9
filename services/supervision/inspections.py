"""Inspections (督导检查): mutual inspections from campaigns, daily monitoring, special
inspections, regular assessments, third-party evaluations and year-end assessments.

    inspections: {_id: "IN2026000001", station_id, division_code, county, city, province,
                  station_name, kind, status (planned | in_progress | completed),
                  checklist_id (the version it is pinned to), campaign_id, group_id,
                  inspector_ids, inspector_subs, evaluator, visited_on,
                  due_on (campaigns: the last day of the campaign's period),
                  scores {item key: {value, notes, files, scored_by, scored_at}},
                  score, sections {key: score}, report_files, completed_at, ...}

Item scores are checked against the pinned checklist version's rules; the
score and section scores are computed on completion (scoring.compute) from the
item scores alone. A completed inspection is never changed.

Who: officers in the station's region; and the inspectors named on the
inspection, recognised by the `sub` of their token (their supervisor record's
`account_sub`), wherever their own region is. Auditors and station staff read.
"""
from services.common import access, queries, sequences
from services.common.clock import china_today, now_ms
from services.common.errors import Conflict, Forbidden, InvalidInput, NotFound, write_conflict
from services.common.jsonable import jsonable
from services.supervision import checklists, roles, scoring, stations_view, supervisors

EXPORT_COLUMNS = [("id", "检查编号"), ("kind", "类别"), ("station_id", "社工站编号"),
                  ("station_name", "社工站"), ("status", "状态"), ("checklist_id", "检查表版本"),
                  ("campaign_id", "互查活动"), ("group_id", "检查组"), ("visited_on", "检查日期"),
                  ("score", "得分"), ("evaluator", "评估机构")]


def ensure_indexes(db):
    for field in ("division_code", "county", "city", "province"):
        db.inspections.create_index([(field, 1), ("_id", 1)])
    db.inspections.create_index([("station_id", 1), ("kind", 1)])
    db.inspections.create_index([("inspector_subs", 1)])
    db.inspections.create_index([("campaign_id", 1)])
    db.inspections.create_index([("station_id", 1), ("due_on", 1)])


# -- who may see and change an inspection ---------------------------------------------


def is_assigned(caller, doc):
    sub = caller.get("sub")
    return bool(sub) and sub in (doc.get("inspector_subs") or [])


def ensure_reader(caller, doc, field="inspection_id"):
    access.caller_region(caller)
    if not is_assigned(caller, doc):
        access.ensure_within(caller, doc["division_code"], field)


def ensure_writer(caller, doc, field="inspection_id"):
    access.caller_region(caller)
    if is_assigned(caller, doc):
        return
    access.ensure_within(caller, doc["division_code"], field)
    if not roles.is_officer(caller):
        raise Forbidden(f"role {caller.get('role')} may not change inspections unless named "
                        "as one of its inspectors", fields={field: ["not an inspector of it"]})


def find(db, inspection_id, session=None, field="inspection_id"):
    doc = db.inspections.find_one({"_id": inspection_id}, session=session)
    if doc is None:
        raise NotFound(f"no inspection {inspection_id}", fields={field: ["not found"]})
    return doc


def load(db, inspection_id, caller, write=False, session=None):
    doc = find(db, inspection_id, session)
    (ensure_writer if write else ensure_reader)(caller, doc)
    return doc


# -- commands ----------------------------------------------------------------------------


def new_doc(tx, station, kind, checklist, caller, visited_on=None, inspectors=(), campaign_id=None,
            group_id=None, evaluator=None, report_files=(), due_on=None):
    year = (visited_on or china_today()).year
    number = sequences.next_number(tx, f"inspection:{year}")
    doc = {"_id": f"IN{year}{number:06d}", **queries.regions_of(station), "station_id": station["_id"],
           "station_name": station.get("name"), "kind": kind,
           "status": "in_progress" if visited_on else "planned", "checklist_id": checklist["_id"],
           "campaign_id": campaign_id, "group_id": group_id,
           "inspector_ids": [s["_id"] for s in inspectors],
           "inspector_subs": sorted({s["account_sub"] for s in inspectors if s.get("account_sub")}),
           "evaluator": evaluator, "visited_on": visited_on.isoformat() if visited_on else None,
           "due_on": due_on,
           "scores": {}, "score": None, "sections": {}, "report_files": list(report_files),
           "created_at": now_ms(), "created_by": access.actor(caller), "completed_at": None}
    tx.db.inspections.insert_one(doc, session=tx.session)
    return doc


def create(tx, data, caller):
    roles.ensure_officer(caller, "record inspections")
    station = stations_view.load(tx.db, data["station_id"], caller, session=tx.session)
    if data["visited_on"] > china_today():
        raise InvalidInput("visited_on must not be in the future", fields={"visited_on": ["in the future"]})
    checklist = checklists.pinned(tx.db, data["checklist_code"], data.get("checklist_version"),
                                  tx.session)
    inspectors = [supervisors.find(tx.db, i, tx.session, field="inspector_ids")
                  for i in dict.fromkeys(data["inspector_ids"])]
    doc = new_doc(tx, station, data["kind"], checklist, caller, visited_on=data["visited_on"],
                  inspectors=inspectors, evaluator=data.get("evaluator"),
                  report_files=data["report_files"])
    return view(tx.db, doc, caller, session=tx.session)


def _open(doc):
    if doc["status"] == "completed":
        raise Conflict(f"inspection {doc['_id']} is completed; it is not changed any more",
                       fields={"inspection_id": ["completed"]}, details={"status": "completed"})


def score(tx, inspection_id, data, caller):
    """Record item scores with their evidence (a `total` in the request is ignored)."""
    doc = load(tx.db, inspection_id, caller, write=True, session=tx.session)
    _open(doc)
    items = scoring.items_of(checklists.by_id(tx.db, doc["checklist_id"], tx.session))
    unknown = sorted(set(data["scores"]) - set(items))
    if unknown:
        raise InvalidInput(f"not items of checklist {doc['checklist_id']}: {', '.join(unknown)}",
                           fields={f"scores.{k}": ["not an item of this checklist"] for k in unknown})
    now = now_ms()
    changes = {}
    for key, entry in data["scores"].items():
        value = scoring.check_score(items[key][1], entry["value"], f"scores.{key}.value")
        changes[f"scores.{key}"] = {"value": value, "notes": entry.get("notes"),
                                    "files": entry.get("files") or [], "scored_by": access.actor(caller),
                                    "scored_at": now}
    if doc["status"] == "planned":
        changes.update(status="in_progress", visited_on=doc["visited_on"] or china_today().isoformat())
    result = tx.db.inspections.update_one({"_id": doc["_id"], "status": doc["status"]},
                                          {"$set": changes}, session=tx.session)
    if result.matched_count != 1:
        raise write_conflict(f"inspection {doc['_id']} changed meanwhile")
    return view(tx.db, find(tx.db, doc["_id"], tx.session), caller, session=tx.session)


def complete(tx, inspection_id, data, caller):
    doc = load(tx.db, inspection_id, caller, write=True, session=tx.session)
    _open(doc)
    checklist = checklists.by_id(tx.db, doc["checklist_id"], tx.session)
    result = scoring.compute(checklist, {k: v["value"] for k, v in doc["scores"].items()})
    findings = tx.db.findings.count_documents({"inspection_id": doc["_id"]}, session=tx.session)
    now = now_ms()
    changes = {"status": "completed", "score": result["total"], "sections": result["sections"],
               "completed_at": now, "completed_by": access.actor(caller),
               "report_files": doc["report_files"] + list(data.get("report_files") or [])}
    updated = tx.db.inspections.update_one({"_id": doc["_id"], "status": doc["status"]},
                                           {"$set": changes}, session=tx.session)
    if updated.matched_count != 1:
        raise write_conflict(f"inspection {doc['_id']} changed meanwhile")
    doc.update(changes)
    tx.emit("inspection.completed", doc["_id"], jsonable({
        **{k: doc[k] for k in ("station_id", "division_code", "county", "city", "province", "kind",
                               "checklist_id", "campaign_id", "visited_on")},
        "inspection_id": doc["_id"], "score": result["total"], "sections": result["sections"],
        "findings": findings}))
    return view(tx.db, doc, caller, session=tx.session)


# -- questions ------------------------------------------------------------------------------


def view(db, doc, caller, session=None):
    out = {k: v for k, v in doc.items() if k not in ("_id", "inspector_subs")}
    out["id"] = doc["_id"]
    out["findings"] = [{**{k: v for k, v in f.items() if k != "_id"}, "id": f["_id"]}
                       for f in db.findings.find({"inspection_id": doc["_id"]}, session=session)
                       .sort("_id", 1)]
    return jsonable(out)


def get(db, inspection_id, caller):
    return view(db, load(db, inspection_id, caller), caller)


def _selector(query, caller):
    selector = queries.scoped(caller, query.get("region"))
    for key in ("station_id", "kind", "status", "campaign_id"):
        if query.get(key):
            selector[key] = query[key]
    return selector


def _row(doc):
    return {k: doc.get(k) for k in ("station_id", "station_name", "division_code", "county", "city",
                                    "province", "kind", "status", "checklist_id", "campaign_id",
                                    "group_id", "inspector_ids", "evaluator", "visited_on", "score",
                                    "sections", "completed_at")} | {"id": doc["_id"]}


def list_page(db, query, caller):
    return queries.page(db.inspections, _selector(query, caller), query,
                        lambda docs: [jsonable(_row(d)) for d in docs])


def export(db, query, caller):
    rows = [[jsonable(_row(d)).get(k) for k, _ in EXPORT_COLUMNS]
            for d in queries.export_rows(db.inspections, _selector(query, caller), [("_id", 1)])]
    return {"name": "inspections", "columns": [{"key": k, "title": t} for k, t in EXPORT_COLUMNS],
            "rows": rows}


def assigned_to(db, query, caller):
    """The stations the caller inspects: inspections naming the caller's sub."""
    access.caller_region(caller)
    selector = {"inspector_subs": caller.get("sub") or "-"}
    return queries.page(db.inspections, selector, query, lambda docs: [jsonable({
        "inspection_id": d["_id"], "campaign_id": d.get("campaign_id"), "station_id": d["station_id"],
        "station_name": d.get("station_name"), "city": d["city"], "status": d["status"]}) for d in docs])
