"""The supervision routes of the gateway with a fake RPC layer: roles, 400s naming the
fields before anything reaches the service, the Idempotency-Key, exports as files, and
the OpenAPI document."""
import csv
import io

import pytest

from gateway.app import create_app
from gateway.testing import TEST_SECRET, FakeRpc, auth_header
from services.common.errors import Conflict, Forbidden

EXPORT = {"name": "rectifications", "columns": [{"key": "id", "title": "整改编号"},
                                                {"key": "observation", "title": "问题"}],
          "rows": [["ZG2026000001", "=cmd|' /C calc'!A0"], ["ZG2026000002", "台账不全"]]}
SESSION = {"supervisor_id": "SV000001", "station_id": "340102001-01", "kind": "group",
           "setting": "external", "method": "on_site", "held_on": "2026-10-12",
           "duration_minutes": 90, "topics": ["个案督导"], "room_workers": 3}
REPORT = {"casework": 3, "group_work": 1, "community_activities": 2,
          "served": {"elderly": 10, "children": 5, "disabled": 1, "others": 0}, "narrative": "本月..."}


@pytest.fixture(autouse=True)
def secrets(monkeypatch):
    monkeypatch.setenv("TOKEN_SECRET", TEST_SECRET)
    monkeypatch.delenv("TOKEN_SECRET_PREVIOUS", raising=False)


@pytest.fixture
def rpc():
    fake = FakeRpc()
    fake.answer("supervision", "record_session", lambda data, caller, idempotency_key=None:
                {"id": "SS2026000001", **data})
    fake.answer("supervision", "submit_report", lambda station_id, month, data, caller:
                {"id": f"{station_id}:{month}", "status": "submitted", "late": False})
    fake.answer("supervision", "score_inspection", lambda inspection_id, data, caller:
                {"id": inspection_id, "status": "in_progress"})
    fake.answer("supervision", "export_rectifications", lambda query, caller: EXPORT)
    fake.answer("supervision", "export_reports", lambda query, caller: dict(EXPORT, name="monthly-reports"))
    return fake


@pytest.fixture
def client(rpc):
    return create_app(rpc=rpc, services=["supervision"], settings={"TESTING": True}).test_client()


def h(role="county_officer", region="340102", **kwargs):
    return auth_header(role, region, **kwargs)


def test_bad_bodies_are_400_naming_each_field_and_never_reach_the_service(client, rpc):
    cases = [
        ("/api/v1/supervision-sessions", dict(SESSION, kind="individual"), "staff_ids"),
        ("/api/v1/supervision-sessions", dict(SESSION, duration_minutes=5), "duration_minutes"),
        ("/api/v1/supervision-sessions", dict(SESSION, station_id="340102001"), "station_id"),
        ("/api/v1/monthly-reports/340102001-01/2026-11", dict(REPORT, casework=-1), "casework"),
        ("/api/v1/monthly-reports/340102001-01/2026-11", dict(REPORT, total_hours=5), "total_hours"),
        ("/api/v1/campaigns", {"title": "互查", "period_from": "2026-10-01", "period_to": "2026-09-01",
                               "checklist_code": "std", "sample": {"per_city": 2}}, "period_to"),
        ("/api/v1/campaigns", {"title": "互查", "period_from": "2026-10-01", "period_to": "2026-12-01",
                               "checklist_code": "std", "sample": {"per_city": 2, "share": 0.1}}, "sample"),
        ("/api/v1/rectifications/ZG2026000001/submit", {"evidence": {"notes": " ", "files": []}},
         "evidence"),
        ("/api/v1/inspections/IN2026000001/findings", {"observation": "x", "recommendation": "补齐",
                                                       "severity": "fatal"}, "severity"),
    ]
    for path, body, field in cases:
        role = "province_admin" if "campaigns" in path else "county_officer"
        response = client.post(path, json=body, headers=h(role, "34" if role == "province_admin" else "340102"))
        assert response.status_code == 400, (path, response.get_json())
        assert field in response.get_json()["error"]["fields"], (path, response.get_json())
    assert rpc.calls == []


def test_bad_path_variables_are_400(client, rpc):
    r = client.get("/api/v1/monthly-reports/340102001-01/2026-13", headers=h())
    assert r.status_code == 400 and "month" in r.get_json()["error"]["fields"]
    r = client.post("/api/v1/monthly-reports/x/2026-11", json=REPORT, headers=h())
    assert r.status_code == 400 and "station_id" in r.get_json()["error"]["fields"]
    assert rpc.calls == []


def test_roles(client, rpc):
    # Auditors read and change nothing; only the province opens campaigns.
    assert client.post("/api/v1/supervision-sessions", json=SESSION, headers=h("auditor", "3401")).status_code == 403
    assert client.post("/api/v1/monthly-reports/340102001-01/2026-11", json=REPORT,
                       headers=h("auditor", "3401")).status_code == 403
    assert client.post("/api/v1/monthly-reports/340102001-01/2026-11/return", json={"reason": "数字不符"},
                       headers=h("station_staff", "340102001")).status_code == 403
    campaign = {"title": "互查", "period_from": "2026-10-01", "period_to": "2026-12-31",
                "checklist_code": "std", "sample": {"per_city": 2}}
    assert client.post("/api/v1/campaigns", json=campaign, headers=h("city_officer", "3401")).status_code == 403
    # A station's staff files its report; the service checks it is their station.
    r = client.post("/api/v1/monthly-reports/340102001-01/2026-11", json=REPORT,
                    headers=h("station_staff", "340102001", sub="staff-1"))
    assert r.status_code == 201
    assert rpc.last.args == ("340102001-01", "2026-11", REPORT)
    assert rpc.last.kwargs["caller"] == {"sub": "staff-1", "role": "station_staff", "region": "340102001"}


def test_inspectors_of_any_role_reach_the_service_which_decides(client, rpc):
    body = {"scores": {"premises": {"value": True, "notes": "现场查看"}}, "total": 100}
    r = client.post("/api/v1/inspections/IN2026000001/scores", json=body,
                    headers=h("auditor", "3402", sub="inspector-7"))
    assert r.status_code == 200
    assert rpc.last.args == ("IN2026000001", body)   # sent as is; the service ignores `total`
    rpc.answer("supervision", "close_rectification",
               Forbidden("the verifier is never the submitter", fields={"verifier": ["you submitted this item"]}))
    r = client.post("/api/v1/rectifications/ZG1/close", json={}, headers=h())
    assert r.status_code == 403 and r.get_json()["error"]["fields"] == {"verifier": ["you submitted this item"]}
    rpc.answer("supervision", "close_rectification", Conflict("rectification ZG1 is already closed"))
    assert client.post("/api/v1/rectifications/ZG1/close", json={}, headers=h()).status_code == 409


def test_the_idempotency_key_reaches_the_service(client, rpc):
    r = client.post("/api/v1/supervision-sessions", json=SESSION,
                    headers={**h(), "Idempotency-Key": "session-42"})
    assert r.status_code == 201 and r.headers["Location"].endswith("/supervision-sessions/SS2026000001")
    assert rpc.last.kwargs["idempotency_key"] == "session-42"


@pytest.mark.parametrize("path", ["/api/v1/rectifications/export", "/api/v1/monthly-reports/export"])
def test_lists_export_as_csv_and_excel(client, rpc, path):
    r = client.get(path + "?region=340102", headers=h("auditor", "3401"))
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(r.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0] == ["整改编号", "问题"] and rows[1][1].startswith("'=")   # never a formula
    assert rpc.last.args[0]["region"] == "340102" and rpc.last.args[0]["format"] == "csv"
    r = client.get(path + "?format=xlsx", headers=h())
    assert r.status_code == 200 and r.data[:2] == b"PK"
    assert "attachment" in r.headers["Content-Disposition"]


def test_the_openapi_document_has_the_supervision_api(client):
    document = client.get("/api/v1/openapi.json").get_json()
    paths = document["paths"]
    for path, methods in {
            "/api/v1/supervisors": {"get", "post"}, "/api/v1/supervision-sessions": {"get", "post"},
            "/api/v1/supervision-gaps": {"get"}, "/api/v1/checklists/{code}/versions/{version}": {"get"},
            "/api/v1/inspections/{inspection_id}/scores": {"post"},
            "/api/v1/campaigns/{campaign_id}/assignment/preview": {"post"},
            "/api/v1/rectifications/{item_id}/close": {"post"}, "/api/v1/escalations": {"get"},
            "/api/v1/monthly-reports/{station_id}/{month}": {"get", "post"},
            "/api/v1/compliance-calendar": {"get"}, "/api/v1/scorecards/rankings": {"get"}}.items():
        assert set(paths[path]) == methods, path
    scores = document["components"]["schemas"]["InspectionScores"]["properties"]
    assert "Ignored" in scores["total"]["description"]
