"""Rectification items (整改): what a station must put right after a finding.

    rectifications: {_id: "ZG2026000001", finding_id, inspection_id, station_id,
                     division_code, county, city, province, station_name, severity,
                     observation, recommendation, deadline, status, overdue, overdue_at,
                     escalated_to, escalations (steps taken), next_escalation_at,
                     evidence {notes, files}, submitted_by, submitted_at,
                     history [{status, at, by, note, evidence, level}], opened_at, closed_at}

Lifecycle (rules.RECTIFICATION_TRANSITIONS): open -> in_progress -> submitted
(with evidence) -> closed (verified), or submitted -> reopened (sent back with a
reason) -> in_progress / submitted again. The station's staff and officers of
its region start and submit; officers of its region and the inspection's
inspectors verify. The verifier is never the submitter (compared by token
subject); closing an item with no evidence is refused; closing twice is a 409.
Every change is a line of the history.

Past its deadline (its last second, China time) an item the station still owes
is overdue: escalated to the county, then every SUPERVISION_ESCALATION_DAYS to
the city and the province, each step an event and a line in that region's
list (escalations.py). The scheduled job (due_jobs.py) takes the steps; each
is a conditional update on the number of steps taken, so two replicas never
take one twice.
"""
import datetime

from services.common import access, queries, sequences
from services.common.clock import china_date, china_today, now_ms
from services.common.errors import Conflict, Forbidden, NotFound, write_conflict
from services.common.jsonable import jsonable
from services.supervision import escalations, inspections, roles, rules, settings

EXPORT_COLUMNS = [("id", "整改编号"), ("station_id", "社工站编号"), ("station_name", "社工站"),
                  ("severity", "严重程度"), ("observation", "问题"), ("recommendation", "建议"),
                  ("deadline", "整改期限"), ("status", "状态"), ("overdue", "逾期"),
                  ("escalated_to", "已上报至")]
EVENT_OF = {"submitted": "rectification.submitted", "closed": "rectification.closed",
            "reopened": "rectification.reopened"}


def ensure_indexes(db):
    for field in ("division_code", "county", "city", "province"):
        db.rectifications.create_index([(field, 1), ("deadline", 1)])
    db.rectifications.create_index([("status", 1), ("next_escalation_at", 1)])
    db.rectifications.create_index([("station_id", 1), ("status", 1)])
    db.rectifications.create_index([("inspection_id", 1)])


def next_id(tx, year):
    return f"ZG{year}{sequences.next_number(tx, f'rectification:{year}'):06d}"


def _event(tx, name, doc, on, **extra):
    tx.emit(name, doc["_id"], jsonable({
        **{k: doc[k] for k in ("station_id", "division_code", "county", "city", "province",
                               "finding_id", "inspection_id", "severity", "deadline", "status",
                               "overdue", "escalated_to")},
        "rectification_id": doc["_id"], "on": on.isoformat(), **extra}))


def _line(status, caller, at, note=None, evidence=None, level=None):
    return {"status": status, "at": at, "by": access.actor(caller), "note": note,
            "evidence": evidence, "level": level}


def open_item(tx, item_id, finding, inspection, caller):
    now = now_ms()
    deadline = datetime.date.fromisoformat(finding["deadline"])
    doc = {"_id": item_id, "finding_id": finding["_id"], "inspection_id": inspection["_id"],
           **{k: inspection[k] for k in ("station_id", "division_code", "county", "city", "province",
                                         "station_name")},
           "severity": finding["severity"], "observation": finding["observation"],
           "recommendation": finding["recommendation"], "deadline": finding["deadline"],
           "status": "open", "overdue": False, "overdue_at": None, "escalated_to": None,
           "escalations": 0,
           "next_escalation_at": rules.next_escalation_at(deadline, settings.escalation_days(), 0),
           "evidence": None, "submitted_by": None, "submitted_at": None,
           "history": [_line("open", caller, now)], "opened_at": now, "closed_at": None}
    tx.db.rectifications.insert_one(doc, session=tx.session)
    _event(tx, "rectification.opened", doc, china_today())
    return doc


def find(db, item_id, session=None):
    doc = db.rectifications.find_one({"_id": item_id}, session=session)
    if doc is None:
        raise NotFound(f"no rectification item {item_id}", fields={"rectification_id": ["not found"]})
    return doc


def _assigned(tx_db, caller, doc, session=None):
    inspection = tx_db.inspections.find_one({"_id": doc["inspection_id"]}, {"inspector_subs": 1},
                                            session=session)
    return inspection is not None and inspections.is_assigned(caller, inspection)


def _ensure_verifier(db, caller, doc, session):
    access.caller_region(caller)
    if not (_assigned(db, caller, doc, session) or
            (roles.is_officer(caller) and access.within(caller, doc["division_code"]))):
        if not access.within(caller, doc["division_code"]):
            access.ensure_within(caller, doc["division_code"], "rectification_id")
        raise Forbidden(f"role {caller.get('role')} may not verify rectification items",
                        details={"allowed_roles": list(roles.OFFICERS) + ["inspector"]})
    if doc.get("submitted_by") and doc["submitted_by"] == roles.who(caller):
        raise Forbidden("the verifier is never the submitter: someone else verifies this item",
                        fields={"verifier": ["you submitted this item"]})


def change(tx, item_id, to, data, caller):
    """start (in_progress), submit, close or reopen an item."""
    doc = find(tx.db, item_id, tx.session)
    if to in ("in_progress", "submitted"):
        roles.ensure_station_worker(caller, "work on rectification items")
        access.ensure_within(caller, doc["division_code"], "rectification_id")
    else:
        _ensure_verifier(tx.db, caller, doc, tx.session)
    if to == "closed" and doc["status"] == "closed":
        raise Conflict(f"rectification {item_id} is already closed", fields={"status": ["closed"]},
                       details={"status": "closed", "allowed": []})
    if to == "closed" and not doc.get("evidence"):
        raise Conflict(f"rectification {item_id} has no evidence: it is closed only after the "
                       "station submits its evidence", fields={"evidence": ["missing"]},
                       details={"status": doc["status"]})
    rules.check_rectification_step(doc["status"], to, item_id)
    now = now_ms()
    changes = {"status": to}
    line = _line(to, caller, now, note=data.get("note") or data.get("reason"))
    if to == "submitted":
        evidence = jsonable(data["evidence"])
        changes.update(evidence=evidence, submitted_by=roles.who(caller), submitted_at=now)
        line["evidence"] = evidence
    if to == "closed":
        changes.update(closed_at=now, closed_by=roles.who(caller), next_escalation_at=None)
    result = tx.db.rectifications.update_one({"_id": item_id, "status": doc["status"]},
                                             {"$set": changes, "$push": {"history": line}},
                                             session=tx.session)
    if result.matched_count != 1:
        raise write_conflict(f"rectification {item_id} changed meanwhile")
    doc.update(changes)
    doc["history"] = doc["history"] + [line]
    if to in EVENT_OF:
        _event(tx, EVENT_OF[to], doc, china_today())
    return view(doc, caller)


def escalate(tx, item_id, now):
    """Take the escalation steps due by `now` (the first also marks it overdue). The count."""
    doc = find(tx.db, item_id, tx.session)
    if doc["status"] not in rules.OWED:
        return 0
    deadline = datetime.date.fromisoformat(doc["deadline"])
    step_days = settings.escalation_days()
    due = rules.escalations_due(deadline, step_days, doc["escalations"], now)
    if not due:
        return 0
    on = china_date(now)
    system = {"sub": "scheduler", "role": "system"}
    lines, changes = [], {}
    if not doc["overdue"]:
        changes.update(overdue=True, overdue_at=now)
        doc.update(changes)
        lines.append(_line("overdue", system, now))
        _event(tx, "rectification.overdue", doc, on)
    for level, _at in due:
        to = rules.region_at(level, doc)
        escalations.record(tx, doc, level, to, now)
        doc["escalated_to"] = level
        lines.append(_line("escalated", system, now, level=level))
        _event(tx, "rectification.escalated", doc, on, level=level, region=to)
    reached = doc["escalations"] + len(due)
    changes.update(escalated_to=doc["escalated_to"], escalations=reached,
                   next_escalation_at=rules.next_escalation_at(deadline, step_days, reached))
    result = tx.db.rectifications.update_one(
        {"_id": item_id, "escalations": doc["escalations"], "status": doc["status"]},
        {"$set": changes, "$push": {"history": {"$each": lines}}}, session=tx.session)
    if result.matched_count != 1:
        raise write_conflict(f"rectification {item_id} changed meanwhile")
    return len(due)


def due_for_escalation(db, now, limit=500):
    return [d["_id"] for d in db.rectifications.find(
        {"status": {"$in": list(rules.OWED)}, "next_escalation_at": {"$lte": now}}, {"_id": 1})
        .sort("next_escalation_at", 1).limit(limit)]


# -- questions -------------------------------------------------------------------------------


def view(doc, caller):
    out = {k: v for k, v in doc.items() if k not in ("_id", "next_escalation_at")}
    out["id"] = doc["_id"]
    out["allowed"] = list(rules.RECTIFICATION_TRANSITIONS[doc["status"]])
    return jsonable(out)


def get(db, item_id, caller):
    doc = find(db, item_id)
    if not _assigned(db, caller, doc):
        access.ensure_within(caller, doc["division_code"], "rectification_id")
    return view(doc, caller)


def _selector(query, caller):
    selector = queries.scoped(caller, query.get("region"))
    for key in ("station_id", "status", "inspection_id"):
        if query.get(key):
            selector[key] = query[key]
    if query.get("overdue") is not None:
        selector["overdue"] = query["overdue"]
    return selector


def list_page(db, query, caller):
    return queries.page(db.rectifications, _selector(query, caller), query,
                        lambda docs: [view(d, caller) for d in docs],
                        sort=(("deadline", 1), ("_id", 1)))


def export(db, query, caller):
    docs = queries.export_rows(db.rectifications, _selector(query, caller), [("deadline", 1), ("_id", 1)])
    return {"name": "rectifications", "columns": [{"key": k, "title": t} for k, t in EXPORT_COLUMNS],
            "rows": [[view(d, caller).get(k) for k, _ in EXPORT_COLUMNS] for d in docs]}


def in_month(db, selector, month):
    """Items of a region or station whose deadline falls in `month`, or that are overdue and owed."""
    first, last = rules.first_day(month).isoformat(), rules.last_day(month).isoformat()
    return list(db.rectifications.find({**selector, "deadline": {"$gte": first, "$lte": last}},
                                       {"history": 0, "observation": 0, "recommendation": 0}))
