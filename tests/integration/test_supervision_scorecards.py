"""Scorecards on the real broker and Mongo-wire server: what a county's and a station's
scorecard of a month says equals what its events say, and stays so when every event is
delivered a second time (the outboxes re-published to the supervision inbox); rankings.

Month used here: 2026-07 (the job judges each month once)."""
import time
import urllib.request

import pytest

from services.common.clock import china_today
from services.supervision import rules
from tests.fixtures import wait_for
from tests.harness import EventTap
from tests.integration.test_supervision_support import (
    ADMIN, SYSTEM, events, full_scores, open_station, publish_checklist, station_staff, tap,
    wait_scorecard,
)
from tests.integration.test_volunteer_support import Scene, china

pytestmark = pytest.mark.integration

MONTH = "2026-07"
COUNTS = {"casework": 1, "group_work": 1, "community_activities": 1,
          "served": {"elderly": 1, "children": 0, "disabled": 0, "others": 0}}


def handled_again(platform):
    """Events the supervision inbox found already applied, or not its own to apply."""
    with urllib.request.urlopen(platform.supervision.base_url + "/metrics", timeout=5) as response:
        text = response.read().decode()
    total = 0.0
    for line in text.splitlines():
        if line.startswith("wushe_events_handled_total{") and 'service="supervision"' in line and (
                'outcome="duplicate"' in line or 'outcome="ignored"' in line):
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_a_scorecard_equals_its_events_even_when_every_event_comes_twice(platform, cluster, units):
    started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 1))
    county, townships = units.county()
    supervision_tap, volunteer_tap = tap(platform), EventTap(platform.amqp_uri, "volunteer")
    scene = Scene(cluster, townships[0], starts=china(2026, 7, 10, 8, 0))
    a = scene.station
    b = open_station(cluster, townships[1], opened_on="2026-01-05")
    for name, hours in (("周志愿", 2), ("吴志愿", 1)):
        number = scene.volunteer(name=name)["number"]
        record = scene.record(number, scene.at(0), scene.at(hours))
        cluster.volunteer.approve_hours(record["id"], {}, caller=ADMIN)
    expert = cluster.supervision.register_supervisor(
        {"name": "郑教授", "kind": "university", "organisation": "某大学社会学院", "home_region": county[:4]},
        caller=ADMIN)
    for station, held_on in ((a, "2026-07-08"), (a, "2026-07-20"), (b, "2026-08-02")):
        cluster.supervision.record_session(
            {"supervisor_id": expert["id"], "station_id": station["id"], "kind": "group",
             "setting": "external", "method": "online", "held_on": held_on, "duration_minutes": 60,
             "topics": ["小组工作"], "room_workers": 2}, caller=ADMIN)
    cluster.supervision.submit_report(a["id"], MONTH, COUNTS, caller=station_staff(scene.unit))
    cluster.supervision.run_due_jobs({"as_of": "2026-07-25T16:00:00Z"}, caller=SYSTEM)   # b: overdue
    checklist = publish_checklist(cluster)
    inspection = cluster.supervision.create_inspection(
        {"station_id": a["id"], "kind": "special", "checklist_code": checklist["code"],
         "visited_on": "2026-07-15"}, caller=ADMIN)
    cluster.supervision.score_inspection(inspection["id"], {"scores": full_scores(casework=9)}, caller=ADMIN)
    finding = cluster.supervision.raise_finding(inspection["id"], {
        "observation": "台账缺页", "recommendation": "补齐台账", "severity": "minor"}, caller=ADMIN)
    cluster.supervision.complete_inspection(inspection["id"], {}, caller=ADMIN)

    # What the events say about the county in July.
    mine = {a["id"], b["id"]}
    got = events(supervision_tap, "inspection.completed", subject=inspection["id"])
    said = [e for e in supervision_tap.received if e["data"].get("station_id") in mine]
    sessions_july = [e for e in said if e["type"].endswith("session.recorded.v1")
                     and e["data"]["held_on"].startswith(MONTH)]
    filed = [e for e in said if e["type"].endswith("report.submitted.v1") and e["data"]["month"] == MONTH]
    missed = [e for e in said if e["type"].endswith("report.overdue.v1") and e["data"]["month"] == MONTH]
    volunteer_tap.collect(until=lambda r: len([e for e in r if e["type"].endswith("hours.approved.v1")
                                               and e["data"]["station_id"] == a["id"]]) == 2, timeout=15)
    approved = [e for e in volunteer_tap.received
                if e["type"].endswith("hours.approved.v1") and e["data"]["station_id"] == a["id"]]
    expected = {"operating": 2, "live": 2, "sessions": len(sessions_july),
                "supervised": len({e["data"]["station_id"] for e in sessions_july}),
                "reports_late": len(filed), "reports_on_time": 0,
                "reports_overdue": len(missed), "reports_missing": len(missed),
                "inspected": 1, "score_centi": round(got[0]["data"]["score"] * 100),
                "volunteer_minutes": sum(e["data"]["minutes"] for e in approved),
                "volunteers_active": len({e["data"]["volunteer_number"] for e in approved})}
    assert expected["sessions"] == 2 and expected["reports_late"] == 1 and expected["reports_missing"] == 1
    assert expected["volunteer_minutes"] == 180 and expected["score_centi"] == 7000   # (2 + 0 + 4 * 0.9) / 8

    def county_card():
        return cluster.supervision.scorecard({"region": county, "month": MONTH}, caller=ADMIN)

    def says_it(card):
        return all(card["figures"][k] == v for k, v in expected.items())

    card = wait_scorecard(cluster, {"region": county, "month": MONTH}, says_it, "the county's July scorecard")
    assert card["figures"]["sessions_quarter"] == 2 and card["rates"]["supervision"] == 0.5
    assert card["rates"]["reports"] == 0.0 and card["rates"]["inspection"] == 0.7
    assert [c["code"] for c in card["children"]] == sorted(mine)
    august = cluster.supervision.scorecard({"region": county, "month": "2026-08"}, caller=ADMIN)
    assert (august["figures"]["sessions"], august["figures"]["sessions_quarter"],
            august["figures"]["supervised_quarter"]) == (1, 3, 2)
    now_month = rules.month_of(china_today())
    station_now = wait_scorecard(cluster, {"station_id": a["id"], "month": now_month},
                                 lambda c: c["figures"]["rect_open"] == 1, "the open item")
    before = (county_card(), cluster.supervision.scorecard({"station_id": a["id"], "month": MONTH}, caller=ADMIN),
              station_now, cluster.supervision.rankings({"region": county[:4], "level": "county", "month": MONTH},
                                                        caller=ADMIN))
    assert county in [item["code"] for item in before[3]["items"]]
    assert finding["rectification_id"]

    # Every event once more, straight into the supervision inbox.
    counted = handled_again(platform)
    replayed = sum(getattr(cluster, service).replay_events(started, "supervision.inbox")
                   for service in ("registry", "volunteer", "supervision"))
    assert replayed > 20
    wait_for(lambda: handled_again(platform) >= counted + replayed, timeout=60,
             message="the replayed events to be handled")
    after = (county_card(), cluster.supervision.scorecard({"station_id": a["id"], "month": MONTH}, caller=ADMIN),
             cluster.supervision.scorecard({"station_id": a["id"], "month": now_month}, caller=ADMIN),
             cluster.supervision.rankings({"region": county[:4], "level": "county", "month": MONTH},
                                          caller=ADMIN))
    assert after == before
