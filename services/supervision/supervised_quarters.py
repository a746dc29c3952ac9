"""Which quarters each station had a supervision session in: this service's own fact.

    supervised_quarters: {_id: "<station id>:<quarter>", station_id, quarter,
                          division_code, county, city, province}

Written by sessions.py when a session is recorded (in its command), never by
an event, so `wushe rebuild supervision` may empty the stations read model
(stations_view.py) without losing it. It used to be the list
`stations.supervised_quarters`; `ensure_indexes` moves what is left there.
"""
from pymongo.errors import DuplicateKeyError

from services.common import queries
from services.common.errors import write_conflict

REGION_FIELDS = ("division_code", "county", "city", "province")


def ensure_indexes(db):
    for field in REGION_FIELDS:
        db.supervised_quarters.create_index([("quarter", 1), (field, 1)])
    _move_from_stations(db)


def _move_from_stations(db):
    """Once per database: the quarters kept on station documents, moved here."""
    for station in db.stations.find({"supervised_quarters": {"$exists": True}},
                                    {"supervised_quarters": 1, **dict.fromkeys(REGION_FIELDS, 1)}):
        for quarter in station.get("supervised_quarters") or []:
            try:
                db.supervised_quarters.update_one(
                    {"_id": f"{station['_id']}:{quarter}"},
                    {"$setOnInsert": {"station_id": station["_id"], "quarter": quarter,
                                      **queries.regions_of(station)}}, upsert=True)
            except DuplicateKeyError:
                pass   # another replica starting moved it
        db.stations.update_one({"_id": station["_id"]}, {"$unset": {"supervised_quarters": ""}})


def add(tx, station, quarter):
    try:
        tx.db.supervised_quarters.update_one(
            {"_id": f"{station['_id']}:{quarter}"},
            {"$setOnInsert": {"station_id": station["_id"], "quarter": quarter,
                              **queries.regions_of(station)}},
            upsert=True, session=tx.session)
    except DuplicateKeyError:
        # Two sessions of one station and quarter raced to create it (docs/mongo-wire-server.md, trap 3).
        raise write_conflict(f"station {station['_id']} supervised in {quarter} meanwhile")


def supervised(db, station_id, quarter):
    return db.supervised_quarters.find_one({"_id": f"{station_id}:{quarter}"}, {"_id": 1}) is not None


def stations_in(db, selector, quarter):
    """Ids of the stations matching a region `selector` supervised in `quarter`."""
    return {doc["station_id"] for doc in db.supervised_quarters.find({**selector, "quarter": quarter},
                                                                     {"station_id": 1})}
