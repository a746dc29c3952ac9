"""The supervision service as officers, station staff and auditors use it: over HTTP
through the gateway under gunicorn, against the real services, broker and Mongo-wire
server."""
import csv
import datetime
import io

import pytest

from services.common.clock import china_today
from tests.fixtures import wait_for

pytestmark = pytest.mark.e2e


def ok(response, status=200):
    assert response.status_code == status, response.text
    return response.json()


def test_from_a_supervision_session_to_an_exported_report_and_a_scorecard(api, units):
    county, townships = units.county()
    unit = townships[0]
    admin = api("province_admin", "34")
    officer = api("county_officer", county, sub="e2e-officer")
    staff = api("station_staff", unit["code"], sub="e2e-staff")
    auditor = api("auditor", county[:4])
    station = ok(admin.post("/api/v1/stations", json={
        "division_code": unit["code"], "name": f"{unit['name']}社工站", "planned_on": "2025-09-01"}), 201)
    for to, on in (("built", "2025-12-01"), ("operating", "2026-02-01")):
        ok(admin.post(f"/api/v1/stations/{station['id']}/transitions", json={"to": to, "on": on}))
    wait_for(lambda: officer.get(f"/api/v1/compliance-calendar?station_id={station['id']}").status_code == 200,
             timeout=20, message="the supervision service to know the station")

    expert = ok(officer.post("/api/v1/supervisors", json={
        "name": "冯教授", "kind": "university", "organisation": "某大学社会工作系",
        "home_region": county, "phone": "13955556666"}), 201)
    assert ok(auditor.get(f"/api/v1/supervisors/{expert['id']}"))["phone"] == "139****6666"
    body = {"supervisor_id": expert["id"], "station_id": station["id"], "kind": "group",
            "setting": "external", "method": "on_site", "held_on": china_today().isoformat(),
            "duration_minutes": 90, "topics": ["个案督导"], "room_workers": 2}
    first = ok(officer.post("/api/v1/supervision-sessions", json=body,
                            headers={"Idempotency-Key": f"e2e-{station['id']}"}), 201)
    again = ok(officer.post("/api/v1/supervision-sessions", json=body,
                            headers={"Idempotency-Key": f"e2e-{station['id']}"}), 201)
    assert again["id"] == first["id"]
    refused = officer.post("/api/v1/supervision-sessions", json=dict(body, kind="individual"))
    assert refused.status_code == 400 and "staff_ids" in refused.json()["error"]["fields"]
    assert auditor.post("/api/v1/supervision-sessions", json=body).status_code == 403

    checklist = ok(admin.post("/api/v1/checklists", json={
        "code": f"e2e-{unit['code']}", "title": "检查表", "sections": [
            {"key": "liuyou", "title": "六有", "kind": "liuyou", "items": [
                {"key": "premises", "title": "有场所", "weight": 1, "rule": {"kind": "pass_fail"}}]},
            {"key": "finance", "title": "财务", "kind": "finance", "items": [
                {"key": "books", "title": "账目", "weight": 3, "rule": {"kind": "scale", "max": 4}}]}]}), 201)
    inspection = ok(officer.post("/api/v1/inspections", json={
        "station_id": station["id"], "kind": "daily", "checklist_code": checklist["code"],
        "visited_on": (china_today() - datetime.timedelta(days=1)).isoformat()}), 201)
    ok(officer.post(f"/api/v1/inspections/{inspection['id']}/scores", json={
        "scores": {"premises": {"value": True}, "books": {"value": 2, "notes": "缺凭证"}}, "total": 100}))
    raise_it = {"item_key": "books", "observation": "凭证缺失", "recommendation": "补齐凭证", "severity": "major"}
    key = {"Idempotency-Key": f"finding-{inspection['id']}"}
    finding = ok(officer.post(f"/api/v1/inspections/{inspection['id']}/findings", json=raise_it,
                              headers=key), 201)
    # A careful client's retry (no answer came back) raises nothing twice.
    again = ok(officer.post(f"/api/v1/inspections/{inspection['id']}/findings", json=raise_it,
                            headers=key), 201)
    assert again["id"] == finding["id"]
    assert len(ok(officer.get(f"/api/v1/inspections/{inspection['id']}"))["findings"]) == 1
    done = ok(officer.post(f"/api/v1/inspections/{inspection['id']}/complete", json={}))
    assert done["score"] == 62.5   # (1 + 3 * 2/4) / 4: never the 100 sent
    item = finding["rectification_id"]
    ok(staff.post(f"/api/v1/rectifications/{item}/submit", json={"evidence": {"files": ["zg/receipts.pdf"]}}))
    assert staff.post(f"/api/v1/rectifications/{item}/close", json={}).status_code == 403
    closed = ok(officer.post(f"/api/v1/rectifications/{item}/close", json={"note": "已核"}))
    assert closed["status"] == "closed"
    assert officer.post(f"/api/v1/rectifications/{item}/close", json={}).status_code == 409

    month = f"{china_today():%Y-%m}"
    report = {"casework": 2, "group_work": 1, "community_activities": 4,
              "served": {"elderly": 20, "children": 8, "disabled": 1, "others": 3}, "narrative": "=SUM(A1)"}
    draft = ok(staff.get(f"/api/v1/monthly-reports/{station['id']}/{month}"))
    assert draft["status"] == "draft" and draft["due_at"].endswith("T15:59:59Z")
    filed = ok(staff.post(f"/api/v1/monthly-reports/{station['id']}/{month}", json=report), 201)
    assert filed["status"] == "submitted"
    assert staff.post(f"/api/v1/monthly-reports/{station['id']}/{month}", json=report).status_code == 409
    bad = staff.post(f"/api/v1/monthly-reports/{station['id']}/{month}", json=dict(report, casework=-2))
    assert bad.status_code == 400 and "casework" in bad.json()["error"]["fields"]

    export = auditor.get(f"/api/v1/monthly-reports/export?region={county}&month={month}")
    assert export.status_code == 200 and export.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(export.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["社工站编号", "社工站", "月份"] and [station["id"]] == [r[0] for r in rows[1:]]
    excel = officer.get(f"/api/v1/rectifications/export?region={county}&format=xlsx")
    assert excel.status_code == 200 and excel.content[:2] == b"PK"

    def scored():
        card = ok(auditor.get(f"/api/v1/scorecards?region={county}&month={month}"))
        return card if card["figures"]["inspected"] == 1 and card["figures"]["reports_on_time"] + \
            card["figures"]["reports_late"] == 1 else None

    card = wait_for(scored, timeout=20, message="the county scorecard")
    assert card["figures"]["sessions_quarter"] == 1 and card["overall"] is not None
    assert set(card["weights"]) == {"supervision", "inspection", "reports", "rectification", "liuyou", "staffing"}
    ranking = ok(auditor.get(f"/api/v1/scorecards/rankings?region={county[:4]}&level=county&month={month}"))
    assert county in [entry["code"] for entry in ranking["items"]]
    calendar = ok(staff.get(f"/api/v1/compliance-calendar?month={month}"))
    assert {"kind": "monthly_report", "state": "done"} in [
        {"kind": e["kind"], "state": e["state"]} for e in calendar["entries"]]
