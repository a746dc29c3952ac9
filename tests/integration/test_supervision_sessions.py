"""Supervisors and supervision sessions on the real broker and Mongo-wire server:
internal supervisors known from the registry's staff records, who may hold which
session, and the quarterly rule (stations short of a session per quarter)."""
import pytest

from services.common.errors import Conflict, InvalidInput
from tests.fixtures import wait_for
from tests.integration.test_supervision_support import ADMIN, events, open_station, tap, unique

pytestmark = pytest.mark.integration


def session(station, supervisor, held_on, setting="external", **extra):
    return {"supervisor_id": supervisor, "station_id": station["id"], "kind": "group", "setting": setting,
            "method": "on_site", "held_on": held_on, "duration_minutes": 120,
            "topics": ["个案督导"], "agreed": "下月复盘个案记录", "room_workers": 2, **extra}


def test_who_may_supervise_where_and_the_stations_short_of_a_quarterly_session(platform, cluster, units):
    county, townships = units.county()
    operator = unique("阳光社会工作服务中心")
    a = open_station(cluster, townships[0], opened_on="2026-01-05", operator=operator)
    b = open_station(cluster, townships[1], opened_on="2026-01-05")
    resident = cluster.registry.add_staff(a["id"], {"role": "resident", "name": "钱社工"}, caller=ADMIN)
    own = cluster.registry.add_staff(a["id"], {"role": "supervisor", "name": "赵督导",
                                               "certification": "intermediate"}, caller=ADMIN)
    internal_id = f"ST-{own['id']}"

    def internal():
        found = cluster.supervision.list_supervisors({"region": county, "kind": "internal"}, caller=ADMIN)
        return next((s for s in found["items"] if s["id"] == internal_id), None)

    supervisor = wait_for(internal, timeout=20, message="the station's supervisor on the roster")
    assert (supervisor["station_id"], supervisor["organisation"], supervisor["name"]) == (a["id"], operator, None)
    colleague = cluster.supervision.register_supervisor(
        {"name": "孙主任", "kind": "industry_body", "organisation": operator, "home_region": county[:4],
         "phone": "13811112222"}, caller=ADMIN)
    expert = cluster.supervision.register_supervisor(
        {"name": "李教授", "kind": "university", "organisation": "安徽某大学社会工作系",
         "qualifications": ["高级社会工作师"], "home_region": county[:4]}, caller=ADMIN)
    masked = cluster.supervision.get_supervisor(expert["id"], caller={"sub": "x", "role": "auditor",
                                                                      "region": county[:4]})
    assert masked["name"] == "李*授"

    events_tap = tap(platform)
    held = cluster.supervision.record_session(
        session(a, internal_id, "2026-05-10", setting="internal", kind="individual",
                staff_ids=[resident["id"]], room_workers=0), caller=ADMIN)
    assert (held["quarter"], held["supervisees"]) == ("2026Q2", 1)
    [event] = events(events_tap, "session.recorded", subject=held["id"])
    assert event["data"]["setting"] == "internal" and "agreed" not in event["data"]
    assert "复盘" not in str(event)
    # Never their own station in an external session: on its staff, or run by their organisation.
    for supervisor_id in (internal_id, colleague["id"]):
        with pytest.raises(Conflict) as refused:
            cluster.supervision.record_session(session(a, supervisor_id, "2026-05-11"), caller=ADMIN)
        assert refused.value.fields == {"supervisor_id": ["own station"]}
    with pytest.raises(Conflict) as not_theirs:   # an internal session is the station's own supervisor's
        cluster.supervision.record_session(session(b, expert["id"], "2026-05-11", setting="internal"),
                                           caller=ADMIN)
    assert not_theirs.value.fields == {"supervisor_id": ["not this station's supervisor"]}
    with pytest.raises(InvalidInput) as stranger:
        cluster.supervision.record_session(session(b, expert["id"], "2026-05-11", staff_ids=["nobody"]),
                                           caller=ADMIN)
    assert "staff_ids" in stranger.value.fields
    # Elsewhere they are outside supervisors like any other.
    cluster.supervision.record_session(session(b, internal_id, "2026-08-03"), caller=ADMIN)

    def short(quarter):
        return [s["station_id"] for s in cluster.supervision.supervision_gaps(
            {"region": county, "quarter": quarter}, caller=ADMIN)["items"]]

    assert short("2026Q2") == [b["id"]]
    assert short("2026Q3") == [a["id"]]
    assert short("2025Q4") == []          # not operating yet then
    listed = cluster.supervision.list_sessions({"region": county}, caller=ADMIN)
    assert [s["held_on"] for s in listed["items"]] == ["2026-08-03", "2026-05-10"]
