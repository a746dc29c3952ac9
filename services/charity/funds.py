"""Community charity funds (社区慈善基金) and their status.

    funds: {_id: "F<hex>", name, kind, purpose, level, region,   # region: the code it belongs to
            station_id, division_code, county, city, province,  # null above the fund's level
            host: {name, credit_code},                          # the charitable organisation
            committee: [{name, role: chair|member|supervisor, title}],
            status, status_history: [{status, on, by, reason}],
            opened_on, created_at, created_by, moves}

Decisions:
* A fund belongs to a region (province, city, county, township code) or to a
  station known from the registry's events (its township then); `region` is
  that code, and scope checks compare it with the caller's region.
* A community fund has no legal personality: it is hosted by a registered
  charitable organisation, named with its unified social credit code (check
  character verified, GB 32100-2015); receipts are numbered per host and year.
* The management committee has at least five members, an odd number, exactly
  one supervisor (rules.committee_problem). Member names are personal data.
* Status open -> frozen -> open, and open or frozen -> closed (final), only at
  a zero balance on every asset and liability account, with nothing reserved
  and no disbursement waiting. A frozen fund takes no donation and pays
  nothing; corrections (reversals) are still posted.
* Every money command first moves the fund document (`lock`: a conditional
  `$inc` of `moves` on the expected status): a freeze or a close and a
  payment racing on one fund write-conflict, and the loser runs again on the
  winner's result.
"""
import uuid

from pymongo import ReturnDocument

from services.common import access, clock, queries
from services.common.errors import Conflict, InvalidInput
from services.common.jsonable import jsonable
from services.charity import ledger, roles, rules, stations_view

LEVELS = {2: "province", 4: "city", 6: "county", 9: "township"}
REGION_FIELDS = ("region", "division_code", "county", "city", "province")


def ensure_indexes(db):
    for field in ("province", "city", "county", "division_code"):
        db.funds.create_index([(field, 1), ("_id", 1)])
    db.funds.create_index([("station_id", 1)])


def regions_of_code(code):
    """The four region codes of a division code (null above its level)."""
    return {"division_code": code if len(code) == 9 else None,
            "county": code[:6] if len(code) >= 6 else None,
            "city": code[:4] if len(code) >= 4 else None,
            "province": code[:2]}


def event_regions(fund):
    """The fund's id and region codes as every event carries them."""
    return {"fund_id": fund["_id"], "station_id": fund.get("station_id"),
            **{k: fund.get(k) for k in ("division_code", "county", "city", "province")}}


def copied_regions(fund):
    """The region fields a record of the fund carries, for scoped lists."""
    return {"fund_id": fund["_id"], "station_id": fund.get("station_id"),
            **{k: fund.get(k) for k in REGION_FIELDS}}


def load(db, fund_id, caller, session=None, field="fund_id"):
    return queries.load_in_region(db.funds, fund_id, caller, what="fund", field=field,
                                  region_field="region", session=session)


def lock(tx, fund_id, caller, statuses=("open",), field="fund_id"):
    """The fund, moved (`moves` + 1) if its status is one of `statuses` and it lies in
    the caller's region; else 404, 403 or a 409 naming its status.

    Every money command does this first, in its transaction, in one operation (see
    the module docstring)."""
    fund = tx.db.funds.find_one_and_update({"_id": fund_id, "status": {"$in": list(statuses)}},
                                           {"$inc": {"moves": 1}}, return_document=ReturnDocument.AFTER,
                                           session=tx.session)
    if fund is None:
        current = load(tx.db, fund_id, caller, tx.session, field)
        raise Conflict(f"fund {fund_id} is {current['status']}: no money moves",
                       fields={field: [f"fund is {current['status']}"]},
                       details={"fund_id": fund_id, "status": current["status"]})
    access.ensure_within(caller, fund["region"], field)
    return fund


def open_fund(tx, data, caller):
    roles.ensure_approver(caller, "open a fund")
    if data.get("station_id"):
        station = stations_view.open_station(tx.db, data["station_id"], caller, tx.session)
        region, level = station["division_code"], "station"
    else:
        region = data["region"]
        access.ensure_within(caller, region, "region")
        level = LEVELS[len(region)]
    problem = rules.committee_problem(data["committee"])
    if problem:
        raise InvalidInput(f"management committee {problem}", fields={"committee": [problem]})
    today = clock.china_today()
    fund = {
        "_id": "F" + uuid.uuid4().hex[:12],
        "name": data["name"].strip(),
        "kind": data["kind"],
        "purpose": data["purpose"],
        "level": level,
        "region": region,
        "station_id": data.get("station_id"),
        **regions_of_code(region),
        "host": {"name": data["host"]["name"].strip(), "credit_code": data["host"]["credit_code"]},
        "committee": [{"name": m["name"].strip(), "role": m["role"], "title": m.get("title")}
                      for m in data["committee"]],
        "status": "open",
        "status_history": [{"status": "open", "on": today.isoformat(), "by": access.actor(caller),
                            "reason": None}],
        "opened_on": today.isoformat(),
        "created_at": clock.now_ms(),
        "created_by": access.actor(caller),
        "moves": 0,
    }
    tx.db.funds.insert_one(fund, session=tx.session)
    ledger.open_accounts(tx, fund["_id"])
    tx.emit("fund.opened", fund["_id"], {
        **event_regions(fund), "kind": fund["kind"], "host_credit_code": fund["host"]["credit_code"],
        "opened_on": fund["opened_on"]})
    opening = data.get("opening_balance_fen") or 0
    if opening:
        # Money brought from before the platform: cash against net assets.
        ledger.post(tx, fund, [{"account": "cash", "amount_fen": opening},
                               {"account": "net_assets", "amount_fen": -opening}],
                    kind="opening", caller=caller, dim="opening", memo="期初余额")
    return view(fund, ledger.balances(tx.db, fund["_id"], tx.session), caller)


TRANSITIONS = {"freeze": ("open", "frozen", "fund.frozen"),
               "unfreeze": ("frozen", "open", "fund.unfrozen")}


def change_status(tx, fund_id, action, data, caller):
    roles.ensure_approver(caller, f"{action} a fund")
    fund = load(tx.db, fund_id, caller, tx.session)
    if action == "close":
        return _close(tx, fund, data, caller)
    before, after, event = TRANSITIONS[action]
    return _set_status(tx, fund, before, after, event, data, caller)


def _set_status(tx, fund, before, after, event, data, caller):
    today = clock.china_today().isoformat()
    result = tx.db.funds.update_one(
        {"_id": fund["_id"], "status": {"$in": list(before) if isinstance(before, tuple) else [before]}},
        {"$set": {"status": after},
         "$push": {"status_history": {"status": after, "on": today, "by": access.actor(caller),
                                      "reason": data.get("reason")}},
         "$inc": {"moves": 1}}, session=tx.session)
    if result.matched_count != 1:
        expected = " or ".join(before) if isinstance(before, tuple) else before
        raise Conflict(f"fund {fund['_id']} is {fund['status']}, not {expected}",
                       fields={"status": [f"fund is {fund['status']}"]},
                       details={"fund_id": fund["_id"], "status": fund["status"]})
    tx.emit(event, fund["_id"], {**event_regions(fund), "status": after,
                                 "from_status": fund["status"], "on": today})
    fund = tx.db.funds.find_one({"_id": fund["_id"]}, session=tx.session)
    return view(fund, ledger.balances(tx.db, fund["_id"], tx.session), caller)


def _close(tx, fund, data, caller):
    found = ledger.balances(tx.db, fund["_id"], tx.session)
    left = {b["account"]: b["balance_fen"] for b in found.values()
            if b["type"] in ledger.GUARDED and (b["balance_fen"] or b["reserved_fen"])}
    if left:
        raise Conflict(f"fund {fund['_id']} is closed only at a zero balance; it holds "
                       + ", ".join(f"{a} {rules.yuan(v)} yuan" for a, v in sorted(left.items())),
                       fields={"status": ["balance is not zero"]}, details={"balances_fen": left})
    waiting = tx.db.disbursements.find_one(
        {"fund_id": fund["_id"], "status": {"$in": ["requested", "approved"]}}, {"_id": 1},
        session=tx.session)
    if waiting:
        raise Conflict(f"disbursement {waiting['_id']} of fund {fund['_id']} is still waiting",
                       fields={"status": ["a disbursement is waiting"]},
                       details={"disbursement_id": waiting["_id"]})
    return _set_status(tx, fund, ("open", "frozen"), "closed", "fund.closed", data, caller)


# ---- answers ----

def view(fund, found, caller):
    personal = access.sees_personal_data(caller)
    out = {k: fund.get(k) for k in ("name", "kind", "purpose", "level", "region", "station_id",
                                    "division_code", "county", "city", "province", "host",
                                    "status", "status_history", "opened_on", "created_at",
                                    "created_by")}
    out["id"] = fund["_id"]
    out["committee"] = [{**m, "name": m["name"] if personal else access.mask_name(m["name"])}
                        for m in fund["committee"]]
    out["balances"] = ledger.summary(found)
    return jsonable(out)


def get(db, fund_id, caller):
    fund = load(db, fund_id, caller)
    return view(fund, ledger.balances(db, fund_id), caller)


def get_balances(db, fund_id, caller):
    load(db, fund_id, caller)
    found = ledger.balances(db, fund_id)
    return jsonable({"fund_id": fund_id, **ledger.summary(found),
                     "accounts": ledger.accounts_view(found)})


def list_page(db, query, caller):
    selector = queries.scoped(caller, query.get("region"))
    for field in ("status", "kind", "station_id"):
        if query.get(field):
            selector[field] = query[field]

    def views(found):
        out = []
        for fund in found:
            out.append(view(fund, ledger.balances(db, fund["_id"]), caller))
        return out

    return queries.page(db.funds, selector, query, views)
