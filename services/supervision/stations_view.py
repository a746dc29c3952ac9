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
from pymongo import InsertOne, UpdateOne
from pymongo.errors import BulkWriteError, DuplicateKeyError

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
WRITTEN = SNAPSHOT + ("seen_at", "known")   # what a newer snapshot sets


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


def _read(event):
    """(spec, data, the fields a newer snapshot sets, its China month) of a station event."""
    spec = registry.CONTRACT.by_type[event["type"]]
    data = spec.read(event)
    fields = {k: jsonable(data.get(k)) for k in SNAPSHOT}
    fields["staff"] = fields["staff"] or []
    fields["seen_at"] = now_ms()
    return spec, data, fields, rules.china_month(parse_instant(event.get("time")) or utcnow())


def _if_newer(version, fields):
    """An update pipeline: `fields` merged into the stored station (or a new one) when it
    is older than `version`; else the station is left as it is. Not an upsert filtered
    on the version: for a stored newer one that would insert a duplicate _id, and abort
    the transaction."""
    return [{"$replaceWith": {"$cond": [{"$lt": [{"$ifNull": ["$version", 0]}, version]},
                                        {"$mergeObjects": ["$$ROOT", {"$literal": fields}]},
                                        "$$ROOT"]}}]


def apply_station_event(db, session, event):
    """Store the station as the event tells it, if newer: (before, after), or None if stale."""
    spec, data, fields, month = _read(event)
    station_id = data["station_id"]
    # One round trip stores the snapshot if newer and returns the old one. `known` needs
    # the old one: a station's first event gives it its first point (right when it is new
    # here, the usual case); other events leave it as stored until it is worked out below.
    first = _known(None, data, month) if spec.name in FIRST_EVENTS else None
    written = {**fields, "known": first} if first else fields
    try:
        before = db.stations.find_one_and_update({"_id": station_id},
                                                 _if_newer(data["version"], written),
                                                 upsert=True, session=session)
    except DuplicateKeyError:
        raise write_conflict(f"station {station_id} was stored meanwhile")
    if before is not None and before["version"] >= data["version"]:
        return None
    fields["known"] = _known(before, data, month)
    if fields["known"] != (first or (before or {}).get("known")):
        db.stations.update_one({"_id": station_id}, {"$set": {"known": fields["known"]}},
                               session=session)
    _name_regions(db, session, [(data, before)])
    return before, {**(before or {}), "_id": station_id, **fields}


def apply_station_events(db, session, events):
    """apply_station_event for each event in order, with one read of the stations and one
    write of each changed one: [(before, after)] of the events that changed a station."""
    read = [_read(event) for event in events]
    ids = list(dict.fromkeys(data["station_id"] for _spec, data, _fields, _month in read))
    stored = {doc["_id"]: doc for doc in db.stations.find({"_id": {"$in": ids}}, session=session)}
    latest, changes, told = dict(stored), [], []
    for _spec, data, fields, month in read:
        station_id = data["station_id"]
        current = latest.get(station_id)
        if current is not None and current["version"] >= data["version"]:
            continue   # stale or repeated, also when a newer one came earlier in this list
        fields["known"] = _known(current, data, month)
        latest[station_id] = {**(current or {}), "_id": station_id, **fields}
        changes.append((current, latest[station_id]))
        told.append((data, current))
    # Each write holds if the station is still at the version read (None: not stored);
    # else its upsert collides with the stored one, a write conflict.
    writes = [UpdateOne({"_id": station_id, "version": (stored.get(station_id) or {}).get("version")},
                        {"$set": {k: doc[k] for k in WRITTEN}}, upsert=True)
              for station_id, doc in latest.items() if doc is not stored.get(station_id)]
    if writes:
        try:
            db.stations.bulk_write(writes, ordered=False, session=session)
        except (DuplicateKeyError, BulkWriteError):
            raise write_conflict(f"stations of {ids} changed meanwhile")
    _name_regions(db, session, told)
    return changes


def _told_names(data, current):
    """{code: (level, name)} the snapshot names, or {} when the station's last snapshot
    carried the same codes and names (they were kept with it)."""
    if current is not None and all(current.get(c) == data.get(c) and current.get(n) == data.get(n)
                                   for c, n in LEVEL_NAMES.values()):
        return {}
    return {code: (level, name) for level, (code_field, name_field) in LEVEL_NAMES.items()
            if (code := data.get(code_field)) and (name := data.get(name_field))}


def _name_regions(db, session, told):
    """Keep the region names snapshots carry, told: [(data, the station before it)] in
    order. Written only when new or renamed, so stations of different cities never write
    one document (the province's) at once: one read of the names, one bulk_write."""
    named = [names for data, current in told if (names := _told_names(data, current))]
    if not named:
        return
    codes = sorted({code for names in named for code in names})
    kept = {}
    for start in range(0, len(codes), 40):   # short $in lists (docs/mongo-wire-server.md, trap 4)
        kept.update((doc["_id"], doc["name"]) for doc in db.region_names.find(
            {"_id": {"$in": codes[start:start + 40]}}, {"name": 1}, session=session))
    new, renamed = {}, {}
    for names in named:
        for code, (level, name) in names.items():
            if code in new:
                new[code]["name"] = name
            elif code not in kept:
                new[code] = {"_id": code, "level": level, "name": name}
            elif kept[code] != name:
                kept[code] = renamed[code] = name
    writes = [InsertOne(doc) for doc in new.values()] + [
        UpdateOne({"_id": code}, {"$set": {"name": name}}) for code, name in renamed.items()]
    if writes:
        try:
            db.region_names.bulk_write(writes, ordered=False, session=session)
        except (DuplicateKeyError, BulkWriteError):
            raise write_conflict(f"regions {sorted(new)} named meanwhile")


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
