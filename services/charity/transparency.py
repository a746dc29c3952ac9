"""The public report of a fund for a period of whole months (公开报告): no token needed.

What came in (by month and by source kind), from whom (by name only where
the donor consented; everyone else as 爱心人士), what went out (by project,
contract and purpose), the projects with their budgets, spending and reports
(and, once ended, what was left and where it went), goods in kind at their
recorded value, and the balance at both ends of the period.

Everything is read from the rollups the ledger keeps in each entry's
transaction (ledger_months, donor_months, goods_months), never by summing
entries: the report costs the same at a thousand entries or a million, and
its figures are the ledger's to the fen (`checks` proves the pieces add up:
opening + in - out = closing for cash and goods, donors = income).

No personal data: a person who did not consent is 爱心人士; payees and
free-text purposes of disbursements are not shown (a purpose may name a
beneficiary), only their purpose category.
"""
from services.common.errors import NotFound
from services.common.jsonable import jsonable
from services.charity import goods, ledger, rules

SOURCE_KINDS = rules.DONOR_KINDS
PURPOSES = ("project_grant", "service_contract", "direct_aid", "activity")


def _fund(db, fund_id):
    fund = db.funds.find_one({"_id": fund_id}) if isinstance(fund_id, str) else None
    if fund is None:
        raise NotFound(f"no fund {fund_id}", fields={"fund_id": ["not found"]})
    return fund


def report(db, fund_id, first, last):
    """first, last: months 'YYYY-MM' (inclusive)."""
    fund = _fund(db, fund_id)
    rolls = ledger.months(db, fund_id, last=last)
    within = [r for r in rolls if r["month"] >= first]
    before = [r for r in rolls if r["month"] < first]

    def net(found, account, dim_prefix=None):
        """debits - credits of `account` over `found` (dims starting with dim_prefix)."""
        return sum(r["debits_fen"] - r["credits_fen"] for r in found if r["account"] == account
                   and (dim_prefix is None or r["dim"].startswith(dim_prefix)))

    income = _income(within)
    donors = _donors(db, fund_id, first, last)
    spending = _spending(db, within)
    projects = _projects(db, fund, within, first, last)
    in_kind = _in_kind(db, fund_id, before, within, first, last, net)
    opening = {account: ledger.normal_sign(account) * net(before, account)
               for account in ("cash", "in_kind_goods", "project_advances", "payable")}
    closing = {account: ledger.normal_sign(account) * net(rolls, account)
               for account in ("cash", "in_kind_goods", "project_advances", "payable")}
    cash_in = {"donations_fen": net(within, "cash", "money:"), "brought_forward_fen": net(within, "cash", "opening"),
               "project_returns_fen": net(within, "cash", "return:")}
    cash_out = spending["paid_fen"]
    checks = {
        "cash": opening["cash"] + sum(cash_in.values()) - cash_out == closing["cash"],
        "in_kind": in_kind["held_opening_fen"] + in_kind["received_fen"] - in_kind["distributed_fen"]
        == in_kind["held_closing_fen"],
        "donors": donors["total_fen"] == income["total_fen"],
    }
    return jsonable({
        "fund": {"id": fund["_id"], "name": fund["name"], "kind": fund["kind"], "purpose": fund["purpose"],
                 "level": fund["level"], "region": fund["region"], "station_id": fund.get("station_id"),
                 "host": fund["host"], "status": fund["status"], "opened_on": fund["opened_on"]},
        "period": {"from": first, "to": last},
        "income": income,
        "donors": donors,
        "spending": spending,
        "cash": {"opening_fen": opening["cash"], **cash_in, "paid_out_fen": cash_out,
                 "closing_fen": closing["cash"]},
        "projects": projects,
        "contracts": _contracts(db, fund_id, within, first, last),
        "in_kind": in_kind,
        "balance": {"opening": {f"{a}_fen": v for a, v in opening.items()},
                    "closing": {f"{a}_fen": v for a, v in closing.items()}},
        "checks": checks,
        "reconciles": all(checks.values()),
    })


def _income(within):
    months, sources = {}, {}
    for r in within:
        if r["account"] not in ("donation_income", "in_kind_income"):
            continue
        amount = r["credits_fen"] - r["debits_fen"]
        kind, _, source = r["dim"].partition(":")
        month = months.setdefault(r["month"], {"month": r["month"], "money_fen": 0, "in_kind_fen": 0,
                                               "total_fen": 0, **{f"{s}_fen": 0 for s in SOURCE_KINDS}})
        month["money_fen" if kind == "money" else "in_kind_fen"] += amount
        month["total_fen"] += amount
        month[f"{source}_fen"] = month.get(f"{source}_fen", 0) + amount
        key = (source, kind)
        sources[key] = sources.get(key, 0) + amount
    by_month = [months[m] for m in sorted(months)]
    return {"total_fen": sum(m["total_fen"] for m in by_month),
            "money_fen": sum(m["money_fen"] for m in by_month),
            "in_kind_fen": sum(m["in_kind_fen"] for m in by_month),
            "by_month": by_month,
            "by_source": [{"source_kind": s, "kind": k, "amount_fen": v}
                          for (s, k), v in sorted(sources.items()) if v]}


def _donors(db, fund_id, first, last):
    totals = {}
    for r in db.donor_months.find({"fund_id": fund_id, "month": {"$gte": first, "$lte": last}}):
        item = totals.setdefault(r["donor_key"], {"name": r["public_name"], "kind": r.get("donor_kind"),
                                                  "amount_fen": 0, "donations": 0})
        item["amount_fen"] += r["amount_fen"]
        item["donations"] += r["donations"]
    others = totals.pop("anonymous", {"name": rules.PUBLIC_ANONYMOUS, "kind": None, "amount_fen": 0,
                                      "donations": 0})
    named = sorted((d for d in totals.values() if d["amount_fen"] or d["donations"]),
                   key=lambda d: (-d["amount_fen"], d["name"]))
    return {"named": named, "others": {**others, "name": rules.PUBLIC_ANONYMOUS},
            "total_fen": sum(d["amount_fen"] for d in named) + others["amount_fen"]}


def _purpose(dim):
    if dim.startswith("project:"):
        return "project_grant"
    if dim.startswith("contract:"):
        return "service_contract"
    return dim.partition(":")[2] or "other"


def _spending(db, within):
    by_purpose, by_project, by_contract = {}, {}, {}
    for r in within:
        if r["account"] != "cash" or not r["dim"].startswith(("project:", "contract:", "category:")):
            continue
        amount = r["credits_fen"] - r["debits_fen"]
        purpose = _purpose(r["dim"])
        by_purpose[purpose] = by_purpose.get(purpose, 0) + amount
        target = r["dim"].partition(":")[2]
        if r["dim"].startswith("project:"):
            by_project[target] = by_project.get(target, 0) + amount
        elif r["dim"].startswith("contract:"):
            by_contract[target] = by_contract.get(target, 0) + amount
    titles = {p["_id"]: p["title"] for p in _by_ids(db.projects, sorted(by_project))}
    contracts = {c["_id"]: c["title"] for c in _by_ids(db.service_contracts, sorted(by_contract))}
    return {"paid_fen": sum(by_purpose.values()),
            "by_purpose": [{"purpose": p, "amount_fen": by_purpose[p]} for p in sorted(by_purpose)
                           if by_purpose[p]],
            "by_project": [{"project_id": p, "title": titles.get(p), "amount_fen": v}
                           for p, v in sorted(by_project.items()) if v],
            "by_contract": [{"contract_id": c, "title": contracts.get(c), "amount_fen": v}
                            for c, v in sorted(by_contract.items()) if v]}


def _by_ids(collection, ids):
    found = []
    for start in range(0, len(ids), 40):   # short $in lists (docs/mongo-wire-server.md)
        found.extend(collection.find({"_id": {"$in": ids[start:start + 40]}}))
    return found


def _projects(db, fund, within, first, last):
    last_day = f"{last}-31"
    paid_in_period, returned_in_period = {}, {}
    for r in within:
        if r["account"] != "cash":
            continue
        kind, _, target = r["dim"].partition(":")
        if kind == "project":
            paid_in_period[target] = paid_in_period.get(target, 0) + r["credits_fen"] - r["debits_fen"]
        elif kind == "return":
            returned_in_period[target] = returned_in_period.get(target, 0) + r["debits_fen"] - r["credits_fen"]
    out = []
    for p in db.projects.find({"fund_id": fund["_id"], "approved_on": {"$lte": last_day}}).sort("_id", 1):
        if p["status"] == "closed" and p["closed_on"][:7] < first:
            continue
        ended = p["status"] == "closed"
        out.append({
            "id": p["_id"], "title": p["title"], "applicant": p["applicant"]["name"],
            "applicant_kind": p["applicant"]["kind"], "budget_fen": p["budget_fen"],
            "paid_fen": p["paid_fen"], "paid_in_period_fen": paid_in_period.get(p["_id"], 0),
            "status": p["status"], "spent_fen": p["spent_fen"],
            "left_fen": p["budget_fen"] - p["spent_fen"] if ended else None,
            "returned_fen": p["returned_fen"],
            "returned_in_period_fen": returned_in_period.get(p["_id"], 0),
            "returned_to": f"{fund['name']} 货币资金" if ended and p["returned_fen"] else None,
            "unused_budget_fen": p["budget_fen"] - p["paid_fen"] if ended else None,
            "closed_on": p["closed_on"],
            "reports": [{"kind": r["kind"], "milestone_key": r["milestone_key"], "summary": r["summary"],
                         "spent_fen": r["spent_fen"], "filed_on": r["filed_on"]} for r in p["reports"]],
        })
    return out


def _contracts(db, fund_id, within, first, last):
    paid_in_period = {}
    for r in within:
        if r["account"] == "cash" and r["dim"].startswith("contract:"):
            target = r["dim"].partition(":")[2]
            paid_in_period[target] = paid_in_period.get(target, 0) + r["credits_fen"] - r["debits_fen"]
    out = []
    for c in db.service_contracts.find({"fund_id": fund_id, "period_from": {"$lte": f"{last}-31"}}).sort("_id", 1):
        if c["period_to"][:7] < first and not paid_in_period.get(c["_id"]):
            continue
        out.append({"id": c["_id"], "title": c["title"], "purchaser": c["purchaser"]["name"],
                    "provider": c["provider"]["name"], "amount_fen": c["amount_fen"],
                    "accepted_fen": c["accepted_fen"], "paid_fen": c["paid_fen"],
                    "paid_in_period_fen": paid_in_period.get(c["_id"], 0),
                    "period_from": c["period_from"], "period_to": c["period_to"]})
    return out


def _in_kind(db, fund_id, before, within, first, last, net):
    items = {}
    for r in goods.months(db, fund_id, first, last):
        item = items.setdefault((r["item"], r["unit"]), {"item": r["item"], "unit": r["unit"],
                                                         "received_milli": 0, "received_fen": 0,
                                                         "distributed_milli": 0, "distributed_fen": 0})
        for field in ("received_milli", "received_fen", "distributed_milli", "distributed_fen"):
            item[field] += r.get(field, 0)
    listed = [{"item": i["item"], "unit": i["unit"], "received": goods.quantity_text(i["received_milli"]),
               "received_fen": i["received_fen"], "distributed": goods.quantity_text(i["distributed_milli"]),
               "distributed_fen": i["distributed_fen"]}
              for _key, i in sorted(items.items()) if i["received_milli"] or i["distributed_milli"]]
    return {"received_fen": net(within, "in_kind_goods", "in_kind:"),
            "distributed_fen": -net(within, "in_kind_goods", "goods:"),
            "held_opening_fen": net(before, "in_kind_goods"),
            "held_closing_fen": net(before, "in_kind_goods") + net(within, "in_kind_goods"),
            "items": listed}
