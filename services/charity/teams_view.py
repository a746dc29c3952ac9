"""The volunteer teams this service knows, learnt from the volunteer service's
`team.created` events: who may apply to a venture round as a volunteer team.

    teams: {_id: team_id, station_id, name, kind, division_code, county, city,
            province, seen_at}

Teams are created once and their event carries everything kept here, so a
duplicate or a replay finds the team stored and changes nothing. A team's
region scope is its station's township.
"""
from pymongo.errors import DuplicateKeyError

from services.common import access, clock
from services.common.errors import NotFound, write_conflict
from services.volunteer import contract as volunteer

TEAM_CREATED = volunteer.CONTRACT["team.created"]
FIELDS = ("station_id", "name", "kind", "division_code", "county", "city", "province")


def ensure_indexes(db):
    db.teams.create_index([("division_code", 1)])


def apply_team_created(db, session, event):
    data = TEAM_CREATED.read(event)
    doc = {"_id": data["team_id"], "seen_at": clock.now_ms(), **{k: data[k] for k in FIELDS}}
    if db.teams.find_one({"_id": doc["_id"]}, {"_id": 1}, session=session) is not None:
        return False
    try:
        db.teams.insert_one(doc, session=session)
    except DuplicateKeyError:
        raise write_conflict(f"team {doc['_id']} was stored meanwhile")
    return True


def known_team(db, team_id, caller, session=None, field="applicant.team_id"):
    team = db.teams.find_one({"_id": team_id}, session=session)
    if team is None:
        raise NotFound(f"volunteer team {team_id} is not known to the charity service (yet)",
                       fields={field: ["unknown volunteer team"]})
    access.ensure_within(caller, team["division_code"], field)
    return team


def get(db, team_id, caller):
    team = known_team(db, team_id, caller, field="team_id")
    out = {k: team.get(k) for k in FIELDS}
    out["team_id"] = team["_id"]
    return out
