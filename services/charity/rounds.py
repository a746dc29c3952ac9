"""Micro-charity venture rounds (微公益创投): a call, applications, reviews, a decision.

    rounds: {_id: "VR<hex>", fund_id, station_id, region codes, title, budget_fen,
             call_from, call_to, criteria: [{key, title, weight}], grant_min_fen,
             grant_max_fen, min_score, reviewers: [{sub, name, organisation_id}],
             status: open|decided, applications, approved_fen, decided_on}
    applications: {_id: "VA<hex>", round_id, fund_id, region codes, seq,
             applicant: {kind, name, organisation_id}, title, summary,
             budget_lines: [{item, amount_fen}], budget_fen, milestones: [{key, title, due_on}],
             score_total, reviews, average_score, rank, status, project_id, submitted_at}
    reviews: {_id: "<application>:<reviewer sub>", application_id, round_id, reviewer,
              scores: {criterion: 0-100}, weighted, comment, at}

Decisions:
* Weights are whole percentages summing to 100; a reviewer scores every
  criterion 0-100, once per application; an application's score is the
  average of its reviewers' weighted scores (rules.weighted_score).
* Applicants: a community (its village/community code), a community social
  organisation (its credit code) or a volunteer team known from the
  volunteer service's `team.created` (services/charity/teams_view.py). That
  code is the applicant's `organisation_id`; a reviewer whose organisation
  is the applicant's does not review it.
* Applications come in during the call period (China dates, inclusive),
  each with a budget by line within the round's grant range.
* Deciding ranks the applications by score (ties: submitted first) and
  approves down the ranking each one that still fits the round's budget and
  reaches `min_score`; each approved one becomes a project
  (services/charity/projects.py) and `project.approved`. A decided round is final.
"""
import uuid

from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from services.common import access, clock, queries
from services.common.errors import Conflict, Forbidden, InvalidInput, write_conflict
from services.common.jsonable import jsonable
from services.charity import funds, projects, roles, rules, teams_view


def ensure_indexes(db):
    db.rounds.create_index([("fund_id", 1)])
    for field in ("province", "city", "county", "division_code"):
        db.rounds.create_index([(field, 1), ("_id", 1)])
    db.applications.create_index([("round_id", 1), ("seq", 1)])
    db.reviews.create_index([("round_id", 1)])


def create(tx, data, caller):
    roles.ensure_approver(caller, "open a venture round")
    fund = funds.load(tx.db, data["fund_id"], caller, tx.session)
    if fund["status"] != "open":
        raise Conflict(f"fund {fund['_id']} is {fund['status']}", fields={"fund_id": [f"fund is {fund['status']}"]})
    problem = rules.weights_problem(data["criteria"])
    if problem:
        raise InvalidInput(problem, fields={"criteria": [problem]})
    if data["call_to"] < data["call_from"]:
        raise InvalidInput("call_to is before call_from", fields={"call_to": ["before call_from"]})
    low, high = data.get("grant_min_fen") or 0, data.get("grant_max_fen")
    if high is not None and high < low:
        raise InvalidInput("grant_max_fen is below grant_min_fen", fields={"grant_max_fen": ["below grant_min_fen"]})
    round_ = {
        "_id": "VR" + uuid.uuid4().hex[:12], **funds.copied_regions(fund),
        "title": data["title"].strip(), "budget_fen": data["budget_fen"],
        "call_from": data["call_from"].isoformat(), "call_to": data["call_to"].isoformat(),
        "criteria": [{"key": c["key"], "title": c["title"], "weight": c["weight"]} for c in data["criteria"]],
        "grant_min_fen": low, "grant_max_fen": high, "min_score": data.get("min_score") or 0,
        "reviewers": [{"sub": r["sub"], "name": r["name"], "organisation_id": r.get("organisation_id")}
                      for r in data["reviewers"]],
        "status": "open", "applications": 0, "approved_fen": 0, "decided_on": None,
        "created_at": clock.now_ms(), "created_by": access.actor(caller),
    }
    tx.db.rounds.insert_one(round_, session=tx.session)
    return view(round_, caller)


def load(db, round_id, caller, session=None, field="round_id"):
    return queries.load_in_region(db.rounds, round_id, caller, what="venture round", field=field,
                                  region_field="region", session=session)


def _organisation(tx, applicant, fund, caller):
    kind = applicant["kind"]
    if kind == "volunteer_team":
        team = teams_view.known_team(tx.db, applicant["team_id"], caller, tx.session)
        if not (team["division_code"] or "").startswith(fund["region"]):
            raise InvalidInput(f"team {team['_id']} is outside the fund's region {fund['region']}",
                               fields={"applicant.team_id": ["outside the fund's region"]})
        return team["_id"], applicant.get("name") or team["name"]
    if kind == "community_organisation":
        problem = rules.credit_code_problem(applicant.get("credit_code"))
        if problem:
            raise InvalidInput(f"applicant credit_code {problem}", fields={"applicant.credit_code": [problem]})
        return applicant["credit_code"], applicant["name"]
    code = applicant.get("community_code") or ""
    if not code.startswith(fund["region"]):
        raise InvalidInput(f"community {code} is outside the fund's region {fund['region']}",
                           fields={"applicant.community_code": ["outside the fund's region"]})
    return code, applicant["name"]


def submit(tx, round_id, data, caller):
    roles.ensure_writer(caller)
    round_ = load(tx.db, round_id, caller, tx.session)
    today = clock.china_today().isoformat()
    if round_["status"] != "open" or not round_["call_from"] <= today <= round_["call_to"]:
        raise Conflict(f"round {round_id} takes applications from {round_['call_from']} to "
                       f"{round_['call_to']} while open; it is {round_['status']} on {today}",
                       fields={"round_id": ["not taking applications"]})
    fund = tx.db.funds.find_one({"_id": round_["fund_id"]}, session=tx.session)
    organisation_id, name = _organisation(tx, data["applicant"], fund, caller)
    lines = [{"item": line["item"].strip(), "amount_fen": line["amount_fen"]} for line in data["budget_lines"]]
    total = sum(line["amount_fen"] for line in lines)
    high = round_["grant_max_fen"]
    if total < round_["grant_min_fen"] or (high is not None and total > high):
        raise InvalidInput(f"the budget {rules.yuan(total)} yuan is outside the round's grant range "
                           f"{rules.yuan(round_['grant_min_fen'])}-{rules.yuan(high) if high else '-'} yuan",
                           fields={"budget_lines": ["total outside the grant range"]})
    keys = [m["key"] for m in data["milestones"]]
    if len(set(keys)) != len(keys):
        raise InvalidInput("milestone keys must be unique", fields={"milestones": ["duplicate key"]})
    counted = tx.db.rounds.find_one_and_update({"_id": round_id}, {"$inc": {"applications": 1}},
                                               return_document=ReturnDocument.AFTER, session=tx.session)
    application = {
        "_id": "VA" + uuid.uuid4().hex[:12], "round_id": round_id, **funds.copied_regions(fund),
        "seq": counted["applications"],
        "applicant": {"kind": data["applicant"]["kind"], "name": name.strip(),
                      "organisation_id": organisation_id},
        "title": data["title"].strip(), "summary": data["summary"], "budget_lines": lines,
        "budget_fen": total,
        "milestones": [{"key": m["key"], "title": m["title"], "due_on": m["due_on"].isoformat()}
                       for m in data["milestones"]],
        "score_total": 0, "reviews": 0, "average_score": None, "rank": None,
        "status": "submitted", "project_id": None,
        "submitted_at": clock.now_ms(), "submitted_by": access.actor(caller),
    }
    tx.db.applications.insert_one(application, session=tx.session)
    return application_view(application)


def review(tx, application_id, data, caller):
    roles.ensure_writer(caller)
    application = queries.load_in_region(tx.db.applications, application_id, caller,
                                         what="application", field="application_id",
                                         region_field="region", session=tx.session)
    round_ = tx.db.rounds.find_one({"_id": application["round_id"]}, session=tx.session)
    if round_["status"] != "open":
        raise Conflict(f"round {round_['_id']} is decided", fields={"application_id": ["round is decided"]})
    reviewer = next((r for r in round_["reviewers"] if r["sub"] == caller.get("sub")), None)
    if reviewer is None:
        raise Forbidden(f"{caller.get('sub')} is not a reviewer of round {round_['_id']}",
                        fields={"reviewer": ["not a reviewer of this round"]})
    if reviewer.get("organisation_id") and reviewer["organisation_id"] == application["applicant"]["organisation_id"]:
        raise Conflict("a reviewer does not review an application of their own organisation",
                       fields={"application_id": ["your own organisation's application"]})
    keys = {c["key"] for c in round_["criteria"]}
    if set(data["scores"]) != keys:
        raise InvalidInput("score every criterion of the round, and only those",
                           fields={"scores": [f"give exactly {', '.join(sorted(keys))}"]})
    review_id = f"{application_id}:{caller.get('sub')}"
    if tx.db.reviews.find_one({"_id": review_id}, {"_id": 1}, session=tx.session):
        raise Conflict(f"you already reviewed application {application_id}",
                       fields={"application_id": ["already reviewed by you"]})
    weighted = rules.weighted_score(round_["criteria"], data["scores"])
    try:
        tx.db.reviews.insert_one({"_id": review_id, "application_id": application_id,
                                  "round_id": round_["_id"], "reviewer": caller.get("sub"),
                                  "scores": data["scores"], "weighted": weighted,
                                  "comment": data.get("comment"), "at": clock.now_ms()},
                                 session=tx.session)
    except DuplicateKeyError:
        raise write_conflict(f"review {review_id} was stored meanwhile")
    tx.db.applications.update_one({"_id": application_id},
                                  {"$inc": {"score_total": weighted, "reviews": 1}}, session=tx.session)
    return application_view(tx.db.applications.find_one({"_id": application_id}, session=tx.session))


def decide(tx, round_id, data, caller):
    roles.ensure_approver(caller, "decide a venture round")
    round_ = load(tx.db, round_id, caller, tx.session)
    result = tx.db.rounds.update_one({"_id": round_id, "status": "open"},
                                     {"$set": {"status": "decided",
                                               "decided_on": clock.china_today().isoformat()}},
                                     session=tx.session)
    if result.matched_count != 1:
        raise Conflict(f"round {round_id} is already decided", fields={"round_id": ["already decided"]})
    found = list(tx.db.applications.find({"round_id": round_id}, session=tx.session))
    ranked = rules.rank([{**a, "id": a["_id"], "submitted_seq": a["seq"]} for a in found])
    approved, _passed = rules.select_within_budget(ranked, round_["budget_fen"], round_["min_score"])
    approved = set(approved)
    total = 0
    for rank, application in enumerate(ranked, start=1):
        fields = {"rank": rank, "average_score": rules.average_score(application),
                  "status": "approved" if application["id"] in approved else "not_approved"}
        if application["id"] in approved:
            project = projects.create(tx, round_, application, rank, caller)
            fields["project_id"] = project["_id"]
            total += application["budget_fen"]
        tx.db.applications.update_one({"_id": application["id"]}, {"$set": fields}, session=tx.session)
    tx.db.rounds.update_one({"_id": round_id}, {"$set": {"approved_fen": total}}, session=tx.session)
    return ranking(tx.db, round_id, caller, tx.session)


# ---- answers ----

def view(round_, caller):
    out = {k: round_.get(k) for k in ("fund_id", "station_id", "region", "title", "budget_fen",
                                      "call_from", "call_to", "criteria", "grant_min_fen",
                                      "grant_max_fen", "min_score", "status", "applications",
                                      "approved_fen", "decided_on", "created_at")}
    out["id"] = round_["_id"]
    personal = access.sees_personal_data(caller)
    out["reviewers"] = [{**r, "name": r["name"] if personal else access.mask_name(r["name"])}
                        for r in round_["reviewers"]]
    return jsonable(out)


def application_view(application):
    out = {k: application.get(k) for k in ("round_id", "fund_id", "seq", "applicant", "title",
                                            "summary", "budget_lines", "budget_fen", "milestones",
                                            "reviews", "rank", "status", "project_id", "submitted_at")}
    out["id"] = application["_id"]
    out["average_score"] = rules.average_score(application)
    return jsonable(out)


def get(db, round_id, caller):
    return view(load(db, round_id, caller), caller)


def ranking(db, round_id, caller, session=None):
    """The round with its applications, best first (by score while open; by rank once decided)."""
    round_ = load(db, round_id, caller, session)
    found = list(db.applications.find({"round_id": round_id}, session=session))
    ordered = rules.rank([{**a, "id": a["_id"], "submitted_seq": a["seq"]} for a in found])
    return {**view(round_, caller), "ranking": [application_view(a) for a in ordered]}


def list_page(db, query, caller):
    selector = queries.scoped(caller, query.get("region"))
    for field in ("fund_id", "status"):
        if query.get(field):
            selector[field] = query[field]
    return queries.page(db.rounds, selector, query, lambda found: [view(r, caller) for r in found])
