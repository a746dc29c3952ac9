"""The charity routes of the gateway with a fake RPC layer: roles, 400s naming fields
(money is integer fen, never a float), the Idempotency-Key reaching the service,
exports as files, and the public receipt check and fund report without a token."""
import pytest

from gateway.app import create_app
from gateway.testing import TEST_SECRET, FakeRpc, auth_header
from services.common.errors import DomainError

NUMBER = "JZSJ-2026-53340100MJ0000000Y-000001"
DONATION = {"fund_id": "F1", "kind": "money", "received_on": "2026-03-05", "amount_fen": 10_000,
            "channel": "bank_transfer", "donor": {"kind": "anonymous"}}
EXPORT = {"name": "donations", "columns": [{"key": "donor", "title": "捐赠方"}, {"key": "amount", "title": "金额(分)"}],
          "rows": [["张*丰", 10_000], ["=cmd()", 5]]}


@pytest.fixture(autouse=True)
def secrets(monkeypatch):
    monkeypatch.setenv("TOKEN_SECRET", TEST_SECRET)
    monkeypatch.delenv("TOKEN_SECRET_PREVIOUS", raising=False)


@pytest.fixture
def rpc():
    fake = FakeRpc()
    fake.answer("charity", "record_donation", lambda data, caller, idempotency_key=None: {"id": "D1", **data})
    fake.answer("charity", "approve_disbursement",
                lambda disbursement_id, data, caller, idempotency_key=None: {"id": disbursement_id, "status": "approved"})
    fake.answer("charity", "verify_receipt", lambda number: {"number": number, "donor": "张*丰", "status": "valid"})
    fake.answer("charity", "public_report", lambda fund_id, query: {"fund": {"id": fund_id}, "period": query})
    fake.answer("charity", "export_donations", lambda query, caller: EXPORT)
    return fake


@pytest.fixture
def client(rpc):
    return create_app(rpc=rpc, services=["charity"], settings={"TESTING": True}).test_client()


def h(role="county_officer", region="340102", **headers):
    return {**auth_header(role, region), **headers}


def test_a_donation_carries_its_idempotency_key_to_the_service(client, rpc):
    r = client.post("/api/v1/charity/donations", json=DONATION, headers=h("station_staff", "340102001",
                                                                         **{"Idempotency-Key": "k-1"}))
    assert r.status_code == 201, r.text
    assert r.headers["Location"].endswith("/api/v1/charity/donations/D1")
    assert rpc.last.kwargs["idempotency_key"] == "k-1"
    assert rpc.last.kwargs["caller"]["role"] == "station_staff"


def test_money_is_integer_fen_and_every_bad_field_is_named(client, rpc):
    r = client.post("/api/v1/charity/donations", headers=h(), json=dict(
        DONATION, amount_fen=100.5, received_on="2026-02-30", channel="cheque", donor={"kind": "robot"}))
    assert r.status_code == 400
    fields = r.get_json()["error"]["fields"]
    assert {"amount_fen", "received_on", "channel", "donor"} <= set(fields)
    r = client.post("/api/v1/charity/donations", headers=h(), json=dict(DONATION, amount_fen="10000"))
    assert "amount_fen" in r.get_json()["error"]["fields"]
    r = client.post("/api/v1/charity/donations", headers=h(), json={**DONATION, "kind": "in_kind"})
    assert set(r.get_json()["error"]["fields"]) >= {"items", "valuation"}
    assert rpc.calls == []


def test_a_fund_needs_a_valid_credit_code_and_one_place(client, rpc):
    body = {"name": "基金", "kind": "community_fund", "purpose": "助老", "region": "3401", "station_id": "S1",
            "host": {"name": "慈善会", "credit_code": "53340100MJ0000000A"},
            "committee": [{"name": "张", "role": "chair"}]}
    r = client.post("/api/v1/charity/funds", headers=h(), json=body)
    assert r.status_code == 400
    assert "check character" in str(r.get_json()["error"]["fields"]["host"])
    body["host"]["credit_code"] = "53340100MJ0000000Y"
    body["committee"] = [{"name": "张", "role": "chair", "title": "主任\u0007"}]
    r = client.post("/api/v1/charity/funds", headers=h(), json=body)
    assert "control characters" in str(r.get_json()["error"]["fields"]["committee"])
    del body["committee"][0]["title"]
    r = client.post("/api/v1/charity/funds", headers=h(), json=body)
    assert r.get_json()["error"]["fields"] == {"region": ["give either region or station_id"]}
    assert rpc.calls == []


def test_auditors_and_station_staff_cannot_approve_and_nobody_without_a_token(client, rpc):
    for role, region in (("auditor", "3401"), ("station_staff", "340102001")):
        r = client.post("/api/v1/charity/disbursements/B1/approve", headers=h(role, region))
        assert r.status_code == 403, role
    assert client.post("/api/v1/charity/disbursements/B1/approve").status_code == 401
    r = client.post("/api/v1/charity/disbursements/B1/approve", headers=h(**{"Idempotency-Key": "a-1"}))
    assert r.status_code == 200 and rpc.last.args[:2] == ("B1", {})
    assert rpc.last.kwargs["idempotency_key"] == "a-1"


def test_a_lack_of_money_reaches_the_client_as_a_409_naming_the_available_amount(client, rpc):
    rpc.answer("charity", "approve_disbursement", DomainError(
        "fund F1 has 12.34 yuan (1234 fen) available", {"amount_fen": ["more than the 1234 fen available"]},
        {"available_fen": 1234}, 409, "insufficient_funds"))
    r = client.post("/api/v1/charity/disbursements/B1/approve", headers=h(**{"Idempotency-Key": "a-2"}))
    assert r.status_code == 409
    error = r.get_json()["error"]
    assert error["code"] == "insufficient_funds" and error["details"] == {"available_fen": 1234}


def test_the_public_receipt_check_and_fund_report_need_no_token(client, rpc):
    r = client.get(f"/api/v1/public/receipts/{NUMBER}")
    assert r.status_code == 200 and r.get_json()["donor"] == "张*丰"
    assert "caller" not in rpc.last.kwargs
    assert client.get("/api/v1/public/receipts/not-a-number").status_code == 400
    r = client.get("/api/v1/public/funds/F1/report?from=2026-01&to=2026-06-30")
    assert r.status_code == 200 and r.get_json()["period"] == {"from": "2026-01", "to": "2026-06"}
    r = client.get("/api/v1/public/funds/F1/report?from=2026-01-15")
    assert r.status_code == 400 and "whole months" in str(r.get_json()["error"]["fields"]["from"])


def test_exports_are_files_with_formula_cells_defused(client):
    r = client.get("/api/v1/charity/donations/export?format=csv", headers=h("auditor", "3401"))
    assert r.status_code == 200 and r.mimetype == "text/csv"
    text = r.get_data(as_text=True)
    assert "捐赠方" in text and "'=cmd()" in text
    r = client.get("/api/v1/charity/donations/export?format=xlsx", headers=h("auditor", "3401"))
    assert r.status_code == 200 and r.data[:2] == b"PK"


def test_the_openapi_document_lists_the_charity_routes_and_the_idempotency_header(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    assert "/api/v1/public/funds/{fund_id}/report" in doc["paths"]
    approve = doc["paths"]["/api/v1/charity/disbursements/{disbursement_id}/approve"]["post"]
    assert any(p["name"] == "Idempotency-Key" for p in approve["parameters"])
