"""The coverage read model's batch form (coverage.apply_station_events) against
the real Mongo-wire server: a list applied at once leaves exactly what its
events applied one by one leave, in fewer commands.

Divisions and units as in test_coverage_model.py (Tongling, 3407).
"""
import uuid

import pymongo
import pytest
from pymongo.errors import OperationFailure

from services.common.errors import InvalidInput, NotFound
from services.common.mongo import run_in_transaction
from services.registry import coverage as cov
from services.registry import divisions as d
from services.registry.division_files import division_files, read_division_files
from tests.integration.test_coverage_model import (DATONG, DONGJIAO, LAOZHOU, PLACEHOLDER,
                                                   TIANJINGHU, TONGSHAN, ZONE, event)
from tests.fixtures import CommandLog

pytestmark = pytest.mark.integration

DATES = ["2022-12-31", "2023-02-15", "2023-04-15", "2023-07-15", "2023-08-15", "2023-12-31",
         "2024-03-01"]
REGIONS = ["3407", "340705", "340711"]


@pytest.fixture(scope="module")
def anhui(mongo_uri, divisions_dir):
    """One database with the Anhui divisions for the module; tests change only coverage_units."""
    client = pymongo.MongoClient(mongo_uri, tz_aware=True)
    db = client[f"t_{uuid.uuid4().hex[:12]}"]
    d.ensure_indexes(db)
    cov.ensure_indexes(db)
    d.import_divisions(db, [r for r in read_division_files(division_files(divisions_dir))
                            if r["level"] != "village"])
    d.recount_units(db)
    yield db
    client.drop_database(db.name)
    client.close()


@pytest.fixture
def db(anhui):
    anhui.coverage_units.delete_many({})
    return anhui


def one_by_one(db, events):
    return [run_in_transaction(db, lambda s, ev=ev: cov.apply_station_event(db, s, ev))
            for ev in events]


def at_once(db, events):
    return run_in_transaction(db, lambda s: cov.apply_station_events(db, s, events))


def state(db):
    """Every unit document, whole, and what the coverage query answers."""
    return {"units": list(db.coverage_units.find().sort("_id", 1)),
            "coverage": [cov.coverage(db, region, on) for region in REGIONS for on in DATES]}


def outcome(db, before, events, apply):
    db.coverage_units.delete_many({})
    one_by_one(db, before)
    answers = apply(db, events)
    return answers, state(db)


def unit(found, code):
    return next((u for u in found["units"] if u["_id"] == code), None)


def station_ids(found, code):
    return [s["station_id"] for s in unit(found, code)["stations"]]


H1 = [("planned", "2023-01-10")]
H2 = H1 + [("built", "2023-06-01")]
H3 = H2 + [("operating", "2023-09-01")]
OPEN = [("built", "2023-01-15"), ("operating", "2023-02-01")]


def created():
    events = [event("S1", DONGJIAO, 1, *H1, kind="created"),
              event("S2", DONGJIAO, 4, ("built", "2023-03-01"), ("operating", "2023-04-01")),
              event("S3", TIANJINGHU, 1, ("operating", "2023-07-01")),
              event("S4", ZONE, 2, *OPEN),
              event("S5", TONGSHAN, 1, *H1)]

    def check(answers, found):
        assert answers == [True] * 5
        assert station_ids(found, DONGJIAO) == ["S1", "S2"]
        assert unit(found, DONGJIAO)["rev"] == 2
        assert [u["_id"] for u in found["units"]] == sorted([DONGJIAO, TIANJINGHU, ZONE, TONGSHAN])
    return [], events, check


def status_changes():
    before = [event("S1", DONGJIAO, 1, *H1), event("S2", DONGJIAO, 1, ("planned", "2022-12-01")),
              event("S3", TIANJINGHU, 1, ("built", "2023-05-01"))]
    events = [event("S1", DONGJIAO, 2, *H2, kind="built"),
              event("S3", TIANJINGHU, 2, ("built", "2023-05-01"), ("operating", "2023-07-01")),
              event("S2", DONGJIAO, 2, ("planned", "2022-12-01"), ("built", "2023-03-01")),
              event("S1", DONGJIAO, 3, *H3, kind="opened")]

    def check(answers, found):
        assert answers == [True] * 4
        assert unit(found, DONGJIAO)["rev"] == 5
        assert [s["version"] for s in unit(found, DONGJIAO)["stations"]] == [3, 2]
    return before, events, check


def same_station_twice():
    events = [event("S1", DONGJIAO, 1, *H1, kind="created"),
              event("S1", DONGJIAO, 2, *H2, kind="built"),
              event("S1", DONGJIAO, 3, *H3, kind="opened")]

    def check(answers, found):
        assert answers == [True] * 3
        s1 = unit(found, DONGJIAO)["stations"][0]
        assert (s1["version"], len(s1["status_history"]), unit(found, DONGJIAO)["rev"]) == (3, 3, 3)
    return [], events, check


def stale_after_newer():
    before = [event("S1", DONGJIAO, 1, *H1), event("S2", TIANJINGHU, 5, *OPEN)]
    events = [event("S1", DONGJIAO, 3, *H3, kind="opened"),
              event("S1", DONGJIAO, 2, *H2, kind="built"),        # late
              event("S1", DONGJIAO, 3, *H3, kind="opened"),       # again
              event("S2", TIANJINGHU, 4, ("planned", "2023-01-01")),  # older than stored
              event("S3", TONGSHAN, 2, *H2),
              event("S3", TONGSHAN, 1, *H1)]                      # late, for a station new in the list

    def check(answers, found):
        assert answers == [True, False, False, False, True, False]
        assert unit(found, DONGJIAO)["stations"][0]["version"] == 3
        assert unit(found, TIANJINGHU)["rev"] == 1
        assert unit(found, TONGSHAN)["stations"][0]["version"] == 2
    return before, events, check


def move_between_units():
    before = [event("S6", LAOZHOU, 1, ("planned", "2023-09-01"), ("built", "2023-10-01")),
              event("S8", LAOZHOU, 1, ("built", "2023-02-01")),
              event("S9", DATONG, 1, ("operating", "2023-05-01"))]
    events = [event("S6", DATONG, 2, ("planned", "2023-09-01"), ("built", "2023-10-01"),
                    ("operating", "2024-03-01")),
              event("S8", LAOZHOU, 2, ("built", "2023-02-01"), ("operating", "2023-03-01"))]

    def check(answers, found):
        assert answers == [True, True]
        assert station_ids(found, LAOZHOU) == ["S8"]
        assert station_ids(found, DATONG) == ["S6", "S9"]
        assert (unit(found, LAOZHOU)["rev"], unit(found, DATONG)["rev"]) == (4, 2)
    return before, events, check


def unit_emptied_by_a_move():
    before = [event("S6", LAOZHOU, 1, ("planned", "2023-09-01"), ("built", "2023-10-01"))]
    events = [event("S6", DATONG, 2, ("built", "2023-10-01")),       # LAOZHOU empty: deleted
              event("S6", LAOZHOU, 1, ("built", "2023-10-01")),      # late: changes nothing
              event("S10", LAOZHOU, 1, ("built", "2023-11-01")),     # LAOZHOU anew
              event("S6", LAOZHOU, 3, ("built", "2023-10-01"), ("operating", "2024-01-01"))]

    def check(answers, found):
        assert answers == [True, False, True, True]
        assert station_ids(found, LAOZHOU) == ["S10", "S6"]
        assert unit(found, LAOZHOU)["rev"] == 2     # written anew after its deletion
        assert unit(found, DATONG) is None           # left again by S6
    return before, events, check


def station_in_a_unit_no_event_names():
    before = [event("S6", LAOZHOU, 1, ("built", "2023-10-01")),
              event("S6", DATONG, 2, ("built", "2023-10-01"))]
    events = [event("S6", LAOZHOU, 1, ("built", "2023-10-01")),      # late, for the unit it left
              event("S20", TONGSHAN, 1, ("operating", "2023-05-01")),
              event("S6", TONGSHAN, 3, ("built", "2023-10-01"))]     # leaves DATONG, named by none

    def check(answers, found):
        assert answers == [False, True, True]
        assert [u["_id"] for u in found["units"]] == [TONGSHAN]
        assert station_ids(found, TONGSHAN) == ["S20", "S6"]
    return before, events, check


def moves_inside_the_list():
    events = [event("S11", TONGSHAN, 1, ("built", "2023-03-01")),
              event("S12", TONGSHAN, 1, ("planned", "2023-03-01")),
              event("S11", DATONG, 2, ("built", "2023-03-01")),
              event("S11", ZONE, 3, ("built", "2023-03-01"), ("operating", "2023-04-01")),
              event("S13", DATONG, 1, ("operating", "2023-06-01"))]

    def check(answers, found):
        assert answers == [True] * 5
        assert station_ids(found, TONGSHAN) == ["S12"]
        assert station_ids(found, ZONE) == ["S11"]
        assert station_ids(found, DATONG) == ["S13"]
        assert unit(found, DATONG)["rev"] == 1       # created, emptied and created again
    return [], events, check


def units_of_kind_other():
    before = [event("S4", ZONE, 1, ("built", "2023-01-15"))]
    events = [event("S4", ZONE, 2, *OPEN),
              event("S7", PLACEHOLDER, 1, ("built", "2023-02-01")),
              event("S7", PLACEHOLDER, 2, ("built", "2023-02-01"), ("operating", "2023-03-01")),
              event("S14", DONGJIAO, 1, ("operating", "2023-04-01"))]

    def check(answers, found):
        assert answers == [True] * 4
        assert (unit(found, ZONE)["kind"], unit(found, PLACEHOLDER)["kind"]) == ("other", "other")
        county = next(c for c in found["coverage"]
                      if c["region"] == "340705" and c["as_of"] == "2024-03-01")
        assert (county["with_station"], county["operating"], county["other_units"]) == (1, 1, 2)
    return before, events, check


SCENARIOS = [created, status_changes, same_station_twice, stale_after_newer, move_between_units,
             unit_emptied_by_a_move, station_in_a_unit_no_event_names, moves_inside_the_list,
             units_of_kind_other]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.__name__ for s in SCENARIOS])
def test_a_list_at_once_leaves_what_one_by_one_leaves(db, scenario):
    before, events, check = scenario()
    expected = outcome(db, before, events, one_by_one)
    check(*expected)
    assert outcome(db, before, events, at_once) == expected


def test_an_unknown_township_fails_the_list_and_writes_nothing(db):
    one_by_one(db, [event("S1", DONGJIAO, 2, *H2)])
    with pytest.raises(NotFound) as info:
        at_once(db, [event("S2", TONGSHAN, 1, *H1), event("S3", "340705999", 1, *H1)])
    assert "division_code" in info.value.fields
    assert [u["_id"] for u in db.coverage_units.find()] == [DONGJIAO]
    # As one by one: a stale event is skipped before its township is looked up.
    assert at_once(db, [event("S1", "340705999", 1, *H1)]) == [False]
    with pytest.raises(InvalidInput) as info:
        at_once(db, [event("S2", TONGSHAN, 1, *H1), event("S3", TONGSHAN, "2", *H1)])
    assert "version" in info.value.fields
    assert db.coverage_units.count_documents({}) == 1


def test_without_a_transaction_the_list_is_applied_one_by_one(db):
    assert cov.apply_station_events(db, None, [event("S1", DONGJIAO, 1, *H1),
                                               event("S1", DATONG, 2, *H2)]) == [True, True]
    assert [(u["_id"], u["rev"]) for u in db.coverage_units.find()] == [(DATONG, 1)]


def test_a_list_racing_another_transaction_is_retried(db):
    one_by_one(db, [event("A", DONGJIAO, 1, *H1)])
    first, second = db.client.start_session(), db.client.start_session()
    try:
        first.start_transaction()
        second.start_transaction()
        cov.apply_station_events(db, first, [event("A", DONGJIAO, 2, *H2)])
        with pytest.raises(OperationFailure) as info:
            cov.apply_station_events(db, second, [event("B", TONGSHAN, 1, *H1),
                                                  event("C", DONGJIAO, 1, *H1)])
        assert info.value.has_error_label("TransientTransactionError")
        first.commit_transaction()
        second.abort_transaction()
    finally:
        first.end_session()
        second.end_session()
    assert at_once(db, [event("B", TONGSHAN, 1, *H1), event("C", DONGJIAO, 1, *H1)]) == [True, True]
    dongjiao = db.coverage_units.find_one({"_id": DONGJIAO})
    assert [(s["station_id"], s["version"]) for s in dongjiao["stations"]] == [("A", 2), ("C", 1)]


@pytest.fixture
def counted(db, mongo_uri):
    """(db on a client whose commands are logged, the log)."""
    log = CommandLog()
    client = pymongo.MongoClient(mongo_uri, tz_aware=True, event_listeners=[log])
    yield client[db.name], log
    client.close()


def commands(counted, apply):
    """The commands `apply(db, session)` sends inside a transaction, by name; the
    transaction is then aborted."""
    db, log = counted
    with db.client.start_session() as session:
        session.start_transaction()
        del log.names[:]
        apply(db, session)
        sent = sorted(log.names)
        session.abort_transaction()
    return sent


def test_a_list_costs_the_same_few_commands_whatever_its_length(db, counted):
    codes = [u["_id"] for u in db.divisions.find({"level": "township", "city": "3407"}).sort("_id", 1)]
    assert len(codes) >= 25

    def new_stations(n, offset):
        return [event(f"N{offset + i}", code, 1, *H1, kind="created")
                for i, code in enumerate(codes[offset:offset + n])]

    # New stations in units without a document: the units, the stations, the
    # divisions, and one insert of all the units.
    twenty = new_stations(20, 0)
    assert commands(counted, lambda db_, s: cov.apply_station_events(db_, s, twenty)) \
        == ["find", "find", "find", "insert"]
    assert commands(counted, lambda db_, s: cov.apply_station_events(db_, s, new_stations(5, 20))) \
        == ["find", "find", "find", "insert"]
    at_once(db, twenty)
    # Their next versions: the units (which hold the stations) and one update.
    built = [event(e["data"]["station_id"], e["data"]["division_code"], 2, *H2) for e in twenty]
    assert commands(counted, lambda db_, s: cov.apply_station_events(db_, s, built)) \
        == ["find", "update"]
    # One event alone: a station already in its unit costs one find and its write;
    # a new one in a new unit the three finds.
    assert commands(counted, lambda db_, s: cov.apply_station_event(db_, s, built[0])) \
        == ["find", "update"]
    assert commands(counted, lambda db_, s: cov.apply_station_event(db_, s, new_stations(1, 24)[0])) \
        == ["find", "find", "find", "insert"]
    # A stale event: one find, no write.
    assert commands(counted, lambda db_, s: cov.apply_station_event(db_, s, twenty[0])) == ["find"]
