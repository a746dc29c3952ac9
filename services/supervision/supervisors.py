"""The roster of supervisors (督导): internal and external.

    supervisors: {_id, kind, name, organisation, qualifications, home_region, province,
                  city, county, division_code, regions, phone, account_sub, active,
                  station_id, staff_id}

* internal (`ST-<staff id>`): a station's own supervisor, known from the
  registry's station events (`staff` entries with role `supervisor`): no name
  (events carry none), the station's operator as organisation, its township as
  region. They leave the roster (inactive) when the registry no longer lists them.
* external (`SV000001`): experts, university teachers, industry bodies,
  registered by officers with qualifications, organisation and the regions they
  serve. `home_region` (a city or county) is where inspection groups draw them
  from; `account_sub` is the sub of their sign-in token as inspectors.

Names and phones are masked for roles that do not need them.
"""
from pymongo import UpdateMany, UpdateOne
from pymongo.errors import BulkWriteError, DuplicateKeyError

from services.common import access, queries, sequences
from services.common.clock import now_ms
from services.common.errors import Conflict, NotFound, write_conflict
from services.common.jsonable import jsonable
from services.supervision import roles

EXPORT_COLUMNS = [("id", "督导编号"), ("kind", "类别"), ("name", "姓名"), ("organisation", "单位"),
                  ("qualifications", "资质"), ("home_region", "所属地区"), ("regions", "服务地区"),
                  ("station_id", "所在社工站"), ("phone", "手机号"), ("active", "在册")]


def ensure_indexes(db):
    for field in ("province", "city", "county", "division_code"):
        db.supervisors.create_index([(field, 1), ("kind", 1)])
    db.supervisors.create_index([("station_id", 1)])
    db.supervisors.create_index([("account_sub", 1)])


def _regions(home):
    return {"province": home[:2], "city": home[:4], "county": home if len(home) == 6 else None}


# -- internal supervisors, from registry station events ---------------------------


def _roster_inputs(station):
    """What the internal supervisors of a station are made from."""
    return ([(m["id"], m.get("certification")) for m in station.get("staff") or []
             if m.get("role") == "supervisor"],
            station.get("status") == "closed", station.get("operator_name"),
            [station.get(k) for k in ("division_code", "county", "city", "province")])


def sync_internal(db, session, station, before=None):
    """Make the roster's internal supervisors of `station` what its staff says.

    `before`, the station's previous snapshot: nothing to write when what the roster
    is made from did not change (the roster was synced when `before` was kept)."""
    sync_internal_all(db, session, [(before, station)])


def sync_internal_all(db, session, changes):
    """sync_internal for each (before, station) in order, in one ordered bulk_write: the
    server applies each station's writes in turn, as the calls one by one would (a
    supervisor who moved between stations ends where the last snapshot puts them)."""
    writes = [write for before, station in changes for write in _roster_writes(station, before)]
    if writes:
        try:
            db.supervisors.bulk_write(writes, ordered=True, session=session)
        except (DuplicateKeyError, BulkWriteError):
            # Two upserts raced to create one document (docs/mongo-wire-server.md, trap 3).
            raise write_conflict(f"internal supervisors of {sorted({s['_id'] for _b, s in changes})} "
                                 "stored meanwhile")


def _roster_writes(station, before):
    if before is not None and _roster_inputs(before) == _roster_inputs(station):
        return []
    current = {m["id"]: m for m in station.get("staff") or [] if m.get("role") == "supervisor"}
    live = station.get("status") != "closed"
    writes = []
    for staff_id, member in current.items():
        doc = {"kind": "internal", "name": None, "organisation": station.get("operator_name"),
               "qualifications": [member["certification"]] if member.get("certification") else [],
               "home_region": station["county"], "province": station["province"],
               "city": station["city"], "county": station["county"],
               "division_code": station["division_code"], "regions": [station["division_code"]],
               "phone": None, "station_id": station["_id"], "staff_id": staff_id, "active": live}
        writes.append(UpdateOne({"_id": f"ST-{staff_id}"},
                                {"$set": doc, "$setOnInsert": {"account_sub": None, "created_at": now_ms()}},
                                upsert=True))
    if before is not None:
        # A station new here has none from before to retire.
        writes.append(UpdateMany({"station_id": station["_id"], "kind": "internal", "active": True,
                                  "_id": {"$nin": [f"ST-{i}" for i in current]}},
                                 {"$set": {"active": False}}))
    return writes


# -- external supervisors ----------------------------------------------------------


def register(tx, data, caller):
    roles.ensure_officer(caller)
    access.ensure_within(caller, data["home_region"], "home_region")
    number = sequences.next_number(tx, "supervisor")
    now = now_ms()
    doc = {"_id": f"SV{number:06d}", "kind": data["kind"], "name": data["name"],
           "organisation": data["organisation"], "qualifications": data["qualifications"],
           "home_region": data["home_region"], **_regions(data["home_region"]),
           "division_code": None, "regions": data["regions"] or [data["home_region"]],
           "phone": data.get("phone"), "account_sub": data.get("account_sub"), "active": True,
           "station_id": None, "staff_id": None, "created_at": now, "created_by": access.actor(caller)}
    tx.db.supervisors.insert_one(doc, session=tx.session)
    return view(doc, caller)


def update(tx, supervisor_id, data, caller):
    roles.ensure_officer(caller)
    doc = _load(tx.db, supervisor_id, caller, tx.session)
    if doc["kind"] == "internal":
        raise Conflict("internal supervisors are kept by the registry's staff records",
                       fields={"supervisor_id": ["internal: change the station's staff"]})
    doc.update(jsonable(data))
    doc["updated_at"] = now_ms()
    tx.db.supervisors.replace_one({"_id": supervisor_id}, doc, session=tx.session)
    return view(doc, caller)


def _load(db, supervisor_id, caller, session=None):
    doc = db.supervisors.find_one({"_id": supervisor_id}, session=session)
    if doc is None:
        raise NotFound(f"no supervisor {supervisor_id}", fields={"supervisor_id": ["not found"]})
    access.ensure_within(caller, doc.get("division_code") or doc["home_region"], "supervisor_id")
    return doc


def find(db, supervisor_id, session=None, field="supervisor_id"):
    """Any active supervisor, whatever the caller's region (they serve across regions)."""
    doc = db.supervisors.find_one({"_id": supervisor_id}, session=session)
    if doc is None:
        raise NotFound(f"no supervisor {supervisor_id}", fields={field: ["not found"]})
    if not doc.get("active"):
        raise Conflict(f"supervisor {supervisor_id} is no longer on the roster",
                       fields={field: ["not active"]})
    return doc


def view(doc, caller):
    personal = access.sees_personal_data(caller)
    out = {k: v for k, v in doc.items() if k not in ("_id", "created_by", "created_at", "updated_at")}
    out["id"] = doc["_id"]
    if not personal:
        out["name"] = access.mask_name(doc["name"]) if doc.get("name") else None
        out["phone"] = access.mask_phone(doc.get("phone"))
    return jsonable(out)


def get(db, supervisor_id, caller):
    return view(_load(db, supervisor_id, caller), caller)


def _selector(query, caller):
    selector = queries.scoped(caller, query.get("region"))
    if query.get("kind"):
        selector["kind"] = query["kind"]
    if query.get("active") is not None:
        selector["active"] = query["active"]
    return selector


def list_page(db, query, caller):
    return queries.page(db.supervisors, _selector(query, caller), query,
                        lambda docs: [view(d, caller) for d in docs])


def export(db, query, caller):
    rows = []
    for doc in queries.export_rows(db.supervisors, _selector(query, caller), [("_id", 1)]):
        item = view(doc, caller)
        item["qualifications"] = "、".join(item["qualifications"])
        item["regions"] = "、".join(item["regions"])
        rows.append([item.get(k) for k, _ in EXPORT_COLUMNS])
    return {"name": "supervisors", "columns": [{"key": k, "title": t} for k, t in EXPORT_COLUMNS],
            "rows": rows}


def active_in(db, province):
    """Every active supervisor of a province, for forming inspection groups."""
    return list(db.supervisors.find({"province": province, "active": True}))
