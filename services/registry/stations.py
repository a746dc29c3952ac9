"""Stations: the `stations` collection, the commands on it and the views of a station.

A station document holds everything about one station, including its dated
status history, the 六有 checklist, staff and rooms, and a `version` that grows
with every change; events carry that version so read models apply changes in
order and ignore stale or repeated ones.

Commands take the command's transaction `tx` and emit their event there;
queries take `db`. Both take the caller and check its region here.

Staff names and phones are shown unmasked to officers and station staff
(access.sees_personal_data); every answer that does so writes its entry in the
audit trail first (`audit_shown`, services/common/audit.py), naming each staff
member shown with the station's township. Masked answers write none.
"""
import uuid

from pymongo.errors import BulkWriteError, DuplicateKeyError

from services.common import access, audit, queries
from services.common.clock import china_today, now_ms
from services.common.errors import Conflict, InvalidInput, NotFound, write_conflict
from services.common.jsonable import jsonable
from services.registry import divisions, rules
from services.registry.schemas import CHECKLIST_ITEMS


def ensure_indexes(db):
    db.stations.create_index([("division_code", 1), ("status", 1)])
    db.stations.create_index([("county", 1), ("status", 1)])
    db.stations.create_index([("city", 1), ("status", 1)])
    db.stations.create_index([("province", 1), ("status", 1)])
    db.stations.create_index([("status", 1), ("staffing.meets_rule", 1), ("division_code", 1)])


# --------------------------------------------------------------------------
# Views


def staff_view(member, caller):
    """A staff member as this caller may see them: masked unless their role needs it."""
    if access.sees_personal_data(caller):
        return member
    return {**member, "name": access.mask_name(member["name"]),
            "phone": access.mask_phone(member.get("phone"))}


def view(station, caller, with_staff=True):
    """The station as the API shows it to this caller (without `staff` if not asked)."""
    out = {k: v for k, v in station.items() if k not in ("_id", "staff")}
    out["id"] = station["_id"]
    out["allowed_transitions"] = list(rules.TRANSITIONS[station["status"]])
    if with_staff:
        out["staff"] = [staff_view(member, caller) for member in station.get("staff", [])]
    return jsonable(out)


def audit_shown(db, caller, found):
    """Before an answer shows the staff of these stations unmasked: who saw whom."""
    if access.sees_personal_data(caller):
        audit.saw_personal_data(db, "registry", "station_staff",
                                [(member["id"], station["division_code"])
                                 for station in found for member in station.get("staff", [])])


def snapshot(station):
    """What events say about a station: staff by id and role, never names or phones."""
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
        "staff": [{"id": m["id"], "role": m["role"], "certification": m.get("certification")}
                  for m in station.get("staff", [])],
        "checklist_met": sum(1 for item in station["checklist"].values() if item["state"] == "met"),
        "rooms": len(station.get("rooms", [])),
        "version": station["version"],
    })


def room_ref(room):
    return {k: room[k] for k in ("id", "kind", "name", "village_code")}


def _staffing_gap(station):
    return {"station_id": station["_id"],
            **{k: station[k] for k in ("name", "division_code", "status", "population_served",
                                       "staffing")}}


# --------------------------------------------------------------------------
# Queries


def _load(db, station_id, caller, session=None):
    return queries.load_in_region(db.stations, station_id, caller, what="station",
                                  field="station_id", session=session)


def get(db, station_id, caller, with_staff=True):
    """One station; `with_staff=False` leaves its staff out (a checklist or rooms answer)."""
    station = _load(db, station_id, caller)
    if with_staff:
        audit_shown(db, caller, [station])
    return view(station, caller, with_staff)


def selector(query, caller):
    """The stations a list or an export asks for: in the region, of the status."""
    found = queries.scoped(caller, query.get("region"))
    if query.get("status"):
        found["status"] = query["status"]
    return found


def list_page(db, query, caller):
    def views(found):
        audit_shown(db, caller, found)
        return [view(s, caller) for s in found]

    return queries.page(db.stations, selector(query, caller), query, views)


def export_rows(db, selector_, sort=(("_id", 1),)):
    """Every station an export covers (refused beyond queries.EXPORT_LIMIT)."""
    return queries.export_rows(db.stations, selector_, sort)


def in_county(db, county, session=None):
    """Every station of a county, any status: what an import matches its rows against."""
    return list(db.stations.find({"county": county}, session=session).sort("_id", 1))


def gaps_selector(query, caller):
    """Live stations (built, operating, suspended) short of the 1+1+X rule, in the region."""
    return {**queries.scoped(caller, query.get("region")),
            "status": {"$in": list(rules.COVERING)}, "staffing.meets_rule": False}


def staffing_gaps(db, query, caller):
    return queries.page(db.stations, gaps_selector(query, caller), query,
                        lambda found: [_staffing_gap(s) for s in found])


# --------------------------------------------------------------------------
# Commands


def _to_change(tx, station_id, caller):
    """The station a command changes, read in its transaction."""
    return _load(tx.db, station_id, caller, tx.session)


def _save(tx, station, caller):
    """Write the station back, guarded by its version (a concurrent change loses)."""
    previous = station["version"]
    station["version"] = previous + 1
    station["updated_at"] = now_ms()
    station["updated_by"] = access.actor(caller)
    result = tx.db.stations.replace_one({"_id": station["_id"], "version": previous}, station,
                                        session=tx.session)
    if result.matched_count != 1:
        raise Conflict("the station was changed meanwhile; read it again and retry")
    return station


def create(tx, data, caller):
    # The unit and its regions in one find: their names travel with the station's
    # events, so consumers can label regions without reading the registry's divisions.
    unit, path = divisions.township_and_path(tx.db, data["division_code"])
    access.ensure_within(caller, unit["code"], "division_code")
    existing = list(tx.db.stations.find({"division_code": unit["code"]}, {"_id": 1, "status": 1},
                                        session=tx.session))
    rules.check_new_station([s for s in existing if s["status"] in rules.LIVE],
                            data.get("second_station_reason"))
    today = china_today()
    planned_on = data.get("planned_on") or today
    if planned_on > today:
        raise InvalidInput("planned_on must not be in the future", fields={"planned_on": ["in the future"]})
    names = {d["level"]: d["name"] for d in path}
    now = now_ms()
    station = new_document(f"{unit['code']}-{len(existing) + 1:02d}", unit, names, data,
                           [{"status": "planned", "on": planned_on.isoformat(), "recorded_at": now,
                             "by": access.actor(caller), "note": None}], caller, now)
    try:
        tx.db.stations.insert_one(station, session=tx.session)
    except DuplicateKeyError:
        raise Conflict("another station was registered for this unit at the same moment; retry")
    tx.emit("station.created", station["_id"], snapshot(station))
    return view(station, caller)


def new_document(station_id, unit, names, data, history, caller, now, staff=(), rooms=()):
    """A new station's document: `unit` the township (divisions.public), `names`
    {level: name} of its regions, `history` its dated steps, planned first."""
    population = data.get("population_served") or 0
    opened = next((h["on"] for h in history if h["status"] == "operating"), None)
    return {
        "_id": station_id,
        "division_code": unit["code"],
        "division_name": unit["name"],
        "division_kind": unit.get("kind"),
        "region_names": {level: names.get(level) for level in ("province", "city", "county")},
        "county": unit["county"],
        "city": unit["city"],
        "province": unit["province"],
        "name": data["name"],
        "address": data.get("address"),
        "population_served": population,
        "operator": jsonable(data.get("operator")),
        "second_station_reason": data.get("second_station_reason"),
        "status": history[-1]["status"],
        "opened_on": opened,
        "history": list(history),
        "checklist": {item: {"state": "missing", "note": None, "attested_on": None}
                      for item in CHECKLIST_ITEMS},
        "staff": list(staff),
        "staffing": rules.staffing(list(staff), population),
        "rooms": list(rooms),
        "version": 1,
        "created_at": now,
        "updated_at": now,
        "created_by": access.actor(caller),
    }


def insert_new(tx, docs):
    """Store new stations (an import's batch); an id taken meanwhile runs the batch again."""
    if not docs:
        return
    try:
        tx.db.stations.insert_many(docs, ordered=True, session=tx.session)
    except (DuplicateKeyError, BulkWriteError) as exc:
        errors = getattr(exc, "details", {}).get("writeErrors", [{"code": 11000}])
        if any(e.get("code") != 11000 for e in errors):
            raise
        raise write_conflict("a station id was taken meanwhile") from None


def replace_changed(tx, station, previous_version):
    """Store a changed station over the version it was read at; changed meanwhile:
    the command runs again (errors.write_conflict)."""
    result = tx.db.stations.replace_one({"_id": station["_id"], "version": previous_version},
                                        station, session=tx.session)
    if result.matched_count != 1:
        raise write_conflict(f"station {station['_id']} was changed meanwhile")


def update(tx, station_id, data, caller):
    station = _to_change(tx, station_id, caller)
    if station["status"] == "closed":
        raise Conflict("a closed station cannot be changed", details={"status": "closed"})
    station.update(jsonable(data))
    if "population_served" in data:
        station["staffing"] = rules.staffing(station["staff"], station["population_served"])
    _save(tx, station, caller)
    tx.emit("station.updated", station_id, {**snapshot(station), "changed": sorted(data)})
    return view(station, caller)


def transition(tx, station_id, data, caller):
    station = _to_change(tx, station_id, caller)
    current, to, on = station["status"], data["to"], data["on"]
    rules.check_transition(current, to, on, station["history"], china_today())
    station["status"] = to
    station["history"].append({"status": to, "on": on.isoformat(), "recorded_at": now_ms(),
                               "by": access.actor(caller), "note": data.get("note")})
    if to == "operating" and not station.get("opened_on"):
        station["opened_on"] = on.isoformat()
    _save(tx, station, caller)
    tx.emit(rules.transition_event(current, to), station_id,
            {**snapshot(station), "from_status": current})
    return view(station, caller)


def update_checklist(tx, station_id, data, caller):
    station = _to_change(tx, station_id, caller)
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


def _member_view(station, caller, staff_id):
    return next(m for m in view(station, caller)["staff"] if m["id"] == staff_id)


def _find_member(station, staff_id):
    for member in station["staff"]:
        if member["id"] == staff_id:
            return member
    raise NotFound(f"no staff member {staff_id} at station {station['_id']}",
                   fields={"staff_id": ["not found"]})


def add_staff(tx, station_id, data, caller):
    station = _to_change(tx, station_id, caller)
    rules.check_role_free(station["staff"], data["role"])
    member = {"id": uuid.uuid4().hex[:12], **jsonable(data)}
    station["staff"].append(member)
    _staffing_changed(tx, station, caller)
    return _member_view(station, caller, member["id"])


def update_staff(tx, station_id, staff_id, data, caller):
    station = _to_change(tx, station_id, caller)
    member = _find_member(station, staff_id)
    if data.get("role", member["role"]) != member["role"]:
        rules.check_role_free(station["staff"], data["role"])
    member.update(jsonable(data))
    _staffing_changed(tx, station, caller)
    return _member_view(station, caller, staff_id)


def remove_staff(tx, station_id, staff_id, caller):
    station = _to_change(tx, station_id, caller)
    _find_member(station, staff_id)
    station["staff"] = [m for m in station["staff"] if m["id"] != staff_id]
    _staffing_changed(tx, station, caller)


def add_room(tx, station_id, data, caller):
    station = _to_change(tx, station_id, caller)
    village = data["village_code"]
    if not village.startswith(station["division_code"]):
        raise InvalidInput(f"village {village} is not in {station['division_name']}",
                           fields={"village_code": ["not in the station's township"]})
    if divisions.is_unknown_village(tx.db, station["division_code"], village, tx.session):
        raise InvalidInput(f"no village or community committee {village}",
                           fields={"village_code": ["unknown code"]})
    if any(r["village_code"] == village and r["kind"] == data["kind"] for r in station["rooms"]):
        raise Conflict(f"village {village} already has a {data['kind']} of this station",
                       fields={"village_code": ["already has one"]})
    room = {"id": uuid.uuid4().hex[:12], **jsonable(data)}
    station["rooms"].append(room)
    _save(tx, station, caller)
    tx.emit("station.room_added", station_id, {**snapshot(station), "room": room_ref(room)})
    return jsonable(room)


def remove_room(tx, station_id, room_id, caller):
    station = _to_change(tx, station_id, caller)
    room = next((r for r in station["rooms"] if r["id"] == room_id), None)
    if room is None:
        raise NotFound(f"no room {room_id} at station {station_id}", fields={"room_id": ["not found"]})
    station["rooms"] = [r for r in station["rooms"] if r["id"] != room_id]
    _save(tx, station, caller)
    tx.emit("station.room_removed", station_id, {**snapshot(station), "room": room_ref(room)})
