"""The volunteer service's events: totals kept from its own hours events stay
equal to the approved records when every event arrives twice, no event carries
personal data, and the stations it knows follow the registry's events."""
import datetime
import json
import time

import kombu
import pytest

from services.common.errors import Conflict, Forbidden, NotFound
from tests.fixtures import wait_for
from tests.harness import EventTap
from tests.integration.test_volunteer_support import ADMIN, Scene, id_number, open_station, station_known

pytestmark = pytest.mark.integration


def _deliver_to_inbox(amqp_uri, event, queue="volunteer.inbox"):
    with kombu.Connection(amqp_uri) as conn:
        kombu.Producer(conn.channel()).publish(
            event, exchange="", routing_key=queue, serializer="json", delivery_mode=2,
            type=event.get("type"))


def _inbox_drained(amqp_uri, queue="volunteer.inbox"):
    with kombu.Connection(amqp_uri) as conn:
        return conn.default_channel.queue_declare(queue, passive=True).message_count == 0


def _expected(db, **selector):
    """Minutes and distinct volunteers from the ledger itself: approved entries."""
    minutes, per_volunteer, records = 0, {}, 0
    for entry in db.hours.find({"status": "approved", **selector}):
        minutes += entry["delta_minutes"]
        per_volunteer[entry["volunteer_number"]] = per_volunteer.get(entry["volunteer_number"], 0) \
            + entry["delta_minutes"]
        records += entry["kind"] == "record"
    return {"minutes": minutes, "volunteers": sum(1 for m in per_volunteer.values() if m > 0),
            "records": records}


def _figures(answer):
    return {k: answer[k] for k in ("minutes", "volunteers", "records")}


def test_totals_equal_the_approved_records_after_every_event_is_delivered_twice(
        platform, cluster, units, mongo_client):
    county, townships = units.county()
    east, west = Scene(cluster, townships[0]), Scene(cluster, townships[1])
    a, b, c, d = (east.volunteer()["number"] for _ in range(4))
    approve = []
    approve.append(east.record(a, east.at(0), east.at(2)))            # 120
    approve.append(west.record(a, west.at(3), west.at(4, 30)))        # 90, same volunteer elsewhere
    approve.append(east.record(b, east.at(0), east.at(1)))            # 60, corrected to 30
    approve.append(west.record(c, west.at(0), west.at(0, 45)))        # 45, cancelled
    east.record(d, east.at(0), east.at(5))                            # never approved
    for record in approve:
        cluster.volunteer.approve_hours(record["id"], {}, caller=ADMIN)
    cluster.volunteer.correct_hours(approve[2]["id"], {"reason": "提前离开", "start": east.at(0).isoformat(),
                                                       "end": east.at(0, 30).isoformat()}, caller=ADMIN)
    cluster.volunteer.correct_hours(approve[3]["id"], {"reason": "误录", "cancel": True}, caller=ADMIN)

    db = platform.db(mongo_client, "volunteer")
    expected = _expected(db, county=county)
    assert expected == {"minutes": 240, "volunteers": 2, "records": 4}

    def totals(**query):
        return cluster.volunteer.hours_totals(query, caller=ADMIN)

    wait_for(lambda: _figures(totals(region=county)) == expected, timeout=20, message="county totals")

    def everything():
        return {
            "county": totals(region=county),
            "city": _figures(totals(region=county[:4])),
            "east": totals(station_id=east.station["id"]),
            "west": totals(station_id=west.station["id"]),
            "team": _figures(totals(team_id=east.team["id"])),
            "a": _figures(totals(volunteer_number=a)),
            "b": _figures(totals(volunteer_number=b)),
            "c": _figures(totals(volunteer_number=c)),
            "d": _figures(totals(volunteer_number=d)),
        }

    before = wait_for(lambda: (t := everything())["west"]["minutes"] == 90 and t,
                      message="station totals")
    # Deliver every approved and corrected event of these stations a second time.
    events = [entry["event"] for entry in db.outbox.find({
        "type": {"$in": ["wushe.volunteer.hours.approved.v1", "wushe.volunteer.hours.corrected.v1"]},
        "event.data.county": county})]
    assert len(events) == 6
    handled = db.processed_events.count_documents({})
    for event in events:
        _deliver_to_inbox(platform.amqp_uri, event)
    wait_for(lambda: _inbox_drained(platform.amqp_uri), message="the inbox to drain")
    time.sleep(1.0)
    after = everything()
    assert after == before
    assert db.processed_events.count_documents({}) == handled   # seen as duplicates, skipped

    assert _figures(after["county"]) == expected
    assert {c["code"]: _figures(c) for c in after["county"]["children"]} == {
        east.township: _expected(db, division_code=east.township),
        west.township: _expected(db, division_code=west.township)}
    assert _figures(after["east"]) == _expected(db, station_id=east.station["id"]) == \
        {"minutes": 150, "volunteers": 2, "records": 2}
    assert after["east"]["children"][0]["name"] == east.team["name"]
    assert after["a"] == {"minutes": 210, "volunteers": 1, "records": 2}
    assert after["b"] == {"minutes": 30, "volunteers": 1, "records": 1}
    assert after["c"] == {"minutes": 0, "volunteers": 0, "records": 1}
    assert after["d"] == {"minutes": 0, "volunteers": 0, "records": 0}
    assert after["city"]["minutes"] >= 240
    assert after["county"]["hours"] == "4.00"


def test_a_team_serving_at_another_station_counts_there(cluster, units):
    county, townships = units.county()
    home, away = Scene(cluster, townships[0]), Scene(cluster, townships[1])
    elsewhere = cluster.volunteer.create_activity(
        {"team_id": home.team["id"], "station_id": away.station["id"], "title": "社区义诊",
         "category": "health", "place": "社区卫生室", "starts_at": home.starts.isoformat(),
         "ends_at": home.at(8).isoformat(), "capacity": 10}, caller=ADMIN)
    volunteer = home.volunteer()["number"]
    for record in (home.record(volunteer, home.at(0), home.at(2)),
                   home.record(volunteer, home.at(3), home.at(5), activity=elsewhere)):
        cluster.volunteer.approve_hours(record["id"], {}, caller=ADMIN)

    def totals(**query):
        return cluster.volunteer.hours_totals(query, caller=ADMIN)

    wait_for(lambda: totals(team_id=home.team["id"])["minutes"] == 240, timeout=20, message="team totals")
    for scene in (home, away):
        station = totals(station_id=scene.station["id"])
        assert station["minutes"] == 120
        assert [(c["code"], c["name"], c["minutes"], c["volunteers"], c["records"])
                for c in station["children"]] == [(home.team["id"], home.team["name"], 120, 1, 1)]
    team = totals(team_id=home.team["id"])
    assert (team["minutes"], team["volunteers"], team["records"]) == (240, 1, 2)


def test_no_personal_data_in_any_published_event(platform, cluster, units):
    tap = EventTap(platform.amqp_uri, "volunteer", "#")
    try:
        scene = Scene(cluster, units.township())
        born = datetime.date(1960, 2, 29)
        secret_id = id_number(born)
        volunteer = cluster.volunteer.register_volunteer(
            {"name": "欧阳秘密", "id_number": secret_id, "phone": "13700001111",
             "birth_date": born.isoformat(), "station_id": scene.station["id"]}, caller=ADMIN)
        number = volunteer["number"]
        record = scene.record(number, scene.at(0), scene.at(2))
        cluster.volunteer.approve_hours(record["id"], {"note": "欧阳秘密签到"}, caller=ADMIN)
        cluster.volunteer.correct_hours(record["id"], {"reason": "欧阳秘密提前离开 13700001111",
                                                       "start": scene.at(0).isoformat(),
                                                       "end": scene.at(1).isoformat()}, caller=ADMIN)
        other = scene.record(number, scene.at(3), scene.at(4))
        cluster.volunteer.reject_hours(other["id"], {"reason": "欧阳秘密未到"}, caller=ADMIN)
        cluster.volunteer.issue_certificate({"volunteer_number": number, "from": "2026-10-01",
                                             "to": "2026-10-31"}, caller=ADMIN)
        received = tap.collect(until=lambda r: any(e["type"].endswith("certificate.issued.v1") for e in r),
                               timeout=20)
    finally:
        tap.close()
    types = {e["type"] for e in received}
    assert {"wushe.volunteer.volunteer.registered.v1", "wushe.volunteer.team.created.v1",
            "wushe.volunteer.activity.created.v1", "wushe.volunteer.hours.recorded.v1",
            "wushe.volunteer.hours.approved.v1", "wushe.volunteer.hours.corrected.v1",
            "wushe.volunteer.hours.rejected.v1", "wushe.volunteer.certificate.issued.v1"} <= types
    mine = [e for e in received if number in json.dumps(e)]
    assert len(mine) >= 6
    text = json.dumps(received, ensure_ascii=False)
    for secret in ("欧阳", "秘密", secret_id, secret_id[:14], secret_id[6:14], "13700001111", "0001111",
                   "1960-02-29"):
        assert secret not in text, secret
    assert all(e["specversion"] == "1.0" and e["source"] == "/wushe/volunteer" for e in received)
    registered = next(e for e in mine if e["type"].endswith("volunteer.registered.v1"))
    assert registered["data"]["volunteer_number"] == number
    assert registered["data"]["region"] == scene.township


def test_the_stations_known_follow_the_registry_events(platform, cluster, units, mongo_client):
    with pytest.raises(NotFound) as unknown:
        cluster.volunteer.create_team({"station_id": "349999999-01", "name": "无站之队"}, caller=ADMIN)
    assert unknown.value.fields == {"station_id": ["unknown station"]}

    unit = units.township()
    station = open_station(cluster, unit)
    known = station_known(cluster, station["id"], "operating")
    assert (known["division_code"], known["county"]) == (unit["code"], unit["areaCode"])
    cluster.registry.transition_station(station["id"], {"to": "closed", "on": "2026-11-01"}, caller=ADMIN)
    station_known(cluster, station["id"], "closed")
    with pytest.raises(Conflict) as closed:
        cluster.volunteer.create_team({"station_id": station["id"], "name": "关闭站之队"}, caller=ADMIN)
    assert closed.value.details["status"] == "closed"

    # An old event delivered late changes nothing: versions only go forward.
    registry_outbox = platform.db(mongo_client, "registry").outbox
    created = registry_outbox.find_one({"type": "wushe.registry.station.created.v1",
                                        "event.subject": station["id"]})
    old = dict(created["event"], id=created["event"]["id"] + "-late")
    _deliver_to_inbox(platform.amqp_uri, old)
    wait_for(lambda: _inbox_drained(platform.amqp_uri), message="the inbox to drain")
    time.sleep(0.5)
    assert cluster.volunteer.get_station(station["id"], caller=ADMIN)["status"] == "closed"


def test_a_station_staff_sees_only_their_township(cluster, units):
    scene = Scene(cluster, units.township())
    staff = {"sub": "s1", "role": "station_staff", "region": scene.township}
    other = {"sub": "s2", "role": "station_staff", "region": units.township()["code"]}
    number = scene.volunteer()["number"]
    assert cluster.volunteer.get_volunteer(number, caller=staff)["number"] == number
    assert cluster.volunteer.list_teams({"region": scene.township}, caller=staff)["total"] == 1
    for call in (lambda c: cluster.volunteer.get_volunteer(number, caller=c),
                 lambda c: cluster.volunteer.get_team(scene.team["id"], caller=c),
                 lambda c: cluster.volunteer.hours_totals({"station_id": scene.station["id"]}, caller=c)):
        with pytest.raises(Forbidden):
            call(other)
    assert cluster.volunteer.list_teams({}, caller=other)["total"] == 0
