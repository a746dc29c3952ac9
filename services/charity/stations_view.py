"""The stations this service knows, learnt from the registry's station events.

The charity service never reads the registry's database. Every registry
station event carries the station snapshot; the newest version wins:

    stations: {_id: station_id, division_code, county, city, province, name,
               status, operator_name, version, seen_at}

An event whose version is not greater than the stored one (a duplicate, a
replay, or one overtaken by a later change) changes nothing. Two events of one
station handled at once race on the same document; the loser raises a
TransientTransactionError that the inbox transaction retries.

A station's fund may be opened only at a station known here and not closed.
"""

from services.common import access, clock, read_models
from services.common.errors import Conflict, NotFound
from services.common.jsonable import jsonable
from services.registry import contract as registry

FIELDS = ("division_code", "county", "city", "province", "name", "status")
SPEC = registry.CONTRACT["station.created"]   # every station event carries its snapshot


def ensure_indexes(db):
    db.stations.create_index([("division_code", 1)])


def apply_station_event(db, session, event):
    """Store the station as the event tells it, if newer. True if applied."""
    data = SPEC.read(event)
    doc = {"_id": data["station_id"], "version": data["version"], "seen_at": clock.now_ms(),
           "operator_name": data.get("operator_name"), **{k: data[k] for k in FIELDS}}
    return read_models.store_if_newer(db.stations, doc, session)


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
