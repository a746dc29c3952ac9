"""Charity service as officers and the public use it: over HTTP through the gateway,
against the real services, broker and Mongo-wire server."""
import io
import uuid

import pytest

from services.charity import rules
from tests.fixtures import wait_for

pytestmark = pytest.mark.e2e


def ok(response, status=200):
    assert response.status_code == status, response.text
    return response.json()


def credit_code():
    first17 = f"53340100MJ{uuid.uuid4().int % 10 ** 7:07d}"
    return first17 + rules.credit_check_character(first17)


def open_station(admin, unit):
    station = ok(admin.post("/api/v1/stations", json={
        "division_code": unit["code"], "name": f"{unit['name']}社工站", "planned_on": "2025-09-01"}), 201)
    for to, on in (("built", "2025-12-01"), ("operating", "2026-03-01")):
        ok(admin.post(f"/api/v1/stations/{station['id']}/transitions", json={"to": to, "on": on}))
    return station


def open_fund_when_station_known(officer, station_id):
    """The charity service learns of the station from the registry's events."""
    body = {"name": "幸福社工站社区慈善基金", "kind": "community_fund", "purpose": "扶老助残",
            "station_id": station_id, "host": {"name": "区慈善协会", "credit_code": credit_code()},
            "committee": [{"name": n, "role": r} for n, r in [("张主任", "chair"), ("李委员", "member"),
                                                              ("王委员", "member"), ("赵委员", "member"),
                                                              ("钱监事", "supervisor")]]}

    def attempt():
        response = officer.post("/api/v1/charity/funds", json=body)
        return None if response.status_code == 404 else ok(response, 201)

    return wait_for(attempt, timeout=20, message="the charity service to know the station")


def test_from_a_donation_to_a_paid_disbursement_and_the_public_report(api, units):
    county, townships = units.county()
    unit = townships[0]
    admin = api("province_admin", "34")
    requester = api("county_officer", county, sub="officer-a")
    approver = api("county_officer", county, sub="officer-b")
    staff = api("station_staff", unit["code"])
    auditor = api("auditor", county)
    public = api()
    station = open_station(admin, unit)
    fund = open_fund_when_station_known(approver, station["id"])
    assert (fund["level"], fund["station_id"], fund["division_code"]) == ("station", station["id"], unit["code"])
    assert auditor.get(f"/api/v1/charity/funds/{fund['id']}").json()["committee"][0]["name"] == "张*任"

    body = {"fund_id": fund["id"], "kind": "money", "received_on": "2026-05-04", "amount_fen": 880_000,
            "channel": "online", "payer_reference": "WX-001",
            "donor": {"kind": "person", "name": "张三丰", "phone": "13912345678", "consent_public": True}}
    assert staff.post("/api/v1/charity/donations", json=body).status_code == 400   # no Idempotency-Key
    donation = ok(staff.post("/api/v1/charity/donations", json=body, headers={"Idempotency-Key": "d-1"}), 201)
    again = ok(staff.post("/api/v1/charity/donations", json=body, headers={"Idempotency-Key": "d-1"}), 201)
    assert again["id"] == donation["id"]
    changed = staff.post("/api/v1/charity/donations", json=dict(body, amount_fen=1),
                         headers={"Idempotency-Key": "d-1"})
    assert changed.status_code == 409 and "Idempotency-Key" in changed.json()["error"]["fields"]
    receipt = ok(public.get(f"/api/v1/public/receipts/{donation['receipt_number']}"))
    assert receipt["donor"] == "张*丰" and receipt["amount_fen"] == 880_000 and receipt["status"] == "valid"
    page = ok(staff.get(f"/api/v1/charity/receipts/{donation['receipt_number']}/print"))
    assert page["amount_in_words"] == "人民币捌仟捌佰元整"

    requested = ok(requester.post("/api/v1/charity/disbursements", headers={"Idempotency-Key": "r-1"}, json={
        "fund_id": fund["id"], "purpose": "困难家庭临时救助", "category": "direct_aid",
        "payee": {"kind": "person", "name": "王大妈"}, "amount_fen": 900_000, "documents": ["救助申请表"]}), 201)
    assert staff.post(f"/api/v1/charity/disbursements/{requested['id']}/approve",
                      headers={"Idempotency-Key": "x"}).status_code == 403
    own = requester.post(f"/api/v1/charity/disbursements/{requested['id']}/approve", headers={"Idempotency-Key": "a-0"})
    assert own.status_code == 409
    short = approver.post(f"/api/v1/charity/disbursements/{requested['id']}/approve", headers={"Idempotency-Key": "a-1"})
    assert short.status_code == 409
    assert short.json()["error"]["code"] == "insufficient_funds"
    assert short.json()["error"]["details"]["available_fen"] == 880_000
    ok(requester.post(f"/api/v1/charity/disbursements/{requested['id']}/cancel", json={"reason": "金额有误"}))
    smaller = ok(requester.post("/api/v1/charity/disbursements", headers={"Idempotency-Key": "r-2"}, json={
        "fund_id": fund["id"], "purpose": "困难家庭临时救助", "category": "direct_aid",
        "payee": {"kind": "person", "name": "王大妈"}, "amount_fen": 300_000}), 201)
    ok(approver.post(f"/api/v1/charity/disbursements/{smaller['id']}/approve", headers={"Idempotency-Key": "a-2"}))
    assert ok(auditor.get(f"/api/v1/charity/funds/{fund['id']}"))["balances"]["cash_available_fen"] == 580_000
    paid = ok(approver.post(f"/api/v1/charity/disbursements/{smaller['id']}/pay", headers={"Idempotency-Key": "p-1"},
                            json={"payment_reference": "网银回单"}))
    assert paid["status"] == "paid" and paid["entry_id"]
    assert ok(auditor.get(f"/api/v1/charity/disbursements/{smaller['id']}"))["payee"]["name"] == "王*妈"
    assert auditor.post(f"/api/v1/charity/entries/{paid['entry_id']}/reverse", json={"reason": "x"},
                        headers={"Idempotency-Key": "v"}).status_code == 403

    report = ok(public.get(f"/api/v1/public/funds/{fund['id']}/report?from=2026-01&to=2026-12"))
    assert report["reconciles"]
    assert report["income"]["total_fen"] == 880_000 and report["spending"]["paid_fen"] == 300_000
    assert report["donors"]["named"] == [{"name": "张三丰", "kind": "person", "amount_fen": 880_000, "donations": 1}]
    assert "王大妈" not in str(report) and "13912345678" not in str(report)
    entries = ok(auditor.get(f"/api/v1/charity/funds/{fund['id']}/entries"))
    assert entries["total"] == 2 and all(sum(p["debit_fen"] - p["credit_fen"] for p in e["postings"]) == 0
                                         for e in entries["items"])
    trial = ok(auditor.get(f"/api/v1/charity/funds/{fund['id']}/trial-balance?from=2026-01&to=2026-12"))
    assert trial["balanced"] and trial["total_debits_fen"] == 1_180_000


def test_exports_of_the_ledger_donations_and_receipts_are_masked_for_auditors(api, units):
    from openpyxl import load_workbook

    unit = units.township()
    officer = api("county_officer", unit["areaCode"])
    auditor = api("auditor", unit["areaCode"])
    fund = ok(officer.post("/api/v1/charity/funds", json={
        "name": "乡镇慈善基金", "kind": "special_fund", "purpose": "助学", "region": unit["code"],
        "host": {"name": "县慈善会", "credit_code": credit_code()},
        "committee": [{"name": f"委员{i}", "role": "supervisor" if i == 0 else "member"} for i in range(5)]}), 201)
    ok(officer.post("/api/v1/charity/donations", headers={"Idempotency-Key": "e-1"}, json={
        "fund_id": fund["id"], "kind": "money", "received_on": "2026-06-01", "amount_fen": 12_345, "channel": "cash",
        "donor": {"kind": "person", "name": "李小梅", "phone": "13800001111"}}), 201)
    for path, title in (("charity/donations/export", "捐赠方"), ("charity/receipts/export", "收据编号"),
                        (f"charity/funds/{fund['id']}/entries/export", "凭证号")):
        query = f"?format=xlsx&fund_id={fund['id']}" if "entries" not in path else "?format=xlsx"
        response = auditor.get(f"/api/v1/{path}{query}")
        assert response.status_code == 200, response.text
        rows = list(load_workbook(io.BytesIO(response.content)).active.values)
        assert title in rows[0]
        text = str(rows)
        assert "李小梅" not in text and "13800001111" not in text
    csv = officer.get(f"/api/v1/charity/donations/export?format=csv&fund_id={fund['id']}")
    assert "李小梅" in csv.content.decode("utf-8-sig")
