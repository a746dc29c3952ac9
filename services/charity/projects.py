"""Venture projects (微公益创投项目): an approved application, paid in tranches, reported
on against its milestones, closed with a final report that returns what it did not spend.

    projects: {_id: "VP<hex>", round_id, application_id, fund_id, station_id, region codes,
               title, applicant: {kind, name, organisation_id}, budget_fen,
               budget_lines: [{item, amount_fen}], milestones: [{key, title, due_on}],
               status: active|closed, uncommitted_fen, committed_fen, paid_fen,
               spent_fen, returned_fen, reports: [{kind, milestone_key, summary,
               spent_fen, lines, filed_on, filed_by}], approved_on, closed_on, close_entry_id}

Decisions:
* A tranche is a disbursement with `project_id` (services/charity/disbursements.py):
  it is held against the budget from its request on (`uncommitted_fen >=
  amount`, a conditional update), so tranches never exceed the budget.
* Paid tranches are advances (Dr project_advances, Cr cash): the money left
  the fund but is not spent until the project says so. The final report
  gives the spending by budget line (at most what was paid); closing posts
  one entry: Dr grant_expense (spent), Dr cash (returned: paid - spent),
  Cr project_advances (paid). What it did not spend is back in the fund's
  available cash, within the ledger.
* A project closes only with no tranche waiting (requested or approved).
"""
from services.common import access, clock, queries
from services.common.errors import Conflict, InvalidInput
from services.common.jsonable import jsonable
from services.charity import funds, ledger, roles, rules


def ensure_indexes(db):
    db.projects.create_index([("fund_id", 1), ("status", 1)])
    db.projects.create_index([("round_id", 1)])
    for field in ("province", "city", "county", "division_code"):
        db.projects.create_index([(field, 1), ("_id", 1)])


def create(tx, round_, application, rank, caller):
    """The project of an approved application (rounds.decide)."""
    fund = tx.db.funds.find_one({"_id": round_["fund_id"]}, session=tx.session)
    project = {
        "_id": "VP" + application["_id"][2:], "round_id": round_["_id"],
        "application_id": application["_id"], **funds.copied_regions(fund),
        "title": application["title"], "applicant": application["applicant"],
        "budget_fen": application["budget_fen"], "budget_lines": application["budget_lines"],
        "milestones": application["milestones"], "status": "active",
        "uncommitted_fen": application["budget_fen"], "committed_fen": 0, "paid_fen": 0,
        "spent_fen": None, "returned_fen": None, "reports": [], "rank": rank,
        "approved_on": clock.china_today().isoformat(), "closed_on": None, "close_entry_id": None,
    }
    tx.db.projects.insert_one(project, session=tx.session)
    tx.emit("project.approved", project["_id"], {
        **funds.event_regions(fund), "project_id": project["_id"], "round_id": round_["_id"],
        "applicant_kind": application["applicant"]["kind"], "budget_fen": project["budget_fen"],
        "rank": rank, "approved_on": project["approved_on"]})
    return project


def fund_of(db, project_id):
    found = db.projects.find_one({"_id": project_id}, {"fund_id": 1}) if isinstance(project_id, str) else None
    return found["fund_id"] if found else None


def load(db, project_id, caller, session=None, field="project_id"):
    return queries.load_in_region(db.projects, project_id, caller, what="project", field=field,
                                  region_field="region", session=session)


def hold(tx, project_id, fund, amount):
    """Hold (amount > 0) or give back (amount < 0) part of the project's budget for a tranche."""
    if amount > 0:
        result = tx.db.projects.update_one(
            {"_id": project_id, "fund_id": fund["_id"], "status": "active",
             "uncommitted_fen": {"$gte": amount}},
            {"$inc": {"uncommitted_fen": -amount, "committed_fen": amount}}, session=tx.session)
        if result.matched_count == 1:
            return
        project = tx.db.projects.find_one({"_id": project_id}, session=tx.session)
        if project is None or project["fund_id"] != fund["_id"]:
            raise InvalidInput(f"fund {fund['_id']} has no project {project_id}",
                               fields={"project_id": ["not a project of this fund"]})
        if project["status"] != "active":
            raise Conflict(f"project {project_id} is {project['status']}",
                           fields={"project_id": [f"project is {project['status']}"]})
        raise Conflict(f"project {project_id} has {rules.yuan(project['uncommitted_fen'])} yuan of "
                       f"its budget left to request, less than {rules.yuan(amount)}",
                       fields={"amount_fen": [f"more than the {project['uncommitted_fen']} fen left"]},
                       details={"uncommitted_fen": project["uncommitted_fen"]})
    tx.db.projects.update_one({"_id": project_id},
                              {"$inc": {"uncommitted_fen": -amount, "committed_fen": amount}},
                              session=tx.session)


def paid(tx, project_id, amount):
    tx.db.projects.update_one({"_id": project_id}, {"$inc": {"paid_fen": amount}}, session=tx.session)


def file_report(tx, project_id, data, caller):
    roles.ensure_writer(caller)
    project = load(tx.db, project_id, caller, tx.session)
    if project["status"] != "active":
        raise Conflict(f"project {project_id} is closed", fields={"project_id": ["project is closed"]})
    keys = {m["key"] for m in project["milestones"]}
    if data["milestone_key"] not in keys:
        raise InvalidInput(f"project {project_id} has no milestone {data['milestone_key']}",
                           fields={"milestone_key": [f"one of {', '.join(sorted(keys))}"]})
    report = {"kind": "progress", "milestone_key": data["milestone_key"],
              "summary": data["summary"], "spent_fen": data.get("spent_fen"), "lines": None,
              "filed_on": clock.china_today().isoformat(), "filed_by": access.actor(caller)}
    tx.db.projects.update_one({"_id": project_id}, {"$push": {"reports": report}}, session=tx.session)
    return view(tx.db.projects.find_one({"_id": project_id}, session=tx.session))


def close(tx, project_id, data, caller):
    roles.ensure_approver(caller, "close a project")
    project = load(tx.db, project_id, caller, tx.session)
    fund = funds.lock(tx, project["fund_id"], caller, ("open", "frozen"))
    waiting = tx.db.disbursements.find_one({"project_id": project_id,
                                            "status": {"$in": ["requested", "approved"]}},
                                           {"_id": 1}, session=tx.session)
    if waiting:
        raise Conflict(f"tranche {waiting['_id']} of project {project_id} is still waiting",
                       fields={"project_id": ["a tranche is waiting"]},
                       details={"disbursement_id": waiting["_id"]})
    lines = [{"item": line["item"].strip(), "spent_fen": line["spent_fen"]} for line in data["lines"]]
    spent = sum(line["spent_fen"] for line in lines)
    paid_fen = project["paid_fen"]
    if spent > paid_fen:
        raise InvalidInput(f"the final report spends {rules.yuan(spent)} yuan, more than the "
                           f"{rules.yuan(paid_fen)} yuan paid to the project",
                           fields={"lines": [f"more than the {paid_fen} fen paid"]})
    returned = paid_fen - spent
    today = clock.china_today().isoformat()
    entry_id = None
    if paid_fen:
        postings = [{"account": "project_advances", "amount_fen": -paid_fen}]
        if spent:
            postings.append({"account": "grant_expense", "amount_fen": spent})
        if returned:
            postings.append({"account": "cash", "amount_fen": returned})
        entry = ledger.post(tx, fund, postings, kind="project_close", caller=caller,
                            dim=f"return:{project_id}", refs={"project_id": project_id},
                            memo=f"项目结项 {project_id}")
        entry_id = entry["_id"]
    result = tx.db.projects.update_one(
        {"_id": project_id, "status": "active"},
        {"$set": {"status": "closed", "spent_fen": spent, "returned_fen": returned,
                  "closed_on": today, "close_entry_id": entry_id, "uncommitted_fen": 0},
         "$push": {"reports": {"kind": "final", "milestone_key": None, "summary": data["summary"],
                               "spent_fen": spent, "lines": lines, "filed_on": today,
                               "filed_by": access.actor(caller)}}}, session=tx.session)
    if result.matched_count != 1:
        raise Conflict(f"project {project_id} is already closed", fields={"project_id": ["project is closed"]})
    tx.emit("project.closed", project_id, {
        **funds.event_regions(fund), "project_id": project_id, "round_id": project["round_id"],
        "budget_fen": project["budget_fen"], "spent_fen": spent, "returned_fen": returned,
        "closed_on": today})
    return view(tx.db.projects.find_one({"_id": project_id}, session=tx.session))


# ---- answers ----

def budget_lines(project):
    """Budget against actual per line: the final report's spending, once there is one."""
    final = next((r for r in project["reports"] if r["kind"] == "final"), None)
    spent = {}
    for line in (final or {}).get("lines") or []:
        spent[line["item"]] = spent.get(line["item"], 0) + line["spent_fen"]
    out = [{"item": line["item"], "budget_fen": line["amount_fen"],
            "spent_fen": spent.pop(line["item"], 0) if final else None}
           for line in project["budget_lines"]]
    out.extend({"item": item, "budget_fen": 0, "spent_fen": value} for item, value in spent.items())
    return out


def view(project):
    out = {k: project.get(k) for k in (
        "round_id", "application_id", "fund_id", "station_id", "region", "title", "applicant",
        "budget_fen", "milestones", "status", "committed_fen", "paid_fen", "spent_fen",
        "returned_fen", "reports", "rank", "approved_on", "closed_on", "close_entry_id")}
    out["id"] = project["_id"]
    out["uncommitted_fen"] = project["uncommitted_fen"]
    out["budget_lines"] = budget_lines(project)
    out["unused_budget_fen"] = project["budget_fen"] - project["paid_fen"] \
        if project["status"] == "closed" else None
    return jsonable(out)


def get(db, project_id, caller):
    return view(load(db, project_id, caller))


def list_page(db, query, caller):
    selector = queries.scoped(caller, query.get("region"))
    for field in ("fund_id", "round_id", "status"):
        if query.get(field):
            selector[field] = query[field]
    return queries.page(db.projects, selector, query, lambda found: [view(p) for p in found])
