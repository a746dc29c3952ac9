"""The stations this service knows, learnt from the registry's station events.

The supervision service never reads the registry's database. Every registry
station event carries the station snapshot; the newest `version` wins:

    stations: {_id: station_id, division_code, county, city, province, names...,
               status, status_history [{status, on}], opened_on, operator_name,
               staffing {required, have, meets_rule}, staff [{id, role, certification}],
               checklist_met, version,
               known [{month, checklist_met, meets_rule}]}   # as reported, month by month
    region_names: {_id: code, level, name}                   # counties, cities, provinces

`known` keeps when the 六有 count and the 1+1+X rule were reported (the China
month of the event), since the snapshot carries no dates for them; the
scorecard's levels are built from it and from the dated status history
(figures.station_steps). Only the inbox writes these two collections (they are
read models: `wushe rebuild supervision` empties them and replays the events);
the quarters a station was supervised in are this service's own fact, kept
apart (supervised_quarters.py).
"""
from pymongo.errors import DuplicateKeyError

from services.common import access, queries
from services.common.clock import now_ms, parse_instant, utcnow
from services.common.errors import NotFound, write_conflict
from services.common.jsonable import jsonable
from services.registry import contract as registry
from services.supervision import rules

SNAPSHOT = ("division_code", "county", "city", "province", "name", "division_name", "county_name",
            "city_name", "province_name", "status", "status_history", "opened_on", "operator_name",
            "staffing", "staff", "checklist_met", "version")
VIEW = ("division_code", "division_name", "county", "county_name", "city", "city_name", "province",
        "name", "status", "operator_name")
LEVEL_NAMES = {"province": ("province", "province_name"), "city": ("city", "city_name"),
               "county": ("county", "county_name")}
FIRST_EVENTS = ("station.created", "station.imported")   # the station is new here


def ensure_indexes(db):
    for field in ("division_code", "county", "city", "province"):
        db.stations.create_index([(field, 1), ("status", 1)])


def _known(current, data, month):
    """The `known` list after this snapshot: a new point when the 六有 count or the
    1+1+X rule changed (never before the last point: events may come late)."""
    known = list((current or {}).get("known") or [])
    values = {"checklist_met": data.get("checklist_met") or 0,
              "meets_rule": bool((data.get("staffing") or {}).get("meets_rule"))}
    if known and {k: known[-1][k] for k in values} == values:
        return known
    month = max(month, known[-1]["month"]) if known else month
    if known and known[-1]["month"] == month:
        known[-1] = {"month": month, **values}
    else:
        known.append({"month": month, **values})
    return known


def apply_station_event(db, session, event):
    """Store the station as the event tells it, if newer: (before, after), or None if stale."""
    spec = registry.CONTRACT.by_type[event["type"]]
    data = spec.read(event)
    station_id = data["station_id"]
    month = rules.china_month(parse_instant(event.get("time")) or utcnow())
    fields = {k: jsonable(data.get(k)) for k in SNAPSHOT}
    fields["staff"] = fields["staff"] or []
    fields["seen_at"] = now_ms()
    if spec.name not in FIRST_EVENTS:
        # The station is usually known: one round trip writes the snapshot and returns the old one.
        current = db.stations.find_one_and_update(
            {"_id": station_id, "version": {"$lt": data["version"]}}, {"$set": fields},
            session=session)
        if current is not None:
            fields["known"] = _known(current, data, month)
            if fields["known"] != current.get("known"):
                db.stations.update_one({"_id": station_id}, {"$set": {"known": fields["known"]}},
                                       session=session)
            _name_regions(db, session, data, current)
            return current, {**current, "_id": station_id, **fields}
    current = db.stations.find_one({"_id": station_id}, session=session)
    if current is not None and current["version"] >= data["version"]:
        return None
    fields["known"] = _known(current, data, month)
    if current is None:
        try:
            db.stations.insert_one({"_id": station_id, **fields}, session=session)
        except DuplicateKeyError:
            raise write_conflict(f"station {station_id} was stored meanwhile")
    else:
        result = db.stations.update_one({"_id": station_id, "version": current["version"]},
                                        {"$set": fields}, session=session)
        if result.matched_count != 1:
            raise write_conflict(f"station {station_id} changed meanwhile")
    _name_regions(db, session, data, current)
    return current, {**(current or {}), "_id": station_id, **fields}


def _name_regions(db, session, data, current):
    """Keep the region names the snapshot carries; written only when new or renamed, so
    stations of different cities never write one document (the province's) at once.
    Nothing to do when the station's last snapshot carried the same codes and names:
    they were kept with it."""
    named = {code: (level, name) for level, (code_field, name_field) in LEVEL_NAMES.items()
             if (code := data.get(code_field)) and (name := data.get(name_field))}
    if not named or (current is not None and all(
            current.get(c) == data.get(c) and current.get(n) == data.get(n)
            for c, n in LEVEL_NAMES.values())):
        return
    known = {doc["_id"]: doc["name"] for doc in db.region_names.find(
        {"_id": {"$in": sorted(named)}}, {"name": 1}, session=session)}
    for code, (level, name) in named.items():
        if code not in known:
            try:
                db.region_names.insert_one({"_id": code, "level": level, "name": name}, session=session)
            except DuplicateKeyError:
                raise write_conflict(f"region {code} named meanwhile")
        elif known[code] != name:
            db.region_names.update_one({"_id": code}, {"$set": {"name": name}}, session=session)


def find(db, station_id, session=None):
    return db.stations.find_one({"_id": station_id}, session=session)


def load(db, station_id, caller, field="station_id", session=None):
    """The station in the caller's region: 404 if this service has not heard of it."""
    station = find(db, station_id, session)
    if station is None:
        raise NotFound(f"station {station_id} is not known to the supervision service (yet)",
                       fields={field: ["unknown station"]})
    access.ensure_within(caller, station["division_code"], field)
    return station


def regions_of(station):
    return {"station_id": station["_id"], **queries.regions_of(station)}


def view(station):
    out = {k: station.get(k) for k in VIEW}
    out["station_id"] = station["_id"]
    return jsonable(out)


def names(db, level, codes):
    """{code: name} of regions as the registry's station events named them."""
    collection = db.stations if level == "station" else db.region_names
    codes, found = list(codes), {}
    for start in range(0, len(codes), 40):   # short $in lists (docs/mongo-wire-server.md, trap 4)
        for doc in collection.find({"_id": {"$in": codes[start:start + 40]}}, {"name": 1}):
            found[doc["_id"]] = doc["name"]
    return found
