"""Volunteer activities (志愿服务活动): organised by a team at a station.

    activities: {_id: "A...", team_id, station_id, title, category, place,
                 starts_at, ends_at,                 # UTC datetimes
                 capacity, participants,             # volunteers with live records there
                 description, division_code, county, city, province,
                 created_at, created_by}
    participants: {_id: "<activity>:<number>", activity_id, volunteer_number,
                   live: 2}                          # that volunteer's live records there

Hour records count their volunteers here (add_live_records,
change_live_records), inside the recording and deciding transactions.

Decisions:
* The activity takes place at the team's station unless another station is
  given; that station must be known, not closed and in the caller's region.
  Its township is the activity's region scope, and that of its hour records.
* Capacity counts distinct volunteers with live (recorded or approved, not
  rejected or cancelled) records; a record for one more volunteer than that is
  a 409. `participants` is kept in the same transaction as the records.
* `activity.created` carries ids, category, title, place, window, capacity and
  region codes.
"""
import uuid

from pymongo import UpdateOne

from services.common import access, queries
from services.common.clock import now_ms
from services.common.jsonable import jsonable
from services.volunteer import hour_rules, stations_view, teams
from services.volunteer.times import to_minute


def ensure_indexes(db):
    db.activities.create_index([("team_id", 1), ("starts_at", 1)])
    db.activities.create_index([("station_id", 1), ("starts_at", 1)])
    for field in ("division_code", "county", "city", "province"):
        db.activities.create_index([(field, 1), ("starts_at", 1)])
    db.participants.create_index([("activity_id", 1)])


def view(activity):
    out = {k: activity.get(k) for k in ("team_id", "station_id", "title", "category", "place",
                                        "starts_at", "ends_at", "capacity", "participants",
                                        "description", "division_code", "county", "created_at")}
    out["id"] = activity["_id"]
    return jsonable(out)


def load(db, activity_id, caller, session=None, field="activity_id"):
    return queries.load_in_region(db.activities, activity_id, caller, what="activity", field=field,
                                  session=session)


def find(db, activity_id, session=None):
    return db.activities.find_one({"_id": activity_id}, session=session)


def find_many(db, activity_ids, session=None):
    """{activity id: activity} of those that exist."""
    return {a["_id"]: a for a in db.activities.find({"_id": {"$in": sorted(activity_ids)}},
                                                    session=session)}


def titles(db, activity_ids):
    """{activity id: title} for a batch of activities."""
    return {a["_id"]: a["title"] for a in
            db.activities.find({"_id": {"$in": list(set(activity_ids))}}, {"title": 1})}


def create(tx, data, caller):
    team = teams.load(tx.db, data["team_id"], caller, tx.session)
    station = stations_view.open_station(tx.db, data.get("station_id") or team["station_id"], caller,
                                         tx.session)
    activity = {
        "_id": "A" + uuid.uuid4().hex[:15],
        "team_id": team["_id"],
        "station_id": station["_id"],
        "title": data["title"].strip(),
        "category": data["category"],
        "place": data["place"].strip(),
        "starts_at": to_minute(data["starts_at"]),
        "ends_at": to_minute(data["ends_at"]),
        "capacity": data["capacity"],
        "participants": 0,
        "description": data.get("description"),
        **queries.regions_of(station),
        "created_at": now_ms(),
        "created_by": access.actor(caller),
    }
    tx.db.activities.insert_one(activity, session=tx.session)
    tx.emit("activity.created", activity["_id"], jsonable({
        "activity_id": activity["_id"], "team_id": activity["team_id"],
        "station_id": activity["station_id"], "category": activity["category"],
        "title": activity["title"], "place": activity["place"],
        "starts_at": activity["starts_at"], "ends_at": activity["ends_at"],
        "capacity": activity["capacity"], **queries.regions_of(station)}))
    return view(activity)


def get(db, activity_id, caller):
    return view(load(db, activity_id, caller))


def list_page(db, query, caller):
    selector = queries.scoped(caller, query.get("region"))
    for key in ("station_id", "team_id", "category"):
        if query.get(key):
            selector[key] = query[key]
    return queries.page(db.activities, selector, query, lambda found: [view(a) for a in found],
                        sort=(("starts_at", -1), ("_id", 1)))


# --------------------------------------------------------------------------
# Participants: the volunteers with live records at an activity

def participant_id(activity_id, number):
    return f"{activity_id}:{number}"


def live_records(tx, participant_ids):
    """{participant id: that volunteer's live records there} of those with any so far."""
    return {p["_id"]: p["live"] for p in tx.db.participants.find({"_id": {"$in": participant_ids}},
                                                                 session=tx.session)}


def _count_participants(tx, activity_id, joined):
    tx.db.activities.update_one({"_id": activity_id}, {"$inc": {"participants": joined}},
                                session=tx.session)


def add_live_records(tx, records, joined):
    """Count new live records; `joined`: {activity id: volunteers new there}."""
    added = {}
    for record in records:
        pair = participant_id(record["activity_id"], record["volunteer_number"])
        added[pair] = added.get(pair, 0) + 1
    tx.db.participants.bulk_write(
        [UpdateOne({"_id": pair}, {"$inc": {"live": n},
                                   "$setOnInsert": {"activity_id": pair.split(":")[0],
                                                    "volunteer_number": pair.split(":")[1]}},
                   upsert=True) for pair, n in sorted(added.items())], session=tx.session)
    for activity_id, n in sorted(joined.items()):
        _count_participants(tx, activity_id, n)


def change_live_records(tx, activity_id, number, change):
    """A volunteer's live records at an activity move by `change` (+1/-1); one
    more volunteer than the capacity is refused."""
    pair = participant_id(activity_id, number)
    current = tx.db.participants.find_one({"_id": pair}, session=tx.session) or {"live": 0}
    before, after = current["live"], current["live"] + change
    if before == 0 and after > 0:
        hour_rules.check_capacity(find(tx.db, activity_id, tx.session), True)
    tx.db.participants.update_one({"_id": pair}, {"$inc": {"live": change},
                                                  "$setOnInsert": {"activity_id": activity_id,
                                                                   "volunteer_number": number}},
                                  upsert=True, session=tx.session)
    joined = int(after > 0) - int(before > 0)
    if joined:
        _count_participants(tx, activity_id, joined)
