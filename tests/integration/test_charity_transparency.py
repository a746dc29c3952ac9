"""The public report of a fund reconciles with its ledger to the fen, names only donors
who consented, shows what ended projects left and where it went, and holds no
personal data."""
import datetime
import json

import pytest

from services.common.clock import china_today
from tests.integration.test_charity_support import FundScene, credit_code, key

pytestmark = pytest.mark.integration


def month_end(month):
    year, mon = int(month[:4]), int(month[5:])
    following = datetime.date(year + mon // 12, mon % 12 + 1, 1)
    return (following - datetime.timedelta(days=1)).isoformat()


def ledger_figures(entries, first, last):
    """What the entries themselves say, summed here from scratch."""
    last_day = month_end(last)
    closing, income, paid, by_dim = {}, 0, 0, {}
    for entry in entries:
        if entry["booked_on"] > last_day:
            continue
        for p in entry["postings"]:
            net = p["debit_fen"] - p["credit_fen"]
            closing[p["account"]] = closing.get(p["account"], 0) + net
            if entry["booked_on"][:7] < first:
                continue
            if p["account"] in ("donation_income", "in_kind_income"):
                income -= net
            if p["account"] == "cash" and entry["dim"].split(":")[0] in ("project", "contract", "category"):
                paid -= net
                by_dim[entry["dim"]] = by_dim.get(entry["dim"], 0) - net
    return {"cash": closing.get("cash", 0), "in_kind": closing.get("in_kind_goods", 0),
            "income": income, "paid": paid, "by_dim": by_dim}


def test_the_public_report_reconciles_with_the_ledger_to_the_fen(cluster, units):
    scene = FundScene(cluster, units.township(), opening=12_345)
    named = scene.donate(100_000, donor={"kind": "person", "name": "张三丰", "phone": "13900000001",
                                         "consent_public": True}, received_on="2026-03-05")
    scene.donate(50_001, donor={"kind": "anonymous"}, received_on="2026-03-20")
    scene.donate(30_000, donor={"kind": "person", "name": "李不公开", "phone": "13900000002",
                                "consent_public": False}, received_on="2026-04-02")
    scene.donate(20_000, donor={"kind": "organisation", "name": "合肥某科技有限公司", "consent_public": True},
                 received_on="2026-04-03")
    duplicate = scene.donate(7_777, donor={"kind": "person", "name": "张三丰", "consent_public": True},
                             received_on="2026-04-09")
    scene.charity.reverse_entry(duplicate["entry_id"], {"reason": "重复录入"}, caller=scene.approver,
                                idempotency_key=key())
    scene.donate_in_kind([{"name": "大米", "quantity": 100, "unit": "袋", "value_fen": 45_000}],
                         received_on="2026-04-10")
    scene.charity.distribute_goods(scene.fund_id, {
        "items": [{"name": "大米", "quantity": 30, "unit": "袋", "value_fen": 13_500}],
        "purpose": "重阳节慰问王大妈等30户", "category": "direct_aid"}, caller=scene.staff, idempotency_key=key())
    aid = scene.spend(40_000)   # payee 王大妈, a person
    wrong = scene.spend(9_999)
    scene.charity.reverse_entry(wrong["entry_id"], {"reason": "付错"}, caller=scene.approver, idempotency_key=key())
    contract = scene.charity.sign_contract({
        "fund_id": scene.fund_id, "title": "困境儿童关爱服务", "purchaser": {"name": "某县民政局"},
        "provider": {"name": "阳光社会工作服务中心", "credit_code": credit_code("52")},
        "amount_fen": 60_000, "period_from": "2026-01-01", "period_to": "2026-12-31",
        "milestones": [{"title": "全年服务", "due_on": "2026-12-31", "amount_fen": 60_000}]}, caller=scene.approver)
    milestone = contract["milestones"][0]["id"]
    scene.charity.accept_milestone(contract["id"], milestone, {}, caller=scene.approver)
    scene.spend(60_000, contract_id=contract["id"], milestone_id=milestone)

    today = china_today()
    first, last = "2026-01", today.isoformat()[:7]
    report = cluster.charity.public_report(scene.fund_id, {"from": first, "to": last})
    assert report["reconciles"] and all(report["checks"].values())
    ledger = ledger_figures(scene.entries(), first, last)
    assert report["cash"]["closing_fen"] == ledger["cash"] == scene.balances()["cash_posted_fen"]
    assert report["in_kind"]["held_closing_fen"] == ledger["in_kind"] == 31_500
    assert report["income"]["total_fen"] == ledger["income"] == 100_000 + 50_001 + 30_000 + 20_000 + 45_000
    assert report["spending"]["paid_fen"] == ledger["paid"] == 40_000 + 60_000
    assert {(s["purpose"], s["amount_fen"]) for s in report["spending"]["by_purpose"]} >= \
        {("direct_aid", 40_000), ("service_contract", 60_000)}
    assert report["spending"]["by_contract"] == [{"contract_id": contract["id"], "title": "困境儿童关爱服务",
                                                 "amount_fen": 60_000}]
    cash = report["cash"]
    assert (cash["opening_fen"], cash["brought_forward_fen"]) == (0, 12_345)   # booked on opening the fund
    assert cash["opening_fen"] + cash["brought_forward_fen"] + cash["donations_fen"] \
        + cash["project_returns_fen"] - cash["paid_out_fen"] == cash["closing_fen"]
    # The trial balance of the same months says the same.
    trial = scene.charity.trial_balance(scene.fund_id, {"from": first, "to": last}, caller=scene.auditor)
    rows = {r["account"]: r for r in trial["accounts"]}
    assert rows["cash"]["closing_fen"] == report["balance"]["closing"]["cash_fen"]
    assert rows["donation_income"]["credits_fen"] - rows["donation_income"]["debits_fen"] \
        + rows["in_kind_income"]["credits_fen"] - rows["in_kind_income"]["debits_fen"] == report["income"]["total_fen"]
    # By month: March and April; the reversal nets in the month it was booked.
    months = {m["month"]: m for m in report["income"]["by_month"]}
    assert months["2026-03"]["total_fen"] == 150_001 and months["2026-03"]["anonymous_fen"] == 50_001
    assert months["2026-04"]["money_fen"] == 30_000 + 20_000 + 7_777 - (7_777 if last == "2026-04" else 0)
    assert months["2026-04"]["in_kind_fen"] == 45_000
    # Donors: only those who consented by name, everyone else as 爱心人士; the sum is the income.
    named_donors = {d["name"]: d["amount_fen"] for d in report["donors"]["named"]}
    assert named_donors == {"张三丰": 100_000, "合肥某科技有限公司": 20_000, "合肥爱心超市": 45_000}
    assert report["donors"]["others"] == {"name": "爱心人士", "kind": None, "amount_fen": 80_001, "donations": 2}
    assert report["donors"]["total_fen"] == report["income"]["total_fen"]
    assert report["in_kind"]["items"] == [{"item": "大米", "unit": "袋", "received": "100", "received_fen": 45_000,
                                          "distributed": "30", "distributed_fen": 13_500}]
    text = json.dumps(report, ensure_ascii=False)
    for private in ("李不公开", "13900000001", "王大妈", "6222000011112222", "慰问困难老人"):
        assert private not in text
    assert named["id"] not in text   # nor record ids that lead to a donor
    # A period of March alone.
    march = cluster.charity.public_report(scene.fund_id, {"from": "2026-03-01", "to": "2026-03-31"})
    assert march["income"]["total_fen"] == 150_001 and march["reconciles"]
    assert march["cash"]["closing_fen"] == 150_001   # the opening balance was booked today
    assert march["spending"]["paid_fen"] == 0
    assert aid["status"] == "paid"


def test_an_ended_project_shows_what_was_left_and_where_it_went(cluster, units):
    scene = FundScene(cluster, units.township())
    scene.donate(2_000_000)
    today = china_today()
    round_ = scene.charity.create_round({
        "fund_id": scene.fund_id, "title": "创投", "budget_fen": 800_000,
        "call_from": (today - datetime.timedelta(days=1)).isoformat(), "call_to": today.isoformat(),
        "criteria": [{"key": "overall", "title": "综合", "weight": 100}], "grant_max_fen": 800_000,
        "reviewers": [{"sub": "rev", "name": "周专家"}]}, caller=scene.approver)
    app = scene.charity.submit_application(round_["id"], {
        "applicant": {"kind": "community", "name": "幸福社区", "community_code": scene.township + "003"},
        "title": "长者助餐", "summary": "每周三次助餐", "budget_lines": [{"item": "餐费", "amount_fen": 800_000}],
        "milestones": [{"key": "m1", "title": "结项", "due_on": "2027-03-31"}]}, caller=scene.staff)
    scene.charity.review_application(app["id"], {"scores": {"overall": 88}},
                                     caller={"sub": "rev", "role": "county_officer", "region": scene.county})
    project_id = scene.charity.decide_round(round_["id"], {}, caller=scene.approver)["ranking"][0]["project_id"]
    scene.spend(500_000, project_id=project_id)
    scene.charity.close_project(project_id, {"summary": "服务长者1200人次", "lines": [{"item": "餐费", "spent_fen": 430_000}]},
                                caller=scene.approver, idempotency_key=key())
    report = cluster.charity.public_report(scene.fund_id, {"from": "2026-01", "to": today.isoformat()[:7]})
    assert report["reconciles"]
    project = next(p for p in report["projects"] if p["id"] == project_id)
    assert (project["budget_fen"], project["paid_fen"], project["spent_fen"]) == (800_000, 500_000, 430_000)
    assert (project["left_fen"], project["returned_fen"], project["unused_budget_fen"]) == (370_000, 70_000, 300_000)
    assert project["returned_to"] == f"{scene.fund['name']} 货币资金"
    assert [r["kind"] for r in project["reports"]] == ["final"]
    assert report["cash"]["project_returns_fen"] == 70_000
    assert report["cash"]["closing_fen"] == 2_000_000 - 500_000 + 70_000
    assert report["spending"]["by_project"] == [{"project_id": project_id, "title": "长者助餐", "amount_fen": 500_000}]
