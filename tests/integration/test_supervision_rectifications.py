"""Rectification items (整改) on the real broker and Mongo-wire server: from a finding to
closed, the verifier never the submitter, no closing without evidence or twice, every
change in the history, and overdue items escalated county -> city -> province, once."""
import datetime

import pytest

from services.common.clock import china_today
from services.common.errors import Conflict, Forbidden
from tests.integration.test_supervision_support import (
    ADMIN, SYSTEM, county_officer, events, open_station, publish_checklist, settle, station_staff,
    tap,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def inspected(cluster, units):
    """An operating station with an open special inspection."""
    unit = units.township()
    station = open_station(cluster, unit)
    checklist = publish_checklist(cluster)
    visited = china_today() - datetime.timedelta(days=60)
    inspection = cluster.supervision.create_inspection(
        {"station_id": station["id"], "kind": "special", "checklist_code": checklist["code"],
         "visited_on": visited.isoformat()}, caller=county_officer(unit))
    return unit, station, inspection


def finding(cluster, inspection, caller=ADMIN, **extra):
    return cluster.supervision.raise_finding(inspection["id"], {
        "item_key": "premises", "observation": "活动室被挪作他用", "recommendation": "恢复活动室功能",
        "severity": "major", **extra}, caller=caller)


def test_from_finding_to_closed_by_someone_other_than_the_submitter(platform, cluster, inspected):
    unit, station, inspection = inspected
    events_tap = tap(platform)
    officer, colleague = county_officer(unit, "officer-a"), county_officer(unit, "officer-b")
    raised = finding(cluster, inspection, caller=officer,
                     deadline=(china_today() + datetime.timedelta(days=30)).isoformat())
    item_id = raised["rectification_id"]
    item = cluster.supervision.get_rectification(item_id, caller=station_staff(unit))
    assert (item["status"], item["station_id"], item["observation"]) == ("open", station["id"], "活动室被挪作他用")

    # Closing with no evidence is refused, naming it.
    with pytest.raises(Conflict) as no_evidence:
        cluster.supervision.close_rectification(item_id, {}, caller=colleague)
    assert no_evidence.value.fields == {"evidence": ["missing"]}
    cluster.supervision.start_rectification(item_id, {"note": "已安排"}, caller=station_staff(unit))
    cluster.supervision.submit_rectification(item_id, {"evidence": {
        "notes": "活动室已恢复", "files": ["zg/photo-1.jpg"]}}, caller=officer)
    # The verifier is never the submitter; the station's own staff never verify.
    with pytest.raises(Forbidden) as own:
        cluster.supervision.close_rectification(item_id, {}, caller=officer)
    assert own.value.fields == {"verifier": ["you submitted this item"]}
    with pytest.raises(Forbidden):
        cluster.supervision.close_rectification(item_id, {}, caller=station_staff(unit))
    closed = cluster.supervision.close_rectification(item_id, {"note": "现场核实"}, caller=colleague)
    assert closed["status"] == "closed" and closed["allowed"] == []
    with pytest.raises(Conflict) as twice:
        cluster.supervision.close_rectification(item_id, {}, caller=colleague)
    assert twice.value.fields == {"status": ["closed"]}
    assert [(h["status"], h["by"]) for h in closed["history"]] == [
        ("open", "county_officer:officer-a"), ("in_progress", f"station_staff:staff-{unit['code']}"),
        ("submitted", "county_officer:officer-a"), ("closed", "county_officer:officer-b")]
    assert closed["history"][2]["evidence"]["files"] == ["zg/photo-1.jpg"]

    for name in ("finding.raised", "rectification.opened", "rectification.submitted", "rectification.closed"):
        [event] = events(events_tap, name, subject=raised["id"] if name == "finding.raised" else item_id)
        assert "活动室" not in str(event), name   # never the observation or evidence notes


def test_a_submitted_item_sent_back_is_reopened_with_its_reason_kept(platform, cluster, inspected):
    unit, _station, inspection = inspected
    item_id = finding(cluster, inspection, severity="minor")["rectification_id"]
    staff = station_staff(unit)
    cluster.supervision.submit_rectification(item_id, {"evidence": {"notes": "已整改"}}, caller=staff)
    reopened = cluster.supervision.reopen_rectification(item_id, {"reason": "照片不清晰"}, caller=ADMIN)
    assert reopened["status"] == "reopened" and reopened["history"][-1]["note"] == "照片不清晰"
    with pytest.raises(Conflict) as refused:
        cluster.supervision.reopen_rectification(item_id, {"reason": "再次退回"}, caller=ADMIN)
    assert refused.value.details["allowed"] == ["in_progress", "submitted"]
    cluster.supervision.submit_rectification(item_id, {"evidence": {"files": ["zg/photo-2.jpg"]}}, caller=staff)
    assert cluster.supervision.close_rectification(item_id, {}, caller=ADMIN)["status"] == "closed"


def test_overdue_items_are_escalated_county_city_province_each_step_once(platform, cluster, inspected):
    unit, station, inspection = inspected
    events_tap = tap(platform)
    long_ago = finding(cluster, inspection, deadline=(china_today() - datetime.timedelta(days=20)).isoformat())
    lately = finding(cluster, inspection, deadline=(china_today() - datetime.timedelta(days=2)).isoformat())
    for _ in range(2):   # the timer may run too: each step still happens once
        cluster.supervision.run_due_jobs({}, caller=SYSTEM)
    old = cluster.supervision.get_rectification(long_ago["rectification_id"], caller=ADMIN)
    new = cluster.supervision.get_rectification(lately["rectification_id"], caller=ADMIN)
    assert (old["overdue"], old["escalated_to"]) == (True, "province")
    assert (new["overdue"], new["escalated_to"]) == (True, "county")
    assert [h["level"] for h in old["history"] if h["status"] == "escalated"] == ["county", "city", "province"]

    subject = long_ago["rectification_id"]
    assert len(events(events_tap, "rectification.overdue", subject=subject)) == 1
    steps = events(events_tap, "rectification.escalated", subject=subject, count=3)
    assert [(e["data"]["level"], e["data"]["region"]) for e in steps] == [
        ("county", unit["areaCode"]), ("city", unit["cityCode"]), ("province", "34")]
    assert [e["type"].split(".")[3] for e in settle(events_tap) if e["subject"] == subject] == [
        "opened", "overdue", "escalated", "escalated", "escalated"]
    # A line in each region's list; the county lists both items, the city only the older.
    county = cluster.supervision.list_escalations({"region": unit["areaCode"], "per_page": 500},
                                                  caller=county_officer(unit))
    city = cluster.supervision.list_escalations({"region": unit["cityCode"], "per_page": 500},
                                                caller={"sub": "c", "role": "city_officer",
                                                        "region": unit["cityCode"]})
    mine = {long_ago["rectification_id"], lately["rectification_id"]}
    assert {line["rectification_id"] for line in county["items"]} >= mine
    assert [l["level"] for l in city["items"] if l["rectification_id"] in mine] == ["city"]
    # Still owed: it stays listed as overdue; once closed, it leaves the open figures.
    overdue = cluster.supervision.list_rectifications({"station_id": station["id"], "overdue": True},
                                                      caller=station_staff(unit))
    assert {i["id"] for i in overdue["items"]} == mine
    # The station's calendar of the deadline's month shows it overdue; the county's counts it.
    month = old["deadline"][:7]
    calendar = cluster.supervision.compliance_calendar({"station_id": station["id"], "month": month},
                                                       caller=station_staff(unit))
    assert {"kind": "rectification", "ref": subject, "state": "overdue"} in [
        {k: e[k] for k in ("kind", "ref", "state")} for e in calendar["entries"]]
    region = cluster.supervision.compliance_calendar({"region": unit["areaCode"], "month": month},
                                                     caller=county_officer(unit))
    counted = next(e for e in region["entries"] if e["kind"] == "rectification")
    assert counted["counts"]["overdue"] >= 1
