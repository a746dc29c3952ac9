"""A mutual inspection campaign (督导互查), end to end on a platform of its own (its own
vhost and databases, so that only this test's stations and supervisors are sampled):
preview, confirm, the rules of the assignment, and inspectors who see and score only
the stations assigned to them, wherever their own region is."""
import collections
import csv
import os

import pytest

from services.common.errors import Conflict, Forbidden
from services.registry.commands import import_divisions
from tests.fixtures import DIVISIONS, division_files
from tests.integration.test_supervision_support import ADMIN, events, full_scores, known, tap

pytestmark = pytest.mark.integration


def far_townships(city, count):
    """Townships of `city` from the end of the list, one per county where it can."""
    with open(os.path.join(DIVISIONS, "streets.csv"), encoding="utf-8") as f:
        rows = sorted((r for r in csv.DictReader(f) if r["cityCode"] == city
                       and r["name"].endswith(("街道", "镇", "乡"))), key=lambda r: r["code"], reverse=True)
    by_county = collections.OrderedDict()
    for row in rows:
        by_county.setdefault(row["areaCode"], row)
    return list(by_county.values())[:count]


@pytest.fixture
def campaign_platform(isolated_platform):
    platform = isolated_platform
    platform.registry = platform.start_service("registry", wait=False)
    platform.supervision = platform.start_service("supervision", wait=False)
    platform.registry.wait_ready()
    platform.supervision.wait_ready()
    import_divisions(division_files(), out=lambda line: None, rpc=platform.rpc())
    return platform


def open_station(cluster, unit, operator):
    station = cluster.registry.create_station(
        {"division_code": unit["code"], "name": f"{unit['name']}社工站", "planned_on": "2025-01-01",
         "operator": {"name": operator}}, caller=ADMIN)
    for to, on in (("built", "2025-03-01"), ("operating", "2025-06-01")):
        cluster.registry.transition_station(station["id"], {"to": to, "on": on}, caller=ADMIN)
    return station


def test_a_campaign_is_previewed_confirmed_and_inspected_by_the_assigned_only(campaign_platform):
    platform = campaign_platform
    with platform.rpc() as cluster:
        operators = {}
        for city, count in (("3401", 3), ("3417", 2), ("3418", 2)):
            for index, unit in enumerate(far_townships(city, count)):
                station = open_station(cluster, unit, f"{city}号机构{index}")
                operators[station["id"]] = f"{city}号机构{index}"
        for station_id in operators:
            known(cluster, station_id, "operating")
        wuhu_station = next(s for s in operators if s.startswith("3418"))
        people = {}
        for city, organisation, sub in (("3401", operators[wuhu_station], "inspector-hefei"),
                                        ("3401", "合肥学院社会工作系", None),
                                        ("3417", "池州学院社会工作系", "inspector-chizhou"),
                                        ("3417", "池州社会工作协会", None),
                                        ("3418", "宣城社会工作协会", None),
                                        ("3418", "宣城学院社会工作系", None)):
            person = cluster.supervision.register_supervisor(
                {"name": "督导专家", "kind": "expert", "organisation": organisation, "home_region": city,
                 "account_sub": sub}, caller=ADMIN)
            people[person["id"]] = (city, organisation, sub)
        code = "mutual-standard"
        cluster.supervision.publish_checklist({"code": code, "title": "互查标准", "sections": [
            {"key": "liuyou", "title": "六有", "kind": "liuyou", "items": [
                {"key": "premises", "title": "有场所", "weight": 2, "rule": {"kind": "pass_fail"}},
                {"key": "staff", "title": "有人员", "weight": 2, "rule": {"kind": "pass_fail"}}]},
            {"key": "delivery", "title": "服务", "kind": "service_delivery", "items": [
                {"key": "casework", "title": "个案", "weight": 4, "rule": {"kind": "points", "max": 10}}]}]},
            caller=ADMIN)
        events_tap = tap(platform)
        campaign = cluster.supervision.open_campaign(
            {"title": "2026年度督导互查", "period_from": "2026-10-01", "period_to": "2026-12-31",
             "checklist_code": code, "sample": {"per_city": 2}, "group_size": 1}, caller=ADMIN)
        assert events(events_tap, "campaign.opened", subject=campaign["id"])[0]["data"]["checklist_id"] == \
            f"{code}@v1"

        preview = cluster.supervision.preview_assignment(campaign["id"], {"seed": 42}, caller=ADMIN)
        assert preview == cluster.supervision.preview_assignment(campaign["id"], {"seed": 42}, caller=ADMIN)
        assert preview["confirmed"] is False
        assert cluster.supervision.list_inspections({}, caller=ADMIN)["total"] == 0   # a preview changes nothing
        # Hefei's three counties each give one; Chizhou and Xuancheng give two each.
        assert collections.Counter(s["city"] for s in preview["stations"]) == {"3401": 3, "3417": 2, "3418": 2}
        loads = [g["load"] for g in preview["groups"]]
        assert len(loads) == 6 and max(loads) - min(loads) <= 1
        for group in preview["groups"]:
            inspector = people[group["inspector_ids"][0]]
            for station_id in group["station_ids"]:
                assert station_id[:4] != inspector[0], "a group inspected its own city"
                assert operators[station_id] != inspector[1], "an inspector inspected their organisation"
        hefei_group = next(g for g in preview["groups"] if people[g["inspector_ids"][0]][2] == "inspector-hefei")
        assert hefei_group["why"]["never"] == {"city": "3401", "operators": [operators[wuhu_station]]}

        with pytest.raises(Conflict) as stale:
            cluster.supervision.confirm_assignment(campaign["id"], {"seed": 42, "fingerprint": "0" * 16},
                                                   caller=ADMIN)
        assert stale.value.fields == {"fingerprint": ["differs from the plan now"]}
        with pytest.raises(Forbidden):
            cluster.supervision.confirm_assignment(campaign["id"], {"seed": 42},
                                                   caller={"sub": "c", "role": "city_officer", "region": "3401"})
        confirmed = cluster.supervision.confirm_assignment(
            campaign["id"], {"seed": 42, "fingerprint": preview["fingerprint"]}, caller=ADMIN)
        assert all(len(g["inspection_ids"]) == len(g["station_ids"]) == g["load"] for g in confirmed["groups"])
        assert all(s["inspection_id"].startswith("IN") for s in confirmed["stations"])
        assert [g["station_ids"] for g in confirmed["groups"]] == [g["station_ids"] for g in preview["groups"]]
        with pytest.raises(Conflict):
            cluster.supervision.confirm_assignment(campaign["id"], {"seed": 43}, caller=ADMIN)
        [event] = events(events_tap, "assignment.confirmed", subject=campaign["id"])
        assert event["data"]["stations"] == 7 and len(event["data"]["groups"]) == 6
        assert cluster.supervision.get_assignment(campaign["id"], caller=ADMIN)["groups"] == confirmed["groups"]

        # The Hefei inspector signs in as an auditor of Hefei and sees only their stations.
        inspector = {"sub": "inspector-hefei", "role": "auditor", "region": "3401"}
        mine = cluster.supervision.inspector_stations({}, caller=inspector)["items"]
        assert sorted(i["station_id"] for i in mine) == sorted(hefei_group["station_ids"])
        assert all(i["city"] != "3401" and i["status"] == "planned" for i in mine)
        inspection_id = mine[0]["inspection_id"]
        scored = cluster.supervision.score_inspection(inspection_id, {"scores": full_scores()}, caller=inspector)
        assert scored["status"] == "in_progress" and scored["checklist_id"] == f"{code}@v1"
        cluster.supervision.raise_finding(inspection_id, {
            "observation": "档案未归档", "recommendation": "建立档案柜", "severity": "minor"}, caller=inspector)
        done = cluster.supervision.complete_inspection(inspection_id, {}, caller=inspector)
        assert done["score"] == 65.0 and done["group_id"] == hefei_group["group_id"]
        elsewhere = [i for g in confirmed["groups"] if g["group_id"] != hefei_group["group_id"]
                     for sid, i in zip(g["station_ids"], g["inspection_ids"]) if not sid.startswith("3401")]
        with pytest.raises(Forbidden):   # not theirs, and outside their region
            cluster.supervision.get_inspection(elsewhere[0], caller=inspector)
        with pytest.raises(Forbidden):
            cluster.supervision.score_inspection(elsewhere[0], {"scores": full_scores()}, caller=inspector)
