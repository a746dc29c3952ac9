"""Donations (捐赠) in money or in kind, each with its ledger entry and its receipt.

    donations: {_id: "D<hex>", fund_id, station_id, region codes, kind: money|in_kind,
                received_on, donor: {kind, name, phone, id_number, consent_public},
                amount_fen, channel, payer_reference,                  # money
                items: [{name, quantity_milli, unit, value_fen}],        # in kind
                valuation: {basis, note, valued_by},                     # in kind
                handler, note, entry_id, receipt_number, status: received|reversed,
                reversed_entry_id, created_at, created_by}
    donor_months: {_id: "<fund>:<month>:<donor key>", fund_id, month, donor_key,
                   public_name, amount_fen, donations}

Decisions:
* Money: Dr cash, Cr donation_income. In kind: Dr in_kind_goods, Cr
  in_kind_income at the receiving staff's valuation (with its basis); goods
  never count as cash. The entry is booked on the day received (China).
* The donor is a person, an organisation or anonymous; a person's name, phone
  and ID number are personal data: masked for roles that do not need them,
  never in an event. `consent_public` says whether the public report may name
  the donor; otherwise it says 爱心人士. An anonymous donor has no name.
* A receipt (捐赠收据) is issued in the same transaction (services/charity/receipts.py).
* Recording takes an Idempotency-Key (service.py): a retried request answers
  the first donation, never a second one.
* A donation is corrected by reversing its entry (services/charity/corrections.py):
  the donation is marked reversed, its receipt voided, and the donors rollup
  moved back in the month of the reversal.
"""
import uuid

from services.common import access, clock, queries
from services.common.errors import InvalidInput
from services.common.jsonable import jsonable
from services.charity import funds, goods, ledger, receipts, roles, rules


def ensure_indexes(db):
    db.donations.create_index([("fund_id", 1), ("received_on", 1)])
    for field in ("province", "city", "county", "division_code"):
        db.donations.create_index([(field, 1), ("received_on", -1)])
    db.donor_months.create_index([("fund_id", 1), ("month", 1)])


def _donor(data):
    donor = data["donor"]
    kind = donor["kind"]
    if kind != "anonymous" and not (donor.get("name") or "").strip():
        raise InvalidInput("a person or an organisation donor needs a name",
                           fields={"donor.name": ["required unless anonymous"]})
    return {"kind": kind,
            "name": None if kind == "anonymous" else donor["name"].strip(),
            "phone": None if kind == "anonymous" else donor.get("phone"),
            "id_number": donor.get("id_number") if kind == "person" else None,
            "credit_code": donor.get("credit_code") if kind == "organisation" else None,
            "consent_public": bool(donor.get("consent_public")) and kind != "anonymous"}


def roll_donor(tx, fund_id, month, donor, amount_fen, sign=1):
    key = rules.donor_key(donor["kind"], donor["name"], donor["consent_public"])
    tx.db.donor_months.update_one(
        {"_id": f"{fund_id}:{month}:{key}"},
        {"$inc": {"amount_fen": sign * amount_fen, "donations": sign},
         "$setOnInsert": {"fund_id": fund_id, "month": month, "donor_key": key,
                          "donor_kind": donor["kind"] if key != "anonymous" else None,
                          "public_name": rules.public_donor_name(donor["kind"], donor["name"],
                                                                 donor["consent_public"])}},
        upsert=True, session=tx.session)


def receive(tx, data, caller):
    roles.ensure_writer(caller)
    fund = funds.lock(tx, data["fund_id"], caller)
    if data["received_on"] > clock.china_today():
        raise InvalidInput("received_on is after today", fields={"received_on": ["in the future"]})
    donor = _donor(data)
    kind = data["kind"]
    donation = {
        "_id": "D" + uuid.uuid4().hex[:12], **funds.copied_regions(fund), "kind": kind,
        "received_on": data["received_on"].isoformat(), "donor": donor,
        "handler": (data.get("handler") or access.actor(caller)).strip(), "note": data.get("note"),
        "status": "received", "created_at": clock.now_ms(), "created_by": access.actor(caller),
    }
    if kind == "money":
        amount = data["amount_fen"]
        donation.update(amount_fen=amount, channel=data["channel"],
                        payer_reference=data.get("payer_reference"), items=None, valuation=None)
        accounts = ("cash", "donation_income")
    else:
        items = goods.stored_items(data["items"])
        amount = sum(i["value_fen"] for i in items)
        donation.update(amount_fen=amount, channel=None, payer_reference=None, items=items,
                        valuation={"basis": data["valuation"]["basis"],
                                   "note": data["valuation"].get("note"),
                                   "valued_by": data["valuation"]["valued_by"].strip()})
        accounts = ("in_kind_goods", "in_kind_income")
    entry = ledger.post(tx, fund, [{"account": accounts[0], "amount_fen": amount},
                                   {"account": accounts[1], "amount_fen": -amount}],
                        kind="donation", caller=caller, booked_on=data["received_on"],
                        dim=f"{kind}:{donor['kind']}", refs={"donation_id": donation["_id"]},
                        memo="货币捐赠" if kind == "money" else "实物捐赠")
    donation["entry_id"] = entry["_id"]
    roll_donor(tx, fund["_id"], entry["month"], donor, amount)
    if kind == "in_kind":
        goods.roll(tx, fund["_id"], entry["month"], donation["items"], "received")
    receipt = receipts.issue(tx, fund, donation, caller)
    donation["receipt_number"] = receipt["_id"]
    tx.db.donations.insert_one(donation, session=tx.session)
    tx.emit("donation.received", donation["_id"], {
        **funds.event_regions(fund), "donation_id": donation["_id"], "kind": kind,
        "amount_fen": amount, "received_on": donation["received_on"],
        "donor_kind": donor["kind"], "channel": donation["channel"]})
    return view(donation, caller)


def on_reversed(tx, donation_id, reversal, caller, reason):
    """The donation's entry was reversed: mark it, void its receipt, move the rollups back."""
    donation = tx.db.donations.find_one({"_id": donation_id}, session=tx.session)
    if donation is None:
        return
    tx.db.donations.update_one({"_id": donation_id},
                               {"$set": {"status": "reversed", "reversed_entry_id": reversal["_id"]}},
                               session=tx.session)
    roll_donor(tx, donation["fund_id"], reversal["month"], donation["donor"], donation["amount_fen"], -1)
    if donation["kind"] == "in_kind":
        goods.roll(tx, donation["fund_id"], reversal["month"], donation["items"], "received", -1)
    receipts.void_for_reversal(tx, donation, caller, reason)


# ---- answers ----

def donor_view(donor, caller):
    if access.sees_personal_data(caller) or donor["kind"] != "person":
        return dict(donor)
    id_number = donor.get("id_number")
    return {**donor, "name": access.mask_name(donor["name"]), "phone": access.mask_phone(donor["phone"]),
            "id_number": (id_number[:3] + "*" * (len(id_number) - 7) + id_number[-4:]) if id_number else None}


def view(donation, caller):
    out = {k: donation.get(k) for k in ("fund_id", "station_id", "region", "kind", "received_on",
                                        "amount_fen", "channel", "payer_reference", "valuation",
                                        "note", "entry_id", "receipt_number", "status",
                                        "reversed_entry_id", "created_at", "created_by")}
    out["id"] = donation["_id"]
    out["donor"] = donor_view(donation["donor"], caller)
    out["handler"] = donation["handler"] if access.sees_personal_data(caller) \
        else access.mask_name(donation["handler"])
    out["items"] = goods.items_view(donation["items"]) if donation.get("items") else None
    return jsonable(out)


def get(db, donation_id, caller):
    donation = queries.load_in_region(db.donations, donation_id, caller, what="donation",
                                      field="donation_id", region_field="region")
    return view(donation, caller)


def _selector(query, caller):
    selector = queries.scoped(caller, query.get("region"))
    for field in ("fund_id", "kind", "status"):
        if query.get(field):
            selector[field] = query[field]
    span = {}
    if query.get("from"):
        span["$gte"] = str(query["from"])
    if query.get("to"):
        span["$lte"] = str(query["to"])
    if span:
        selector["received_on"] = span
    return selector


def list_page(db, query, caller):
    return queries.page(db.donations, _selector(query, caller), query,
                        lambda found: [view(d, caller) for d in found],
                        sort=(("received_on", -1), ("_id", -1)))


EXPORT_COLUMNS = [("id", "捐赠编号"), ("fund_id", "基金"), ("received_on", "接收日期"),
                  ("kind", "类别"), ("donor_kind", "捐赠方类型"), ("donor_name", "捐赠方"),
                  ("donor_phone", "联系电话"), ("consent_public", "同意公开"),
                  ("amount_fen", "金额(分)"), ("amount_yuan", "金额(元)"), ("channel", "方式"),
                  ("items", "物资"), ("receipt_number", "收据编号"), ("status", "状态"),
                  ("handler", "经手人")]


def export(db, query, caller):
    rows = []
    for donation in queries.export_rows(db.donations, _selector(query, caller),
                                        (("received_on", 1), ("_id", 1))):
        v = view(donation, caller)
        items = "; ".join(f"{i['name']} {i['quantity']}{i['unit']}" for i in v["items"] or [])
        rows.append([v["id"], v["fund_id"], v["received_on"], v["kind"], v["donor"]["kind"],
                     v["donor"]["name"] or rules.ANONYMOUS_NAME, v["donor"]["phone"],
                     "是" if v["donor"]["consent_public"] else "否", v["amount_fen"],
                     rules.yuan(v["amount_fen"]), v["channel"], items, v["receipt_number"],
                     v["status"], v["handler"]])
    return {"name": "donations", "columns": [{"key": k, "title": t} for k, t in EXPORT_COLUMNS],
            "rows": rows}
