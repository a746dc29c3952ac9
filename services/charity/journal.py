"""The ledger as callers read it: entries, trial balances, exports, and the check.

Queries only (services/charity/ledger.py owns and writes the collections);
each checks the fund lies in the caller's region first.
"""
from services.common import queries
from services.common.jsonable import jsonable
from services.charity import funds, ledger, rules


def entries_page(db, fund_id, query, caller):
    funds.load(db, fund_id, caller)
    return queries.page(db.entries, ledger.entries_selector(fund_id, query), query,
                        lambda found: ledger.with_reversals(db, found),
                        sort=(("booked_on", 1), ("_id", 1)))


def get_entry(db, entry_id, caller):
    from services.common.errors import NotFound

    entry = ledger.find_entry(db, entry_id)
    if entry is None:
        raise NotFound(f"no entry {entry_id}", fields={"entry_id": ["not found"]})
    funds.load(db, entry["fund_id"], caller, field="entry_id")
    return ledger.with_reversals(db, [entry])[0]


def trial_balance(db, fund_id, query, caller):
    funds.load(db, fund_id, caller)
    return jsonable(ledger.trial_balance(db, fund_id, query["from"], query["to"]))


EXPORT_COLUMNS = [("entry_id", "凭证号"), ("booked_on", "记账日期"), ("kind", "类别"),
                  ("account", "科目"), ("account_name", "科目名称"), ("debit_fen", "借方(分)"),
                  ("credit_fen", "贷方(分)"), ("debit_yuan", "借方(元)"), ("credit_yuan", "贷方(元)"),
                  ("dim", "用途"), ("reverses", "冲销凭证"), ("memo", "摘要"), ("created_by", "记账人")]


def export(db, fund_id, query, caller):
    """One row per posting. Entries hold no personal data, so every role sees the same rows."""
    funds.load(db, fund_id, caller)
    rows = []
    for entry in queries.export_rows(db.entries, ledger.entries_selector(fund_id, query),
                                     (("booked_on", 1), ("_id", 1))):
        for p in entry["postings"]:
            debit, credit = max(p["amount_fen"], 0), max(-p["amount_fen"], 0)
            rows.append([entry["_id"], entry["booked_on"], entry["kind"], p["account"],
                         ledger.CHART[p["account"]][1], debit, credit, rules.yuan(debit),
                         rules.yuan(credit), entry["dim"], entry.get("reverses"), entry.get("memo"),
                         entry["created_by"]])
    return {"name": "ledger", "columns": [{"key": k, "title": t} for k, t in EXPORT_COLUMNS],
            "rows": rows}


def check(db, query, caller):
    """Every kept balance and rollup of the funds in the caller's region, recomputed from
    the entries (`wushe charity check`)."""
    selector = queries.scoped(caller, None)
    if query.get("fund_id"):
        funds.load(db, query["fund_id"], caller)
        selector = {"_id": query["fund_id"]}
    problems, checked = [], 0
    for fund in db.funds.find(selector, {"_id": 1}).sort("_id", 1):
        checked += 1
        problems.extend(ledger.recompute(db, fund["_id"]))
    entries = db.entries.count_documents({"fund_id": query["fund_id"]} if query.get("fund_id")
                                         else queries.scoped(caller, None))
    return {"funds": checked, "entries": entries, "problems": problems, "ok": not problems}
