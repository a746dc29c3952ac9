"""Mutual inspection campaigns (督导互查) of a province.

    campaigns: {_id: "HC2026001", title, province, period_from, period_to, checklist_id,
                sample {per_city | share}, group_size, status (open | assigned),
                seed, assignment (the confirmed plan, with inspection ids), opened_at, ...}

The province opens a campaign; a preview computes the plan (assignment.plan)
over the operating stations and active supervisors the service knows now,
changing nothing; confirming with the same seed computes it again, stores it,
and opens one planned inspection per drawn station (kind `mutual`, pinned to
the campaign's checklist version, naming the group's inspectors). A preview
answers a `fingerprint` of its plan: confirming with it is refused (409) if the
stations or supervisors changed meanwhile, so what is confirmed is what was seen.
"""
import hashlib
import json

from services.common import access, queries, sequences
from services.common.clock import now_ms
from services.common.errors import Conflict, Forbidden, NotFound
from services.common.jsonable import jsonable
from services.supervision import assignment, checklists, inspections, roles, stations_view, supervisors


def ensure_indexes(db):
    db.campaigns.create_index([("province", 1), ("opened_at", -1)])


def open_campaign(tx, data, caller):
    roles.ensure_officer(caller, "open campaigns")
    province = access.caller_region(caller)
    if len(province) != 2:
        raise Forbidden("the province opens mutual inspection campaigns",
                        details={"allowed_roles": ["province_admin"]})
    checklist = checklists.pinned(tx.db, data["checklist_code"], data.get("checklist_version"), tx.session)
    year = data["period_from"].year
    number = sequences.next_number(tx, f"campaign:{province}:{year}")
    doc = {"_id": f"HC{province}{year}{number:03d}", "title": data["title"], "province": province,
           "period_from": data["period_from"].isoformat(), "period_to": data["period_to"].isoformat(),
           "checklist_id": checklist["_id"], "sample": {k: v for k, v in data["sample"].items()},
           "group_size": data["group_size"], "status": "open", "seed": None, "assignment": None,
           "opened_at": now_ms(), "opened_by": access.actor(caller)}
    tx.db.campaigns.insert_one(doc, session=tx.session)
    tx.emit("campaign.opened", doc["_id"], jsonable({
        "campaign_id": doc["_id"], **{k: doc[k] for k in ("province", "period_from", "period_to",
                                                          "checklist_id", "group_size")},
        "sample": {"per_city": doc["sample"].get("per_city"), "share": doc["sample"].get("share")}}))
    return view(doc)


def _load(db, campaign_id, caller, session=None):
    doc = db.campaigns.find_one({"_id": campaign_id}, session=session)
    if doc is None:
        raise NotFound(f"no campaign {campaign_id}", fields={"campaign_id": ["not found"]})
    access.narrow(caller, doc["province"])
    return doc


def _inputs(db, province, session=None):
    stations = [{"station_id": s["_id"], "city": s["city"], "county": s["county"],
                 "operator": s.get("operator_name")}
                for s in db.stations.find({"province": province, "status": "operating"},
                                          {"city": 1, "county": 1, "operator_name": 1}, session=session)]
    people = [{"supervisor_id": s["_id"], "city": s["city"], "organisation": s.get("organisation")}
              for s in supervisors.active_in(db, province) if s.get("city")]
    return stations, people


def _plan(db, campaign, seed, session=None):
    stations, people = _inputs(db, campaign["province"], session)
    plan = assignment.plan(stations, people, campaign["sample"], campaign["group_size"], seed)
    plan["fingerprint"] = hashlib.sha256(json.dumps(plan, sort_keys=True).encode()).hexdigest()[:16]
    plan["campaign_id"] = campaign["_id"]
    return plan


def preview(db, campaign_id, data, caller):
    roles.ensure_officer(caller, "plan campaigns")
    campaign = _load(db, campaign_id, caller)
    plan = _plan(db, campaign, data["seed"])
    return jsonable({**plan, "confirmed": False})


def confirm(tx, campaign_id, data, caller):
    roles.ensure_officer(caller, "confirm campaigns")
    campaign = _load(tx.db, campaign_id, caller, tx.session)
    if len(access.caller_region(caller)) > 2:
        raise Forbidden("the province confirms mutual inspection assignments")
    if campaign["status"] != "open":
        raise Conflict(f"campaign {campaign_id} is already assigned (seed {campaign['seed']})",
                       fields={"campaign_id": ["already assigned"]},
                       details={"status": campaign["status"], "seed": campaign["seed"]})
    plan = _plan(tx.db, campaign, data["seed"], tx.session)
    if data.get("fingerprint") and data["fingerprint"] != plan["fingerprint"]:
        raise Conflict("the stations or supervisors changed since the preview: preview again",
                       fields={"fingerprint": ["differs from the plan now"]},
                       details={"fingerprint": plan["fingerprint"]})
    checklist = checklists.by_id(tx.db, campaign["checklist_id"], tx.session)
    people = {s["_id"]: s for s in supervisors.active_in(tx.db, campaign["province"])}
    stations = {s["station_id"]: s for s in plan["stations"]}
    for group in plan["groups"]:
        group["inspection_ids"] = []
        for station_id in group["station_ids"]:
            station = stations_view.find(tx.db, station_id, tx.session)
            doc = inspections.new_doc(tx, station, "mutual", checklist, caller,
                                      inspectors=[people[i] for i in group["inspector_ids"]],
                                      campaign_id=campaign["_id"], group_id=group["group_id"],
                                      due_on=campaign["period_to"])
            group["inspection_ids"].append(doc["_id"])
            stations[station_id]["inspection_id"] = doc["_id"]
    now = now_ms()
    tx.db.campaigns.update_one({"_id": campaign["_id"], "status": "open"},
                               {"$set": {"status": "assigned", "seed": data["seed"],
                                         "assignment": jsonable(plan), "confirmed_at": now,
                                         "confirmed_by": access.actor(caller)}}, session=tx.session)
    tx.emit("assignment.confirmed", campaign["_id"], jsonable({
        "campaign_id": campaign["_id"], "province": campaign["province"], "seed": data["seed"],
        "stations": len(plan["stations"]),
        "groups": [{k: g[k] for k in ("group_id", "city", "inspector_ids", "station_ids", "inspection_ids")}
                   for g in plan["groups"]]}))
    return jsonable({**plan, "confirmed": True})


def view(doc):
    out = {k: v for k, v in doc.items() if k not in ("_id", "assignment")}
    out["id"] = doc["_id"]
    return jsonable(out)


def get(db, campaign_id, caller):
    return view(_load(db, campaign_id, caller))


def get_assignment(db, campaign_id, caller):
    campaign = _load(db, campaign_id, caller)
    if not campaign.get("assignment"):
        raise NotFound(f"campaign {campaign_id} has no confirmed assignment yet: preview and confirm it",
                       fields={"campaign_id": ["not assigned"]})
    return jsonable({**campaign["assignment"], "confirmed": True})


def list_page(db, query, caller):
    region = access.caller_region(caller)
    selector = {"province": region[:2]} if region else {}
    return queries.page(db.campaigns, selector, query, lambda docs: [view(d) for d in docs],
                        sort=(("opened_at", -1), ("_id", 1)))
