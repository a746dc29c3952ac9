"""The double-entry ledger of every fund: journal entries, balances and monthly rollups.

    entries:  {_id: "E<objectid>" (a reversal: "R" + the reversed id), fund_id,
               kind, booked_on: "YYYY-MM-DD" (China), month: "YYYY-MM", dim,
               postings: [{account, type, amount_fen}],   # + debit, - credit; sum 0
               refs: {donation_id, disbursement_id, project_id, contract_id, milestone_id},
               memo, reverses, created_at, created_by, + the fund's region codes}
    balances: {_id: "<fund>:<account>", fund_id, account, type, debits_fen,
               credits_fen, net_fen (debits - credits), balance_fen (on the
               account's normal side), reserved_fen, available_fen
               (balance - reserved), postings, updated_at}
    ledger_months: {_id: "<fund>:<month>:<account>:<dim>", fund_id, month, account,
               dim, debits_fen, credits_fen, entries}

Decisions (README "Charity"):
* Every movement is one entry of two or more postings in integer fen that sum
  to zero, on the fund's chart of accounts (CHART). Entries are only inserted,
  never updated or deleted. A mistake is corrected by a reversing entry whose
  `_id` is "R" + the reversed entry's id: the primary key makes "reversed at
  most once" a guarantee of the database, under any number of replicas.
* Balances are kept, not summed: one document per fund and account, moved
  with `$inc` in the entry's transaction. An asset or a liability never goes
  below zero on its normal side: a posting that lowers one is a conditional
  update (`available_fen >= amount`) and matching nothing refuses the whole
  command (for cash: InsufficientFunds, a 409 naming the available amount).
  Two commands racing on one balance write-conflict and the loser is retried
  by the transaction against the winner's result, so the guard holds across
  processes without any lock.
* Reservations (approved, unpaid disbursements) are not journal entries, as
  TigerBeetle's pending transfers are not posted: approving moves the amount
  from available to reserved on the cash balance (guarded); paying posts the
  entry and releases the reservation in the same update; rejecting or
  cancelling releases it. So the journal holds only what happened, and
  `available = balance - reserved` is enforced on one document.
* `ledger_months` roll each entry up by month, account and the entry's `dim`
  (donor kind, project, contract, purpose) in the same transaction: trial
  balances and the public report read at most months x accounts x dims
  documents, however many entries a fund has.
"""
from bson import ObjectId

from services.common import access, clock
from services.common.errors import Conflict, InvalidInput, NotFound
from services.common.jsonable import jsonable
from services.charity.errors import InsufficientFunds

ASSET, LIABILITY, INCOME, EXPENSE, NET_ASSETS = "asset", "liability", "income", "expense", "net_assets"
ACCOUNT_TYPES = (ASSET, LIABILITY, INCOME, EXPENSE, NET_ASSETS)
DEBIT_NORMAL = {ASSET, EXPENSE}

# Every fund's chart of accounts: account -> (type, name).
CHART = {
    "cash": (ASSET, "货币资金"),
    "in_kind_goods": (ASSET, "受赠物资"),
    "project_advances": (ASSET, "项目预付款"),
    "payable": (LIABILITY, "应付款(已验收服务)"),
    "donation_income": (INCOME, "货币捐赠收入"),
    "in_kind_income": (INCOME, "实物捐赠收入"),
    "grant_expense": (EXPENSE, "公益项目支出"),
    "service_expense": (EXPENSE, "购买服务支出"),
    "aid_expense": (EXPENSE, "直接资助支出"),
    "in_kind_expense": (EXPENSE, "物资发放支出"),
    "net_assets": (NET_ASSETS, "净资产"),
}
# What keeps a balance from going below zero: asset and liability accounts.
GUARDED = {ASSET, LIABILITY}

# "posting": an entry with no record behind it (the ledger's own property test posts these).
KINDS = ("opening", "donation", "payment", "milestone", "project_close", "distribution",
         "reversal", "posting")
# Entries whose reversal the domain knows how to undo (services/charity/corrections.py).
REVERSIBLE = ("opening", "donation", "payment", "distribution", "posting")


def ensure_indexes(db):
    db.entries.create_index([("fund_id", 1), ("booked_on", 1), ("_id", 1)])
    db.entries.create_index([("fund_id", 1), ("refs.disbursement_id", 1)])
    db.entries.create_index([("fund_id", 1), ("refs.donation_id", 1)])
    db.balances.create_index([("fund_id", 1)])
    db.ledger_months.create_index([("fund_id", 1), ("month", 1)])


def account_type(account):
    return CHART[account][0]


def normal_sign(account):
    """+1 for accounts whose balance is debits - credits, -1 for credits - debits."""
    return 1 if account_type(account) in DEBIT_NORMAL else -1


def open_accounts(tx, fund_id):
    """The fund's balance documents, all zero: made with the fund, so posting never upserts."""
    now = clock.now_ms()
    tx.db.balances.insert_many([
        {"_id": f"{fund_id}:{account}", "fund_id": fund_id, "account": account,
         "type": kind, "debits_fen": 0, "credits_fen": 0, "net_fen": 0, "balance_fen": 0,
         "reserved_fen": 0, "available_fen": 0, "postings": 0, "updated_at": now}
        for account, (kind, _name) in CHART.items()], session=tx.session)


def postings_problem(postings):
    """Why postings do not make an entry, or None."""
    if not isinstance(postings, list) or len(postings) < 2:
        return "an entry needs two or more postings"
    for p in postings:
        if p.get("account") not in CHART:
            return f"unknown account {p.get('account')!r}"
        amount = p.get("amount_fen")
        if not isinstance(amount, int) or isinstance(amount, bool) or amount == 0:
            return "every posting is a non-zero integer number of fen"
    if sum(p["amount_fen"] for p in postings) != 0:
        return "postings must sum to zero (debits = credits)"
    return None


def _net_by_account(postings):
    net = {}
    for p in postings:
        net[p["account"]] = net.get(p["account"], 0) + p["amount_fen"]
    return net


def post(tx, fund, postings, *, kind, caller, booked_on=None, dim="", refs=None, memo=None,
         settles=0, entry_id=None, reverses=None):
    """Insert one journal entry and move the balances and rollups it touches.

    postings: [{"account", "amount_fen"}] (+ debit, - credit). settles: fen of
    the cash credit that pays an approved disbursement: they leave `reserved`,
    not `available`. Raises InsufficientFunds (cash) or Conflict (another
    guarded account) and changes nothing when a guarded balance would go below zero."""
    problem = postings_problem(postings)
    if problem:
        raise InvalidInput(problem, fields={"postings": [problem]})
    if kind not in KINDS:
        raise InvalidInput(f"unknown entry kind {kind!r}", fields={"kind": ["unknown"]})
    booked_on = booked_on or clock.china_today()
    booked = booked_on.isoformat() if hasattr(booked_on, "isoformat") else str(booked_on)
    fund_id = fund["_id"]
    now = clock.now_ms()
    net = _net_by_account(postings)
    for account in sorted(net):   # one order everywhere: conflicts, not deadlocks
        _move(tx, fund, account, net[account], settles if account == "cash" else 0, now)
    entry = {
        "_id": entry_id or "E" + str(ObjectId()),
        "fund_id": fund_id, "kind": kind, "booked_on": booked, "month": booked[:7], "dim": dim,
        "postings": [{"account": p["account"], "type": account_type(p["account"]),
                      "amount_fen": p["amount_fen"]} for p in postings],
        "refs": {k: v for k, v in (refs or {}).items() if v is not None},
        "memo": memo, "reverses": reverses,
        "created_at": now, "created_by": access.actor(caller),
        **{k: fund.get(k) for k in ("region", "division_code", "county", "city", "province")},
    }
    tx.db.entries.insert_one(entry, session=tx.session)
    _roll_up(tx, fund_id, entry)
    return entry


def _move(tx, fund, account, delta, settles, now):
    """Apply the net `delta` (+ debit) of one entry to one balance, guarded."""
    sign = normal_sign(account)
    change = sign * delta                       # + raises the balance on its normal side
    inc = {"net_fen": delta, "balance_fen": change, "available_fen": change, "postings": 1,
           "debits_fen": max(delta, 0), "credits_fen": max(-delta, 0)}
    selector = {"_id": f"{fund['_id']}:{account}"}
    if settles:
        # Paying an approved disbursement: the money leaves the reservation.
        inc["reserved_fen"] = -settles
        inc["available_fen"] = change + settles
        selector["reserved_fen"] = {"$gte": settles}
    if inc["available_fen"] < 0 and account_type(account) in GUARDED:
        selector["available_fen"] = {"$gte": -inc["available_fen"]}
    result = tx.db.balances.update_one(selector, {"$inc": inc, "$set": {"updated_at": now}},
                                       session=tx.session)
    if result.matched_count == 1:
        return
    current = tx.db.balances.find_one({"_id": selector["_id"]}, session=tx.session)
    if current is None:
        raise NotFound(f"fund {fund['_id']} has no account {account}", fields={"fund_id": ["no such account"]})
    if settles and current["reserved_fen"] < settles:
        raise Conflict(f"fund {fund['_id']} holds {current['reserved_fen']} fen reserved, "
                       f"less than the {settles} fen being paid",
                       fields={"amount_fen": ["more than is reserved"]},
                       details={"reserved_fen": current["reserved_fen"]})
    if account == "cash":
        raise InsufficientFunds(fund["_id"], current["available_fen"], -inc["available_fen"])
    raise Conflict(f"account {account} of fund {fund['_id']} holds {current['available_fen']} fen, "
                   f"less than the {-inc['available_fen']} fen asked",
                   fields={"amount_fen": [f"more than {account} holds"]},
                   details={"account": account, "available_fen": current["available_fen"]})


def _roll_up(tx, fund_id, entry):
    for account, delta in sorted(_net_by_account(entry["postings"]).items()):
        tx.db.ledger_months.update_one(
            {"_id": f"{fund_id}:{entry['month']}:{account}:{entry['dim']}"},
            {"$inc": {"debits_fen": max(delta, 0), "credits_fen": max(-delta, 0), "entries": 1},
             "$setOnInsert": {"fund_id": fund_id, "month": entry["month"], "account": account,
                              "dim": entry["dim"]}},
            upsert=True, session=tx.session)


# ---- reservations (approved, unpaid disbursements) ----

def reserve(tx, fund, amount_fen):
    """Move `amount_fen` of available cash to reserved, or refuse naming what is available."""
    result = tx.db.balances.update_one(
        {"_id": f"{fund['_id']}:cash", "available_fen": {"$gte": amount_fen}},
        {"$inc": {"reserved_fen": amount_fen, "available_fen": -amount_fen},
         "$set": {"updated_at": clock.now_ms()}}, session=tx.session)
    if result.matched_count != 1:
        current = tx.db.balances.find_one({"_id": f"{fund['_id']}:cash"}, session=tx.session)
        raise InsufficientFunds(fund["_id"], current["available_fen"] if current else 0, amount_fen)


def release(tx, fund, amount_fen):
    """Give a reservation back to available cash (a rejection or a cancellation)."""
    result = tx.db.balances.update_one(
        {"_id": f"{fund['_id']}:cash", "reserved_fen": {"$gte": amount_fen}},
        {"$inc": {"reserved_fen": -amount_fen, "available_fen": amount_fen},
         "$set": {"updated_at": clock.now_ms()}}, session=tx.session)
    if result.matched_count != 1:
        raise Conflict(f"fund {fund['_id']} holds less than {amount_fen} fen reserved",
                       fields={"amount_fen": ["more than is reserved"]})


# ---- reversal ----

def reversal_id(entry_id):
    return "R" + entry_id


def fund_of_entry(db, entry_id):
    found = db.entries.find_one({"_id": entry_id}, {"fund_id": 1}) if isinstance(entry_id, str) else None
    return found["fund_id"] if found else None


def find_entry(db, entry_id, session=None):
    return db.entries.find_one({"_id": entry_id}, session=session)


def reverse(tx, fund, entry, caller, memo):
    """A new entry with every posting of `entry` negated, at most once per entry."""
    if entry["kind"] == "reversal":
        raise Conflict(f"entry {entry['_id']} is itself a reversal; post the movement again instead",
                       fields={"entry_id": ["a reversal is not reversed"]})
    if entry["kind"] not in REVERSIBLE:
        raise Conflict(f"a {entry['kind']} entry is not reversed on its own",
                       fields={"entry_id": [f"{entry['kind']} entries are not reversible"]})
    existing = find_entry(tx.db, reversal_id(entry["_id"]), tx.session)
    if existing is not None:
        raise Conflict(f"entry {entry['_id']} was already reversed by {existing['_id']}",
                       fields={"entry_id": ["already reversed"]},
                       details={"reversed_by": existing["_id"]})
    from pymongo.errors import DuplicateKeyError
    from services.common.errors import write_conflict

    try:
        return post(tx, fund, [{"account": p["account"], "amount_fen": -p["amount_fen"]}
                               for p in entry["postings"]],
                    kind="reversal", caller=caller, dim=entry["dim"], refs=entry["refs"],
                    memo=memo, entry_id=reversal_id(entry["_id"]), reverses=entry["_id"])
    except DuplicateKeyError:
        # Another replica reversed it a moment ago: run again, and see its reversal.
        raise write_conflict(f"entry {entry['_id']} was reversed meanwhile")


# ---- queries ----

def balances(db, fund_id, session=None):
    """{account: balance document} of one fund: at most len(CHART) documents."""
    return {b["account"]: b for b in db.balances.find({"fund_id": fund_id}, session=session)}


def summary(found):
    """What a fund's page shows: cash posted, reserved, available, in kind, advances, payable."""
    cash = found.get("cash", {})
    return {
        "cash_posted_fen": cash.get("balance_fen", 0),
        "cash_reserved_fen": cash.get("reserved_fen", 0),
        "cash_available_fen": cash.get("available_fen", 0),
        "in_kind_fen": found.get("in_kind_goods", {}).get("balance_fen", 0),
        "project_advances_fen": found.get("project_advances", {}).get("balance_fen", 0),
        "payable_fen": found.get("payable", {}).get("balance_fen", 0),
    }


def accounts_view(found):
    return [{"account": account, "type": kind, "name": name,
             "debits_fen": found.get(account, {}).get("debits_fen", 0),
             "credits_fen": found.get(account, {}).get("credits_fen", 0),
             "balance_fen": found.get(account, {}).get("balance_fen", 0),
             "reserved_fen": found.get(account, {}).get("reserved_fen", 0),
             "available_fen": found.get(account, {}).get("available_fen", 0)}
            for account, (kind, name) in CHART.items()]


def entry_view(entry):
    out = {k: entry.get(k) for k in ("fund_id", "kind", "booked_on", "dim", "refs", "memo",
                                     "reverses", "created_at", "created_by")}
    out["id"] = entry["_id"]
    out["postings"] = [{"account": p["account"], "type": p["type"],
                        "debit_fen": max(p["amount_fen"], 0), "credit_fen": max(-p["amount_fen"], 0)}
                       for p in entry["postings"]]
    out["total_fen"] = sum(max(p["amount_fen"], 0) for p in entry["postings"])
    return jsonable(out)


def with_reversals(db, entries):
    """Each entry's view with `reversed_by` (one query for the page, by primary key)."""
    ids = [reversal_id(e["_id"]) for e in entries if e["kind"] != "reversal"]
    found = set()
    for start in range(0, len(ids), 40):   # short $in lists (docs/mongo-wire-server.md)
        found.update(d["_id"] for d in db.entries.find({"_id": {"$in": ids[start:start + 40]}}, {"_id": 1}))
    out = []
    for entry in entries:
        view = entry_view(entry)
        rid = reversal_id(entry["_id"])
        view["reversed_by"] = rid if rid in found else None
        out.append(view)
    return out


def entries_selector(fund_id, query):
    selector = {"fund_id": fund_id}
    span = {}
    if query.get("from"):
        span["$gte"] = str(query["from"])
    if query.get("to"):
        span["$lte"] = str(query["to"])
    if span:
        selector["booked_on"] = span
    if query.get("kind"):
        selector["kind"] = query["kind"]
    return selector


def months(db, fund_id, first=None, last=None, accounts=None, session=None):
    """The monthly rollups of one fund, months first..last ('YYYY-MM', inclusive)."""
    selector = {"fund_id": fund_id}
    span = {}
    if first:
        span["$gte"] = first
    if last:
        span["$lte"] = last
    if span:
        selector["month"] = span
    if accounts:
        selector["account"] = {"$in": list(accounts)}
    return list(db.ledger_months.find(selector, session=session))


def trial_balance(db, fund_id, first, last):
    """Per account: opening balance, debits and credits of months first..last, closing;
    with the totals (debits = credits, in every period)."""
    rows = {account: {"opening_net": 0, "debits_fen": 0, "credits_fen": 0} for account in CHART}
    for roll in months(db, fund_id, last=last):
        row = rows[roll["account"]]
        if roll["month"] < first:
            row["opening_net"] += roll["debits_fen"] - roll["credits_fen"]
        else:
            row["debits_fen"] += roll["debits_fen"]
            row["credits_fen"] += roll["credits_fen"]
    out = []
    for account, (kind, name) in CHART.items():
        row = rows[account]
        sign = normal_sign(account)
        opening = sign * row["opening_net"]
        closing = sign * (row["opening_net"] + row["debits_fen"] - row["credits_fen"])
        out.append({"account": account, "type": kind, "name": name, "opening_fen": opening,
                    "debits_fen": row["debits_fen"], "credits_fen": row["credits_fen"],
                    "closing_fen": closing})
    debits = sum(r["debits_fen"] for r in out)
    credits = sum(r["credits_fen"] for r in out)
    return {"fund_id": fund_id, "from": first, "to": last, "accounts": out,
            "total_debits_fen": debits, "total_credits_fen": credits, "balanced": debits == credits}


def recompute(db, fund_id):
    """Every balance and rollup of one fund recomputed from its entries, and what differs.

    Returns [problem, ...] ([] when the kept figures equal the entries'). Reserved
    cash is compared with the fund's approved, unpaid disbursements."""
    problems = []
    totals = {account: {"debits_fen": 0, "credits_fen": 0, "net_fen": 0, "postings": 0} for account in CHART}
    rolls = {}
    for entry in db.entries.find({"fund_id": fund_id}, {"postings": 1, "month": 1, "dim": 1}):
        amounts = [p["amount_fen"] for p in entry["postings"]]
        if len(amounts) < 2 or sum(amounts) != 0:
            problems.append(f"entry {entry['_id']}: postings sum to {sum(amounts)} fen, not zero")
        for account, delta in _net_by_account(entry["postings"]).items():
            t = totals.setdefault(account, {"debits_fen": 0, "credits_fen": 0, "net_fen": 0, "postings": 0})
            t["debits_fen"] += max(delta, 0)
            t["credits_fen"] += max(-delta, 0)
            t["net_fen"] += delta
            t["postings"] += 1
            r = rolls.setdefault((entry["month"], account, entry["dim"]),
                                 {"debits_fen": 0, "credits_fen": 0, "entries": 0})
            r["debits_fen"] += max(delta, 0)
            r["credits_fen"] += max(-delta, 0)
            r["entries"] += 1
    reserved = sum(d["amount_fen"] for d in db.disbursements.find(
        {"fund_id": fund_id, "status": "approved"}, {"amount_fen": 1}))
    kept = balances(db, fund_id)
    for account, t in totals.items():
        b = kept.get(account)
        if b is None:
            problems.append(f"{fund_id} {account}: no balance document")
            continue
        expected = {**t, "balance_fen": normal_sign(account) * t["net_fen"],
                    "reserved_fen": reserved if account == "cash" else 0}
        expected["available_fen"] = expected["balance_fen"] - expected["reserved_fen"]
        for field, value in expected.items():
            if b.get(field) != value:
                problems.append(f"{fund_id} {account}: {field} is {b.get(field)}, the entries give {value}")
    for roll in db.ledger_months.find({"fund_id": fund_id}):
        key = (roll["month"], roll["account"], roll["dim"])
        want = rolls.pop(key, {"debits_fen": 0, "credits_fen": 0, "entries": 0})
        for field, value in want.items():
            if roll.get(field) != value:
                problems.append(f"{fund_id} {roll['month']} {roll['account']} {roll['dim'] or '-'}: "
                                f"{field} is {roll.get(field)}, the entries give {value}")
    for (month, account, dim), want in rolls.items():
        problems.append(f"{fund_id} {month} {account} {dim or '-'}: no rollup, the entries give {want}")
    return problems
