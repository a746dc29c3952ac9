"""The coverage read model and query against the real Mongo-wire server.

Divisions: the shipped Anhui codes (without villages). Stations in Tongling
(3407), counties 铜官区 (340705: 21 units, 2 other) and 郊区 (340711: 8 units,
2 other); Tongling has 54 units, Anhui 1,541.
"""
import datetime as dt
import uuid

import pymongo
import pytest
from pymongo import monitoring
from pymongo.errors import OperationFailure

from services.common.errors import InvalidInput, NotFound
from services.common.mongo import run_in_transaction
from services.common.clock import china_today
from services.registry import coverage as cov
from services.registry import divisions as d
from services.registry.division_files import division_files, read_division_files

pytestmark = pytest.mark.integration

DONGJIAO = "340705005"     # 东郊街道 (street): two stations
TIANJINGHU = "340705402"   # 天井湖社区街道: digits say other, the name says street -> a unit
ZONE = "340705400"         # 铜陵经济技术开发区: other
TONGSHAN = "340711100"     # 铜山镇: a planned-only station
DATONG = "340711101"       # 大通镇: a station moved here from 老洲镇
LAOZHOU = "340711102"      # 老洲镇
PLACEHOLDER = "340711198"  # 郊区直辖村级区划: other


@pytest.fixture(scope="module")
def anhui_rows(divisions_dir):
    return [r for r in read_division_files(division_files(divisions_dir)) if r["level"] != "village"]


@pytest.fixture
def db(fresh_db, anhui_rows):
    d.ensure_indexes(fresh_db)
    cov.ensure_indexes(fresh_db)
    d.import_divisions(fresh_db, anhui_rows)
    d.recount_units(fresh_db)
    return fresh_db


def event(station_id, code, version, *history, kind="updated"):
    return {
        "specversion": "1.0",
        "id": uuid.uuid4().hex,
        "source": "wushe/registry",
        "type": f"wushe.registry.station.{kind}.v1",
        "subject": station_id,
        "data": {
            "station_id": station_id,
            "division_code": code,
            "version": version,
            "status": history[-1][0] if history else "planned",
            "status_history": [{"status": s, "on": on} for s, on in history],
        },
    }


def apply(db, ev):
    return run_in_transaction(db, lambda session: cov.apply_station_event(db, session, ev))


S1_V1 = [("planned", "2023-01-10")]
S1_V2 = S1_V1 + [("built", "2023-06-01")]
S1_V3 = S1_V2 + [("operating", "2023-09-01")]


@pytest.fixture
def stations(db):
    """The scenario: returns what each apply answered."""
    answers = {}
    # S1 in 东郊街道: versions 1, 3, then the late 2 and a duplicate 3.
    answers["s1 v1"] = apply(db, event("S1", DONGJIAO, 1, *S1_V1, kind="created"))
    answers["s1 v3"] = apply(db, event("S1", DONGJIAO, 3, *S1_V3, kind="opened"))
    answers["s1 v2 late"] = apply(db, event("S1", DONGJIAO, 2, *S1_V2, kind="built"))
    answers["s1 v3 again"] = apply(db, event("S1", DONGJIAO, 3, *S1_V3, kind="opened"))
    # S2, a second station in 东郊街道, operating from April, closed in August 2023.
    answers["s2"] = apply(db, event("S2", DONGJIAO, 4, ("planned", "2022-12-01"), ("built", "2023-03-01"),
                                    ("operating", "2023-04-01"), ("closed", "2023-08-01")))
    # S3 in 天井湖社区街道: operating in July 2023, suspended in February 2024.
    answers["s3"] = apply(db, event("S3", TIANJINGHU, 3, ("built", "2023-05-01"),
                                    ("operating", "2023-07-01"), ("suspended", "2024-02-01")))
    # S4 in a development zone (other): operating, counted nowhere.
    answers["s4"] = apply(db, event("S4", ZONE, 2, ("built", "2023-01-15"), ("operating", "2023-02-01")))
    # S5 in 铜山镇: planned only.
    answers["s5"] = apply(db, event("S5", TONGSHAN, 1, ("planned", "2023-01-01")))
    # S6 registered in 老洲镇 by mistake, then corrected to 大通镇.
    answers["s6 v1"] = apply(db, event("S6", LAOZHOU, 1, ("planned", "2023-09-01"), ("built", "2023-10-01")))
    answers["s6 v2"] = apply(db, event("S6", DATONG, 2, ("planned", "2023-09-01"), ("built", "2023-10-01"),
                                       ("operating", "2024-03-01")))
    # S7 in a placeholder unit (other), built.
    answers["s7"] = apply(db, event("S7", PLACEHOLDER, 2, ("built", "2023-02-01")))
    return answers


def figures(answer):
    return (answer["units"], answer["with_station"], answer["operating"],
            answer["coverage_rate"], answer["operating_rate"], answer["other_units"])


def child(answer, code):
    return next(c for c in answer["children"] if c["region"] == code)


def test_versions_out_of_order_and_duplicates_are_skipped(db, stations):
    assert stations["s1 v1"] is True
    assert stations["s1 v3"] is True
    assert stations["s1 v2 late"] is False
    assert stations["s1 v3 again"] is False
    unit = db.coverage_units.find_one({"_id": DONGJIAO})
    s1 = next(s for s in unit["stations"] if s["station_id"] == "S1")
    assert s1["version"] == 3
    assert [h["status"] for h in s1["status_history"]] == ["planned", "built", "operating"]
    assert unit["timeline"] == [
        {"on": "2023-03-01", "with_station": True, "operating": False},   # S2 built
        {"on": "2023-04-01", "with_station": True, "operating": True},    # S2 operating
        {"on": "2023-08-01", "with_station": True, "operating": False},   # S2 closed, S1 built
        {"on": "2023-09-01", "with_station": True, "operating": True},    # S1 operating
    ]
    assert (unit["province"], unit["city"], unit["county"], unit["kind"]) == ("34", "3407", "340705", "street")


def test_moved_station_leaves_its_old_unit(db, stations):
    assert stations["s6 v2"] is True
    assert db.coverage_units.find_one({"_id": LAOZHOU}) is None
    datong = db.coverage_units.find_one({"_id": DATONG})
    assert [s["station_id"] for s in datong["stations"]] == ["S6"]
    assert db.coverage_units.count_documents({"stations.station_id": "S6"}) == 1
    # The old version for the old unit, arriving late, changes nothing.
    assert apply(db, event("S6", LAOZHOU, 1, ("planned", "2023-09-01"), ("built", "2023-10-01"))) is False
    assert db.coverage_units.find_one({"_id": LAOZHOU}) is None


def test_before_any_station(db, stations):
    answer = cov.coverage(db, "3407", dt.date(2022, 6, 30))
    assert figures(answer) == (54, 0, 0, 0.0, 0.0, 6)
    assert answer["name"] == "铜陵市" and answer["as_of"] == "2022-06-30"
    assert [(c["region"], c["name"], c["units"], c["with_station"], c["other_units"])
            for c in answer["children"]] == [
        ("340705", "铜官区", 21, 0, 2), ("340706", "义安区", 9, 0, 1),
        ("340711", "郊区", 8, 0, 2), ("340722", "枞阳县", 16, 0, 1)]


def test_county_through_2023(db, stations):
    # March 2023: S2 built in 东郊; S4 (zone) and S7 (placeholder) do not count.
    march = cov.coverage(db, "340705", dt.date(2023, 3, 15))
    assert figures(march) == (21, 1, 0, 0.0476, 0.0, 2)
    # Mid April: S2 operating.
    assert figures(cov.coverage(db, "340705", dt.date(2023, 4, 15))) == (21, 1, 1, 0.0476, 0.0476, 2)
    # Mid July: 东郊 (S2 operating, S1 built) and 天井湖 (S3 operating).
    july = cov.coverage(db, "340705", dt.date(2023, 7, 15))
    assert figures(july) == (21, 2, 2, 0.0952, 0.0952, 2)
    # Mid August: S2 closed, S1 only built.
    august = cov.coverage(db, "340705", dt.date(2023, 8, 15))
    assert figures(august) == (21, 2, 1, 0.0952, 0.0476, 2)
    assert figures(child(august, DONGJIAO)) == (1, 1, 0, 1.0, 0.0, 0)
    assert figures(child(august, TIANJINGHU)) == (1, 1, 1, 1.0, 1.0, 0)
    # The zone's station operates, yet the zone is no unit and counts nothing.
    assert figures(child(august, ZONE)) == (0, 0, 0, 0.0, 0.0, 1)
    assert len(august["children"]) == 23
    assert [c["region"] for c in august["children"]][:3] == ["340705005", "340705006", "340705100"]
    # A planned station is no station: 铜山镇 stays uncovered in 郊区.
    jiaoqu = cov.coverage(db, "340711", dt.date(2023, 8, 15))
    assert figures(jiaoqu) == (8, 0, 0, 0.0, 0.0, 2)
    assert figures(child(jiaoqu, TONGSHAN)) == (1, 0, 0, 0.0, 0.0, 0)
    assert figures(child(jiaoqu, PLACEHOLDER)) == (0, 0, 0, 0.0, 0.0, 1)


def test_city_and_province_at_the_end_of_2023_and_in_2024(db, stations):
    end = cov.coverage(db, "3407", dt.date(2023, 12, 31))
    # 东郊 (S1 operating), 天井湖 (S3 operating), 大通镇 (S6 built).
    assert figures(end) == (54, 3, 2, 0.0556, 0.037, 6)
    assert figures(child(end, "340705")) == (21, 2, 2, 0.0952, 0.0952, 2)
    assert figures(child(end, "340711")) == (8, 1, 0, 0.125, 0.0, 2)
    assert figures(child(end, "340706")) == (9, 0, 0, 0.0, 0.0, 1)
    spring = cov.coverage(db, "3407", dt.date(2024, 3, 1))
    # 天井湖 suspended (still a station, not operating); 大通镇 operating from 1 March.
    assert figures(spring) == (54, 3, 2, 0.0556, 0.037, 6)
    assert figures(child(spring, "340705")) == (21, 2, 1, 0.0952, 0.0476, 2)
    assert figures(child(spring, "340711")) == (8, 1, 1, 0.125, 0.125, 2)
    province = cov.coverage(db, "34", dt.date(2024, 3, 1))
    assert figures(province) == (1541, 3, 2, 0.0019, 0.0013, 144)
    assert province["level"] == "province" and province["name"] == "安徽省"
    assert len(province["children"]) == 16
    assert figures(child(province, "3407")) == (54, 3, 2, 0.0556, 0.037, 6)
    assert figures(child(province, "3401")) == (d.get_division(db, "3401")["units"], 0, 0, 0.0, 0.0,
                                                d.get_division(db, "3401")["other_units"])
    assert "children" not in province["children"][0]


def test_today_is_the_default(db, stations):
    assert cov.coverage(db, "3407") == cov.coverage(db, "3407", china_today())
    assert cov.coverage(db, "3407")["as_of"] == china_today().isoformat()
    assert cov.coverage(db, "3407", "2023-12-31")["with_station"] == 3


def test_bad_regions(db):
    for region in ("340705005", "340102001001"):
        with pytest.raises(InvalidInput) as info:
            cov.coverage(db, region)
        assert "region" in info.value.fields
    for region in ("3407x", "", None, 3407):
        with pytest.raises(InvalidInput):
            cov.coverage(db, region)
    with pytest.raises(NotFound) as info:
        cov.coverage(db, "349999")
    assert "region" in info.value.fields
    with pytest.raises(InvalidInput) as info:
        cov.coverage(db, "3407", "2023-02-30")
    assert "as_of" in info.value.fields


def test_query_is_one_aggregation(db, stations, mongo_uri):
    names = []

    class Log(monitoring.CommandListener):
        def started(self, event):
            names.append(event.command_name)

        def succeeded(self, event):
            pass

        def failed(self, event):
            pass

    client = pymongo.MongoClient(mongo_uri, tz_aware=True, event_listeners=[Log()])
    try:
        answer = cov.coverage(client[db.name], "34", dt.date(2024, 3, 1))
        assert answer["with_station"] == 3
        assert names.count("aggregate") == 1
        assert names.count("find") == 2        # the region and its children from divisions
        assert "stations" not in str(names)
    finally:
        client.close()


def test_bad_events_are_refused(db):
    with pytest.raises(InvalidInput) as info:
        apply(db, event("S9", "340705", 1, ("built", "2023-01-01")))
    assert "division_code" in info.value.fields
    with pytest.raises(NotFound):
        apply(db, event("S9", "340705999", 1, ("built", "2023-01-01")))
    with pytest.raises(InvalidInput) as info:
        apply(db, event("S9", DONGJIAO, 1, ("opened", "2023-01-01")))
    assert "status_history" in info.value.fields
    with pytest.raises(InvalidInput) as info:
        apply(db, event("S9", DONGJIAO, "1", ("built", "2023-01-01")))
    assert "version" in info.value.fields
    assert db.coverage_units.count_documents({}) == 0


def test_writes_belong_to_the_callers_transaction(db, mongo_client):
    with mongo_client.start_session() as session:
        with session.start_transaction():
            assert cov.apply_station_event(db, session, event("S1", DONGJIAO, 1, ("built", "2023-01-01")))
            session.abort_transaction()
    assert db.coverage_units.count_documents({}) == 0
    # Without a session it works too.
    assert cov.apply_station_event(db, None, event("S1", DONGJIAO, 1, ("built", "2023-01-01")))
    assert cov.coverage(db, "340705", dt.date(2023, 1, 1))["with_station"] == 1


def test_racing_transactions_on_one_unit_are_retried(db, mongo_client):
    first = mongo_client.start_session()
    second = mongo_client.start_session()
    try:
        first.start_transaction()
        second.start_transaction()
        cov.apply_station_event(db, first, event("A", DONGJIAO, 1, ("built", "2023-01-01")))
        with pytest.raises(OperationFailure) as info:
            cov.apply_station_event(db, second, event("B", DONGJIAO, 1, ("operating", "2023-02-01")))
        assert info.value.has_error_label("TransientTransactionError")
        first.commit_transaction()
        second.abort_transaction()
    finally:
        first.end_session()
        second.end_session()
    # What with_transaction does next: run it again, now on the committed state.
    assert apply(db, event("B", DONGJIAO, 1, ("operating", "2023-02-01")))
    unit = db.coverage_units.find_one({"_id": DONGJIAO})
    assert [s["station_id"] for s in unit["stations"]] == ["A", "B"]
    assert figures(cov.coverage(db, "340705", dt.date(2023, 2, 1))) == (21, 1, 1, 0.0476, 0.0476, 2)


def test_resync_kinds_after_a_rename(db, stations, anhui_rows):
    renamed = [dict(r, name="经开区街道") for r in anhui_rows if r["code"] == ZONE]
    assert d.import_divisions(db, renamed)["updated"] == 1
    d.recount_units(db)
    assert cov.resync_kinds(db) == 1
    assert cov.resync_kinds(db) == 0
    august = cov.coverage(db, "340705", dt.date(2023, 8, 15))
    # The zone is now a street with an operating station.
    assert figures(august) == (22, 3, 2, 0.1364, 0.0909, 1)


def test_timeline_rules():
    stations = [
        {"station_id": "a", "status_history": [{"status": "planned", "on": "2023-01-01"},
                                               {"status": "built", "on": "2023-02-01"},
                                               {"status": "operating", "on": "2023-02-01"}]},
        {"station_id": "b", "status_history": [{"status": "suspended", "on": "2023-01-15"},
                                               {"status": "closed", "on": "2023-03-01"}]},
    ]
    assert cov.unit_timeline(stations) == [
        {"on": "2023-01-15", "with_station": True, "operating": False},
        {"on": "2023-02-01", "with_station": True, "operating": True},
    ]
    assert cov.status_on(stations[0]["status_history"], "2023-02-01") == "operating"
    assert cov.status_on(stations[0]["status_history"], "2022-12-31") is None
