"""Government-purchased service contracts (政府购买服务) and their milestones.

    service_contracts: {_id: "SC<hex>", fund_id, station_id, region codes, title,
                        purchaser: {name, credit_code}, provider: {name, credit_code, station_id},
                        amount_fen, period_from, period_to, accepted_fen, paid_fen,
                        signed_on, created_at, created_by}
    milestones: {_id: "<contract>-M<n>", contract_id, fund_id, seq, title, due_on, amount_fen,
                 status: pending|accepted, accepted_on, accepted_by, acceptance_note,
                 uncommitted_fen, committed_fen, paid_fen, accrual_entry_id}

Decisions:
* The contract is paid from one fund (a special fund holding the purchaser's
  money); the provider is a social work service organisation, which may be a
  station's operator (`provider.station_id`, a station known here).
* The milestones' amounts add up to the contract's amount, and fall due in
  its period.
* Acceptance (验收) by an officer within the fund's region accrues the
  milestone: Dr service_expense, Cr payable. Payments are disbursements with
  `contract_id` and `milestone_id`, only of an accepted milestone and at most
  its amount (held from the request on); paying settles the payable (Dr
  payable, Cr cash). So budget (amount), accepted and paid are per contract
  and per milestone at once.
"""
import uuid

from services.common import access, clock, queries
from services.common.errors import Conflict, InvalidInput, NotFound
from services.common.jsonable import jsonable
from services.charity import funds, ledger, roles, rules, stations_view


def ensure_indexes(db):
    db.service_contracts.create_index([("fund_id", 1)])
    for field in ("province", "city", "county", "division_code"):
        db.service_contracts.create_index([(field, 1), ("_id", 1)])
    db.milestones.create_index([("contract_id", 1), ("seq", 1)])


def sign(tx, data, caller):
    roles.ensure_approver(caller, "sign a service contract")
    fund = funds.load(tx.db, data["fund_id"], caller, tx.session)
    if fund["status"] != "open":
        raise Conflict(f"fund {fund['_id']} is {fund['status']}", fields={"fund_id": [f"fund is {fund['status']}"]})
    for side in ("purchaser", "provider"):
        code = data[side].get("credit_code")
        problem = rules.credit_code_problem(code) if code or side == "provider" else None
        if problem:
            raise InvalidInput(f"{side} credit_code {problem}", fields={f"{side}.credit_code": [problem]})
    provider_station = data["provider"].get("station_id")
    if provider_station:
        stations_view.open_station(tx.db, provider_station, caller, tx.session, field="provider.station_id")
    if data["period_to"] < data["period_from"]:
        raise InvalidInput("period_to is before period_from", fields={"period_to": ["before period_from"]})
    total = sum(m["amount_fen"] for m in data["milestones"])
    if total != data["amount_fen"]:
        raise InvalidInput(f"the milestones add up to {rules.yuan(total)} yuan, not the contract's "
                           f"{rules.yuan(data['amount_fen'])}",
                           fields={"milestones": ["amounts must add up to amount_fen"]})
    for m in data["milestones"]:
        if not data["period_from"] <= m["due_on"] <= data["period_to"]:
            raise InvalidInput(f"milestone {m['title']} falls due outside the contract period",
                               fields={"milestones": ["due_on outside the period"]})
    contract = {
        "_id": "SC" + uuid.uuid4().hex[:12], **funds.copied_regions(fund),
        "title": data["title"].strip(),
        "purchaser": {"name": data["purchaser"]["name"].strip(), "credit_code": data["purchaser"].get("credit_code")},
        "provider": {"name": data["provider"]["name"].strip(), "credit_code": data["provider"]["credit_code"],
                     "station_id": provider_station},
        "amount_fen": data["amount_fen"], "period_from": data["period_from"].isoformat(),
        "period_to": data["period_to"].isoformat(), "accepted_fen": 0, "paid_fen": 0,
        "signed_on": (data.get("signed_on") or clock.china_today()).isoformat(),
        "created_at": clock.now_ms(), "created_by": access.actor(caller),
    }
    tx.db.service_contracts.insert_one(contract, session=tx.session)
    milestones = [{"_id": f"{contract['_id']}-M{n}", "contract_id": contract["_id"], "fund_id": fund["_id"],
                   "seq": n, "title": m["title"].strip(), "due_on": m["due_on"].isoformat(),
                   "amount_fen": m["amount_fen"], "status": "pending", "accepted_on": None,
                   "accepted_by": None, "acceptance_note": None, "uncommitted_fen": 0,
                   "committed_fen": 0, "paid_fen": 0, "accrual_entry_id": None}
                  for n, m in enumerate(data["milestones"], start=1)]
    tx.db.milestones.insert_many(milestones, session=tx.session)
    tx.emit("contract.signed", contract["_id"], {
        **funds.event_regions(fund), "contract_id": contract["_id"],
        "provider_credit_code": contract["provider"]["credit_code"],
        "provider_station_id": provider_station, "amount_fen": contract["amount_fen"],
        "period_from": contract["period_from"], "period_to": contract["period_to"],
        "milestones": len(milestones), "signed_on": contract["signed_on"]})
    return view(contract, milestones)


def load(db, contract_id, caller, session=None, field="contract_id"):
    return queries.load_in_region(db.service_contracts, contract_id, caller, what="service contract",
                                  field=field, region_field="region", session=session)


def _milestone(db, contract_id, milestone_id, session=None):
    milestone = db.milestones.find_one({"_id": milestone_id, "contract_id": contract_id}, session=session)
    if milestone is None:
        raise NotFound(f"contract {contract_id} has no milestone {milestone_id}",
                       fields={"milestone_id": ["not a milestone of this contract"]})
    return milestone


def accept(tx, contract_id, milestone_id, data, caller):
    roles.ensure_approver(caller, "accept a milestone")
    contract = load(tx.db, contract_id, caller, tx.session)
    milestone = _milestone(tx.db, contract_id, milestone_id, tx.session)
    fund = funds.lock(tx, contract["fund_id"], caller)
    today = clock.china_today().isoformat()
    entry = ledger.post(tx, fund, [{"account": "service_expense", "amount_fen": milestone["amount_fen"]},
                                   {"account": "payable", "amount_fen": -milestone["amount_fen"]}],
                        kind="milestone", caller=caller, dim=f"contract:{contract_id}",
                        refs={"contract_id": contract_id, "milestone_id": milestone_id},
                        memo=f"验收 {milestone_id}")
    result = tx.db.milestones.update_one(
        {"_id": milestone_id, "status": "pending"},
        {"$set": {"status": "accepted", "accepted_on": today, "accepted_by": access.actor(caller),
                  "acceptance_note": data.get("note"), "accrual_entry_id": entry["_id"],
                  "uncommitted_fen": milestone["amount_fen"]}}, session=tx.session)
    if result.matched_count != 1:
        raise Conflict(f"milestone {milestone_id} is already accepted",
                       fields={"milestone_id": ["already accepted"]})
    tx.db.service_contracts.update_one({"_id": contract_id}, {"$inc": {"accepted_fen": milestone["amount_fen"]}},
                                       session=tx.session)
    tx.emit("milestone.accepted", milestone_id, {
        **funds.event_regions(fund), "contract_id": contract_id, "milestone_id": milestone_id,
        "amount_fen": milestone["amount_fen"], "accepted_on": today})
    return get(tx.db, contract_id, caller, tx.session)


def hold(tx, contract_id, milestone_id, fund, amount):
    """Hold (amount > 0) or give back (< 0) part of an accepted milestone for a payment."""
    if amount > 0:
        if not milestone_id:
            raise InvalidInput("a contract payment names its milestone", fields={"milestone_id": ["required"]})
        contract = tx.db.service_contracts.find_one({"_id": contract_id}, {"fund_id": 1}, session=tx.session)
        if contract is None or contract["fund_id"] != fund["_id"]:
            raise InvalidInput(f"fund {fund['_id']} has no contract {contract_id}",
                               fields={"contract_id": ["not a contract of this fund"]})
        result = tx.db.milestones.update_one(
            {"_id": milestone_id, "contract_id": contract_id, "status": "accepted",
             "uncommitted_fen": {"$gte": amount}},
            {"$inc": {"uncommitted_fen": -amount, "committed_fen": amount}}, session=tx.session)
        if result.matched_count == 1:
            return
        milestone = _milestone(tx.db, contract_id, milestone_id, tx.session)
        if milestone["status"] != "accepted":
            raise Conflict(f"milestone {milestone_id} is not accepted yet: it is not paid",
                           fields={"milestone_id": ["not accepted"]})
        raise Conflict(f"milestone {milestone_id} has {rules.yuan(milestone['uncommitted_fen'])} yuan "
                       f"left to pay, less than {rules.yuan(amount)}",
                       fields={"amount_fen": [f"more than the {milestone['uncommitted_fen']} fen left"]},
                       details={"uncommitted_fen": milestone["uncommitted_fen"]})
    tx.db.milestones.update_one({"_id": milestone_id},
                                {"$inc": {"uncommitted_fen": -amount, "committed_fen": amount}},
                                session=tx.session)


def paid(tx, contract_id, milestone_id, amount):
    tx.db.milestones.update_one({"_id": milestone_id}, {"$inc": {"paid_fen": amount}}, session=tx.session)
    tx.db.service_contracts.update_one({"_id": contract_id}, {"$inc": {"paid_fen": amount}}, session=tx.session)


# ---- answers ----

def milestone_view(milestone):
    out = {k: milestone.get(k) for k in ("seq", "title", "due_on", "amount_fen", "status",
                                         "accepted_on", "accepted_by", "acceptance_note",
                                         "committed_fen", "paid_fen", "accrual_entry_id")}
    out["id"] = milestone["_id"]
    return out


def view(contract, milestones):
    out = {k: contract.get(k) for k in ("fund_id", "station_id", "region", "title", "purchaser",
                                        "provider", "amount_fen", "period_from", "period_to",
                                        "accepted_fen", "paid_fen", "signed_on", "created_at")}
    out["id"] = contract["_id"]
    out["milestones"] = [milestone_view(m) for m in sorted(milestones, key=lambda m: m["seq"])]
    out["status"] = "completed" if contract["paid_fen"] == contract["amount_fen"] else "signed"
    return jsonable(out)


def get(db, contract_id, caller, session=None):
    contract = load(db, contract_id, caller, session)
    return view(contract, list(db.milestones.find({"contract_id": contract_id}, session=session)))


def list_page(db, query, caller):
    selector = queries.scoped(caller, query.get("region"))
    if query.get("fund_id"):
        selector["fund_id"] = query["fund_id"]

    def views(found):
        return [view(c, list(db.milestones.find({"contract_id": c["_id"]}))) for c in found]

    return queries.page(db.service_contracts, selector, query, views)
