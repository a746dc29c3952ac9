"""Totals of approved hours: a read model kept by the service's own hours events.

The question: how many approved minutes, from how many distinct volunteers,
per volunteer, team, station, township, county, city and province; answered
in time that does not grow with the number of records.

Read model
----------
    totals:  {_id: "county:340102", level, code, parent,     # parent: the next level up
              minutes, volunteers, records}
    totals_members: {_id: "V34010200000001",                 # one per volunteer
                     places: {"volunteer:V...": 90, "team:T1": 60, "team:T1@<station>": 60,
                              "station:...": 60, "township:340102001": 60, "county:340102": 90, ...}}

A team has two totals (totals_keys): `team:T1`, all its hours wherever
served, with no parent (the `team_id` question), and `team:T1@<station>`, its
hours at one station (level team, code T1, parent the station), which is what
that station lists among its children. A team may hold activities at other
stations than its own, so one team total under one station would be wrong.

`wushe.volunteer.hours.approved.v1` adds the record's `minutes` (and one
record); `wushe.volunteer.hours.corrected.v1` adds its `delta_minutes`
(negative for a reduction or a cancellation). Each event touches the eight
totals on its path (totals_keys) and the volunteer's membership
document, which holds the volunteer's minutes at every place they served;
`volunteers` of a total moves only when the volunteer's minutes there go from
0 to more than 0 or back (member_change). Sums commute, so events may be
applied in any order; the inbox applies each event once (a marker keyed by
source and id commits with the changes), so a second delivery changes nothing.

A question is one `find_one` for the asked total and one `find` for its
children (`parent` = the code, indexed), whatever the number of records:
a region's children are the next level down (province -> cities -> counties
-> townships -> stations -> the teams' hours at that station). Codes with no
approved hours yet answer zeros. Names: a station's name comes from the
stations view, a team's from the teams.

Writes: an event is one `find` and one `update` of the membership document
and one `bulk_write` of eight totals, in the inbox transaction. A run of
hours events in one inbox batch (apply_hours_events) is the same three
commands in all: their membership documents read at once, each event's
`volunteers` changes worked out in order from them, and the increments summed
per document (sums commute; a new total keeps the first event's parent, as
`$setOnInsert` does one by one). Ids hold no dots, so `places.<key>` is one
field. Every event of a region increments that region's totals, so
concurrent events write-conflict on them and the transaction retries; the
inbox applies one batch at a time per process (services/common/inbox.py), so
within a process they never race (retries would burn the database's time for
nothing).
"""
from pymongo import UpdateOne
from pymongo.errors import BulkWriteError, DuplicateKeyError

from services.common import access
from services.common.errors import InvalidInput, NotFound, write_conflict
from services.volunteer import contract, stations_view, teams, volunteers
from services.volunteer.hour_rules import format_hours

REGION_LEVELS = {2: "province", 4: "city", 6: "county", 9: "township"}
CHILD_LEVEL = {"province": "city", "city": "county", "county": "township",
               "township": "station", "station": "team", "team": None, "volunteer": None}


def ensure_indexes(db):
    db.totals.create_index([("parent", 1), ("level", 1), ("code", 1)])


def totals_keys(data):
    """(id, level, code, parent) of every total one hours event counts toward.

    A team counts twice: `team:<team>` holds all its hours wherever they were
    served (no parent; the `team_id` question), and `team:<team>@<station>` its
    hours at the activity's station, a child of that station. A team may hold
    activities at stations other than its own (activities.py), so no single
    station is the team's parent."""
    number, team, station = data["volunteer_number"], data["team_id"], data["station_id"]
    township, county, city, province = data["division_code"], data["county"], data["city"], data["province"]
    return [
        (f"volunteer:{number}", "volunteer", number, None),
        (f"team:{team}", "team", team, None),
        (f"team:{team}@{station}", "team", team, station),
        (f"station:{station}", "station", station, township),
        (f"township:{township}", "township", township, county),
        (f"county:{county}", "county", county, city),
        (f"city:{city}", "city", city, province),
        (f"province:{province}", "province", province, None),
    ]


def member_change(old_minutes, delta):
    """(new minutes, change in distinct volunteers) when a volunteer's minutes
    somewhere move by `delta`: a volunteer counts while their minutes are > 0."""
    new = old_minutes + delta
    return new, int(new > 0) - int(old_minutes > 0)


def _parse(spec, event, minutes_field):
    """The fields the totals use, checked against the event's declaration."""
    data = spec.read(event, needs=("volunteer_number", "team_id", "station_id", "division_code",
                                   "county", "city", "province", minutes_field))
    if isinstance(data[minutes_field], bool) or not isinstance(data[minutes_field], int):
        raise InvalidInput(f"{minutes_field} must be whole minutes",
                           fields={minutes_field: ["not an integer"]})
    return data


def apply(db, session, changes):
    """Add each change (data, minutes, records), in order, to every total of
    data's volunteer and to the volunteer's membership document."""
    numbers = list(dict.fromkeys(data["volunteer_number"] for data, _, _ in changes))
    places = {member["_id"]: member.get("places", {}) for member in db.totals_members.find(
        {"_id": {"$in": numbers}}, {"places": 1}, session=session)}
    increments = {number: {} for number in numbers}   # number -> {places.<key>: minutes}
    sums = {}   # total id -> [level, code, parent, minutes, volunteers, records]
    for data, delta, records in changes:
        held = places.setdefault(data["volunteer_number"], {})
        member_increments = increments[data["volunteer_number"]]
        for key, level, code, parent in totals_keys(data):
            held[key], counted = member_change(held.get(key, 0), delta)
            member_increments[f"places.{key}"] = member_increments.get(f"places.{key}", 0) + delta
            total = sums.setdefault(key, [level, code, parent, 0, 0, 0])
            total[3] += delta
            total[4] += counted
            total[5] += records
    member_writes = [UpdateOne({"_id": number}, {"$inc": inc}, upsert=True)
                     for number, inc in increments.items()]
    total_writes = [_total_write(key, *total) for key, total in sums.items()]
    try:
        db.totals_members.bulk_write(member_writes, ordered=False, session=session)
        db.totals.bulk_write(total_writes, ordered=False, session=session)
    except (DuplicateKeyError, BulkWriteError):
        # Two upserts raced to create the same document (docs/mongo-wire-server.md,
        # trap 3): retry the transaction, which then finds it.
        raise write_conflict(f"totals of volunteers {', '.join(numbers)} created meanwhile")


def _total_write(key, level, code, parent, delta, counted, records):
    return UpdateOne({"_id": key},
                     {"$inc": {"minutes": delta, "volunteers": counted, "records": records},
                      "$setOnInsert": {"level": level, "code": code, "parent": parent}},
                     upsert=True)


def _approved(event):
    data = _parse(contract.HOURS_APPROVED, event, "minutes")
    return data, data["minutes"], 1


def _corrected(event):
    data = _parse(contract.HOURS_CORRECTED, event, "delta_minutes")
    return data, data["delta_minutes"], 0


CHANGES = {contract.HOURS_APPROVED.type: _approved, contract.HOURS_CORRECTED.type: _corrected}


def apply_approved(db, session, event):
    apply(db, session, [_approved(event)])


def apply_corrected(db, session, event):
    apply(db, session, [_corrected(event)])


def apply_hours_events(db, session, events):
    """apply_approved / apply_corrected of each event in order, in three commands in all."""
    changes = []
    for event in events:
        change = CHANGES.get(event.get("type"))
        if change is None:
            raise InvalidInput("not an hours event", fields={"type": ["not an hours event"]})
        changes.append(change(event))
    apply(db, session, changes)


# --------------------------------------------------------------------------
# Questions

def _figures(doc, level, code, name=None):
    minutes = doc["minutes"] if doc else 0
    return {"level": level, "code": code, "name": name, "minutes": minutes,
            "hours": format_hours(minutes),
            "volunteers": doc["volunteers"] if doc else 0,
            "records": doc["records"] if doc else 0}


def _answer(db, level, code, name=None):
    doc = db.totals.find_one({"_id": f"{level}:{code}"})
    answer = _figures(doc, level, code, name)
    child = CHILD_LEVEL[level]
    children = []
    if child:
        found = list(db.totals.find({"parent": code, "level": child}).sort("code", 1))
        codes = [c["code"] for c in found]
        names = {}
        if child in stations_view.REGION_NAME_FIELDS:
            names = stations_view.region_names(db, child, codes)
        elif child == "station":
            names = stations_view.names(db, codes)
        elif child == "team":
            names = teams.names(db, codes)
        children = [_figures(c, child, c["code"], names.get(c["code"])) for c in found]
    answer["children"] = children
    return answer


def totals(db, query, caller):
    """Figures of one region, station, team or volunteer, with its children."""
    if query.get("region"):
        region = query["region"]
        access.ensure_within(caller, region, "region")
        level = REGION_LEVELS[len(region)]
        name = stations_view.region_names(db, level, [region]).get(region) \
            if level in stations_view.REGION_NAME_FIELDS else None
        return _answer(db, level, region, name)
    if query.get("station_id"):
        station = stations_view.find(db, query["station_id"])
        if station is None:
            raise NotFound(f"station {query['station_id']} is not known", fields={"station_id": ["unknown station"]})
        access.ensure_within(caller, station["division_code"], "station_id")
        return _answer(db, "station", station["_id"], station["name"])
    if query.get("team_id"):
        team = teams.load(db, query["team_id"], caller)
        return _answer(db, "team", team["_id"], team["name"])
    number = query["volunteer_number"]
    volunteer = volunteers.find(db, number)
    if volunteer is None:
        raise NotFound(f"no volunteer {number}", fields={"volunteer_number": ["not found"]})
    access.ensure_within(caller, volunteer["region"], "volunteer_number")
    return _answer(db, "volunteer", number)
