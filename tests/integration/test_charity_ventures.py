"""Venture rounds, projects and service contracts against the real platform: volunteer
teams known from the volunteer service's events, reviewers kept off their own
organisation's applications, ranking and approval within the budget, tranches within
a project's budget, a close that returns what was not spent, and contract payments
only for accepted milestones."""
import datetime

import pytest

from services.common.clock import china_today
from services.common.errors import Conflict, Forbidden, InvalidInput, NotFound
from tests.fixtures import wait_for
from tests.integration.test_charity_support import ADMIN, FundScene, credit_code, key
from tests.integration.test_volunteer_support import open_station, station_known

pytestmark = pytest.mark.integration

CRITERIA = [{"key": "need", "title": "社区需求", "weight": 40},
            {"key": "design", "title": "项目设计", "weight": 35},
            {"key": "budget", "title": "预算合理", "weight": 25}]


@pytest.fixture
def venture(cluster, units):
    unit = units.township()
    scene = FundScene(cluster, unit)
    scene.donate(3_000_000)
    station = open_station(cluster, unit)
    station_known(cluster, station["id"], "operating")
    team = cluster.volunteer.create_team({"station_id": station["id"], "name": "红马甲志愿服务队"}, caller=ADMIN)
    today = china_today()
    round_ = scene.charity.create_round({
        "fund_id": scene.fund_id, "title": "2026年微公益创投", "budget_fen": 1_400_000,
        "call_from": (today - datetime.timedelta(days=10)).isoformat(),
        "call_to": (today + datetime.timedelta(days=10)).isoformat(),
        "criteria": CRITERIA, "grant_min_fen": 600_000, "grant_max_fen": 800_000, "min_score": 60,
        "reviewers": [{"sub": "reviewer-a", "name": "周专家", "organisation_id": team["id"]},
                      {"sub": "reviewer-b", "name": "吴专家"}]}, caller=scene.approver)
    return scene, team, round_


def application(kind, budget, **applicant):
    return {"applicant": {"kind": kind, **applicant}, "title": f"{kind}项目", "summary": "为社区老人提供助餐服务",
            "budget_lines": [{"item": "物资", "amount_fen": budget - 100_000}, {"item": "劳务", "amount_fen": 100_000}],
            "milestones": [{"key": "m1", "title": "启动", "due_on": "2026-12-31"},
                           {"key": "m2", "title": "结项", "due_on": "2027-06-30"}]}


def reviewer(scene, sub):
    return {"sub": sub, "role": "county_officer", "region": scene.county}


def submit_when_team_known(scene, round_id, body):
    def attempt():
        try:
            return scene.charity.submit_application(round_id, body, caller=scene.staff)
        except NotFound:
            return None
    return wait_for(attempt, timeout=20, message="the charity service to know the team")


def test_a_round_ranks_by_weighted_score_and_approves_within_its_budget(venture):
    scene, team, round_ = venture
    rid = round_["id"]
    by_team = submit_when_team_known(scene, rid, application("volunteer_team", 700_000, team_id=team["id"]))
    org = scene.charity.submit_application(rid, application(
        "community_organisation", 800_000, name="阳光社工服务中心", credit_code=credit_code("52")), caller=scene.staff)
    community = scene.charity.submit_application(rid, application(
        "community", 650_000, name="幸福社区居委会", community_code=scene.township + "001"), caller=scene.staff)
    weak = scene.charity.submit_application(rid, application(
        "community", 600_000, name="和平社区居委会", community_code=scene.township + "002"), caller=scene.staff)
    assert by_team["applicant"]["organisation_id"] == team["id"]
    # The reviewer from the team does not review the team's application.
    with pytest.raises(Conflict) as own:
        scene.charity.review_application(by_team["id"], {"scores": {"need": 90, "design": 90, "budget": 90}},
                                         caller=reviewer(scene, "reviewer-a"))
    assert "own organisation" in own.value.message
    with pytest.raises(Forbidden):
        scene.charity.review_application(org["id"], {"scores": {"need": 90, "design": 90, "budget": 90}},
                                         caller=reviewer(scene, "not-a-reviewer"))
    with pytest.raises(InvalidInput):
        scene.charity.review_application(org["id"], {"scores": {"need": 90}}, caller=reviewer(scene, "reviewer-b"))
    scores = {by_team["id"]: [("reviewer-b", (95, 90, 85))],
              org["id"]: [("reviewer-a", (90, 90, 90)), ("reviewer-b", (80, 80, 80))],
              community["id"]: [("reviewer-a", (70, 60, 80)), ("reviewer-b", (70, 70, 70))],
              weak["id"]: [("reviewer-a", (50, 50, 50)), ("reviewer-b", (55, 50, 40))]}
    for app_id, reviews in scores.items():
        for sub, (need, design, budget) in reviews:
            scene.charity.review_application(app_id, {"scores": {"need": need, "design": design, "budget": budget}},
                                             caller=reviewer(scene, sub))
    with pytest.raises(Conflict):
        scene.charity.review_application(org["id"], {"scores": {"need": 1, "design": 1, "budget": 1}},
                                         caller=reviewer(scene, "reviewer-b"))
    decided = scene.charity.decide_round(rid, {}, caller=scene.approver)
    ranking = [(a["id"], a["average_score"], a["status"]) for a in decided["ranking"]]
    # The organisation ranks second but its 800k no longer fits the 1.4m budget after the
    # team's 700k; the community's 650k does. The last is below the minimum score of 60.
    assert ranking == [(by_team["id"], 90.75, "approved"), (org["id"], 85.0, "not_approved"),
                       (community["id"], 69.5, "approved"), (weak["id"], 49.75, "not_approved")]
    assert decided["approved_fen"] == 1_350_000 and decided["status"] == "decided"
    with pytest.raises(Conflict):
        scene.charity.decide_round(rid, {}, caller=scene.approver)
    projects = scene.charity.list_projects({"round_id": rid}, caller=scene.auditor)["items"]
    assert sorted(p["budget_fen"] for p in projects) == [650_000, 700_000]


def test_a_project_is_paid_in_tranches_within_its_budget_and_returns_what_it_did_not_spend(venture):
    scene, team, round_ = venture
    app = scene.charity.submit_application(round_["id"], application(
        "community", 700_000, name="幸福社区居委会", community_code=scene.township + "001"), caller=scene.staff)
    scene.charity.review_application(app["id"], {"scores": {"need": 80, "design": 80, "budget": 80}},
                                     caller=reviewer(scene, "reviewer-b"))
    project_id = scene.charity.decide_round(round_["id"], {}, caller=scene.approver)["ranking"][0]["project_id"]
    first = scene.spend(400_000, project_id=project_id)
    assert first["category"] == "project_grant"
    with pytest.raises(Conflict) as too_much:
        scene.request(300_001, project_id=project_id)
    assert too_much.value.details == {"uncommitted_fen": 300_000}
    second = scene.request(300_000, project_id=project_id)
    scene.approve(second["id"])
    scene.charity.file_project_report(project_id, {"milestone_key": "m1", "summary": "已开展助餐12次",
                                                   "spent_fen": 350_000}, caller=scene.staff)
    with pytest.raises(Conflict) as waiting:
        scene.charity.close_project(project_id, {"summary": "结项", "lines": [{"item": "物资", "spent_fen": 1}]},
                                    caller=scene.approver, idempotency_key=key())
    assert waiting.value.details == {"disbursement_id": second["id"]}
    scene.pay(second["id"])
    balances = scene.balances()
    assert balances["project_advances_fen"] == 700_000 and balances["cash_posted_fen"] == 2_300_000
    with pytest.raises(InvalidInput):
        scene.charity.close_project(project_id, {"summary": "结项", "lines": [{"item": "物资", "spent_fen": 700_001}]},
                                    caller=scene.approver, idempotency_key=key())
    closed = scene.charity.close_project(project_id, {"summary": "服务老人300人次", "lines": [
        {"item": "物资", "spent_fen": 520_000}, {"item": "劳务", "spent_fen": 100_000}]},
        caller=scene.approver, idempotency_key=key())
    assert (closed["status"], closed["spent_fen"], closed["returned_fen"]) == ("closed", 620_000, 80_000)
    assert closed["budget_lines"] == [{"item": "物资", "budget_fen": 600_000, "spent_fen": 520_000},
                                      {"item": "劳务", "budget_fen": 100_000, "spent_fen": 100_000}]
    balances = scene.balances()
    assert balances["project_advances_fen"] == 0
    assert balances["cash_posted_fen"] == balances["cash_available_fen"] == 2_380_000
    budget = scene.charity.fund_budget(scene.fund_id, caller=scene.auditor)
    assert budget["totals"]["projects_paid_fen"] == 700_000
    assert budget["totals"]["projects_spent_fen"] == 620_000
    assert budget["totals"]["projects_returned_fen"] == 80_000
    with pytest.raises(Conflict):
        scene.request(1, project_id=project_id)


def test_a_contract_pays_only_accepted_milestones_up_to_their_amounts(cluster, units):
    scene = FundScene(cluster, units.township())
    scene.donate(1_000_000)
    contract = scene.charity.sign_contract({
        "fund_id": scene.fund_id, "title": "社工站运营服务", "purchaser": {"name": "某县民政局"},
        "provider": {"name": "阳光社会工作服务中心", "credit_code": credit_code("52")},
        "amount_fen": 900_000, "period_from": "2026-01-01", "period_to": "2026-12-31",
        "milestones": [{"title": "中期评估", "due_on": "2026-06-30", "amount_fen": 400_000},
                       {"title": "末期评估", "due_on": "2026-12-31", "amount_fen": 500_000}]},
        caller=scene.approver)
    first, second = contract["milestones"]
    with pytest.raises(Conflict) as early:
        scene.request(400_000, contract_id=contract["id"], milestone_id=first["id"])
    assert early.value.fields == {"milestone_id": ["not accepted"]}
    accepted = scene.charity.accept_milestone(contract["id"], first["id"], {"note": "验收合格"}, caller=scene.approver)
    assert accepted["accepted_fen"] == 400_000
    assert scene.balances()["payable_fen"] == 400_000
    with pytest.raises(Conflict):
        scene.request(400_001, contract_id=contract["id"], milestone_id=first["id"])
    with pytest.raises(Forbidden):
        scene.charity.accept_milestone(contract["id"], second["id"], {}, caller=scene.staff)
    paid = scene.spend(400_000, contract_id=contract["id"], milestone_id=first["id"])
    assert paid["category"] == "service_contract"
    after = scene.charity.get_contract(contract["id"], caller=scene.auditor)
    assert (after["amount_fen"], after["accepted_fen"], after["paid_fen"]) == (900_000, 400_000, 400_000)
    assert after["milestones"][0]["paid_fen"] == 400_000
    balances = scene.balances()
    assert balances["payable_fen"] == 0 and balances["cash_posted_fen"] == 600_000
    with pytest.raises(InvalidInput) as unbalanced:
        scene.charity.sign_contract({
            "fund_id": scene.fund_id, "title": "x", "purchaser": {"name": "某县民政局"},
            "provider": {"name": "y", "credit_code": credit_code("52")}, "amount_fen": 100,
            "period_from": "2026-01-01", "period_to": "2026-12-31",
            "milestones": [{"title": "m", "due_on": "2026-06-30", "amount_fen": 99}]}, caller=scene.approver)
    assert "milestones" in unbalanced.value.fields
