"""The charity service's part of `wushe up`: a community charity fund of Hefei (合肥市,
3401) with donations in money and in kind (and their receipts), a venture round with
scored applications (one from a demo volunteer team) decided into projects, a
government-purchased service contract with an accepted milestone, and disbursements
paid, approved (reserved) and waiting for approval.

Entered over RPC as officers would: a province officer requests, a city officer
approves (nobody approves their own request). A fund of that name in 3401 already
there means the demo was loaded: nothing is added twice.
"""
import datetime
import time

from services.common.clock import china_today
from services.charity import rules
from services.registry.demo import CALLER

AFTER = ("registry", "volunteer")
FUND_NAME = "合肥市社区慈善基金"
APPROVER = {"sub": "demo-approver", "role": "city_officer", "region": "3401"}
REVIEWERS = [{"sub": "demo-reviewer-1", "name": "周明", "organisation_id": None},
             {"sub": "demo-reviewer-2", "name": "吴芳", "organisation_id": None}]


def code(first17):
    return first17 + rules.credit_check_character(first17)


HOST = {"name": "合肥市慈善总会", "credit_code": code("53340100MJ0000001")}
PROVIDER = {"name": "合肥市阳光社会工作服务中心", "credit_code": code("52340100MJ0000002")}


def _team(cluster):
    """A demo volunteer team in Hefei, once the charity service has learnt of it (or None)."""
    teams = cluster.volunteer.list_teams({"region": "3401", "per_page": 1}, caller=CALLER)["items"]
    return teams[0] if teams else None


def _key(name):
    return f"demo-{name}"


def load(cluster, out=print):
    charity = cluster.charity
    known = charity.list_funds({"region": "3401", "per_page": 500}, caller=CALLER)["items"]
    if any(f["name"] == FUND_NAME for f in known):
        return
    fund = charity.open_fund({
        "name": FUND_NAME, "kind": "community_fund", "purpose": "扶老助残、济困助学、社区微公益创投",
        "region": "3401", "host": HOST,
        "committee": [{"name": "王建华", "role": "chair", "title": "主任"},
                      {"name": "李秀英", "role": "member"}, {"name": "张卫东", "role": "member"},
                      {"name": "陈静", "role": "member"}, {"name": "刘国平", "role": "supervisor", "title": "监事"}]},
        caller=APPROVER, idempotency_key=_key("fund"))
    fund_id = fund["id"]
    today = china_today()
    gifts = [({"kind": "organisation", "name": "安徽某电力有限公司", "consent_public": True}, 5_000_000, "bank_transfer"),
             ({"kind": "person", "name": "张三丰", "phone": "13900000001", "consent_public": True}, 200_000, "online"),
             ({"kind": "person", "name": "李小梅", "phone": "13900000002", "consent_public": False}, 50_000, "cash"),
             ({"kind": "anonymous"}, 88_800, "online")]
    for n, (donor, amount, channel) in enumerate(gifts, start=1):
        charity.record_donation({"fund_id": fund_id, "kind": "money", "received_on": today.isoformat(),
                                 "amount_fen": amount, "channel": channel, "donor": donor,
                                 "payer_reference": f"DEMO-{n:03d}", "handler": "王社工"},
                                caller=CALLER, idempotency_key=_key(f"donation-{n}"))
    charity.record_donation({"fund_id": fund_id, "kind": "in_kind", "received_on": today.isoformat(),
                             "items": [{"name": "大米", "quantity": 100, "unit": "袋", "value_fen": 600_000},
                                       {"name": "棉被", "quantity": 40, "unit": "床", "value_fen": 320_000}],
                             "valuation": {"basis": "invoice", "valued_by": "王社工", "note": "按发票金额"},
                             "donor": {"kind": "organisation", "name": "合肥某超市", "consent_public": True},
                             "handler": "王社工"}, caller=CALLER, idempotency_key=_key("donation-goods"))

    round_ = charity.create_round({
        "fund_id": fund_id, "title": f"{today.year}年合肥市微公益创投", "budget_fen": 2_000_000,
        "call_from": (today - datetime.timedelta(days=7)).isoformat(),
        "call_to": (today + datetime.timedelta(days=21)).isoformat(),
        "criteria": [{"key": "need", "title": "社区需求", "weight": 40},
                     {"key": "design", "title": "项目设计", "weight": 35},
                     {"key": "budget", "title": "预算合理", "weight": 25}],
        "grant_min_fen": 600_000, "grant_max_fen": 800_000, "min_score": 60,
        "reviewers": REVIEWERS}, caller=APPROVER)
    applicants = [{"kind": "community_organisation", "name": "庐阳区邻里互助协会",
                   "credit_code": code("52340103MJ0000003")},
                  {"kind": "community", "name": "逍遥津街道和平社区", "community_code": "340103001001"},
                  {"kind": "community", "name": "蜀山区幸福社区", "community_code": "340104001002"}]
    team = _wait_for_team(cluster)
    if team:
        applicants.append({"kind": "volunteer_team", "team_id": team["id"]})
    scores = [(88, 85, 90), (75, 80, 70), (62, 58, 66), (92, 90, 86)]
    applications = []
    for n, applicant in enumerate(applicants):
        budget = 800_000 - 50_000 * n
        application = charity.submit_application(round_["id"], {
            "applicant": applicant, "title": ["长者助餐", "四点半课堂", "邻里花园", "银龄陪伴"][n],
            "summary": "面向社区困难群体的微公益项目",
            "budget_lines": [{"item": "物资", "amount_fen": budget - 200_000}, {"item": "劳务", "amount_fen": 200_000}],
            "milestones": [{"key": "m1", "title": "启动", "due_on": (today + datetime.timedelta(days=60)).isoformat()},
                           {"key": "m2", "title": "结项", "due_on": (today + datetime.timedelta(days=300)).isoformat()}]},
            caller=CALLER)
        applications.append(application)
        for reviewer in REVIEWERS:
            need, design, budget_score = scores[n]
            charity.review_application(application["id"], {"scores": {"need": need, "design": design,
                                                                      "budget": budget_score}},
                                       caller={"sub": reviewer["sub"], "role": "city_officer", "region": "3401"})
    decided = charity.decide_round(round_["id"], {}, caller=APPROVER)
    projects = [a["project_id"] for a in decided["ranking"] if a["project_id"]]

    contract = charity.sign_contract({
        "fund_id": fund_id, "title": "社工站运营服务（政府购买服务）", "purchaser": {"name": "合肥市民政局"},
        "provider": PROVIDER, "amount_fen": 1_200_000,
        "period_from": f"{today.year}-01-01", "period_to": f"{today.year}-12-31",
        "milestones": [{"title": "中期评估", "due_on": f"{today.year}-06-30", "amount_fen": 500_000},
                       {"title": "末期评估", "due_on": f"{today.year}-12-31", "amount_fen": 700_000}]},
        caller=APPROVER)
    milestone = contract["milestones"][0]["id"]
    charity.accept_milestone(contract["id"], milestone, {"note": "中期评估合格"}, caller=APPROVER)

    def request(name, body):
        return charity.request_disbursement({"fund_id": fund_id, "documents": [f"DEMO-{name}"], **body},
                                            caller=CALLER, idempotency_key=_key(f"request-{name}"))

    tranche = request("tranche", {"purpose": "创投项目首期拨付", "project_id": projects[0],
                                  "payee": {"kind": "organisation", "name": "项目执行方"}, "amount_fen": 400_000})
    service = request("contract", {"purpose": "中期服务费", "contract_id": contract["id"], "milestone_id": milestone,
                                   "payee": {"kind": "organisation", "name": PROVIDER["name"]}, "amount_fen": 500_000})
    aid = request("aid", {"purpose": "困难老人冬季慰问", "category": "direct_aid",
                          "payee": {"kind": "person", "name": "赵奶奶"}, "amount_fen": 80_000})
    request("waiting", {"purpose": "社区助残活动", "category": "activity",
                        "payee": {"kind": "organisation", "name": "社区残疾人协会"}, "amount_fen": 120_000})
    for name, item in (("tranche", tranche), ("contract", service), ("aid", aid)):
        charity.approve_disbursement(item["id"], {}, caller=APPROVER, idempotency_key=_key(f"approve-{name}"))
    for name, item in (("tranche", tranche), ("contract", service)):
        charity.pay_disbursement(item["id"], {"payment_reference": f"网银-{name}"}, caller=APPROVER,
                                 idempotency_key=_key(f"pay-{name}"))
    out(f"demo: {FUND_NAME} with 5 donations, a venture round of {len(applications)} scored applications "
        f"({len(projects)} projects), a service contract, 2 paid, 1 approved and 1 waiting disbursement")


def _wait_for_team(cluster, timeout=20):
    """The volunteer demo's team, once the charity service has learnt of it from its event."""
    team = _team(cluster)
    if team is None:
        return None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            cluster.charity.get_team(team["id"], caller=CALLER)
            return team
        except Exception:
            time.sleep(0.5)
    return None
