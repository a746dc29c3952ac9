"""Stations: storage, commands (each inside an outbox transaction) and views.

A station document holds everything about one station, including its dated
status history, the 六有 checklist, staff and rooms, and a `version` that grows
with every change; events carry that version so read models apply changes in
order and ignore stale or repeated ones.
"""
import datetime
import uuid
from zoneinfo import ZoneInfo

from pymongo.errors import DuplicateKeyError

from services.common import access
from services.common.jsonable import jsonable
from services.common.errors import Conflict, InvalidInput, NotFound
from services.common.clock import utcnow
from services.registry import divisions, rules
from services.registry.schemas import CHECKLIST_ITEMS

CHINA = ZoneInfo("Asia/Shanghai")


def today():
    """Station dates are civil dates in China."""
    return datetime.datetime.now(CHINA).date()


def ensure_indexes(db):
    db.stations.create_index([("division_code", 1), ("status", 1)])
    db.stations.create_index([("county", 1), ("status", 1)])
    db.stations.create_index([("city", 1), ("status", 1)])
    db.stations.create_index([("province", 1), ("status", 1)])
    db.stations.create_index([("status", 1), ("staffing.meets_rule", 1), ("division_code", 1)])


def _region_field(code):
    return {2: "province", 4: "city", 6: "county", 9: "division_code"}[len(code)]


def region_filter(region):
    return {_region_field(region): region} if region else {}


def view(station, caller):
    """The station as the API shows it to this caller."""
    show_personal = access.sees_personal_data(caller)
    out = {k: v for k, v in station.items() if k not in ("_id",)}
    out["id"] = station["_id"]
    out["allowed_transitions"] = list(rules.TRANSITIONS[station["status"]])
    out["staff"] = [member if show_personal else
                    {**member, "name": access.mask_name(member["name"]),
                     "phone": access.mask_phone(member.get("phone"))}
                    for member in station.get("staff", [])]
    return jsonable(out)


def snapshot(station):
    """What events say about a station: no names or phones of people."""
    return jsonable({
        "station_id": station["_id"],
        "division_code": station["division_code"],
        "county": station["county"],
        "city": station["city"],
        "province": station["province"],
        "name": station["name"],
        "division_name": station["division_name"],
        **{f"{level}_name": name for level, name in (station.get("region_names") or {}).items()},
        "status": station["status"],
        "status_on": station["history"][-1]["on"],
        "status_history": [{"status": h["status"], "on": h["on"]} for h in station["history"]],
        "opened_on": station.get("opened_on"),
        "population_served": station["population_served"],
        "operator_name": (station.get("operator") or {}).get("name"),
        "staffing": {k: station["staffing"][k] for k in ("required", "have", "meets_rule")},
        "checklist_met": sum(1 for item in station["checklist"].values() if item["state"] == "met"),
        "rooms": len(station.get("rooms", [])),
        "version": station["version"],
    })


def _load(tx, station_id, caller):
    station = tx.db.stations.find_one({"_id": station_id}, session=tx.session)
    if station is None:
        raise NotFound(f"no station {station_id}", fields={"station_id": ["not found"]})
    access.ensure_within(caller, station["division_code"], "station")
    return station


def _save(tx, station, caller):
    """Write the station back, guarded by its version (a concurrent change loses)."""
    previous = station["version"]
    station["version"] = previous + 1
    station["updated_at"] = utcnow()
    station["updated_by"] = access.actor(caller)
    result = tx.db.stations.replace_one({"_id": station["_id"], "version": previous}, station,
                                        session=tx.session)
    if result.matched_count != 1:
        raise Conflict("the station was changed meanwhile; read it again and retry")
    return station


def _serialise_dates(data):
    return {k: (v.isoformat() if isinstance(v, datetime.date) else
                _serialise_dates(v) if isinstance(v, dict) else v) for k, v in data.items()}


def create(tx, data, caller):
    unit = divisions.township_of(tx.db, data["division_code"])
    access.ensure_within(caller, unit["code"], "division_code")
    existing = list(tx.db.stations.find({"division_code": unit["code"]}, {"_id": 1, "status": 1},
                                        session=tx.session))
    rules.check_new_station([s for s in existing if s["status"] in rules.LIVE],
                            data.get("second_station_reason"))
    number = len(existing) + 1
    # Names travel with the station's events, so consumers can label regions
    # without reading the registry's divisions.
    names = {d["level"]: d["name"] for d in divisions.division_path(tx.db, unit["code"])}
    now = utcnow()
    planned_on = data.get("planned_on") or today()
    if planned_on > today():
        raise InvalidInput("planned_on must not be in the future", fields={"planned_on": ["in the future"]})
    on = planned_on.isoformat()
    staff = []
    station = {
        "_id": f"{unit['code']}-{number:02d}",
        "division_code": unit["code"],
        "division_name": unit["name"],
        "division_kind": unit.get("kind"),
        "region_names": {level: names.get(level) for level in ("province", "city", "county")},
        "county": unit["county"],
        "city": unit["city"],
        "province": unit["province"],
        "name": data["name"],
        "address": data.get("address"),
        "population_served": data.get("population_served") or 0,
        "operator": _serialise_dates(data["operator"]) if data.get("operator") else None,
        "second_station_reason": data.get("second_station_reason"),
        "status": "planned",
        "opened_on": None,
        "history": [{"status": "planned", "on": on, "recorded_at": now,
                     "by": access.actor(caller), "note": None}],
        "checklist": {item: {"state": "missing", "note": None, "attested_on": None}
                      for item in CHECKLIST_ITEMS},
        "staff": staff,
        "staffing": rules.staffing(staff, data.get("population_served") or 0),
        "rooms": [],
        "version": 1,
        "created_at": now,
        "updated_at": now,
        "created_by": access.actor(caller),
    }
    try:
        tx.db.stations.insert_one(station, session=tx.session)
    except DuplicateKeyError:
        raise Conflict("another station was registered for this unit at the same moment; retry")
    tx.emit("station.created", station["_id"], snapshot(station))
    return view(station, caller)


def get(db, station_id, caller):
    station = db.stations.find_one({"_id": station_id})
    if station is None:
        raise NotFound(f"no station {station_id}", fields={"station_id": ["not found"]})
    access.ensure_within(caller, station["division_code"], "station")
    return view(station, caller)


def list_page(db, query, caller):
    region = access.narrow(caller, query.get("region"))
    selector = region_filter(region)
    if query.get("status"):
        selector["status"] = query["status"]
    page, per_page = query["page"], query["per_page"]
    total = db.stations.count_documents(selector)
    items = db.stations.find(selector).sort("_id", 1).skip((page - 1) * per_page).limit(per_page)
    return {"items": [view(s, caller) for s in items], "total": total, "page": page, "per_page": per_page}


def update(tx, station_id, data, caller):
    station = _load(tx, station_id, caller)
    if station["status"] == "closed":
        raise Conflict("a closed station cannot be changed", details={"status": "closed"})
    changed = sorted(data)
    for key, value in data.items():
        station[key] = _serialise_dates(value) if isinstance(value, dict) else value
    if "population_served" in data:
        station["staffing"] = rules.staffing(station["staff"], station["population_served"])
    _save(tx, station, caller)
    tx.emit("station.updated", station_id, {**snapshot(station), "changed": changed})
    return view(station, caller)


def transition(tx, station_id, data, caller):
    station = _load(tx, station_id, caller)
    current, to, on = station["status"], data["to"], data["on"]
    rules.check_transition(current, to, on, station["history"], today())
    station["status"] = to
    station["history"].append({"status": to, "on": on.isoformat(), "recorded_at": utcnow(),
                               "by": access.actor(caller), "note": data.get("note")})
    if to == "operating" and not station.get("opened_on"):
        station["opened_on"] = on.isoformat()
    _save(tx, station, caller)
    tx.emit(rules.transition_event(current, to), station_id,
            {**snapshot(station), "from_status": current})
    return view(station, caller)


def update_checklist(tx, station_id, data, caller):
    station = _load(tx, station_id, caller)
    for item, entry in data.items():
        station["checklist"][item] = {"state": entry["state"], "note": entry.get("note"),
                                      "attested_on": entry["attested_on"].isoformat()}
    _save(tx, station, caller)
    tx.emit("station.checklist_updated", station_id,
            {**snapshot(station),
             "items": {item: station["checklist"][item]["state"] for item in sorted(data)}})
    return view(station, caller)["checklist"]


def _staffing_changed(tx, station, caller):
    station["staffing"] = rules.staffing(station["staff"], station["population_served"])
    _save(tx, station, caller)
    tx.emit("station.staffing_changed", station["_id"], snapshot(station))


def add_staff(tx, station_id, data, caller):
    station = _load(tx, station_id, caller)
    member = {"id": uuid.uuid4().hex[:12], **_serialise_dates(data)}
    if member["role"] in ("head", "supervisor") and any(m["role"] == member["role"] for m in station["staff"]):
        raise Conflict(f"the station already has a {member['role']}; change or remove that one first",
                       fields={"role": [f"station already has a {member['role']}"]})
    station["staff"].append(member)
    _staffing_changed(tx, station, caller)
    return next(m for m in view(station, caller)["staff"] if m["id"] == member["id"])


def _find_member(station, staff_id):
    for member in station["staff"]:
        if member["id"] == staff_id:
            return member
    raise NotFound(f"no staff member {staff_id} at station {station['_id']}",
                   fields={"staff_id": ["not found"]})


def update_staff(tx, station_id, staff_id, data, caller):
    station = _load(tx, station_id, caller)
    member = _find_member(station, staff_id)
    new_role = data.get("role", member["role"])
    if new_role != member["role"] and new_role in ("head", "supervisor") and \
            any(m["role"] == new_role for m in station["staff"]):
        raise Conflict(f"the station already has a {new_role}", fields={"role": [f"station already has a {new_role}"]})
    member.update(data)
    _staffing_changed(tx, station, caller)
    return next(m for m in view(station, caller)["staff"] if m["id"] == staff_id)


def remove_staff(tx, station_id, staff_id, caller):
    station = _load(tx, station_id, caller)
    _find_member(station, staff_id)
    station["staff"] = [m for m in station["staff"] if m["id"] != staff_id]
    _staffing_changed(tx, station, caller)


def add_room(tx, station_id, data, caller):
    station = _load(tx, station_id, caller)
    village = data["village_code"]
    if not village.startswith(station["division_code"]):
        raise InvalidInput(f"village {village} is not in {station['division_name']}",
                           fields={"village_code": ["not in the station's township"]})
    known = tx.db.divisions.count_documents({"level": "village", "parent": station["division_code"]},
                                            session=tx.session)
    if known and not tx.db.divisions.find_one({"_id": village}, {"_id": 1}, session=tx.session):
        raise InvalidInput(f"no village or community committee {village}",
                           fields={"village_code": ["unknown code"]})
    if any(r["village_code"] == village and r["kind"] == data["kind"] for r in station["rooms"]):
        raise Conflict(f"village {village} already has a {data['kind']} of this station",
                       fields={"village_code": ["already has one"]})
    room = {"id": uuid.uuid4().hex[:12], **_serialise_dates(data)}
    station["rooms"].append(room)
    _save(tx, station, caller)
    tx.emit("station.room_added", station_id,
            {**snapshot(station), "room": {k: room[k] for k in ("id", "kind", "name", "village_code")}})
    return jsonable(room)


def remove_room(tx, station_id, room_id, caller):
    station = _load(tx, station_id, caller)
    room = next((r for r in station["rooms"] if r["id"] == room_id), None)
    if room is None:
        raise NotFound(f"no room {room_id} at station {station_id}", fields={"room_id": ["not found"]})
    station["rooms"] = [r for r in station["rooms"] if r["id"] != room_id]
    _save(tx, station, caller)
    tx.emit("station.room_removed", station_id,
            {**snapshot(station), "room": {k: room[k] for k in ("id", "kind", "name", "village_code")}})


def staffing_gaps(db, query, caller):
    """Live stations (built, operating, suspended) short of the 1+1+X rule."""
    region = access.narrow(caller, query.get("region"))
    selector = {**region_filter(region), "status": {"$in": list(rules.COVERING)},
                "staffing.meets_rule": False}
    page, per_page = query["page"], query["per_page"]
    total = db.stations.count_documents(selector)
    found = db.stations.find(selector, {"name": 1, "division_code": 1, "status": 1,
                                        "population_served": 1, "staffing": 1}) \
        .sort("_id", 1).skip((page - 1) * per_page).limit(per_page)
    items = [{"station_id": s["_id"], "name": s["name"], "division_code": s["division_code"],
              "status": s["status"], "population_served": s["population_served"],
              "staffing": s["staffing"]} for s in found]
    return {"items": items, "total": total, "page": page, "per_page": per_page}
