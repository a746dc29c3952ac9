"""The stations this service knows, learnt from the registry's station events.

The volunteer service never reads the registry's database. Every registry
station event carries the station snapshot (station_id, division_code,
county, city, province, name, status, version); the newest version wins:

    stations: {_id: station_id, division_code, county, city, province, name,
               status, version, seen_at}

An event whose version is not greater than the stored one (a duplicate, a
replay, or one overtaken by a later change) changes nothing. Two events of one
station handled at once race on the same document; the loser raises a
TransientTransactionError that the inbox transaction retries.

Writes: one event is usually one command (a conditional replace of a known
station, or one upsert that the server decides for a new one); a batch of
events (apply_station_events) is one `find` and one `bulk_write` in all.

Teams and activities may be created only at a station known here and not
closed; their region scope is the station's township (`division_code`).
"""

from services.common import access, read_models
from services.common.clock import now_ms
from services.common.errors import Conflict, InvalidInput, NotFound
from services.common.jsonable import jsonable
from services.registry import contract as registry_contract

FIELDS = ("division_code", "county", "city", "province", "name", "status")
NAME_FIELDS = ("division_name", "county_name", "city_name", "province_name")
FIRST_EVENTS = ("station.created", "station.imported")   # the station is usually new here


def ensure_indexes(db):
    db.stations.create_index([("division_code", 1)])


def parse(event):
    """The fields this model uses, checked against the registry's declaration."""
    spec = registry_contract.CONTRACT.by_type.get(event.get("type") if isinstance(event, dict) else None)
    if spec is None or spec not in registry_contract.STATION_EVENTS:
        raise InvalidInput("not a registry station event", fields={"type": ["not a station event"]})
    return spec.read(event, needs=("station_id", "version", *FIELDS))


def _snapshot(event):
    """The stations document the event tells."""
    data = parse(event)
    doc = {"_id": data["station_id"], "version": data["version"], "seen_at": now_ms(),
           **{k: data[k] for k in FIELDS},
           # Region names label totals; events from before they were sent lack them.
           **{k: data.get(k) for k in NAME_FIELDS}}
    return doc


def apply_station_event(db, session, event):
    """Store the station as the event tells it, if newer. True if applied."""
    doc = _snapshot(event)
    usually_known = registry_contract.CONTRACT.by_type[event["type"]].name not in FIRST_EVENTS
    return read_models.store_if_newer(db.stations, doc, session, usually_known)


def apply_station_events(db, session, events):
    """apply_station_event for each event in order, in one read and one write."""
    read_models.store_newest(db.stations, [_snapshot(event) for event in events], session)


def find(db, station_id, session=None):
    return db.stations.find_one({"_id": station_id}, session=session)


def open_station(db, station_id, caller, session=None, field="station_id"):
    """The station, if known, not closed and in the caller's region."""
    station = find(db, station_id, session)
    if station is None:
        raise NotFound(f"station {station_id} is not known to the volunteer service (yet)",
                       fields={field: ["unknown station"]})
    access.ensure_within(caller, station["division_code"], field)
    if station["status"] == "closed":
        raise Conflict(f"station {station_id} is closed", fields={field: ["station is closed"]},
                       details={"station_id": station_id, "status": "closed"})
    return station


def first_open_in(db, township, session=None):
    """The first station of a township known here and not closed, or None."""
    return db.stations.find_one({"division_code": township, "status": {"$ne": "closed"}},
                                sort=[("_id", 1)], session=session)


def names(db, station_ids):
    """{station id: name} of stations known here."""
    return {s["_id"]: s["name"] for s in db.stations.find({"_id": {"$in": list(station_ids)}},
                                                          {"name": 1})}


# level -> (code field, name field) of a region in the stations read model
REGION_NAME_FIELDS = {"province": ("province", "province_name"), "city": ("city", "city_name"),
                      "county": ("county", "county_name"),
                      "township": ("division_code", "division_name")}


def region_names(db, level, codes):
    """{code: name} of regions, as the registry's station events named them."""
    code_field, name_field = REGION_NAME_FIELDS[level]
    return {d[code_field]: d[name_field] for d in db.stations.find(
        {code_field: {"$in": codes}, name_field: {"$ne": None}}, {code_field: 1, name_field: 1})}


def view(station):
    out = {k: station.get(k) for k in ("version", *FIELDS)}
    out["station_id"] = station["_id"]
    return jsonable(out)


def get(db, station_id, caller):
    station = find(db, station_id)
    if station is None:
        raise NotFound(f"station {station_id} is not known to the volunteer service (yet)",
                       fields={"station_id": ["unknown station"]})
    access.ensure_within(caller, station["division_code"], "station_id")
    return view(station)
