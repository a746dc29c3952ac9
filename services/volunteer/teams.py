"""Volunteer teams (志愿服务队) and their members.

    teams: {_id: "T3f2a...", station_id, name, kind, parent_id, description,
            division_code, county, city, province,   # the station's (region scope)
            members,                                  # how many members now
            created_at, created_by}
    team_members: {_id: "<team>:<number>", team_id, volunteer_number, role,
                   joined_on: "2026-05-01", added_at, added_by}

Decisions:
* A team belongs to a station known from the registry's events and not
  closed; it may have a parent team (any team the caller can see; a new team
  cannot make a cycle). Names are unique per station.
* Kinds: general, silver_age (银龄: every member 60 or over on the day they
  join, from the stored birth date; otherwise 409 naming the member),
  party_member, youth, women, professional.
* Any registered volunteer may join a team in the caller's region: volunteers
  are not confined to the township where they registered.
* `team.created` carries ids, kind, name and region codes. Joining and
  leaving publish nothing (not asked for; the member list is personal data).
"""
import datetime
import uuid

from pymongo.errors import DuplicateKeyError

from services.common import access, audit, queries
from services.common.clock import china_today, now_ms
from services.common.errors import Conflict, InvalidInput, NotFound
from services.common.jsonable import jsonable
from services.volunteer import ages, stations_view, volunteers


def ensure_indexes(db):
    db.teams.create_index([("station_id", 1), ("name", 1)], unique=True)
    for field in ("division_code", "county", "city", "province"):
        db.teams.create_index([(field, 1), ("_id", 1)])
    db.team_members.create_index([("team_id", 1), ("volunteer_number", 1)])
    db.team_members.create_index([("volunteer_number", 1)])


def view(team):
    out = {k: team.get(k) for k in ("station_id", "name", "kind", "parent_id", "description",
                                    "division_code", "county", "city", "province", "members",
                                    "created_at")}
    out["id"] = team["_id"]
    return jsonable(out)


def load(db, team_id, caller, session=None, field="team_id"):
    return queries.load_in_region(db.teams, team_id, caller, what="team", field=field,
                                  session=session)


def names(db, team_ids):
    """{team id: name} for a batch of teams."""
    return {t["_id"]: t["name"] for t in db.teams.find({"_id": {"$in": list(team_ids)}}, {"name": 1})}


def create(tx, data, caller):
    station = stations_view.open_station(tx.db, data["station_id"], caller, tx.session)
    if data.get("parent_id"):
        load(tx.db, data["parent_id"], caller, tx.session, field="parent_id")
    team = {
        "_id": "T" + uuid.uuid4().hex[:15],
        "station_id": station["_id"],
        "name": data["name"].strip(),
        "kind": data["kind"],
        "parent_id": data.get("parent_id"),
        "description": data.get("description"),
        **queries.regions_of(station),
        "members": 0,
        "created_at": now_ms(),
        "created_by": access.actor(caller),
    }
    try:
        tx.db.teams.insert_one(team, session=tx.session)
    except DuplicateKeyError:
        raise Conflict(f"station {station['_id']} already has a team named {team['name']}",
                       fields={"name": ["already used at this station"]})
    tx.emit("team.created", team["_id"], {
        "team_id": team["_id"], "station_id": team["station_id"], "parent_id": team["parent_id"],
        "kind": team["kind"], "name": team["name"], **queries.regions_of(station)})
    return view(team)


def get(db, team_id, caller):
    return view(load(db, team_id, caller))


def list_page(db, query, caller):
    selector = queries.scoped(caller, query.get("region"))
    for key in ("station_id", "kind"):
        if query.get(key):
            selector[key] = query[key]
    return queries.page(db.teams, selector, query, lambda found: [view(t) for t in found])


def add_member(tx, team_id, data, caller):
    team = load(tx.db, team_id, caller, tx.session)
    number = data["volunteer_number"]
    volunteer = volunteers.find(tx.db, number, tx.session)
    if volunteer is None:
        raise NotFound(f"no registered volunteer {number}", fields={"volunteer_number": ["not registered"]})
    joined_on = data.get("joined_on") or china_today()
    if joined_on > china_today() + datetime.timedelta(days=1):
        raise InvalidInput("joined_on must not be in the future", fields={"joined_on": ["in the future"]})
    ages.check_member_age(team["kind"], number, datetime.date.fromisoformat(volunteer["birth_date"]),
                           joined_on)
    member = {"_id": f"{team_id}:{number}", "team_id": team_id, "volunteer_number": number,
              "role": data.get("role") or "member", "joined_on": joined_on.isoformat(),
              "added_at": now_ms(), "added_by": access.actor(caller)}
    try:
        tx.db.team_members.insert_one(member, session=tx.session)
    except DuplicateKeyError:
        raise Conflict(f"volunteer {number} is already a member of team {team_id}",
                       fields={"volunteer_number": ["already a member"]})
    tx.db.teams.update_one({"_id": team_id}, {"$inc": {"members": 1}}, session=tx.session)
    return member_view(member, volunteer["name"], caller)


def remove_member(tx, team_id, number, caller):
    load(tx.db, team_id, caller, tx.session)
    result = tx.db.team_members.delete_one({"_id": f"{team_id}:{number}"}, session=tx.session)
    if result.deleted_count != 1:
        raise NotFound(f"volunteer {number} is not a member of team {team_id}",
                       fields={"volunteer_number": ["not a member"]})
    tx.db.teams.update_one({"_id": team_id}, {"$inc": {"members": -1}}, session=tx.session)


def member_view(member, name, caller):
    shown = name if access.sees_personal_data(caller) else access.mask_name(name or "")
    return jsonable({"volunteer_number": member["volunteer_number"], "name": shown,
                     "role": member["role"], "joined_on": member["joined_on"]})


def members_page(db, team_id, query, caller):
    team = load(db, team_id, caller)

    def views(found):
        if found and access.sees_personal_data(caller):
            audit.saw_personal_data(db, "volunteer", "volunteer",
                                    [(m["volunteer_number"], team["division_code"]) for m in found])
        known = volunteers.names(db, [m["volunteer_number"] for m in found])
        return [member_view(m, known.get(m["volunteer_number"]), caller) for m in found]

    return queries.page(db.team_members, {"team_id": team_id}, query, views,
                        sort=(("volunteer_number", 1),))
