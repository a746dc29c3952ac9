"""Donation receipts (捐赠收据): numbered without gaps per host organisation and year.

    receipts: {_id: "JZSJ-2026-<host credit code>-000001", year, seq, host: {name, credit_code},
               fund_id, fund_name, region codes, donation_id, donor: {kind, name, id_number},
               kind, items, amount_fen, received_on, handler, issued_on, issued_at, issued_by,
               status: valid|voided, void: {on, at, by, reason} | null, replaces, replaced_by}

Decisions:
* The number comes from the counter `receipt:<credit code>:<year>`
  (services.common.sequences) inside the donation's transaction: a refused or
  failed donation gives its number back, so the numbers issued have no gaps,
  whatever the number of replicas issuing at once.
* A receipt names the donor (匿名 for an anonymous one), the kind and quantity
  of the property, the amount (in figures and in words), the receiving
  organisation, the handler and the date. It is never changed or deleted: a
  void marks it voided with who, when and why (and `receipt.voided`); a
  corrected receipt is a new number that `replaces` the voided one.
* Anyone may check a number (`verify`): the masked donor, the amount, the
  date, the organisation and valid/voided, nothing more.
"""
from services.common import access, clock, queries, sequences
from services.common.errors import Conflict, InvalidInput, NotFound
from services.common.jsonable import jsonable
from services.charity import funds, goods, roles, rules


def ensure_indexes(db):
    db.receipts.create_index([("donation_id", 1)])
    db.receipts.create_index([("host.credit_code", 1), ("year", 1), ("seq", 1)], unique=True)
    for field in ("province", "city", "county", "division_code"):
        db.receipts.create_index([(field, 1), ("_id", 1)])


def counter_name(credit_code, year):
    return f"receipt:{credit_code}:{year}"


def issue(tx, fund, donation, caller, donor=None, replaces=None):
    today = clock.china_today()
    credit_code = fund["host"]["credit_code"]
    seq = sequences.next_number(tx, counter_name(credit_code, today.year))
    donor = donor or donation["donor"]
    receipt = {
        "_id": rules.receipt_number(today.year, credit_code, seq),
        "year": today.year, "seq": seq, "host": fund["host"], "fund_name": fund["name"],
        **funds.copied_regions(fund), "donation_id": donation["_id"],
        "donor": {"kind": donor["kind"], "name": donor.get("name"), "id_number": donor.get("id_number")},
        "kind": donation["kind"], "items": donation.get("items"), "amount_fen": donation["amount_fen"],
        "received_on": donation["received_on"], "handler": donation["handler"],
        "issued_on": today.isoformat(), "issued_at": clock.now_ms(), "issued_by": access.actor(caller),
        "status": "valid", "void": None, "replaces": replaces, "replaced_by": None,
    }
    tx.db.receipts.insert_one(receipt, session=tx.session)
    tx.emit("receipt.issued", receipt["_id"], {
        **funds.event_regions(fund), "receipt_number": receipt["_id"],
        "donation_id": donation["_id"], "host_credit_code": credit_code, "year": today.year,
        "kind": donation["kind"], "amount_fen": donation["amount_fen"],
        "issued_on": receipt["issued_on"]})
    return receipt


def _void(tx, receipt, caller, reason):
    today = clock.china_today().isoformat()
    result = tx.db.receipts.update_one(
        {"_id": receipt["_id"], "status": "valid"},
        {"$set": {"status": "voided", "void": {"on": today, "at": clock.now_ms(),
                                               "by": access.actor(caller), "reason": reason}}},
        session=tx.session)
    if result.matched_count != 1:
        raise Conflict(f"receipt {receipt['_id']} is already voided",
                       fields={"number": ["already voided"]})
    tx.emit("receipt.voided", receipt["_id"], {
        "fund_id": receipt["fund_id"], "station_id": receipt.get("station_id"),
        **{k: receipt.get(k) for k in ("division_code", "county", "city", "province")},
        "receipt_number": receipt["_id"], "donation_id": receipt["donation_id"],
        "amount_fen": receipt["amount_fen"], "voided_on": today})


def void(tx, number, data, caller):
    """Void a receipt; with `reissue`, issue its replacement (a corrected donor name)."""
    roles.ensure_writer(caller)
    receipt = queries.load_in_region(tx.db.receipts, number, caller, what="receipt", field="number",
                                     region_field="region", session=tx.session)
    _void(tx, receipt, caller, data["reason"])
    if not data.get("reissue"):
        return view(tx.db.receipts.find_one({"_id": number}, session=tx.session), caller)
    donation = tx.db.donations.find_one({"_id": receipt["donation_id"]}, session=tx.session)
    if donation["status"] != "received":
        raise Conflict(f"donation {donation['_id']} is {donation['status']}: no new receipt",
                       fields={"reissue": [f"donation is {donation['status']}"]})
    fund = funds.load(tx.db, donation["fund_id"], caller, tx.session)
    donor = dict(donation["donor"])
    if data.get("donor_name"):
        if donor["kind"] == "anonymous":
            raise InvalidInput("an anonymous donor has no name", fields={"donor_name": ["donor is anonymous"]})
        donor["name"] = data["donor_name"].strip()
    replacement = issue(tx, fund, donation, caller, donor=donor, replaces=number)
    tx.db.receipts.update_one({"_id": number}, {"$set": {"replaced_by": replacement["_id"]}},
                              session=tx.session)
    tx.db.donations.update_one({"_id": donation["_id"]},
                               {"$set": {"receipt_number": replacement["_id"], "donor": donor}},
                               session=tx.session)
    return view(replacement, caller)


def void_for_reversal(tx, donation, caller, reason):
    receipt = tx.db.receipts.find_one({"_id": donation.get("receipt_number")}, session=tx.session)
    if receipt is not None and receipt["status"] == "valid":
        _void(tx, receipt, caller, f"捐赠冲销: {reason}")


# ---- answers ----

def _donor_name(receipt, caller):
    donor = receipt["donor"]
    if donor["kind"] == "anonymous":
        return rules.ANONYMOUS_NAME
    if donor["kind"] == "person" and not access.sees_personal_data(caller):
        return access.mask_name(donor["name"])
    return donor["name"]


def view(receipt, caller):
    personal = access.sees_personal_data(caller)
    out = {k: receipt.get(k) for k in ("year", "host", "fund_id", "fund_name", "donation_id",
                                       "kind", "amount_fen", "received_on", "issued_on",
                                       "issued_at", "issued_by", "status", "void", "replaces",
                                       "replaced_by")}
    out["number"] = receipt["_id"]
    id_number = receipt["donor"].get("id_number")
    out["donor"] = {"kind": receipt["donor"]["kind"], "name": _donor_name(receipt, caller),
                    "id_number": id_number if personal or not id_number
                    else id_number[:3] + "*" * (len(id_number) - 7) + id_number[-4:]}
    out["handler"] = receipt["handler"] if personal else access.mask_name(receipt["handler"])
    out["items"] = goods.items_view(receipt["items"]) if receipt.get("items") else None
    return jsonable(out)


def load(db, number, caller):
    return queries.load_in_region(db.receipts, number, caller, what="receipt", field="number",
                                  region_field="region")


def get(db, number, caller):
    return view(load(db, number, caller), caller)


def printable(db, number, caller):
    """What a printed 捐赠收据 shows, laid out as the page needs it."""
    receipt = view(load(db, number, caller), caller)
    if receipt["kind"] == "money":
        lines = [{"description": "货币", "quantity": None, "unit": None,
                  "amount_fen": receipt["amount_fen"], "amount_yuan": rules.yuan(receipt["amount_fen"])}]
    else:
        lines = [{"description": i["name"], "quantity": i["quantity"], "unit": i["unit"],
                  "amount_fen": i["value_fen"], "amount_yuan": rules.yuan(i["value_fen"])}
                 for i in receipt["items"]]
    return {
        "title": "捐赠收据", "number": receipt["number"], "issued_on": receipt["issued_on"],
        "donor": receipt["donor"]["name"], "property_kind": "货币" if receipt["kind"] == "money" else "实物",
        "lines": lines, "amount_fen": receipt["amount_fen"], "amount_yuan": rules.yuan(receipt["amount_fen"]),
        "amount_in_words": rules.amount_in_words(receipt["amount_fen"]),
        "received_on": receipt["received_on"], "receiving_organisation": receipt["host"]["name"],
        "credit_code": receipt["host"]["credit_code"], "fund_name": receipt["fund_name"],
        "handler": receipt["handler"], "status": receipt["status"],
        "watermark": "作废" if receipt["status"] == "voided" else None,
        "verify_path": f"/api/v1/public/receipts/{receipt['number']}",
    }


def verify(db, number):
    """What anyone holding the number may read."""
    if not isinstance(number, str) or not rules.RECEIPT_NUMBER.match(number):
        raise NotFound("no such receipt", fields={"number": ["not found"]})
    receipt = db.receipts.find_one({"_id": number})
    if receipt is None:
        raise NotFound("no such receipt", fields={"number": ["not found"]})
    donor = receipt["donor"]
    return jsonable({
        "number": receipt["_id"],
        "donor": rules.ANONYMOUS_NAME if donor["kind"] == "anonymous" else access.mask_name(donor["name"]),
        "amount_fen": receipt["amount_fen"], "amount_yuan": rules.yuan(receipt["amount_fen"]),
        "issued_on": receipt["issued_on"], "organisation": receipt["host"]["name"],
        "status": receipt["status"],
    })


def _selector(query, caller):
    selector = queries.scoped(caller, query.get("region"))
    for field in ("fund_id", "status", "year"):
        if query.get(field):
            selector[field] = query[field]
    return selector


def list_page(db, query, caller):
    return queries.page(db.receipts, _selector(query, caller), query,
                        lambda found: [view(r, caller) for r in found], sort=(("_id", -1),))


EXPORT_COLUMNS = [("number", "收据编号"), ("issued_on", "开具日期"), ("fund_id", "基金"),
                  ("donor", "捐赠方"), ("kind", "财产类别"), ("amount_fen", "金额(分)"),
                  ("amount_yuan", "金额(元)"), ("organisation", "接收单位"), ("handler", "经手人"),
                  ("status", "状态"), ("void_reason", "作废原因")]


def export(db, query, caller):
    rows = []
    for receipt in queries.export_rows(db.receipts, _selector(query, caller), (("_id", 1),)):
        v = view(receipt, caller)
        rows.append([v["number"], v["issued_on"], v["fund_id"], v["donor"]["name"],
                     "货币" if v["kind"] == "money" else "实物", v["amount_fen"],
                     rules.yuan(v["amount_fen"]), v["host"]["name"], v["handler"], v["status"],
                     (v["void"] or {}).get("reason")])
    return {"name": "receipts", "columns": [{"key": k, "title": t} for k, t in EXPORT_COLUMNS],
            "rows": rows}
