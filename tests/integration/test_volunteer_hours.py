"""Hour records against the real broker and Mongo-wire server: every refusal is
a 409 naming what it conflicts with, a repeated submission is recorded once,
racing submissions cannot both pass, and approved records change only through
compensating records."""
import datetime
import threading
from types import SimpleNamespace

import pytest
from nameko.standalone.rpc import ClusterRpcProxy

from services.common.errors import Conflict, Forbidden, InvalidInput
from services.volunteer import hours_recording
from tests.integration.test_volunteer_support import ADMIN, Scene, china

pytestmark = pytest.mark.integration


def test_overlap_with_a_record_of_another_team_is_refused_naming_it(cluster, units, scene):
    volunteer = scene.volunteer()["number"]
    first = scene.record(volunteer, scene.at(1), scene.at(3))
    # The same volunteer, the same morning, at another station's activity.
    elsewhere = Scene(cluster, units.township(), starts=scene.starts)
    with pytest.raises(Conflict) as refused:
        elsewhere.record(volunteer, scene.at(2), scene.at(4))
    assert refused.value.details["conflicting_record"] == first["id"]
    assert first["id"] in refused.value.message
    # Back to back is not an overlap.
    after = elsewhere.record(volunteer, scene.at(3), scene.at(4))
    assert after["minutes"] == 60


def test_more_than_24_hours_on_a_service_date_is_refused_naming_that_days_records(cluster, scene):
    night = scene.new_activity(china(2026, 10, 20, 0, 0), china(2026, 10, 21, 12, 0), title="防汛值守")
    volunteer = scene.volunteer()["number"]
    day = scene.record(volunteer, china(2026, 10, 20, 0, 0), china(2026, 10, 20, 20, 0), activity=night)
    # Starts on the 20th, so it counts on the 20th: 20 h + 10 h.
    with pytest.raises(Conflict) as refused:
        scene.record(volunteer, china(2026, 10, 20, 20, 0), china(2026, 10, 21, 6, 0), activity=night)
    assert refused.value.details["conflicting_record"] == day["id"]
    assert refused.value.details["service_date"] == "2026-10-20"
    assert "more than 24" in refused.value.message
    # Four hours that evening still fit.
    assert scene.record(volunteer, china(2026, 10, 20, 20, 0), china(2026, 10, 21, 0, 0),
                        activity=night)["minutes"] == 240
    # One record longer than a day is refused as well.
    other = scene.volunteer(born=datetime.date(1985, 1, 2))["number"]
    with pytest.raises(Conflict):
        scene.record(other, china(2026, 10, 20, 0, 0), china(2026, 10, 21, 1, 0), activity=night)


def test_time_outside_the_activity_window_beyond_the_tolerance_is_refused(scene):
    volunteer = scene.volunteer()["number"]
    with pytest.raises(Conflict) as refused:
        scene.record(volunteer, scene.at(-1), scene.at(1))
    assert refused.value.details["activity_id"] == scene.activity["id"]
    assert "start" in refused.value.fields and "window" in refused.value.message
    with pytest.raises(Conflict) as late:
        scene.record(volunteer, scene.at(7), scene.at(8, 45))
    assert "end" in late.value.fields
    # Within the 30-minute tolerance on both sides.
    assert scene.record(volunteer, scene.at(0, -30), scene.at(8, 30))["minutes"] == 9 * 60


def test_a_volunteer_who_is_not_registered_gets_no_hours(scene):
    with pytest.raises(Conflict) as refused:
        scene.record("V34010299999999", scene.at(1), scene.at(2))
    assert refused.value.fields == {"volunteer_number": ["not a registered volunteer"]}
    assert refused.value.details["volunteer_number"] == "V34010299999999"


def test_hours_in_the_future_or_outside_the_region_are_refused(cluster, scene, units):
    volunteer = scene.volunteer()["number"]
    future = scene.new_activity(china(2027, 1, 1, 9, 0), china(2027, 1, 1, 17, 0))
    with pytest.raises(InvalidInput) as refused:
        scene.record(volunteer, china(2027, 1, 1, 9, 0), china(2027, 1, 1, 11, 0), activity=future)
    assert "end" in refused.value.fields
    stranger = {"sub": "other", "role": "station_staff", "region": units.township()["code"]}
    with pytest.raises(Forbidden):
        scene.record(volunteer, scene.at(1), scene.at(2), caller=stranger)


def test_times_outside_the_service_years_are_400s_naming_the_field(cluster, scene):
    volunteer = scene.volunteer()["number"]
    for field, value in (("start", "0001-01-01T00:00:00Z"), ("end", "9999-12-31T23:59:00Z")):
        body = {"volunteer_number": volunteer, "activity_id": scene.activity["id"],
                "start": scene.at(1).isoformat(), "end": scene.at(2).isoformat(), field: value}
        with pytest.raises(InvalidInput) as refused:
            cluster.volunteer.record_hours(body, caller=ADMIN)
        assert refused.value.fields == {field: ["must lie in the years 2000-2100"]}
    with pytest.raises(InvalidInput) as refused:
        cluster.volunteer.create_activity(
            {"team_id": scene.team["id"], "title": "敬老院陪伴", "category": "elderly", "place": "镇敬老院",
             "starts_at": "0001-01-01T06:00:00+08:00", "ends_at": "0001-01-01T08:00:00+08:00",
             "capacity": 5}, caller=ADMIN)
    assert set(refused.value.fields) == {"starts_at", "ends_at"}


def test_a_time_outside_the_years_refuses_its_item_not_its_batch(fresh_db):
    """record_batch does not trust its callers to have checked the years: such an
    item is refused alone, and the others of its batch are recorded."""
    fresh_db.volunteers.insert_one({"_id": "V34010200000001", "name": "张三丰"})
    fresh_db.activities.insert_one({
        "_id": "A1", "team_id": "T1", "station_id": "340102001-01", "title": "敬老院陪伴",
        "division_code": "340102001", "county": "340102", "city": "3401", "province": "34",
        "starts_at": china(2026, 10, 10, 8, 0), "ends_at": china(2026, 10, 10, 16, 0),
        "capacity": 5, "participants": 0})
    tx = SimpleNamespace(db=fresh_db, session=None, emit=lambda *args: None)
    item = {"volunteer_number": "V34010200000001", "activity_id": "A1", "note": None}
    outcomes = hours_recording.record_batch(tx, [
        dict(item, start=china(2026, 10, 10, 8, 0), end=china(2026, 10, 10, 9, 0)),
        dict(item, start=china(1, 1, 1, 6, 0), end=china(2026, 10, 10, 11, 0)),
        dict(item, start=china(2026, 10, 10, 10, 0), end=china(9999, 12, 31, 23, 0)),
        dict(item, start=china(2026, 10, 10, 12, 0), end=china(2026, 10, 10, 13, 0)),
    ], ADMIN, now=china(2026, 10, 11, 0, 0))
    assert [o["minutes"] for o in (outcomes[0], outcomes[3])] == [60, 60]
    years = ["must lie in the years 2000-2100"]
    assert isinstance(outcomes[1], InvalidInput) and outcomes[1].fields == {"start": years}
    assert isinstance(outcomes[2], InvalidInput) and outcomes[2].fields == {"end": years}
    assert fresh_db.hours.count_documents({}) == 2


def test_the_same_submission_sent_twice_with_one_key_is_recorded_once(platform, cluster, scene,
                                                                       mongo_client):
    volunteer = scene.volunteer()["number"]
    first = scene.record(volunteer, scene.at(1), scene.at(2), idempotency_key="sheet-7-row-3")
    again = scene.record(volunteer, scene.at(1), scene.at(2), idempotency_key="sheet-7-row-3")
    assert again == first
    db = platform.db(mongo_client, "volunteer")
    assert db.hours.count_documents({"volunteer_number": volunteer}) == 1
    assert db.outbox.count_documents({"type": "wushe.volunteer.hours.recorded.v1",
                                      "event.subject": first["id"]}) == 1
    # The key with another body is refused, naming the header.
    with pytest.raises(Conflict) as refused:
        scene.record(volunteer, scene.at(3), scene.at(4), idempotency_key="sheet-7-row-3")
    assert "Idempotency-Key" in refused.value.fields
    # Keys are per caller: another officer's key of the same name is theirs.
    other = {"sub": "someone-else", "role": "province_admin", "region": "34"}
    assert scene.record(volunteer, scene.at(3), scene.at(4), caller=other,
                        idempotency_key="sheet-7-row-3")["id"] != first["id"]


def test_concurrent_overlapping_submissions_record_exactly_one(platform, scene, mongo_client):
    volunteer = scene.volunteer()["number"]
    barrier = threading.Barrier(6)
    outcomes = []

    def submit(i):
        # One proxy per thread: a nameko proxy is not safe to share between threads.
        with ClusterRpcProxy({"AMQP_URI": platform.amqp_uri}, timeout=60) as own:
            barrier.wait()
            try:
                record = own.volunteer.record_hours(
                    {"volunteer_number": volunteer, "activity_id": scene.activity["id"],
                     "start": scene.at(1, i * 5).isoformat(), "end": scene.at(3).isoformat()},
                    caller=ADMIN)
                outcomes.append(("recorded", record["id"]))
            except Conflict as refusal:
                outcomes.append(("refused", refusal.details.get("conflicting_record")))

    threads = [threading.Thread(target=submit, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    recorded = [o for o in outcomes if o[0] == "recorded"]
    assert len(recorded) == 1, outcomes
    assert all(o == ("refused", recorded[0][1]) for o in outcomes if o[0] == "refused"), outcomes
    db = platform.db(mongo_client, "volunteer")
    assert db.hours.count_documents({"volunteer_number": volunteer}) == 1
    assert db.slots.count_documents({"volunteer_number": volunteer, "live": True}) == 1


def test_approve_reject_and_only_from_recorded(cluster, scene, units):
    volunteer = scene.volunteer()["number"]
    kept = scene.record(volunteer, scene.at(0), scene.at(2))
    dropped = scene.record(volunteer, scene.at(2), scene.at(4))
    approved = cluster.volunteer.approve_hours(kept["id"], {"note": "签到表核对无误"}, caller=ADMIN)
    assert approved["status"] == "approved" and approved["decided_by"] == "province_admin:t-admin"
    with pytest.raises(Conflict) as twice:
        cluster.volunteer.approve_hours(kept["id"], {}, caller=ADMIN)
    assert twice.value.details["status"] == "approved"
    staff_elsewhere = {"sub": "x", "role": "station_staff", "region": units.township()["code"]}
    with pytest.raises(Forbidden):
        cluster.volunteer.reject_hours(dropped["id"], {"reason": "未到场"}, caller=staff_elsewhere)
    rejected = cluster.volunteer.reject_hours(dropped["id"], {"reason": "未到场"}, caller=ADMIN)
    assert rejected["status"] == "rejected" and rejected["rejection_reason"] == "未到场"
    with pytest.raises(Conflict):
        cluster.volunteer.approve_hours(dropped["id"], {}, caller=ADMIN)
    # A rejection frees the time.
    assert scene.record(volunteer, scene.at(2), scene.at(3))["minutes"] == 60


def test_an_approved_record_is_corrected_only_by_a_compensating_record(cluster, scene):
    volunteer = scene.volunteer()["number"]
    original = scene.record(volunteer, scene.at(0), scene.at(3))
    neighbour = scene.record(volunteer, scene.at(4), scene.at(5))
    with pytest.raises(Conflict):   # recorded, not approved: reject and record again instead
        cluster.volunteer.correct_hours(original["id"], {"reason": "签退时间有误", "cancel": True},
                                        caller=ADMIN)
    cluster.volunteer.approve_hours(original["id"], {}, caller=ADMIN)

    correction = cluster.volunteer.correct_hours(
        original["id"], {"reason": "签退时间有误，实际11点离开", "start": scene.at(0).isoformat(),
                         "end": scene.at(2).isoformat()}, caller=ADMIN)
    assert correction["kind"] == "correction" and correction["corrects"] == original["id"]
    assert (correction["minutes"], correction["delta_minutes"]) == (120, -60)
    assert correction["status"] == "approved"
    still = cluster.volunteer.get_hours(original["id"], caller=ADMIN)
    assert (still["status"], still["minutes"], still["start"], still["end"]) == \
        ("approved", 180, original["start"], original["end"])
    assert still["corrections"] == [correction["id"]] and still["current_minutes"] == 120

    # A correction meets the rules too: it may not run into the next record.
    with pytest.raises(Conflict) as overlap:
        cluster.volunteer.correct_hours(original["id"], {
            "reason": "再次更正", "start": scene.at(0).isoformat(), "end": scene.at(4, 30).isoformat()},
            caller=ADMIN)
    assert overlap.value.details["conflicting_record"] == neighbour["id"]
    # ...and the freed hour is free again.
    assert scene.record(volunteer, scene.at(2), scene.at(3))["minutes"] == 60

    cancel = cluster.volunteer.correct_hours(original["id"], {"reason": "当天活动取消，误录", "cancel": True},
                                             caller=ADMIN)
    assert (cancel["minutes"], cancel["delta_minutes"], cancel["start"]) == (0, -120, None)
    with pytest.raises(Conflict):
        cluster.volunteer.correct_hours(original["id"], {"reason": "再次取消", "cancel": True}, caller=ADMIN)
    with pytest.raises(Conflict):   # a correction itself is not corrected
        cluster.volunteer.correct_hours(cancel["id"], {"reason": "更正更正", "cancel": True}, caller=ADMIN)
    history = cluster.volunteer.list_hours({"volunteer_number": volunteer, "kind": "correction"},
                                           caller=ADMIN)
    assert {c["id"] for c in history["items"]} == {correction["id"], cancel["id"]}


def test_an_activity_takes_no_more_volunteers_than_its_capacity(cluster, scene):
    small = scene.new_activity(scene.at(0), scene.at(4), capacity=2)
    first, second, third = (scene.volunteer()["number"] for _ in range(3))
    scene.record(first, scene.at(0), scene.at(1), activity=small)
    scene.record(first, scene.at(1), scene.at(2), activity=small)   # the same volunteer again
    refused_later = scene.record(second, scene.at(0), scene.at(1), activity=small)
    with pytest.raises(Conflict) as full:
        scene.record(third, scene.at(0), scene.at(1), activity=small)
    assert full.value.fields == {"activity_id": ["at capacity"]}
    cluster.volunteer.reject_hours(refused_later["id"], {"reason": "重复登记"}, caller=ADMIN)
    assert scene.record(third, scene.at(0), scene.at(1), activity=small)["minutes"] == 60
    assert cluster.volunteer.get_activity(small["id"], caller=ADMIN)["participants"] == 2


def test_batch_approval_reports_each_record(cluster, scene):
    volunteer = scene.volunteer()["number"]
    a = scene.record(volunteer, scene.at(0), scene.at(1))
    b = scene.record(volunteer, scene.at(1), scene.at(2))
    cluster.volunteer.approve_hours(b["id"], {}, caller=ADMIN)
    answer = cluster.volunteer.approve_hours_batch({"ids": [a["id"], b["id"], "Hnothere"]}, caller=ADMIN)
    assert answer["approved"] == [a["id"]]
    assert [(r["id"], r["code"]) for r in answer["refused"]] == [(b["id"], "conflict"),
                                                                 ("Hnothere", "not_found")]
