"""Supervision's batch forms on the Mongo-wire server: a list of registry station events
(or of volunteer hours events) applied at once in one transaction leaves exactly the
documents that the single handler leaves applying them one by one, each in its own
transaction; and a batch costs a few commands whatever its length."""
import datetime
import random
import uuid

import pymongo
import pytest
from pymongo import monitoring

from services.common import events as cloudevents
from services.common.mongo import run_in_transaction
from services.supervision import scorecard, stations_view, subscriptions, supervisors

pytestmark = pytest.mark.integration

READ_MODELS = ("stations", "region_names", "supervisors", "scorecard", "scorecard_marks")
NOW = datetime.datetime(2026, 6, 1, 8, 0, tzinfo=datetime.timezone.utc)
COUNTIES = {"340102": ("瑶海区", "合肥市"), "340104": ("蜀山区", "合肥市"), "340202": ("镜湖区", "芜湖市")}

PLANNED = [{"status": "planned", "on": "2026-01-05"}]
BUILT = PLANNED + [{"status": "built", "on": "2026-03-02"}]
OPERATING = BUILT + [{"status": "operating", "on": "2026-04-01"}]
CLOSED = OPERATING + [{"status": "closed", "on": "2026-05-20"}]


class CommandLog(monitoring.CommandListener):
    def __init__(self):
        self.names = []

    def started(self, event):
        if event.command_name not in ("commitTransaction", "abortTransaction", "endSessions"):
            self.names.append(event.command_name)

    def succeeded(self, event):
        pass

    def failed(self, event):
        pass


@pytest.fixture(autouse=True)
def steady_clock(monkeypatch):
    """seen_at and created_at: the same instant on both paths."""
    monkeypatch.setattr(stations_view, "now_ms", lambda: NOW)
    monkeypatch.setattr(supervisors, "now_ms", lambda: NOW)


@pytest.fixture
def command_log():
    return CommandLog()


@pytest.fixture
def databases(mongo_client, mongo_uri, command_log):
    """make(): a fresh supervision database with its indexes, on a client whose
    commands `command_log` records."""
    client = pymongo.MongoClient(mongo_uri, tz_aware=True, event_listeners=[command_log])
    made = []

    def make():
        db = client[f"t_svb_{uuid.uuid4().hex[:10]}"]
        for module in (stations_view, supervisors, scorecard):
            module.ensure_indexes(db)
        made.append(db.name)
        return db

    yield make
    for name in made:
        mongo_client.drop_database(name)
    client.close()


# -- events ---------------------------------------------------------------------------------


def station(station_id, version, history, county="340102", staff=(), checklist=0, county_name=None):
    """A registry station snapshot; staff: [(id, role)]."""
    county_name, city_name = county_name or COUNTIES[county][0], COUNTIES[county][1]
    have = {role: sum(1 for _id, r in staff if r == role) for role in ("head", "supervisor", "resident")}
    return {"station_id": station_id, "division_code": f"{county}{station_id[6:9]}", "county": county,
            "city": county[:4], "province": county[:2], "name": f"{station_id}社工站",
            "division_name": "某街道", "county_name": county_name, "city_name": city_name,
            "province_name": "安徽省", "status": history[-1]["status"], "status_on": history[-1]["on"],
            "status_history": history, "opened_on": next(
                (h["on"] for h in history if h["status"] == "operating"), None),
            "population_served": 12000, "operator_name": "某社工机构",
            "staffing": {"required": {"head": 1, "supervisor": 1, "resident": 1}, "have": have,
                         "meets_rule": all(have.values())},
            "staff": [{"id": i, "role": r, "certification": "中级社工师" if r == "supervisor" else None}
                      for i, r in staff],
            "checklist_met": checklist, "rooms": 0, "version": version}


def station_event(name, data, time="2026-05-10T02:00:00Z"):
    extra = {"station.built": {"from_status": "planned"}, "station.opened": {"from_status": "built"},
             "station.closed": {"from_status": "operating"},
             "station.checklist_updated": {"items": {"premises": "met"}},
             "station.updated": {"changed": ["name"]}}.get(name, {})
    event = cloudevents.cloud_event("registry", name, data["station_id"], {**data, **extra})
    event["time"] = time
    return event


def hours_event(kind, volunteer, station_id, minutes, service_date, county="340102"):
    data = {"record_id": f"R{uuid.uuid4().hex[:8]}", "volunteer_number": volunteer,
            "activity_id": "A1", "team_id": "T1", "station_id": station_id,
            "division_code": f"{county}{station_id[6:9]}", "county": county, "city": county[:4],
            "province": county[:2], "start": f"{service_date}T01:00:00Z", "end": f"{service_date}T03:00:00Z",
            "service_date": service_date}
    if kind == "approved":
        data.update(minutes=minutes, approved_at="2026-05-30T01:00:00Z")
    else:
        data.update(minutes=minutes, corrects="R0", delta_minutes=minutes, cancelled=False)
    return cloudevents.cloud_event("volunteer", f"hours.{kind}", data["record_id"], data)


# -- applying them ----------------------------------------------------------------------------


def one_by_one(db, events):
    for event in events:
        handler = subscriptions.SUBSCRIPTIONS.handlers[event["type"]]
        run_in_transaction(db, lambda session: handler(db, session, event))


def as_one_batch(db, events):
    """The events in one transaction, given to their batch form at once (the inbox
    gives it consecutive events that share it)."""
    many = {subscriptions.SUBSCRIPTIONS.batch_handlers[event["type"]] for event in events}
    assert len(many) == 1, "these events share one batch form"
    run_in_transaction(db, lambda session: many.pop()(db, session, events))


def contents(db):
    return {name: list(db[name].find({}).sort("_id", 1)) for name in READ_MODELS}


def both_ways(databases, seed, batch):
    """The read models after `seed` then `batch` one by one, and after `seed` one by one
    then `batch` as one batch."""
    single, batched = databases(), databases()
    for db in (single, batched):
        one_by_one(db, seed)
    one_by_one(single, batch)
    as_one_batch(batched, batch)
    return contents(single), contents(batched)


# -- station events -----------------------------------------------------------------------------


def test_a_mixed_batch_of_station_events_leaves_what_they_leave_one_by_one(databases):
    a, b, c, d, e = "340102001-01", "340102002-01", "340102003-01", "340104004-01", "340102005-01"
    seed = [station_event("station.imported", station(a, 4, OPERATING, staff=[("p1", "supervisor")],
                                                      checklist=2)),
            station_event("station.created", station(b, 1, PLANNED)),
            station_event("station.built", station(b, 2, BUILT))]
    batch = [
        # a new station, three versions of it in one list
        station_event("station.created", station(c, 1, PLANNED)),
        station_event("station.built", station(c, 2, BUILT)),
        station_event("station.opened", station(c, 3, OPERATING), time="2026-06-02T02:00:00Z"),
        # a's supervisor replaced, then a stale and a repeated version
        station_event("station.staffing_changed", station(a, 5, OPERATING, staff=[("p2", "supervisor")],
                                                          checklist=2)),
        station_event("station.checklist_updated", station(a, 4, OPERATING, checklist=6)),
        station_event("station.staffing_changed", station(a, 5, OPERATING, staff=[("p2", "supervisor")],
                                                          checklist=2)),
        # b moves to a county of another city (new here, and renamed at once), and opens there
        station_event("station.updated", station(b, 3, BUILT, county="340202")),
        station_event("station.opened", station(b, 4, OPERATING, county="340202", county_name="镜湖新区")),
        # a station new here takes over a's supervisor; a then lists none and closes
        station_event("station.imported", station(d, 1, OPERATING, county="340104", checklist=6,
                                                  staff=[("h4", "head"), ("p2", "supervisor"),
                                                         ("p3", "supervisor"), ("r4", "resident")])),
        station_event("station.staffing_changed", station(a, 6, OPERATING, checklist=2)),
        station_event("station.checklist_updated", station(a, 7, OPERATING, checklist=4),
                      time="2026-07-03T02:00:00Z"),
        station_event("station.closed", station(a, 8, CLOSED, staff=[("p5", "supervisor")], checklist=4)),
        # c's checklist, reported late (a month before its last point); its county renamed and back
        station_event("station.checklist_updated", station(c, 4, OPERATING, checklist=5),
                      time="2026-05-01T02:00:00Z"),
        station_event("station.updated", station(c, 5, OPERATING, checklist=5, county_name="瑶海新区")),
        station_event("station.updated", station(c, 6, OPERATING, checklist=5)),
        # e built, then moved and closed in the month it was built: its March changes twice
        station_event("station.created", station(e, 1, PLANNED)),
        station_event("station.built", station(e, 2, BUILT)),
        station_event("station.closed", station(e, 3, BUILT + [{"status": "closed", "on": "2026-03-20"}],
                                                county="340104")),
    ]
    single, batched = both_ways(databases, seed, batch)
    assert batched == single

    stations = {doc["_id"]: doc for doc in batched["stations"]}
    assert {s: doc["version"] for s, doc in stations.items()} == {a: 8, b: 4, c: 6, d: 1, e: 3}
    assert stations[b]["county"] == "340202" and stations[c]["known"][-1]["checklist_met"] == 5
    roster = {doc["_id"]: (doc["station_id"], doc["active"]) for doc in batched["supervisors"]}
    assert roster == {"ST-p1": (a, False), "ST-p2": (d, True), "ST-p3": (d, True), "ST-p5": (a, False)}
    assert {doc["_id"]: doc["name"] for doc in batched["region_names"]} == {
        "34": "安徽省", "3401": "合肥市", "3402": "芜湖市", "340102": "瑶海区", "340104": "蜀山区",
        "340202": "镜湖新区"}
    operating_from_april = {doc["code"]: doc["d"].get("operating") for doc in batched["scorecard"]
                         if doc["level"] == "station" and doc["month"] == "2026-04"}
    assert operating_from_april == {a: 1, b: 1, c: 1, d: 1}
    e_in_march = next(doc for doc in batched["scorecard"] if doc["_id"] == f"station:{e}:2026-03")
    assert (e_in_march["parent"], e_in_march["d"]) == ("340102", {"live": 0})   # where it was first counted


def test_station_events_in_any_order_and_any_cut_leave_what_they_leave_one_by_one(databases):
    rng = random.Random(14)
    ids = ["340102011-01", "340102012-01", "340104013-01"]
    for _round in range(4):
        history = []
        for station_id in ids:
            versions = [("station.created", PLANNED, "340102", ()),
                        ("station.built", BUILT, "340102", ()),
                        ("station.opened", OPERATING, "340102", ()),
                        ("station.staffing_changed", OPERATING, "340102",
                         (("s" + station_id[6:9], "supervisor"), ("x9", "supervisor"))),
                        ("station.updated", OPERATING, rng.choice(sorted(COUNTIES)), (("x9", "supervisor"),)),
                        ("station.checklist_updated", OPERATING, "340104", ()),
                        ("station.closed", CLOSED, "340104", (("x9", "supervisor"),))]
            history += [station_event(name, station(station_id, v, steps, county=county, staff=staff,
                                                    checklist=v % 7),
                                      time=f"2026-{3 + v % 4:02d}-15T02:00:00Z")
                        for v, (name, steps, county, staff) in enumerate(versions, start=1)]
        rng.shuffle(history)
        history += rng.sample(history, 4)   # redelivered under new ids: stale by then
        cut = rng.randrange(1, len(history) - 1)
        single, batched = both_ways(databases, history[:cut], history[cut:])
        assert batched == single


def test_a_batch_of_new_stations_costs_a_few_commands_whatever_its_length(databases, command_log):
    counts = []
    for count, county in ((4, "340102"), (20, "340104")):
        db = databases()
        batch = [station_event("station.imported", station(
            f"{county}{i:03d}-01", 1, OPERATING, county=county, checklist=6,
            staff=[(f"{role[0]}{county}{i}", role) for role in ("head", "supervisor", "resident")]))
            for i in range(1, count + 1)]
        command_log.names.clear()
        as_one_batch(db, batch)
        counts.append(sorted(command_log.names))
        assert db.stations.count_documents({}) == count
        assert db.supervisors.count_documents({"active": True}) == count
    # stations and region names read, names inserted, stations, roster and scorecard written
    assert counts[0] == counts[1] == ["find", "find", "insert", "update", "update", "update"]


def test_one_station_event_costs_one_command_for_the_station(databases, command_log):
    db = databases()
    one_by_one(db, [station_event("station.created", station("340102021-01", 1, PLANNED))])
    command_log.names.clear()
    one_by_one(db, [station_event("station.created", station("340102022-01", 1, PLANNED))])
    assert command_log.names == ["findAndModify", "find"]   # stored; its region names already kept
    command_log.names.clear()
    one_by_one(db, [station_event("station.built", station("340102022-01", 2, BUILT))])
    assert command_log.names == ["findAndModify", "update"]   # stored; the scorecard's levels
    command_log.names.clear()
    one_by_one(db, [station_event("station.created", station("340102022-01", 1, PLANNED))])
    assert command_log.names == ["findAndModify"]   # stale: nothing else
    assert db.stations.find_one({"_id": "340102022-01"})["status"] == "built"


# -- hours events ---------------------------------------------------------------------------------


def test_a_batch_of_hours_events_leaves_what_they_leave_one_by_one(databases):
    v1, v2, v3 = "V34010200000001", "V34010200000002", "V34010200000003"
    s1, s2 = "340102031-01", "340104032-01"
    seed = [hours_event("approved", v1, s1, 60, "2026-05-03"),
            hours_event("approved", v2, s2, 30, "2026-05-04", county="340104")]
    batch = [hours_event("approved", v1, s1, 90, "2026-05-05"),
             hours_event("corrected", v2, s2, -30, "2026-05-04", county="340104"),   # v2 no longer active
             hours_event("approved", v3, s1, 45, "2026-05-06"),
             hours_event("corrected", v3, s1, -45, "2026-05-06"),
             hours_event("approved", v3, s1, 0, "2026-05-06"),                       # adds nothing
             hours_event("approved", v3, s2, 20, "2026-05-07", county="340104"),
             hours_event("approved", v2, s2, 15, "2026-05-20", county="340104"),     # and again
             hours_event("approved", v2, s2, 25, "2026-06-01", county="340104"),     # another month
             hours_event("corrected", v1, s1, -150, "2026-05-05"),
             hours_event("approved", v1, s1, 10, "2026-05-08")]
    single, batched = both_ways(databases, seed, batch)
    assert batched == single

    may = {doc["_id"]: doc["f"] for doc in batched["scorecard"] if doc["month"] == "2026-05"}
    assert may[f"station:{s1}:2026-05"] == {"volunteer_minutes": 10, "volunteers_active": 1}
    assert may["city:3401:2026-05"] == {"volunteer_minutes": 45, "volunteers_active": 3}


def test_hours_events_in_any_order_and_any_cut_leave_what_they_leave_one_by_one(databases):
    rng = random.Random(25)
    places = [("340102041-01", "340102"), ("340102042-01", "340102"), ("340104043-01", "340104")]
    for _round in range(4):
        history = []
        for _ in range(24):
            station_id, county = rng.choice(places)
            kind = rng.choice(("approved", "corrected"))
            minutes = rng.choice((0, 30, 45, 60) if kind == "approved" else (-60, -30, 0, 30))
            history.append(hours_event(kind, f"V3401020000000{rng.randrange(3)}", station_id, minutes,
                                       rng.choice(("2026-05-11", "2026-06-12")), county=county))
        cut = rng.randrange(1, len(history) - 1)
        single, batched = both_ways(databases, history[:cut], history[cut:])
        assert batched == single


def test_a_batch_of_hours_events_costs_three_commands(databases, command_log):
    s1 = "340102031-01"
    db = databases()
    command_log.names.clear()
    as_one_batch(db, [hours_event("approved", f"V340102000001{i:02d}", s1, 30, "2026-05-09")
                      for i in range(20)])
    assert sorted(command_log.names) == ["find", "update", "update"]   # marks read; marks, scorecard
    assert db.scorecard.find_one({"_id": f"station:{s1}:2026-05"})["f"] == {
        "volunteer_minutes": 600, "volunteers_active": 20}
