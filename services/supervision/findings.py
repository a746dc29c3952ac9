"""Findings of an inspection: an observation and a recommendation kept apart, a severity.

    findings: {_id: "FD2026000001", inspection_id, station_id, division_code, county, city,
               province, item_key, observation, recommendation, severity, needs_action,
               deadline, rectification_id, raised_at, raised_by}

A finding that needs action becomes a rectification item of the station at
once (rectifications.open_item), with the finding's deadline: by default the visit
date plus the severity's days (SUPERVISION_RECTIFICATION_DAYS). Findings are
raised while the inspection is open; its events carry neither the observation
nor the recommendation.
"""
import datetime

from services.common import access, sequences
from services.common.clock import china_today, now_ms
from services.common.errors import Conflict, InvalidInput
from services.common.jsonable import jsonable
from services.supervision import checklists, inspections, rectifications, rules, scoring, settings


def ensure_indexes(db):
    db.findings.create_index([("inspection_id", 1)])


def raise_finding(tx, inspection_id, data, caller):
    inspection = inspections.load(tx.db, inspection_id, caller, write=True, session=tx.session)
    if inspection["status"] == "completed":
        raise Conflict(f"inspection {inspection_id} is completed; it takes no new findings",
                       fields={"inspection_id": ["completed"]})
    if data.get("item_key"):
        items = scoring.items_of(checklists.by_id(tx.db, inspection["checklist_id"], tx.session))
        if data["item_key"] not in items:
            raise InvalidInput(f"{data['item_key']} is not an item of {inspection['checklist_id']}",
                               fields={"item_key": ["not an item of this checklist"]})
    visited_on = datetime.date.fromisoformat(inspection["visited_on"]) if inspection["visited_on"] \
        else china_today()
    deadline = data.get("deadline") or rules.default_deadline(
        visited_on, data["severity"], settings.rectification_days())
    if deadline < visited_on:
        raise InvalidInput("deadline must not be before the inspection", fields={"deadline": ["too early"]})
    number = sequences.next_number(tx, f"finding:{visited_on.year}")
    item_id = rectifications.next_id(tx, visited_on.year) if data["needs_action"] else None
    doc = {"_id": f"FD{visited_on.year}{number:06d}", "inspection_id": inspection["_id"],
           **{k: inspection[k] for k in ("station_id", "division_code", "county", "city", "province")},
           "item_key": data.get("item_key"), "observation": data["observation"],
           "recommendation": data["recommendation"], "severity": data["severity"],
           "needs_action": data["needs_action"], "deadline": deadline.isoformat(),
           "rectification_id": item_id, "raised_at": now_ms(), "raised_by": access.actor(caller)}
    tx.db.findings.insert_one(doc, session=tx.session)
    tx.emit("finding.raised", doc["_id"], jsonable({
        **{k: doc[k] for k in ("station_id", "division_code", "county", "city", "province",
                               "inspection_id", "item_key", "severity", "needs_action")},
        "finding_id": doc["_id"], "rectification_id": item_id}))
    if item_id:
        rectifications.open_item(tx, item_id, doc, inspection, caller)
    return jsonable({**{k: v for k, v in doc.items() if k != "_id"}, "id": doc["_id"]})
