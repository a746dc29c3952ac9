"""The batch forms of the volunteer's and the charity's read models (Subscriptions.on(..., many=)):
a list of events applied in one transaction leaves exactly the documents that the single
handler leaves applying them one by one, in a few commands whatever the list's length."""
import itertools
import random
import uuid

import pymongo
import pytest

from services.charity import stations_view as charity_stations
from services.charity import subscriptions as charity_subscriptions
from services.charity import teams_view
from services.common import clock
from services.common.mongo import run_in_transaction
from services.volunteer import stations_view as volunteer_stations
from services.volunteer import subscriptions as volunteer_subscriptions
from services.volunteer import totals
from tests.fixtures import CommandLog

pytestmark = pytest.mark.integration

STATIONS = {"volunteer": volunteer_stations, "charity": charity_stations}
_SERIAL = itertools.count(1)


@pytest.fixture(autouse=True)
def ticking_clock(monkeypatch):
    """now_ms one millisecond later at every call, restarted by `restart`: both ways of
    applying the same events then stamp the same `seen_at` on the same event."""
    moments = {}

    def restart():
        moments["next"] = itertools.count()

    def now_ms():
        return clock.utcnow().replace(year=2026, month=1, day=1, hour=0, minute=0, second=0,
                                      microsecond=next(moments["next"]) * 1000)
    restart()
    monkeypatch.setattr(clock, "now_ms", now_ms)                 # charity: clock.now_ms()
    monkeypatch.setattr(volunteer_stations, "now_ms", now_ms)    # volunteer: imported name
    return restart


def station_event(station, version, kind="updated", county="340102", status="operating"):
    """A registry station event with the whole snapshot; every event's name differs."""
    return {"id": uuid.uuid4().hex, "source": "/wushe/registry", "subject": station,
            "type": f"wushe.registry.station.{kind}.v1",
            "data": {"station_id": station, "division_code": f"{county}001", "county": county,
                     "city": county[:4], "province": county[:2],
                     "name": f"{station} v{version} #{next(_SERIAL)}", "division_name": "明光路街道",
                     "county_name": f"区{county}", "city_name": "合肥市", "province_name": "安徽省",
                     "status": status, "status_on": "2025-01-10",
                     "status_history": [{"status": status, "on": "2025-01-10"}], "opened_on": None,
                     "population_served": 12000, "operator_name": f"机构{version}",
                     "staffing": {"required": {"head": 1, "supervisor": 1, "resident": 1},
                                  "have": {"head": 1, "supervisor": 1, "resident": 1},
                                  "meets_rule": True},
                     "staff": [], "checklist_met": 3, "rooms": 1, "version": version,
                     "from_status": "built", "changed": ["name"]}}


def one_by_one(db, handler, events):
    return [run_in_transaction(db, lambda session: handler(db, session, event)) for event in events]


def documents(collection):
    return list(collection.find().sort("_id", 1))


def both_ways(mongo_client, restart, before, events, single, many, collections):
    """The collections after `before` then `events` one by one, and after `before` one by one
    then `events` in one batch (databases of their own, dropped after)."""
    results = []
    for batch in (False, True):
        name = f"t_{uuid.uuid4().hex[:12]}"
        db = mongo_client[name]
        try:
            restart()
            one_by_one(db, single, before)
            if batch:
                run_in_transaction(db, lambda session: many(db, session, events))
            else:
                one_by_one(db, single, events)
            results.append({c: documents(db[c]) for c in collections})
        finally:
            mongo_client.drop_database(name)
    return results


# --------------------------------------------------------------------------
# Stations

BEFORE = [station_event("340102001-01", 3), station_event("340102001-02", 5)]
SCRIPTED = [
    station_event("340102001-03", 1, kind="created"),           # new
    station_event("340102001-03", 2),                            # newer in the same list
    station_event("340102001-03", 2),                            # as new: changes nothing
    station_event("340102001-01", 2),                            # stale (3 stored)
    station_event("340103001-01", 4, county="340103"),           # another station, another county
    station_event("340102001-01", 4, county="340103", status="suspended"),   # changes county
    station_event("340102001-02", 6, kind="opened"),
    station_event("340102001-02", 5),                            # stale after newer
    station_event("340102001-04", 3),                            # unknown, not a first event
    station_event("340102001-04", 1, kind="imported"),           # older than what came first
]
SCRIPTED.append(SCRIPTED[0])                                     # the same event again


def random_events(seed):
    rng = random.Random(seed)
    return [station_event(f"340102001-0{rng.randint(1, 4)}", rng.randint(1, 7),
                          kind=rng.choice(("created", "imported", "updated", "opened", "closed")),
                          county=rng.choice(("340102", "340103")))
            for _ in range(24)]


@pytest.mark.parametrize("service", ["volunteer", "charity"])
def test_a_batch_of_station_events_leaves_what_they_leave_one_by_one(mongo_client, ticking_clock, service):
    view = STATIONS[service]
    single, batched = both_ways(mongo_client, ticking_clock, BEFORE, SCRIPTED, view.apply_station_event,
                                view.apply_station_events, ["stations"])
    assert batched == single
    stations = {s["_id"]: s for s in batched["stations"]}
    assert (stations["340102001-01"]["county"], stations["340102001-01"]["status"],
            stations["340102001-01"]["version"]) == ("340103", "suspended", 4)
    assert stations["340102001-03"]["name"] == SCRIPTED[1]["data"]["name"]     # the first of version 2
    assert stations["340102001-02"]["name"] == SCRIPTED[6]["data"]["name"]
    assert stations["340102001-04"]["name"] == SCRIPTED[8]["data"]["name"]
    assert len(stations) == 5


@pytest.mark.parametrize("service", ["volunteer", "charity"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_runs_of_station_events_batched_or_not_leave_the_same(mongo_client, ticking_clock,
                                                                       service, seed):
    view = STATIONS[service]
    single, batched = both_ways(mongo_client, ticking_clock, BEFORE, random_events(seed),
                                view.apply_station_event, view.apply_station_events, ["stations"])
    assert batched == single


@pytest.mark.parametrize("service", ["volunteer", "charity"])
def test_one_station_event_says_whether_it_changed_the_station(fresh_db, service):
    view = STATIONS[service]

    def apply(event):
        return run_in_transaction(fresh_db, lambda s: view.apply_station_event(fresh_db, s, event))

    assert apply(station_event("340102001-01", 2)) is True               # unknown: stored
    assert apply(station_event("340102001-01", 1, kind="created")) is False
    assert apply(station_event("340102001-01", 2)) is False
    newest = station_event("340102001-01", 4, county="340103")
    assert apply(newest) is True
    assert apply(station_event("340102001-05", 1, kind="imported")) is True
    assert apply(station_event("340102001-05", 1, kind="created")) is False
    station = view.find(fresh_db, "340102001-01")
    assert (station["name"], station["county"], station["version"]) == (newest["data"]["name"], "340103", 4)


# --------------------------------------------------------------------------
# Teams (charity)

def team_event(team, name):
    return {"id": uuid.uuid4().hex, "source": "/wushe/volunteer",
            "type": "wushe.volunteer.team.created.v1",
            "data": {"team_id": team, "station_id": "340102001-01", "parent_id": None,
                     "kind": "general", "name": name, "division_code": "340102001",
                     "county": "340102", "city": "3401", "province": "34"}}


def test_a_batch_of_team_events_leaves_what_they_leave_one_by_one(mongo_client, ticking_clock):
    events = [team_event("T2", "二队"), team_event("T1", "重放"), team_event("T3", "三队"),
              team_event("T2", "后来的二队")]
    single, batched = both_ways(mongo_client, ticking_clock, [team_event("T1", "一队")], events,
                                teams_view.apply_team_created, teams_view.apply_teams_created, ["teams"])
    assert batched == single
    assert [(t["_id"], t["name"]) for t in batched["teams"]] == [("T1", "一队"), ("T2", "二队"), ("T3", "三队")]


def test_one_team_event_says_whether_it_stored_the_team(fresh_db):
    first, again = team_event("T1", "一队"), team_event("T1", "重放")
    assert one_by_one(fresh_db, teams_view.apply_team_created, [first, again]) == [True, False]
    assert fresh_db.teams.find_one({"_id": "T1"})["name"] == "一队"


# --------------------------------------------------------------------------
# Hours totals (volunteer)

def hours_event(kind, number, minutes, station="340102001-01", team="T1", township=None):
    number = f"V340102{number:08d}"
    township = township or station[:9]
    return {"id": uuid.uuid4().hex, "source": "/wushe/volunteer",
            "type": f"wushe.volunteer.hours.{kind}.v1",
            "data": {"volunteer_number": number, "team_id": team, "station_id": station,
                     "division_code": township, "county": township[:6], "city": township[:4],
                     "province": township[:2],
                     ("minutes" if kind == "approved" else "delta_minutes"): minutes}}


def apply_hours(db, session, event):
    handler = totals.apply_approved if ".approved." in event["type"] else totals.apply_corrected
    handler(db, session, event)


HOURS_BEFORE = [hours_event("approved", 1, 60), hours_event("approved", 2, 30, team="T2")]
HOURS = [
    hours_event("approved", 1, 90),
    hours_event("corrected", 1, -150),                       # V1 back to 0: no longer counted
    hours_event("approved", 3, 45, station="340103001-01", team="T3"),   # first time, new places
    hours_event("corrected", 4, -20),                        # a correction before its approval
    hours_event("approved", 4, 20),                          # ... V4 at 0 again
    hours_event("corrected", 2, -30, team="T2"),             # V2 to 0
    hours_event("approved", 2, 15, team="T2"),               # ... and counted again
    hours_event("approved", 5, 10, station="340102001-02"),  # team T1 at another station
    hours_event("approved", 5, 10, station="340102009-01", township="340102009"),
    hours_event("approved", 6, 5, station="340102009-01", township="340102008"),   # another parent
    hours_event("approved", 1, 30),                          # V1 counted again
]


@pytest.mark.parametrize("seed", [None, 1, 2, 3])
def test_a_batch_of_hours_events_leaves_the_totals_they_leave_one_by_one(mongo_client, ticking_clock, seed):
    events = list(HOURS)
    if seed is not None:
        random.Random(seed).shuffle(events)
    single, batched = both_ways(mongo_client, ticking_clock, HOURS_BEFORE, events, apply_hours,
                                totals.apply_hours_events, ["totals", "totals_members"])
    assert batched == single
    by_id = {t["_id"]: t for t in batched["totals"]}
    assert (by_id["county:340102"]["minutes"], by_id["county:340102"]["records"]) == (70, 9)
    assert by_id["county:340102"]["volunteers"] == 4          # V1, V2, V5, V6; V4 at 0
    assert by_id["team:T2"]["volunteers"] == 1 and by_id["team:T2"]["minutes"] == 15
    if seed is None:
        assert by_id["station:340102009-01"]["parent"] == "340102009"   # the first event's


def test_a_batch_form_refuses_an_event_of_another_type(fresh_db):
    with pytest.raises(Exception, match="not an hours event"):
        run_in_transaction(fresh_db, lambda s: totals.apply_hours_events(
            fresh_db, s, [hours_event("approved", 1, 60), station_event("340102001-01", 1)]))
    assert fresh_db.totals.count_documents({}) == 0


# --------------------------------------------------------------------------
# Commands sent

@pytest.fixture
def counted(mongo_uri):
    """(a database of its own on a client that records every command, the recorder)."""
    commands = CommandLog()
    client = pymongo.MongoClient(mongo_uri, tz_aware=True, event_listeners=[commands])
    name = f"t_{uuid.uuid4().hex[:12]}"
    yield client[name], commands
    client.drop_database(name)
    client.close()


def sent(db, commands, fn):
    """The commands `fn(session)` sends in one transaction, without its commit."""
    commands.names.clear()
    run_in_transaction(db, fn)
    return sorted(name for name in commands.names if name != "commitTransaction")


@pytest.mark.parametrize("service", ["volunteer", "charity"])
def test_twenty_station_events_are_a_few_commands_in_a_batch_and_one_each_alone(counted, service):
    db, commands = counted
    view = STATIONS[service]
    created = [station_event(f"340102001-{i:02d}", 1, kind="created") for i in range(20)]
    assert sent(db, commands, lambda s: view.apply_station_events(db, s, created)) == ["find", "insert"]
    opened = [station_event(f"340102001-{i:02d}", 2, kind="opened") for i in range(20)]
    assert sent(db, commands, lambda s: view.apply_station_events(db, s, opened)) == ["find", "update"]
    assert sent(db, commands, lambda s: view.apply_station_events(db, s, opened)) == ["find"]   # all stale
    assert db.stations.count_documents({"version": 2}) == 20
    # Alone: a known station's newer snapshot, and a new station, are one command each.
    assert sent(db, commands, lambda s: view.apply_station_event(
        db, s, station_event("340102001-01", 3))) == ["update"]
    assert sent(db, commands, lambda s: view.apply_station_event(
        db, s, station_event("340102001-99", 1, kind="created"))) == ["update"]
    assert view.find(db, "340102001-99")["version"] == 1


def test_twenty_hours_events_are_three_commands_in_a_batch(counted):
    db, commands = counted
    events = [hours_event("approved" if i % 3 else "corrected", i % 5 + 1, 30 if i % 3 else -10)
              for i in range(20)]
    assert sent(db, commands, lambda s: totals.apply_hours_events(db, s, events)) == \
        ["find", "update", "update"]   # membership documents, then totals
    assert db.totals.find_one({"_id": "province:34"})["records"] == 13


def test_the_inboxes_give_runs_of_these_events_to_the_batch_forms():
    volunteer = volunteer_subscriptions.SUBSCRIPTIONS.batch_handlers
    charity = charity_subscriptions.SUBSCRIPTIONS.batch_handlers
    assert volunteer["wushe.registry.station.opened.v1"] is volunteer_stations.apply_station_events
    assert volunteer["wushe.volunteer.hours.approved.v1"] is totals.apply_hours_events
    assert volunteer["wushe.volunteer.hours.corrected.v1"] is totals.apply_hours_events
    assert charity["wushe.registry.station.imported.v1"] is charity_stations.apply_station_events
    assert charity["wushe.volunteer.team.created.v1"] is teams_view.apply_teams_created
