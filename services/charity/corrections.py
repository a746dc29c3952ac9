"""Corrections: reversing a journal entry, and undoing what it stood for.

A posted entry is never changed. An officer reverses it (with a reason) by a
new entry of the opposite postings (ledger.reverse, at most once per entry);
in the same transaction the record it stood for follows:

    donation      marked reversed, its receipt voided, donors and goods rollups moved back
    payment       the disbursement keeps `paid` with `reversed_entry_id`; its project
                  tranche or milestone payment is given back (it may be requested again)
    distribution  goods rollup moved back
    opening       nothing more

Reversing takes money back out of the ledger like any other posting: a
donation whose money was already spent or reserved cannot be reversed (409
naming the available amount). Accruals and project closings are not
reversed on their own: they follow from an acceptance and a final report.
"""
from services.common.errors import NotFound
from services.charity import disbursements, donations, funds, goods, ledger, roles


def reverse_entry(tx, entry_id, data, caller):
    roles.ensure_approver(caller, "reverse an entry")
    entry = ledger.find_entry(tx.db, entry_id, tx.session)
    if entry is None:
        raise NotFound(f"no entry {entry_id}", fields={"entry_id": ["not found"]})
    fund = funds.lock(tx, entry["fund_id"], caller, ("open", "frozen"), field="entry_id")
    reversal = ledger.reverse(tx, fund, entry, caller, data["reason"])
    refs = entry["refs"]
    if entry["kind"] == "donation":
        donations.on_reversed(tx, refs["donation_id"], reversal, caller, data["reason"])
    elif entry["kind"] == "payment":
        disbursements.on_reversed(tx, refs["disbursement_id"], reversal)
    elif entry["kind"] == "distribution":
        goods.on_reversed(tx, refs["distribution_id"], reversal)
    tx.emit("entry.reversed", reversal["_id"], {
        **funds.event_regions(fund), "entry_id": reversal["_id"], "reverses": entry["_id"],
        "amount_fen": sum(max(p["amount_fen"], 0) for p in entry["postings"]),
        "on": reversal["booked_on"]})
    return {**ledger.entry_view(reversal), "reversed_by": None}
