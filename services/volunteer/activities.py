"""Volunteer activities (志愿服务活动): organised by a team at a station.

    activities: {_id: "A...", team_id, station_id, title, category, place,
                 starts_at, ends_at,                 # UTC datetimes
                 capacity, participants,             # volunteers with live records there
                 description, division_code, county, city, province,
                 created_at, created_by}
    participants: {_id: "<activity>:<number>", activity_id, volunteer_number,
                   live: 2}                          # that volunteer's live records there

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

from services.common import access
from services.common.errors import NotFound
from services.common.jsonable import jsonable
from services.volunteer import rules, stations_view, support, teams


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
    activity = db.activities.find_one({"_id": activity_id}, session=session)
    if activity is None:
        raise NotFound(f"no activity {activity_id}", fields={field: ["not found"]})
    access.ensure_within(caller, activity["division_code"], field)
    return activity


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
        "starts_at": rules.to_minute(data["starts_at"]),
        "ends_at": rules.to_minute(data["ends_at"]),
        "capacity": data["capacity"],
        "participants": 0,
        "description": data.get("description"),
        **support.station_regions(station),
        "created_at": support.now_ms(),
        "created_by": access.actor(caller),
    }
    tx.db.activities.insert_one(activity, session=tx.session)
    tx.emit("activity.created", activity["_id"], jsonable({
        "activity_id": activity["_id"], "team_id": activity["team_id"],
        "station_id": activity["station_id"], "category": activity["category"],
        "title": activity["title"], "place": activity["place"],
        "starts_at": activity["starts_at"], "ends_at": activity["ends_at"],
        "capacity": activity["capacity"], **support.station_regions(station)}))
    return view(activity)


def get(db, activity_id, caller):
    return view(load(db, activity_id, caller))


def list_page(db, query, caller):
    selector = support.scoped(caller, query.get("region"))
    for key in ("station_id", "team_id", "category"):
        if query.get(key):
            selector[key] = query[key]
    return support.page(db.activities, selector, query, lambda found: [view(a) for a in found],
                        sort=(("starts_at", -1), ("_id", 1)))
