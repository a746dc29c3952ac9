"""Versioned checklists and inspections on the real broker and Mongo-wire server: an
inspection keeps the version it started on, its score is computed by the service (a
client's total is ignored), third-party evaluations and year-end assessments alike."""
import datetime

import pytest

from services.common.clock import china_today
from services.common.errors import Conflict, InvalidInput
from tests.integration.test_supervision_support import (
    ADMIN, county_officer, events, full_scores, open_station, publish_checklist, tap, unique,
)

pytestmark = pytest.mark.integration


def test_an_inspection_keeps_its_checklist_version_and_its_score_is_computed(platform, cluster, units):
    unit = units.township()
    station = open_station(cluster, unit)
    officer = county_officer(unit)
    code = unique("standard-")
    v1 = publish_checklist(cluster, code=code, casework_weight=4)
    started = cluster.supervision.create_inspection(
        {"station_id": station["id"], "kind": "special", "checklist_code": code,
         "visited_on": (china_today() - datetime.timedelta(days=3)).isoformat()}, caller=officer)
    assert started["checklist_id"] == v1["id"] == f"{code}@v1"
    # Version 2 weighs service delivery more and adds an item.
    v2 = publish_checklist(cluster, code=code, casework_weight=16, extra_item={
        "key": "satisfaction", "title": "满意度", "weight": 4, "rule": {"kind": "scale", "max": 5}})
    assert v2["version"] == 2

    with pytest.raises(InvalidInput) as not_in_v1:
        cluster.supervision.score_inspection(started["id"], {"scores": {"satisfaction": {"value": 4}}},
                                             caller=officer)
    assert not_in_v1.value.fields == {"scores.satisfaction": ["not an item of this checklist"]}
    cluster.supervision.score_inspection(started["id"], {"scores": {"premises": {"value": True}}},
                                         caller=officer)
    with pytest.raises(InvalidInput) as unscored:
        cluster.supervision.complete_inspection(started["id"], {}, caller=officer)
    assert set(unscored.value.fields) == {"scores.staff", "scores.casework"}
    events_tap = tap(platform)
    cluster.supervision.score_inspection(started["id"], {"scores": full_scores(casework=8), "total": 100},
                                         caller=officer)
    done = cluster.supervision.complete_inspection(started["id"], {"total": 99.5}, caller=officer)
    # v1: (2*1 + 2*0 + 4*0.8) / 8 = 65 %, whatever the client said.
    assert (done["status"], done["score"], done["sections"]) == ("completed", 65.0,
                                                                 {"liuyou": 50.0, "delivery": 80.0})
    assert done["scores"]["casework"]["files"] == ["zg/ledger.pdf"]
    [event] = events(events_tap, "inspection.completed", subject=started["id"])
    assert (event["data"]["score"], event["data"]["checklist_id"]) == (65.0, f"{code}@v1")
    with pytest.raises(Conflict):
        cluster.supervision.score_inspection(started["id"], {"scores": {"premises": {"value": False}}},
                                             caller=officer)
    # The same scores on version 2 weigh otherwise: a new inspection starts there.
    later = cluster.supervision.create_inspection(
        {"station_id": station["id"], "kind": "assessment", "checklist_code": code,
         "visited_on": china_today().isoformat()}, caller=officer)
    assert later["checklist_id"] == f"{code}@v2"
    cluster.supervision.score_inspection(later["id"], {"scores": {**full_scores(casework=8),
                                                                  "satisfaction": {"value": 5}}},
                                         caller=officer)
    assert cluster.supervision.complete_inspection(later["id"], {}, caller=officer)["score"] == round(
        100 * (2 + 16 * 0.8 + 4) / 24, 2)
    assert cluster.supervision.get_inspection(started["id"], caller=ADMIN)["score"] == 65.0


def test_third_party_evaluations_and_year_end_assessments_are_recorded_with_score_and_report(
        cluster, units):
    unit = units.township()
    station = open_station(cluster, unit)
    checklist = publish_checklist(cluster)
    with pytest.raises(InvalidInput) as unnamed:
        cluster.supervision.create_inspection(
            {"station_id": station["id"], "kind": "third_party", "checklist_code": checklist["code"],
             "visited_on": china_today().isoformat()}, caller=ADMIN)
    assert "evaluator" in unnamed.value.fields
    for kind, extra in (("third_party", {"evaluator": "安徽某评估中心"}), ("year_end", {})):
        record = cluster.supervision.create_inspection(
            {"station_id": station["id"], "kind": kind, "checklist_code": checklist["code"],
             "visited_on": china_today().isoformat(), "report_files": [f"reports/{kind}.pdf"], **extra},
            caller=ADMIN)
        cluster.supervision.score_inspection(record["id"], {"scores": full_scores(casework=10, staff=True)},
                                             caller=ADMIN)
        done = cluster.supervision.complete_inspection(record["id"], {"report_files": ["reports/annex.pdf"]},
                                                       caller=ADMIN)
        assert (done["kind"], done["score"], done["report_files"]) == (
            kind, 100.0, [f"reports/{kind}.pdf", "reports/annex.pdf"])
    listed = cluster.supervision.list_inspections({"station_id": station["id"]}, caller=ADMIN)
    assert sorted(i["kind"] for i in listed["items"]) == ["third_party", "year_end"]
    with pytest.raises(Exception) as auditor:
        cluster.supervision.create_inspection(
            {"station_id": station["id"], "kind": "daily", "checklist_code": checklist["code"],
             "visited_on": china_today().isoformat()},
            caller={"sub": "a", "role": "auditor", "region": unit["areaCode"]})
    assert getattr(auditor.value, "status", None) == 403
