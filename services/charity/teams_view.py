"""The volunteer teams this service knows, learnt from the volunteer service's
`team.created` events: who may apply to a venture round as a volunteer team.

    teams: {_id: team_id, station_id, name, kind, division_code, county, city,
            province, seen_at}

Teams are created once and their event carries everything kept here, so a
duplicate or a replay finds the team stored and changes nothing. A team's
region scope is its station's township.

Writes: one event is one upsert that only inserts; a batch of events
(apply_teams_created) is one `find` and one `insert_many`.
"""
from pymongo.errors import BulkWriteError, DuplicateKeyError

from services.common import access, clock
from services.common.errors import NotFound, write_conflict
from services.volunteer import contract as volunteer

TEAM_CREATED = volunteer.CONTRACT["team.created"]
FIELDS = ("station_id", "name", "kind", "division_code", "county", "city", "province")


def ensure_indexes(db):
    db.teams.create_index([("division_code", 1)])


def _team(event):
    data = TEAM_CREATED.read(event)
    return {"_id": data["team_id"], "seen_at": clock.now_ms(), **{k: data[k] for k in FIELDS}}


def apply_team_created(db, session, event):
    """Store the team unless it is stored already. True if stored."""
    doc = _team(event)
    fields = {k: v for k, v in doc.items() if k != "_id"}
    try:
        # A stored team matches and is left as it is; never an insert of a duplicate _id.
        result = db.teams.update_one({"_id": doc["_id"]}, {"$setOnInsert": fields},
                                     upsert=True, session=session)
    except DuplicateKeyError:
        raise write_conflict(f"team {doc['_id']} was stored meanwhile")
    return result.upserted_id is not None


def apply_teams_created(db, session, events):
    """apply_team_created for each event in order: the first event of a team not stored is kept."""
    new = {}
    for event in events:
        doc = _team(event)
        new.setdefault(doc["_id"], doc)
    for stored in db.teams.find({"_id": {"$in": list(new)}}, {"_id": 1}, session=session):
        del new[stored["_id"]]
    if not new:
        return
    try:
        db.teams.insert_many(list(new.values()), ordered=False, session=session)
    except BulkWriteError as exc:
        if exc.details.get("writeErrors") and all(
                error.get("code") == 11000 for error in exc.details["writeErrors"]):
            raise write_conflict("a team was stored meanwhile")
        raise


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
