"""Disbursements (支出): requested, approved (money reserved), paid (posted), or
rejected or cancelled (reservation released).

    disbursements: {_id: "B<hex>", fund_id, station_id, region codes, purpose, category,
                    payee: {kind, name, account}, amount_fen, documents: [reference],
                    project_id, contract_id, milestone_id, status,
                    requested_by: {sub, role}, requested_on, approved_by, approved_on,
                    paid_on, payment_reference, entry_id, reversed_entry_id,
                    history: [{status, on, at, by, note}]}

Decisions:
* Station staff and officers request; only province_admin, city_officer and
  county_officer within the fund's region approve, reject or pay; the
  requester never approves their own request; auditors change nothing.
* Approval reserves the amount: it stops being available at approval, not at
  payment (ledger.reserve: a conditional update of the fund's cash balance in
  the approval's transaction; refused with a 409 naming the available amount,
  and an Idempotency-Key so refused stays refused). Payment posts the entry
  and settles the reservation; a rejection or a cancellation of an approved
  disbursement releases it.
* Every status change is a conditional update on the expected status, so two
  racing approvals of one request cannot both pass.
* A tranche of a venture project (`project_id`) or a payment of a contract
  milestone (`contract_id` + `milestone_id`) is held against the project's
  budget or the accepted milestone's amount from the request on, so tranches
  never add up to more than was approved.
* Paid is final: a mistake is corrected by reversing the payment's entry
  (services/charity/corrections.py).
* The payee may be a person: their name is personal data (masked for
  auditors), and no event carries the payee or the purpose text.

What the payment posts, by what it pays for:
    project tranche      Dr project_advances   Cr cash   (spent or returned at the project's close)
    contract milestone   Dr payable            Cr cash   (the expense was accrued at acceptance)
    direct aid           Dr aid_expense        Cr cash
    community activity   Dr grant_expense      Cr cash
"""
import uuid

from pymongo import ReturnDocument

from services.common import access, clock, queries
from services.common.errors import Conflict
from services.common.jsonable import jsonable
from services.charity import funds, ledger, projects, roles, service_contracts

DEBIT_ACCOUNT = {"project_grant": "project_advances", "service_contract": "payable",
                 "direct_aid": "aid_expense", "activity": "grant_expense"}


def ensure_indexes(db):
    db.disbursements.create_index([("fund_id", 1), ("status", 1)])
    db.disbursements.create_index([("project_id", 1)])
    db.disbursements.create_index([("contract_id", 1)])
    for field in ("province", "city", "county", "division_code"):
        db.disbursements.create_index([(field, 1), ("_id", -1)])


def dim_of(disbursement):
    if disbursement.get("project_id"):
        return f"project:{disbursement['project_id']}"
    if disbursement.get("contract_id"):
        return f"contract:{disbursement['contract_id']}"
    return f"category:{disbursement['category']}"


def _step(who, status, note=None):
    return {"status": status, "on": clock.china_today().isoformat(), "at": clock.now_ms(),
            "by": access.actor(who), "note": note}


def request(tx, data, caller):
    roles.ensure_writer(caller)
    fund = funds.load(tx.db, data["fund_id"], caller, tx.session)
    if fund["status"] != "open":
        raise Conflict(f"fund {fund['_id']} is {fund['status']}: nothing is requested from it",
                       fields={"fund_id": [f"fund is {fund['status']}"]})
    amount = data["amount_fen"]
    category = data.get("category") or "direct_aid"
    if data.get("project_id"):
        projects.hold(tx, data["project_id"], fund, amount)
        category = "project_grant"
    elif data.get("contract_id"):
        service_contracts.hold(tx, data["contract_id"], data["milestone_id"], fund, amount)
        category = "service_contract"
    disbursement = {
        "_id": "B" + uuid.uuid4().hex[:12], **funds.copied_regions(fund),
        "purpose": data["purpose"].strip(), "category": category,
        "payee": {"kind": data["payee"]["kind"], "name": data["payee"]["name"].strip(),
                  "account": data["payee"].get("account")},
        "amount_fen": amount, "documents": list(data.get("documents") or []),
        "project_id": data.get("project_id"), "contract_id": data.get("contract_id"),
        "milestone_id": data.get("milestone_id"), "status": "requested",
        "requested_by": roles.who(caller), "requested_on": clock.china_today().isoformat(),
        "approved_by": None, "approved_on": None, "paid_on": None, "payment_reference": None,
        "entry_id": None, "reversed_entry_id": None,
        "history": [_step(caller, "requested", data.get("note"))],
    }
    tx.db.disbursements.insert_one(disbursement, session=tx.session)
    _emit(tx, fund, disbursement, "disbursement.requested")
    return view(disbursement, caller)


def _emit(tx, fund, disbursement, event):
    tx.emit(event, disbursement["_id"], {
        **funds.event_regions(fund), "disbursement_id": disbursement["_id"],
        "amount_fen": disbursement["amount_fen"], "status": disbursement["status"],
        "on": clock.china_today().isoformat(), "project_id": disbursement.get("project_id"),
        "contract_id": disbursement.get("contract_id")})


def fund_of(db, disbursement_id):
    """The disbursement's fund (it never changes), or None if there is no such disbursement."""
    found = db.disbursements.find_one({"_id": disbursement_id}, {"fund_id": 1}) \
        if isinstance(disbursement_id, str) else None
    return found["fund_id"] if found else None


def load(db, disbursement_id, caller, session=None):
    return queries.load_in_region(db.disbursements, disbursement_id, caller, what="disbursement",
                                  field="disbursement_id", region_field="region", session=session)


def _move(tx, disbursement, before, after, caller, note=None, extra=None):
    """The conditional status change every step is: 409 naming the status it found."""
    moved = tx.db.disbursements.find_one_and_update(
        {"_id": disbursement["_id"], "status": {"$in": list(before)}},
        {"$set": {"status": after, **(extra or {})}, "$push": {"history": _step(caller, after, note)}},
        return_document=ReturnDocument.AFTER, session=tx.session)
    if moved is None:
        current = tx.db.disbursements.find_one({"_id": disbursement["_id"]}, {"status": 1},
                                               session=tx.session)
        raise Conflict(f"disbursement {disbursement['_id']} is {current['status']}, not "
                       f"{' or '.join(before)}", fields={"status": [f"is {current['status']}"]},
                       details={"disbursement_id": disbursement["_id"], "status": current["status"]})
    return moved


def approve(tx, disbursement_id, data, caller):
    roles.ensure_approver(caller, "approve a disbursement")
    disbursement = load(tx.db, disbursement_id, caller, tx.session)
    if roles.same_person(caller, disbursement["requested_by"]):
        raise Conflict("the requester never approves their own request",
                       fields={"disbursement_id": ["you requested it; another officer approves"]})
    fund = funds.lock(tx, disbursement["fund_id"], caller)
    ledger.reserve(tx, fund, disbursement["amount_fen"])
    disbursement = _move(tx, disbursement, ("requested",), "approved", caller, data.get("note"),
                         {"approved_by": roles.who(caller),
                          "approved_on": clock.china_today().isoformat()})
    _emit(tx, fund, disbursement, "disbursement.approved")
    return view(disbursement, caller)


def pay(tx, disbursement_id, data, caller):
    roles.ensure_approver(caller, "pay a disbursement")
    disbursement = load(tx.db, disbursement_id, caller, tx.session)
    fund = funds.lock(tx, disbursement["fund_id"], caller)
    if disbursement["status"] != "approved":
        _move(tx, disbursement, ("approved",), "paid", caller)   # raises naming the status
    amount = disbursement["amount_fen"]
    entry = ledger.post(tx, fund, [{"account": DEBIT_ACCOUNT[disbursement["category"]], "amount_fen": amount},
                                   {"account": "cash", "amount_fen": -amount}],
                        kind="payment", caller=caller, dim=dim_of(disbursement), settles=amount,
                        refs={"disbursement_id": disbursement["_id"],
                              "project_id": disbursement.get("project_id"),
                              "contract_id": disbursement.get("contract_id"),
                              "milestone_id": disbursement.get("milestone_id")},
                        memo=f"支付 {disbursement['_id']}")
    today = clock.china_today().isoformat()
    disbursement = _move(tx, disbursement, ("approved",), "paid", caller, data.get("note"),
                         {"paid_on": today, "entry_id": entry["_id"],
                          "payment_reference": data.get("payment_reference")})
    if disbursement.get("project_id"):
        projects.paid(tx, disbursement["project_id"], amount)
    if disbursement.get("contract_id"):
        service_contracts.paid(tx, disbursement["contract_id"], disbursement["milestone_id"], amount)
    tx.emit("disbursement.paid", disbursement["_id"], {
        **funds.event_regions(fund), "disbursement_id": disbursement["_id"], "amount_fen": amount,
        "paid_on": today, "project_id": disbursement.get("project_id"),
        "contract_id": disbursement.get("contract_id"), "entry_id": entry["_id"]})
    return view(disbursement, caller)


def reject(tx, disbursement_id, data, caller):
    roles.ensure_approver(caller, "reject a disbursement")
    return _end(tx, disbursement_id, data, caller, "rejected")


def cancel(tx, disbursement_id, data, caller):
    roles.ensure_writer(caller)
    disbursement = load(tx.db, disbursement_id, caller, tx.session)
    if not roles.same_person(caller, disbursement["requested_by"]):
        roles.ensure_approver(caller, "cancel another's request")
    return _end(tx, disbursement_id, data, caller, "cancelled")


def _end(tx, disbursement_id, data, caller, status):
    disbursement = load(tx.db, disbursement_id, caller, tx.session)
    was = disbursement["status"]
    fund = funds.lock(tx, disbursement["fund_id"], caller, ("open", "frozen")) if was == "approved" \
        else funds.load(tx.db, disbursement["fund_id"], caller, tx.session)
    disbursement = _move(tx, disbursement, ("requested", "approved"), status, caller, data["reason"])
    if was == "approved":
        ledger.release(tx, fund, disbursement["amount_fen"])
    if disbursement.get("project_id"):
        projects.hold(tx, disbursement["project_id"], fund, -disbursement["amount_fen"])
    if disbursement.get("contract_id"):
        service_contracts.hold(tx, disbursement["contract_id"], disbursement["milestone_id"], fund,
                               -disbursement["amount_fen"])
    _emit(tx, fund, disbursement, f"disbursement.{status}")
    return view(disbursement, caller)


def on_reversed(tx, disbursement_id, reversal):
    """The payment's entry was reversed: the money is back; the tranche or milestone payment is undone."""
    disbursement = tx.db.disbursements.find_one({"_id": disbursement_id}, session=tx.session)
    if disbursement is None:
        return
    tx.db.disbursements.update_one({"_id": disbursement_id},
                                   {"$set": {"reversed_entry_id": reversal["_id"]}}, session=tx.session)
    amount = disbursement["amount_fen"]
    fund = tx.db.funds.find_one({"_id": disbursement["fund_id"]}, session=tx.session)
    if disbursement.get("project_id"):
        projects.paid(tx, disbursement["project_id"], -amount)
        projects.hold(tx, disbursement["project_id"], fund, -amount)
    if disbursement.get("contract_id"):
        service_contracts.paid(tx, disbursement["contract_id"], disbursement["milestone_id"], -amount)
        service_contracts.hold(tx, disbursement["contract_id"], disbursement["milestone_id"], fund, -amount)


# ---- answers ----

def view(disbursement, caller):
    out = {k: disbursement.get(k) for k in (
        "fund_id", "station_id", "region", "purpose", "category", "amount_fen", "documents",
        "project_id", "contract_id", "milestone_id", "status", "requested_by", "requested_on",
        "approved_by", "approved_on", "paid_on", "payment_reference", "entry_id",
        "reversed_entry_id", "history")}
    out["id"] = disbursement["_id"]
    payee = dict(disbursement["payee"])
    if payee["kind"] == "person" and not access.sees_personal_data(caller):
        payee["name"] = access.mask_name(payee["name"])
        payee["account"] = None
    out["payee"] = payee
    return jsonable(out)


def get(db, disbursement_id, caller):
    return view(load(db, disbursement_id, caller), caller)


def list_page(db, query, caller):
    selector = queries.scoped(caller, query.get("region"))
    for field in ("fund_id", "status", "project_id", "contract_id", "category"):
        if query.get(field):
            selector[field] = query[field]
    return queries.page(db.disbursements, selector, query,
                        lambda found: [view(d, caller) for d in found], sort=(("_id", -1),))
