"""`wushe rebuild SERVICE` for the supervision and charity services: their read models
emptied and rebuilt from the replayed events answer what they did before (the
scorecard counts every event once, not twice), and what commands wrote (the
quarters a station was supervised in) is not lost.

On a platform of its own: a rebuild replays every event of the publishers."""
import subprocess
import sys

import pymongo
import pytest

from services.common import catalog
from services.common.clock import china_today
from services.registry.commands import import_divisions
from services.supervision import rules
from tests.fixtures import PROVINCE_ADMIN, division_files, wait_for
from tests.harness import ROOT
from tests.integration.test_charity_support import FundScene
from tests.integration.test_supervision_support import (
    SYSTEM, full_scores, open_station, publish_checklist, station_staff,
)
from tests.integration.test_volunteer_support import Scene, china

pytestmark = pytest.mark.integration

ADMIN = PROVINCE_ADMIN
SERVICES = ("registry", "volunteer", "charity", "supervision")
MONTH = "2026-07"
COUNTS = {"casework": 1, "group_work": 1, "community_activities": 1,
          "served": {"elderly": 1, "children": 0, "disabled": 0, "others": 0}}


def wushe(platform, *args):
    return subprocess.run([sys.executable, "-m", "services.cli", *args], env=platform.env(),
                          cwd=ROOT, capture_output=True, text=True, timeout=180, check=True).stdout


def applied(platform, client, consumer):
    """Every event of the types `consumer` handles is published and marked handled by it."""
    consumer_db = platform.db(client, consumer)
    for publisher, types in catalog.subscriptions(consumer).types_by_publisher().items():
        publisher_db = platform.db(client, publisher)
        for start in range(0, len(types), 20):   # short $in lists (docs/mongo-wire-server.md)
            chunk = {"type": {"$in": types[start:start + 20]}}
            if publisher_db.outbox.count_documents({**chunk, "published": False}):
                return False
            marked = consumer_db.processed_events.count_documents(chunk)
            if publisher_db.outbox.count_documents(chunk) != marked:
                return False
    return True


def settled(platform, client):
    wait_for(lambda: all(applied(platform, client, s) for s in ("supervision", "charity")),
             timeout=90, message="every event to be applied by supervision and charity")


def answers(cluster, county, a, b, c, team_id):
    """What officers read from the two services' read models."""
    sv, now = cluster.supervision, rules.month_of(china_today())
    return {
        "county": [sv.scorecard({"region": county, "month": m}, caller=ADMIN)
                   for m in ("2026-03", MONTH, "2026-08", now)],
        "stations": [sv.scorecard({"station_id": s, "month": m}, caller=ADMIN)
                     for s in (a, b, c) for m in (MONTH, now)],
        "city": sv.scorecard({"region": county[:4], "month": MONTH}, caller=ADMIN),
        "rankings": [sv.rankings({"region": county[:4], "level": "county", "month": MONTH}, caller=ADMIN),
                     sv.rankings({"region": county[:2], "level": "city", "month": MONTH}, caller=ADMIN)],
        "gaps": sv.supervision_gaps({"region": county, "quarter": "2026Q3", "page": 1, "per_page": 50},
                                    caller=ADMIN),
        "calendar": sv.compliance_calendar({"station_id": a, "month": "2026-09"}, caller=ADMIN),
        "supervision_stations": [sv.get_station(s, caller=ADMIN) for s in (a, b, c)],
        "charity_stations": [cluster.charity.get_station(s, caller=ADMIN) for s in (a, b, c)],
        "charity_team": cluster.charity.get_team(team_id, caller=ADMIN),
    }


def test_rebuilt_supervision_and_charity_read_models_answer_what_they_did(isolated_platform, units):
    platform = isolated_platform
    for service in SERVICES:
        # The scheduled job stays quiet: it would judge months while the test reads.
        extra = {"SUPERVISION_DUE_CHECK_SECONDS": "86400"} if service == "supervision" else {}
        setattr(platform, service, platform.start_service(service, wait=False, **extra))
    for service in SERVICES:
        getattr(platform, service).wait_ready()
    import_divisions(division_files(), out=lambda line: None, rpc=platform.rpc())
    county, townships = units.county()
    client = pymongo.MongoClient(platform.mongo_uri)
    with platform.rpc() as cluster:
        scene = Scene(cluster, townships[0], starts=china(2026, 7, 10, 8, 0))
        a = scene.station["id"]
        b = open_station(cluster, townships[1], opened_on="2026-01-05")["id"]
        c = open_station(cluster, townships[2], opened_on="2026-02-01")["id"]
        for name, hours in (("周志愿", 2), ("吴志愿", 1)):
            record = scene.record(scene.volunteer(name=name)["number"], scene.at(0), scene.at(hours))
            cluster.volunteer.approve_hours(record["id"], {}, caller=ADMIN)
        expert = cluster.supervision.register_supervisor(
            {"name": "郑教授", "kind": "university", "organisation": "某大学社会学院",
             "home_region": county[:4]}, caller=ADMIN)
        for station, held_on in ((a, "2026-07-08"), (a, "2026-07-20"), (b, "2026-08-02")):
            cluster.supervision.record_session(
                {"supervisor_id": expert["id"], "station_id": station, "kind": "group",
                 "setting": "external", "method": "online", "held_on": held_on, "duration_minutes": 60,
                 "topics": ["小组工作"], "room_workers": 2}, caller=ADMIN)
        cluster.supervision.submit_report(a, MONTH, COUNTS, caller=station_staff(scene.unit))
        cluster.supervision.run_due_jobs({"as_of": "2026-07-25T16:00:00Z"}, caller=SYSTEM)
        inspection = cluster.supervision.create_inspection(
            {"station_id": a, "kind": "special", "checklist_code": publish_checklist(cluster)["code"],
             "visited_on": "2026-07-15"}, caller=ADMIN)
        cluster.supervision.score_inspection(inspection["id"], {"scores": full_scores(casework=9)},
                                             caller=ADMIN)
        cluster.supervision.raise_finding(inspection["id"], {
            "observation": "台账缺页", "recommendation": "补齐台账", "severity": "minor"}, caller=ADMIN)
        cluster.supervision.complete_inspection(inspection["id"], {}, caller=ADMIN)
        fund = FundScene(cluster, scene.unit)
        fund.donate(50_000, received_on="2026-03-05")
        fund.spend(20_000)

        settled(platform, client)
        before = answers(cluster, county, a, b, c, scene.team["id"])
        july = before["county"][1]["figures"]
        assert (july["sessions"], july["supervised"], july["reports_late"], july["reports_missing"],
                july["inspected"], july["volunteer_minutes"], july["volunteers_active"]) == \
            (2, 1, 1, 2, 1, 180, 2)   # b and c missed July
        assert before["county"][0]["figures"]["raised_fen"] == 50_000
        assert [g["station_id"] for g in before["gaps"]["items"]] == [c]
        assert [e["state"] for e in before["calendar"]["entries"]
                if e["kind"] == "quarterly_supervision"] == ["done"]

        for service in ("supervision", "charity"):
            out = wushe(platform, "rebuild", service)
            assert "replayed" in out and "cleared" in out, out
        settled(platform, client)
        after = answers(cluster, county, a, b, c, scene.team["id"])
    client.close()
    assert after == before
