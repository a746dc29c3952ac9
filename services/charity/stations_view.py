"""The stations this service knows, learnt from the registry's station events.

The charity service never reads the registry's database. Every registry
station event carries the station snapshot; the newest version wins:

    stations: {_id: station_id, division_code, county, city, province, name,
               status, operator_name, version, seen_at}

An event whose version is not greater than the stored one (a duplicate, a
replay, or one overtaken by a later change) changes nothing. Two events of one
station handled at once race on the same document; the loser raises a
TransientTransactionError that the inbox transaction retries.

Writes: one event is usually one command (a conditional replace of a known
station, or one upsert that the server decides for a new one); a batch of
events (apply_station_events) is one `find` and one `bulk_write` in all.

A station's fund may be opened only at a station known here and not closed.
"""

from services.common import access, clock, read_models
from services.common.errors import Conflict, NotFound
from services.common.jsonable import jsonable
from services.registry import contract as registry

FIELDS = ("division_code", "county", "city", "province", "name", "status")
SPEC = registry.CONTRACT["station.created"]   # every station event carries its snapshot
FIRST_EVENTS = ("station.created", "station.imported")   # the station is usually new here


def ensure_indexes(db):
    db.stations.create_index([("division_code", 1)])


def _snapshot(event):
    """The stations document the event tells."""
    data = SPEC.read(event)
    return {"_id": data["station_id"], "version": data["version"], "seen_at": clock.now_ms(),
            "operator_name": data.get("operator_name"), **{k: data[k] for k in FIELDS}}


def apply_station_event(db, session, event):
    """Store the station as the event tells it, if newer. True if applied."""
    doc = _snapshot(event)
    spec = registry.CONTRACT.by_type.get(event.get("type"))
    usually_known = spec is not None and spec.name not in FIRST_EVENTS
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
        raise NotFound(f"station {station_id} is not known to the charity service (yet)",
                       fields={field: ["unknown station"]})
    access.ensure_within(caller, station["division_code"], field)
    if station["status"] == "closed":
        raise Conflict(f"station {station_id} is closed", fields={field: ["station is closed"]},
                       details={"station_id": station_id, "status": "closed"})
    return station


def get(db, station_id, caller):
    station = find(db, station_id)
    if station is None:
        raise NotFound(f"station {station_id} is not known to the charity service (yet)",
                       fields={"station_id": ["unknown station"]})
    access.ensure_within(caller, station["division_code"], "station_id")
    out = {k: station.get(k) for k in ("version", "operator_name", *FIELDS)}
    out["station_id"] = station["_id"]
    return jsonable(out)
