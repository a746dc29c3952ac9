"""Monthly reports on the real broker and Mongo-wire server: pre-filled from the volunteer
service's events, filed, returned and corrected; the due time on the 25th at 23:59:59
China time; overdue marked once by the scheduled job.

Months used here (the job judges each month once): 2025-03 to 2025-05, 2026-06, and
the current month."""
import datetime

import pytest

from services.common import catalog
from services.common.clock import china_today, utcnow
from services.common.errors import Conflict, Forbidden
from services.supervision import rules
from tests.fixtures import wait_for
from tests.integration.test_supervision_support import (
    ADMIN, SYSTEM, county_officer, events, open_station, settle, station_staff, tap,
)
from tests.integration.test_volunteer_support import Scene, china

pytestmark = pytest.mark.integration

COUNTS = {"casework": 4, "group_work": 2, "community_activities": 3,
          "served": {"elderly": 30, "children": 12, "disabled": 2, "others": 5},
          "narrative": "走访独居老人十二户。"}


def test_the_report_is_prefilled_from_the_month_hours_and_filed_late_after_its_due_time(
        platform, cluster, units):
    scene = Scene(cluster, units.township(), starts=china(2026, 6, 10, 8, 0))
    station_id = scene.station["id"]
    for hours, name in ((2, "张三丰"), (3, "李小梅")):
        number = scene.volunteer(name=name)["number"]
        record = scene.record(number, scene.at(0), scene.at(hours))
        cluster.volunteer.approve_hours(record["id"], {}, caller=ADMIN)
    staff = station_staff(scene.unit)

    def prefilled():
        draft = cluster.supervision.get_report(station_id, "2026-06", caller=staff)
        return draft if draft["prefill"]["volunteer_minutes"] == 300 else None

    draft = wait_for(prefilled, timeout=20, message="the hours in the June draft")
    assert (draft["status"], draft["prefill"]["volunteers_active"], draft["prefill"]["volunteer_hours"]) == \
        ("draft", 2, 5.0)
    assert draft["due_at"] == "2026-06-25T15:59:59Z"
    assert draft["prefill"]["status"] == "operating"
    # Nothing in July: the draft is of its month only.
    assert cluster.supervision.get_report(station_id, "2026-07", caller=staff)["prefill"]["volunteer_minutes"] == 0

    events_tap = tap(platform)
    filed = cluster.supervision.submit_report(station_id, "2026-06", COUNTS, caller=staff)
    assert (filed["status"], filed["late"], filed["revision"]) == ("submitted", True, 1)
    assert filed["prefill"]["volunteer_minutes"] == 300
    [event] = events(events_tap, "report.submitted", subject=f"{station_id}:2026-06")
    assert event["data"]["late"] is True and event["data"]["casework"] == 4
    assert "narrative" not in event["data"] and "走访" not in str(event)

    # Filing a month that has not begun is refused, naming the month.
    next_month = rules.add_months(rules.month_of(china_today()), 1)
    with pytest.raises(Exception) as future:
        cluster.supervision.submit_report(station_id, next_month, COUNTS, caller=staff)
    assert future.value.fields == {"month": ["in the future"]}
    # The current month, before its 25th: on time.
    month = rules.month_of(china_today())
    current = cluster.supervision.submit_report(station_id, month, COUNTS, caller=staff)
    assert current["late"] is rules.has_passed(rules.report_due_at(month, 25), utcnow())


def test_a_filed_report_is_returned_for_correction_never_changed_silently(platform, cluster, units):
    unit = units.township()
    station = open_station(cluster, unit)
    staff, officer = station_staff(unit), county_officer(unit)
    events_tap = tap(platform)
    cluster.supervision.submit_report(station["id"], "2026-06", COUNTS, caller=staff)
    with pytest.raises(Conflict) as again:
        cluster.supervision.submit_report(station["id"], "2026-06", dict(COUNTS, casework=40), caller=staff)
    assert again.value.fields == {"month": ["already filed"]}
    with pytest.raises(Forbidden):   # the station does not return its own report
        cluster.supervision.return_report(station["id"], "2026-06", {"reason": "个案数有误"}, caller=staff)
    returned = cluster.supervision.return_report(station["id"], "2026-06", {"reason": "个案数有误"},
                                                 caller=officer)
    assert returned["status"] == "returned" and returned["returned"][0]["reason"] == "个案数有误"
    corrected = cluster.supervision.submit_report(station["id"], "2026-06", dict(COUNTS, casework=5),
                                                  caller=staff)
    assert (corrected["revision"], corrected["casework"], corrected["late"]) == (2, 5, True)
    assert [r["revision"] for r in corrected["revisions"]] == [1, 2]
    report_id = f"{station['id']}:2026-06"
    assert len(events(events_tap, "report.submitted", subject=report_id, count=2)) == 2
    [back] = events(events_tap, "report.returned", subject=report_id)
    assert "reason" not in back["data"] and "个案数有误" not in str(back)
    # Others' stations are out of reach: another township's staff and an auditor elsewhere.
    other = {"sub": "s", "role": "station_staff", "region": "340102999"}
    with pytest.raises(Forbidden):
        cluster.supervision.get_report(station["id"], "2026-06", caller=other)
    listed = cluster.supervision.list_reports({"region": unit["areaCode"], "month": "2026-06"},
                                              caller={"sub": "a", "role": "auditor", "region": unit["areaCode"]})
    assert station["id"] in [r["station_id"] for r in listed["items"]]
    assert all(r["county"] == unit["areaCode"] for r in listed["items"])


def test_the_due_time_is_2359_59_on_the_25th_china_time_and_overdue_is_marked_once(
        platform, cluster, units):
    unit = units.township()
    station = open_station(cluster, unit, opened_on="2025-01-10")
    staff = station_staff(unit)
    events_tap = tap(platform)
    report_id = f"{station['id']}:2025-05"

    # 23:59:59 on 25 May, China time (15:59:59Z): still on time, nothing marked.
    cluster.supervision.run_due_jobs({"as_of": "2025-05-25T15:59:59Z"}, caller=SYSTEM)
    assert cluster.supervision.get_report(station["id"], "2025-05", caller=staff)["status"] == "draft"
    # One second later it is missed: marked overdue, with one event, however often the job runs.
    cluster.supervision.run_due_jobs({"as_of": "2025-05-25T16:00:00Z"}, caller=SYSTEM)
    cluster.supervision.run_due_jobs({"as_of": "2025-05-25T16:00:01Z"}, caller=SYSTEM)
    report = cluster.supervision.get_report(station["id"], "2025-05", caller=staff)
    assert (report["status"], report["overdue"]) == ("overdue", True)
    [overdue] = events(events_tap, "report.overdue", subject=report_id)
    assert overdue["data"]["due_at"] == "2025-05-25T15:59:59Z" and overdue["data"]["late"] is None
    assert len([e for e in settle(events_tap) if e["subject"] == report_id]) == 1
    # Filed afterwards it counts, late.
    filed = cluster.supervision.submit_report(station["id"], "2025-05", COUNTS, caller=staff)
    assert (filed["status"], filed["late"], filed["overdue"]) == ("submitted", True, True)
    # The months before were judged then too (March and April were due already).
    assert cluster.supervision.get_report(station["id"], "2025-04", caller=staff)["status"] == "overdue"
    with pytest.raises(Exception) as future:
        cluster.supervision.run_due_jobs({"as_of": (utcnow() + datetime.timedelta(hours=1)).isoformat()},
                                         caller=SYSTEM)
    assert future.value.fields == {"as_of": ["in the future"]}
    with pytest.raises(Forbidden):
        cluster.supervision.run_due_jobs({}, caller=ADMIN)


@pytest.mark.skipif("charity" not in catalog.names(), reason="the charity service is not running")
def test_money_raised_and_spent_at_the_station_is_prefilled_from_the_charity_events(cluster, units):
    from tests.integration.test_charity_support import caller, fund_body, key

    unit = units.township()
    station = open_station(cluster, unit)
    approver = caller("county_officer", unit["areaCode"], "officer-approves")
    requester = caller("county_officer", unit["areaCode"], "officer-requests")
    wait_for(lambda: _known_to_charity(cluster, station["id"]), timeout=20,
             message="the charity service to know the station")
    fund = cluster.charity.open_fund(fund_body(station_id=station["id"]), caller=approver)
    cluster.charity.record_donation(
        {"fund_id": fund["id"], "kind": "money", "received_on": "2026-09-05", "amount_fen": 50_000,
         "channel": "bank_transfer", "donor": {"kind": "organisation", "name": "爱心企业",
                                               "consent_public": True}},
        caller=approver, idempotency_key=key())
    requested = cluster.charity.request_disbursement(
        {"fund_id": fund["id"], "purpose": "慰问困难老人", "category": "direct_aid",
         "payee": {"kind": "person", "name": "王大妈", "account": "6222000011112222"},
         "amount_fen": 20_000, "documents": ["申请表-001"]}, caller=requester, idempotency_key=key())
    cluster.charity.approve_disbursement(requested["id"], {}, caller=approver, idempotency_key=key())
    paid = cluster.charity.pay_disbursement(requested["id"], {"payment_reference": "银行回单"},
                                            caller=approver, idempotency_key=key())
    paid_month = (paid.get("paid_on") or china_today().isoformat())[:7]
    staff = station_staff(unit)

    def prefill(month, figure, amount):
        found = cluster.supervision.get_report(station["id"], month, caller=staff)["prefill"]
        return found if found[figure] == amount else None

    assert wait_for(lambda: prefill("2026-09", "raised_fen", 50_000), timeout=20,
                    message="the donation in September's draft")["spent_fen"] == 0
    wait_for(lambda: prefill(paid_month, "spent_fen", 20_000), timeout=20,
             message="the payment in its month's draft")


def _known_to_charity(cluster, station_id):
    try:
        return cluster.charity.get_station(station_id, caller=ADMIN)
    except Exception:   # not heard of yet
        return None


def test_two_replicas_running_the_job_at_once_mark_each_missed_report_once(platform, cluster, units):
    import threading

    county, townships = units.county()
    stations = [open_station(cluster, unit, opened_on="2025-01-10") for unit in townships[:3]]
    replica = platform.start_service("supervision")
    events_tap = tap(platform)
    try:
        barrier = threading.Barrier(4)
        errors = []

        def run():
            try:
                with platform.rpc() as own:
                    barrier.wait()
                    own.supervision.run_due_jobs({"as_of": "2025-08-25T16:00:00Z"}, caller=SYSTEM)
            except Exception as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        threads = [threading.Thread(target=run) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert not errors, errors
        mine = {f"{s['id']}:{month}" for s in stations for month in ("2025-07", "2025-08")}
        events_tap.collect(until=lambda got: {e["subject"] for e in got} >= mine, timeout=20)
        received = [e for e in settle(events_tap, 2) if e["subject"] in mine]
        assert sorted(e["subject"] for e in received) == sorted(mine)   # each once, none twice
        assert {e["type"] for e in received} == {"wushe.supervision.report.overdue.v1"}
    finally:
        replica.stop()
    assert cluster.supervision.get_report(stations[0]["id"], "2025-08", caller=ADMIN)["status"] == "overdue"
