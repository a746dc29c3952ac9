"""A property of the ledger's own functions, on a real Mongo-wire database (outside
nameko): after any sequence of postings, reversals, reservations and releases (some
refused), every kept balance and rollup equals what the entries sum to, no asset or
liability is below zero, and no entry is reversed twice."""
import uuid

import pytest
from hypothesis import HealthCheck, event, given, settings, strategies as st

from services.common.errors import DomainError
from services.common.outbox import record
from services.charity import funds, ledger
from tests.integration.test_charity_support import committee, credit_code

pytestmark = pytest.mark.integration

SYSTEM = {"sub": "property", "role": "system", "region": ""}
ACCOUNTS = sorted(ledger.CHART)

amounts = st.integers(min_value=1, max_value=50_000)
lines = st.lists(st.tuples(st.sampled_from(ACCOUNTS), amounts, st.booleans()), min_size=1, max_size=3)
operations = st.lists(st.one_of(
    st.tuples(st.just("post"), lines, st.sampled_from(ACCOUNTS)),
    st.tuples(st.just("reverse"), st.integers(min_value=0, max_value=30)),
    st.tuples(st.just("reserve"), amounts),
    st.tuples(st.just("release"), amounts),
), min_size=1, max_size=14)


def run(db, fn):
    """What fn answered (True for nothing), or None when it was refused (and changed nothing)."""
    try:
        result = record(db, "charity", fn)[0]
    except DomainError:
        return None
    return True if result is None else result


def open_fund(db):
    data = {"name": f"基金-{uuid.uuid4().hex[:6]}", "kind": "special_fund", "purpose": "测试",
            "region": "340102001", "station_id": None,
            "host": {"name": "测试慈善会", "credit_code": credit_code()}, "committee": committee()}
    return record(db, "charity", lambda tx: funds.open_fund(tx, data, SYSTEM))[0]["id"]


def postings_of(picked, balancing):
    postings = [{"account": account, "amount_fen": amount if debit else -amount}
                for account, amount, debit in picked]
    rest = -sum(p["amount_fen"] for p in postings)
    if rest:
        postings.append({"account": balancing, "amount_fen": rest})
    return postings


@pytest.fixture(scope="module")
def db(mongo_client):
    name = f"t_prop_{uuid.uuid4().hex[:8]}"
    database = mongo_client[name]
    ledger.ensure_indexes(database)
    yield database
    mongo_client.drop_database(name)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(start=st.lists(st.integers(min_value=0, max_value=200_000), min_size=4, max_size=4), ops=operations)
def test_every_balance_equals_the_sum_of_its_postings(db, start, ops):
    fund_id = open_fund(db)
    fund = db.funds.find_one({"_id": fund_id})
    posted, reserved = [], 0
    # Something to move first (assets and a liability), so that most operations can pass.
    opening = [{"account": a, "amount_fen": v} for a, v in
               zip(("cash", "in_kind_goods", "project_advances", "service_expense"), start) if v]
    opening.append({"account": "net_assets", "amount_fen": -sum(start[:3])})
    if start[3]:
        opening.append({"account": "payable", "amount_fen": -start[3]})
    if len([p for p in opening if p["amount_fen"]]) >= 2:
        entry = run(db, lambda tx: ledger.post(tx, fund, [p for p in opening if p["amount_fen"]],
                                               kind="opening", caller=SYSTEM))
        posted.append(entry["_id"])
    for op in ops:
        if op[0] == "post":
            postings = postings_of(op[1], op[2])
            if len(postings) < 2:
                continue
            entry = run(db, lambda tx: ledger.post(tx, fund, postings, kind="posting", caller=SYSTEM))
            if entry:
                posted.append(entry["_id"])
        elif op[0] == "reverse" and posted:
            target = ledger.find_entry(db, posted[op[1] % len(posted)])
            run(db, lambda tx: ledger.reverse(tx, fund, target, SYSTEM, "更正"))
        elif op[0] == "reserve":
            if run(db, lambda tx: ledger.reserve(tx, fund, op[1])) is None and \
                    db.balances.find_one({"_id": f"{fund_id}:cash"})["available_fen"] >= op[1]:
                raise AssertionError("a reservation the cash affords was refused")
        elif op[0] == "release" and reserved:
            amount = min(op[1], reserved)
            run(db, lambda tx: ledger.release(tx, fund, amount))
        reserved = db.balances.find_one({"_id": f"{fund_id}:cash"})["reserved_fen"]
    # Reservations belong to approved disbursements; these are the test's own, so the
    # recomputation is told of them by a stand-in record.
    db.disbursements.delete_many({"fund_id": fund_id})
    if reserved:
        db.disbursements.insert_one({"fund_id": fund_id, "status": "approved", "amount_fen": reserved})
    assert ledger.recompute(db, fund_id) == []
    kept = ledger.balances(db, fund_id)
    for account, balance in kept.items():
        sums = sum(p["amount_fen"] for e in db.entries.find({"fund_id": fund_id})
                   for p in e["postings"] if p["account"] == account)
        assert balance["net_fen"] == sums
        if balance["type"] in ledger.GUARDED:
            assert balance["balance_fen"] >= 0 and balance["available_fen"] >= 0, balance
    reversals = [e["reverses"] for e in db.entries.find({"fund_id": fund_id, "kind": "reversal"})]
    event(f"entries posted: {min(len(posted), 5)}+, reversals: {min(len(reversals), 2)}+")
    assert len(reversals) == len(set(reversals))
    assert sum(p["amount_fen"] for e in db.entries.find({"fund_id": fund_id}) for p in e["postings"]) == 0
