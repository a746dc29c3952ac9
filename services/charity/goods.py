"""In-kind goods (受赠物资): what came in by item, what was given out, at recorded value.

    goods_months: {_id: "<fund>:<month>:<item key>", fund_id, month, item, unit,
                   received_milli, received_fen, distributed_milli, distributed_fen}

Quantities are kept in thousandths (`*_milli`, exact integers); values in fen.
Goods are an asset of their own (`in_kind_goods`), kept apart from cash: they
come in with an in-kind donation at the receiving staff's valuation and go
out with a distribution (Dr in_kind_expense, Cr in_kind_goods), which never
takes more value than the fund holds. The rollup moves in the same
transaction as the entry, so the public report lists goods by item without
reading donations.
"""
import hashlib
import uuid

from services.common import access, clock
from services.common.jsonable import jsonable
from services.charity import funds, ledger, roles


def ensure_indexes(db):
    db.goods_months.create_index([("fund_id", 1), ("month", 1)])
    db.distributions.create_index([("fund_id", 1), ("distributed_on", 1)])


def milli(quantity):
    """A quantity (Decimal or number, at most 3 decimals) as an integer of thousandths."""
    return int(round(float(quantity) * 1000)) if not hasattr(quantity, "quantize") \
        else int(quantity * 1000)


def quantity_text(milli_value):
    whole, part = divmod(abs(milli_value), 1000)
    text = f"{whole}" + (f".{part:03d}".rstrip("0") if part else "")
    return ("-" if milli_value < 0 else "") + text


def _item_key(item, unit):
    return hashlib.sha256(f"{item.strip()}|{unit.strip()}".encode("utf-8")).hexdigest()[:16]


def roll(tx, fund_id, month, items, field, sign=1):
    """Add (sign=-1: take back) items [{name, unit, quantity_milli, value_fen}] to the rollup."""
    for item in items:
        tx.db.goods_months.update_one(
            {"_id": f"{fund_id}:{month}:{_item_key(item['name'], item['unit'])}"},
            {"$inc": {f"{field}_milli": sign * item["quantity_milli"],
                      f"{field}_fen": sign * item["value_fen"]},
             "$setOnInsert": {"fund_id": fund_id, "month": month, "item": item["name"].strip(),
                              "unit": item["unit"].strip()}},
            upsert=True, session=tx.session)


def stored_items(items):
    return [{"name": i["name"].strip(), "quantity_milli": milli(i["quantity"]),
             "unit": i["unit"].strip(), "value_fen": i["value_fen"]} for i in items]


def items_view(items):
    return [{"name": i["name"], "quantity": quantity_text(i["quantity_milli"]), "unit": i["unit"],
             "value_fen": i["value_fen"]} for i in items]


def distribute(tx, fund_id, data, caller):
    """Give goods out: an entry of their value, guarded by what the fund holds."""
    roles.ensure_writer(caller)
    fund = funds.lock(tx, fund_id, caller)
    items = stored_items(data["items"])
    value = sum(i["value_fen"] for i in items)
    today = clock.china_today().isoformat()
    distribution = {
        "_id": "G" + uuid.uuid4().hex[:12], **funds.copied_regions(fund),
        "items": items, "value_fen": value, "purpose": data["purpose"],
        "category": data["category"], "project_id": data.get("project_id"),
        "distributed_on": today, "created_at": clock.now_ms(), "created_by": access.actor(caller),
    }
    entry = ledger.post(tx, fund, [{"account": "in_kind_expense", "amount_fen": value},
                                   {"account": "in_kind_goods", "amount_fen": -value}],
                        kind="distribution", caller=caller, dim=f"goods:{data['category']}",
                        refs={"distribution_id": distribution["_id"],
                              "project_id": data.get("project_id")},
                        memo="物资发放")
    distribution["entry_id"] = entry["_id"]
    tx.db.distributions.insert_one(distribution, session=tx.session)
    roll(tx, fund["_id"], entry["month"], items, "distributed")
    return view(distribution)


def on_reversed(tx, distribution_id, reversal):
    distribution = tx.db.distributions.find_one({"_id": distribution_id}, session=tx.session)
    if distribution:
        roll(tx, distribution["fund_id"], reversal["month"], distribution["items"], "distributed", -1)
        tx.db.distributions.update_one({"_id": distribution_id},
                                       {"$set": {"reversed_entry_id": reversal["_id"]}},
                                       session=tx.session)


def view(distribution):
    out = {k: distribution.get(k) for k in ("fund_id", "value_fen", "purpose", "category",
                                            "project_id", "distributed_on", "entry_id",
                                            "created_at", "created_by")}
    out["id"] = distribution["_id"]
    out["items"] = items_view(distribution["items"])
    out["reversed_entry_id"] = distribution.get("reversed_entry_id")
    return jsonable(out)


def months(db, fund_id, first, last):
    return list(db.goods_months.find({"fund_id": fund_id, "month": {"$gte": first, "$lte": last}}))
