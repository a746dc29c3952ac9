"""Budget against actual: per project, per contract and per fund.

    per project   budget, held by tranches (committed), paid, spent and returned
                  (from the final report), and by budget line
    per contract  amount, accepted (milestones), paid
    per round     budget, approved (projects' budgets)
    per fund      the sums of the above, and what was paid for other purposes
                  (direct aid, activities) from the ledger's rollups

Read from the records' kept counters and the rollups, never by summing entries.
"""
from services.common.jsonable import jsonable
from services.charity import funds, ledger, projects, service_contracts


def fund_budget(db, fund_id, caller):
    fund = funds.load(db, fund_id, caller)
    rounds = [{"id": r["_id"], "title": r["title"], "budget_fen": r["budget_fen"],
               "approved_fen": r["approved_fen"], "status": r["status"]}
              for r in db.rounds.find({"fund_id": fund_id}).sort("_id", 1)]
    found_projects = [projects.view(p) for p in db.projects.find({"fund_id": fund_id}).sort("_id", 1)]
    project_rows = [{k: p[k] for k in ("id", "title", "status", "budget_fen", "committed_fen",
                                       "paid_fen", "spent_fen", "returned_fen", "budget_lines")}
                    for p in found_projects]
    contract_rows = []
    for c in db.service_contracts.find({"fund_id": fund_id}).sort("_id", 1):
        v = service_contracts.view(c, list(db.milestones.find({"contract_id": c["_id"]})))
        contract_rows.append({k: v[k] for k in ("id", "title", "status", "amount_fen", "accepted_fen",
                                                "paid_fen", "milestones")})
    other = {}
    for roll in ledger.months(db, fund_id, accounts=("cash",)):
        if roll["dim"].startswith("category:"):
            purpose = roll["dim"].partition(":")[2]
            other[purpose] = other.get(purpose, 0) + roll["credits_fen"] - roll["debits_fen"]
    totals = {
        "rounds_budget_fen": sum(r["budget_fen"] for r in rounds),
        "projects_budget_fen": sum(p["budget_fen"] for p in project_rows),
        "projects_paid_fen": sum(p["paid_fen"] for p in project_rows),
        "projects_spent_fen": sum(p["spent_fen"] or 0 for p in project_rows),
        "projects_returned_fen": sum(p["returned_fen"] or 0 for p in project_rows),
        "contracts_amount_fen": sum(c["amount_fen"] for c in contract_rows),
        "contracts_accepted_fen": sum(c["accepted_fen"] for c in contract_rows),
        "contracts_paid_fen": sum(c["paid_fen"] for c in contract_rows),
        "other_paid_fen": other,
    }
    return jsonable({"fund_id": fund["_id"], "rounds": rounds, "projects": project_rows,
                     "contracts": contract_rows, "totals": totals,
                     "balances": ledger.summary(ledger.balances(db, fund_id))})
