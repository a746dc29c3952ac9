"""The volunteer service's read models on the Mongo-wire server, fed events directly:
totals in any order of events, and stations by version."""
import random
import uuid

import pytest

from services.common.mongo import run_in_transaction
from services.volunteer import stations_view, totals

pytestmark = pytest.mark.integration

ADMIN = {"sub": "t", "role": "province_admin", "region": "34"}


def hours_event(kind, number, minutes, station="340102001-01", team="T1"):
    """number: "V1", "V2", ...: short names of unified volunteer numbers V + county + 8 digits."""
    number = f"V340102{int(number[1:]):08d}"
    field = "minutes" if kind == "approved" else "delta_minutes"
    return {"id": uuid.uuid4().hex, "source": "/wushe/volunteer",
            "type": f"wushe.volunteer.hours.{kind}.v1",
            "data": {"volunteer_number": number, "team_id": team, "station_id": station,
                     "division_code": station[:9], "county": station[:6], "city": station[:4],
                     "province": station[:2], field: minutes}}


def apply(db, event):
    handler = totals.apply_approved if event["type"].endswith("approved.v1") else totals.apply_corrected
    run_in_transaction(db, lambda session: handler(db, session, event))


@pytest.fixture
def db(fresh_db):
    totals.ensure_indexes(fresh_db)
    stations_view.ensure_indexes(fresh_db)
    return fresh_db


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_totals_do_not_depend_on_the_order_of_events(db, seed):
    events = [
        hours_event("approved", "V1", 120), hours_event("approved", "V1", 60, team="T2"),
        hours_event("corrected", "V1", -60, team="T2"),
        hours_event("approved", "V2", 45, station="340102002-01", team="T3"),
        hours_event("approved", "V3", 30), hours_event("corrected", "V3", -30),
        hours_event("approved", "V4", 90, station="340103001-01", team="T4"),
    ]
    random.Random(seed).shuffle(events)
    for event in events:
        apply(db, event)
    county = totals.totals(db, {"region": "340102"}, ADMIN)
    assert (county["minutes"], county["volunteers"], county["records"]) == (165, 2, 4)
    assert {c["code"]: (c["minutes"], c["volunteers"]) for c in county["children"]} == {
        "340102001": (120, 1), "340102002": (45, 1)}
    city = totals.totals(db, {"region": "3401"}, ADMIN)
    assert (city["minutes"], city["volunteers"]) == (255, 3)
    assert [(c["code"], c["minutes"]) for c in city["children"]] == [("340102", 165), ("340103", 90)]
    township = totals.totals(db, {"region": "340102001"}, ADMIN)
    assert [(c["level"], c["code"], c["volunteers"]) for c in township["children"]] == \
        [("station", "340102001-01", 1)]
    team2 = db.totals.find_one({"_id": "team:T2"})
    assert (team2["minutes"], team2["volunteers"], team2["records"]) == (0, 0, 1)
    assert totals.totals(db, {"region": "3415"}, ADMIN)["minutes"] == 0   # nothing there: zeros


def station_event(version, status, name="明光路街道社工站"):
    return {"id": uuid.uuid4().hex, "source": "/wushe/registry",
            "type": "wushe.registry.station.updated.v1",
            "data": {"station_id": "340102001-01", "division_code": "340102001", "county": "340102",
                     "city": "3401", "province": "34", "name": name, "status": status,
                     "version": version}}


def test_stations_follow_the_newest_version_only(db):
    def apply_station(event):
        return run_in_transaction(db, lambda s: stations_view.apply_station_event(db, s, event))

    assert apply_station(station_event(2, "built")) is True
    assert apply_station(station_event(1, "planned")) is False
    assert apply_station(station_event(2, "built")) is False
    assert apply_station(station_event(4, "operating", name="新名字社工站")) is True
    station = stations_view.get(db, "340102001-01", ADMIN)
    assert (station["status"], station["name"], station["version"]) == ("operating", "新名字社工站", 4)


def test_a_team_counts_under_each_station_where_its_activities_took_place(db):
    # Team T1 of station -01 also holds activities at station -02 (activities.py).
    db.teams.insert_one({"_id": "T1", "name": "阳光志愿服务队", "station_id": "340102001-01",
                         "division_code": "340102001"})
    at_home, away = "340102001-01", "340102001-02"
    for event in (hours_event("approved", "V1", 120, station=at_home),
                  hours_event("approved", "V1", 120, station=away),
                  hours_event("approved", "V2", 60, station=away),
                  hours_event("approved", "V3", 30, station=away),
                  hours_event("corrected", "V3", -30, station=away)):   # V3 cancelled: not counted
        apply(db, event)

    def children(station):
        return [(c["level"], c["code"], c["name"], c["minutes"], c["volunteers"], c["records"])
                for c in totals.totals(db, {"station_id": station}, ADMIN)["children"]]

    db.stations.insert_many([{"_id": s, "name": s, "division_code": "340102001"} for s in (at_home, away)])
    assert children(at_home) == [("team", "T1", "阳光志愿服务队", 120, 1, 1)]
    assert children(away) == [("team", "T1", "阳光志愿服务队", 180, 2, 3)]
    team = totals.totals(db, {"team_id": "T1"}, ADMIN)   # all its hours, wherever served
    assert (team["minutes"], team["volunteers"], team["records"], team["children"]) == (300, 2, 4, [])
    township = totals.totals(db, {"region": "340102001"}, ADMIN)
    assert [(c["code"], c["minutes"], c["volunteers"]) for c in township["children"]] == [
        (at_home, 120, 1), (away, 180, 2)]
