"""Hour records (志愿服务记录): recording, approval, rejection, correction, views.

Storage
-------
    hours: the ledger, one document per entry, never edited except for the
           recorded -> approved / rejected decision:
        {_id: "H...", kind: "record" | "correction", volunteer_number, activity_id,
         team_id, station_id, division_code, county, city, province,   # the activity's
         start, end,                        # UTC datetimes, whole minutes (None: a cancellation)
         minutes,                           # record: its minutes; correction: the corrected minutes
         delta_minutes,                     # what the entry adds to approved totals once approved
         service_date: "2026-05-01",        # China date of `start`
         counted_on,                        # the original record's service date (certificates, lists)
         status: recorded | approved | rejected, note, source: api | import,
         corrects, reason,                  # a correction: the record it corrects, and why
         recorded_at, recorded_by, decided_at, decided_by, decision_note, rejection_reason}
    slots: the time each live record occupies now, for the overlap and 24-hour rules:
        {_id: <record id>, volunteer_number, activity_id, start, end, minutes,
         service_date, live, record_id: <latest entry: the record or its last correction>}
    idempotency: {_id: "<role>:<sub>:<Idempotency-Key>", method, request_hash, result, created_at}

Decisions
---------
* One code path records hours: `record_batch` checks a list of submissions
  against every rule (rules.check_record and friends) in one transaction, in
  order, each against the volunteer's slots plus those accepted before it. A
  single `POST /hours` is a batch of one; an import is batches of 500 rows.
  An item is refused alone, never its batch: even a time outside the years
  2000-2100 (refused by the schemas and the sheet reader already) is a 400
  for that item only.
* Races: before reading the slots the transaction increments `hours_seq` on
  every volunteer involved, so two transactions recording for one volunteer
  write-conflict and `with_transaction` retries the loser, which then sees the
  winner's slot. Two overlapping submissions sent at once: exactly one passes.
* Approval and rejection are by station workers and officers whose region
  holds the activity's township, and only from `recorded`. A rejection frees
  the time. An approved record is never changed: a correction is a new,
  immediately approved entry with a reason, linked by `corrects`, giving the
  replacement time (checked by every rule, the record's own slot excepted) or
  cancelling the hours; its `delta_minutes` is the change to the totals.
  Corrections of corrections are corrections of the original again.
* A record's `corrections` and `current_minutes` (its minutes after them) are
  in the answers about that one record, not in lists.
* Idempotency-Key (per caller): the key, a hash of the validated submission
  and the answer are stored in the recording transaction; the same key and
  submission answer the first answer again, with 201; the same key with
  another submission is a 409 naming `Idempotency-Key`. A refused submission
  keeps nothing: sent again, it is judged again. Keys are kept 7 days.
* Events carry numbers, ids, region codes, times and minutes; never names,
  notes or reasons (free text may hold personal data).
"""
import datetime
import hashlib
import json
import uuid

from pymongo import UpdateOne
from pymongo.errors import DuplicateKeyError

from services.common import access
from services.common.errors import Conflict, DomainError, InvalidInput, NotFound
from services.common.jsonable import jsonable
from services.volunteer import rules, support, volunteers

BATCH = 500
IDEMPOTENCY_TTL_SECONDS = 7 * 24 * 3600


def ensure_indexes(db):
    db.hours.create_index([("volunteer_number", 1), ("counted_on", 1)])
    db.hours.create_index([("activity_id", 1), ("counted_on", 1)])
    db.hours.create_index([("team_id", 1), ("counted_on", 1)])
    db.hours.create_index([("station_id", 1), ("counted_on", 1)])
    for field in ("division_code", "county", "city", "province"):
        db.hours.create_index([(field, 1), ("counted_on", 1)])
    db.hours.create_index([("status", 1), ("counted_on", 1)])
    db.hours.create_index([("corrects", 1)])
    db.slots.create_index([("volunteer_number", 1), ("start", 1)])
    db.idempotency.create_index([("created_at", 1)], expireAfterSeconds=IDEMPOTENCY_TTL_SECONDS)


# --------------------------------------------------------------------------
# Views and event data

def view(record, caller, name=None, title=None, corrections=None, current_minutes=None):
    personal = access.sees_personal_data(caller)
    out = {
        "id": record["_id"],
        "kind": record["kind"],
        "volunteer_number": record["volunteer_number"],
        "volunteer_name": (name if personal else access.mask_name(name)) if name else None,
        "activity_id": record["activity_id"],
        "activity_title": title,
        "team_id": record["team_id"],
        "station_id": record["station_id"],
        "division_code": record["division_code"],
        "start": record.get("start"),
        "end": record.get("end"),
        "service_date": record["service_date"],
        "counted_on": record["counted_on"],
        "minutes": record["minutes"],
        "delta_minutes": record["delta_minutes"],
        "hours": rules.format_hours(record["minutes"]),
        "status": record["status"],
        "note": record.get("note"),
        "corrects": record.get("corrects"),
        "reason": record.get("reason"),
        "recorded_at": record["recorded_at"],
        "recorded_by": record["recorded_by"],
        "decided_at": record.get("decided_at"),
        "decided_by": record.get("decided_by"),
        "rejection_reason": record.get("rejection_reason"),
        "source": record.get("source", "api"),
    }
    if record["kind"] == "record" and corrections is not None:
        out["corrections"] = corrections
        out["current_minutes"] = current_minutes
    return jsonable(out)


def event_data(record, **extra):
    data = {k: record.get(k) for k in ("volunteer_number", "activity_id", "team_id", "station_id",
                                       "division_code", "county", "city", "province", "start",
                                       "end", "service_date", "minutes")}
    data["record_id"] = record["_id"]
    data.update(extra)
    return jsonable(data)


def _labels(db, records):
    names = volunteers.names(db, [r["volunteer_number"] for r in records])
    titles = {a["_id"]: a["title"] for a in
              db.activities.find({"_id": {"$in": list({r["activity_id"] for r in records})}}, {"title": 1})}
    return names, titles


# --------------------------------------------------------------------------
# Recording

def _new_record(item, activity, minutes, start, end, caller, now, source):
    service_date = rules.china_date(start).isoformat()
    return {
        "_id": "H" + uuid.uuid4().hex[:15],
        "kind": "record",
        "volunteer_number": item["volunteer_number"],
        "activity_id": activity["_id"],
        "team_id": activity["team_id"],
        "station_id": activity["station_id"],
        **support.station_regions(activity),
        "start": start,
        "end": end,
        "minutes": minutes,
        "delta_minutes": minutes,
        "service_date": service_date,
        "counted_on": service_date,
        "status": "recorded",
        "note": item.get("note"),
        "source": source,
        "corrects": None,
        "reason": None,
        "recorded_at": now,
        "recorded_by": access.actor(caller),
        "decided_at": None,
        "decided_by": None,
        "rejection_reason": None,
    }


def _slot(record):
    return {"_id": record["_id"], "volunteer_number": record["volunteer_number"],
            "activity_id": record["activity_id"], "start": record["start"], "end": record["end"],
            "minutes": record["minutes"], "service_date": record["service_date"], "live": True,
            "record_id": record["_id"]}


def _serialise(tx, numbers):
    """Make concurrent hour writes for these volunteers conflict (see the module doc)."""
    if numbers:
        tx.db.volunteers.update_many({"_id": {"$in": sorted(numbers)}}, {"$inc": {"hours_seq": 1}},
                                     session=tx.session)


def _slots_around(tx, numbers, start, end):
    """Live slots of the volunteers that could overlap [start, end) or share a
    service date with a time in it (a day either side)."""
    day = datetime.timedelta(days=1)
    found = tx.db.slots.find({"volunteer_number": {"$in": sorted(numbers)}, "live": True,
                              "start": {"$lt": end + day}, "end": {"$gt": start - day}},
                             session=tx.session)
    by_volunteer = {n: [] for n in numbers}
    for slot in found:
        by_volunteer[slot["volunteer_number"]].append(slot)
    return by_volunteer


def _whole_minutes(item):
    """(start, end) in whole UTC minutes, or the InvalidInput refusing a time
    outside the service's years (callers check them too; a batch must not fail
    for one item whatever its caller let through)."""
    try:
        rules.check_years(start=item["start"], end=item["end"])
    except InvalidInput as refusal:
        return refusal
    return rules.to_minute(item["start"]), rules.to_minute(item["end"])


def record_batch(tx, items, caller, source="api", now=None, tolerance=None):
    """Record every item that meets the rules. items: [{volunteer_number,
    activity_id, start, end, note}] (aware datetimes). Returns one outcome per
    item: the record's view, or the DomainError that refused it."""
    now = now or support.now_ms()
    tolerance = support.window_tolerance_minutes() if tolerance is None else tolerance
    db, session = tx.db, tx.session
    numbers = {it["volunteer_number"] for it in items}
    if len(numbers) == 1:
        # The usual single submission: read and serialise in one step.
        (number,) = numbers
        found = db.volunteers.find_one_and_update({"_id": number}, {"$inc": {"hours_seq": 1}},
                                                  projection={"name": 1}, session=session)
        known = {number: found} if found else {}
    else:
        known = {v["_id"]: v for v in db.volunteers.find({"_id": {"$in": sorted(numbers)}}, {"name": 1},
                                                         session=session)}
        _serialise(tx, set(known))
    activities = {a["_id"]: a for a in db.activities.find(
        {"_id": {"$in": sorted({it["activity_id"] for it in items})}}, session=session)}
    times = [_whole_minutes(it) for it in items]
    spans = [t for t in times if not isinstance(t, InvalidInput)]
    slots = _slots_around(tx, set(known), min(t[0] for t in spans), max(t[1] for t in spans)) \
        if known and spans else {}
    pairs = sorted({f"{it['activity_id']}:{it['volunteer_number']}" for it in items})
    live = {p["_id"]: p["live"] for p in db.participants.find({"_id": {"$in": pairs}}, session=session)}

    outcomes, records, joined = [], [], {}
    for item, span in zip(items, times):
        try:
            if isinstance(span, InvalidInput):
                raise span
            start, end = span
            activity = activities.get(item["activity_id"])
            if activity is None:
                raise NotFound(f"no activity {item['activity_id']}", fields={"activity_id": ["not found"]})
            access.ensure_within(caller, activity["division_code"], "activity_id")
            number = item["volunteer_number"]
            if number not in known:
                raise rules.not_registered(number)
            rules.check_interval(start, end, now, tolerance)
            minutes = rules.check_record(number, activity, slots[number], start, end, tolerance)
            pair = f"{activity['_id']}:{number}"
            rules.check_capacity(activity, live.get(pair, 0) == 0)
        except DomainError as refusal:
            outcomes.append(refusal)
            continue
        record = _new_record(item, activity, minutes, start, end, caller, now, source)
        records.append(record)
        slots[number].append(_slot(record))
        if live.get(pair, 0) == 0:
            activity["participants"] = activity.get("participants", 0) + 1
            joined[activity["_id"]] = joined.get(activity["_id"], 0) + 1
        live[pair] = live.get(pair, 0) + 1
        outcomes.append(view(record, caller, known[number]["name"], activity["title"], [], minutes))

    if records:
        db.hours.insert_many(records, session=session)
        db.slots.insert_many([_slot(r) for r in records], session=session)
        added = {}
        for r in records:
            pair = f"{r['activity_id']}:{r['volunteer_number']}"
            added[pair] = added.get(pair, 0) + 1
        db.participants.bulk_write(
            [UpdateOne({"_id": pair}, {"$inc": {"live": n},
                                       "$setOnInsert": {"activity_id": pair.split(":")[0],
                                                        "volunteer_number": pair.split(":")[1]}},
                       upsert=True) for pair, n in sorted(added.items())], session=session)
        for activity_id, n in sorted(joined.items()):
            db.activities.update_one({"_id": activity_id}, {"$inc": {"participants": n}}, session=session)
        for r in records:
            tx.emit("hours.recorded", r["_id"], event_data(r, source=r["source"]))
    return outcomes


def _request_hash(data):
    return hashlib.sha256(json.dumps(jsonable(data), sort_keys=True, ensure_ascii=False)
                          .encode("utf-8")).hexdigest()


def _idempotency_id(caller, key):
    if not isinstance(key, str) or not 1 <= len(key) <= 200 or not key.isprintable():
        raise InvalidInput("Idempotency-Key must be 1 to 200 printable characters",
                           fields={"Idempotency-Key": ["1 to 200 printable characters"]})
    return f"{caller.get('role')}:{caller.get('sub')}:{key}"


def _replay(stored, request_hash, method):
    if stored["request_hash"] != request_hash or stored.get("method") != method:
        first = (stored.get("result") or {}).get("id")
        raise Conflict("this Idempotency-Key was used for a different request",
                       fields={"Idempotency-Key": ["already used with a different request"]},
                       details={"first_result": first} if first else None)
    return stored["result"]


def record_one(db, record, data, caller, idempotency_key=None):
    """POST /hours: one submission; its refusal is raised."""
    access.caller_region(caller)
    key_id = _idempotency_id(caller, idempotency_key) if idempotency_key is not None else None
    request_hash = _request_hash(data)
    if key_id:
        stored = db.idempotency.find_one({"_id": key_id})
        if stored:
            return _replay(stored, request_hash, "record_hours")

    def body(tx):
        if key_id:
            stored = tx.db.idempotency.find_one({"_id": key_id}, session=tx.session)
            if stored:
                return _replay(stored, request_hash, "record_hours")
        outcome = record_batch(tx, [data], caller)[0]
        if isinstance(outcome, DomainError):
            raise outcome
        if key_id:
            tx.db.idempotency.insert_one({"_id": key_id, "method": "record_hours",
                                          "request_hash": request_hash, "result": outcome,
                                          "created_at": support.now_ms()}, session=tx.session)
        return outcome

    try:
        return record(body)
    except DuplicateKeyError:
        stored = db.idempotency.find_one({"_id": key_id}) if key_id else None
        if stored is None:
            raise
        return _replay(stored, request_hash, "record_hours")


def record_many(record, items, caller, source="import"):
    """Record items in batches of BATCH, each batch in its own transaction."""
    outcomes = []
    for first in range(0, len(items), BATCH):
        chunk = items[first:first + BATCH]
        outcomes.extend(record(lambda tx, chunk=chunk: record_batch(tx, chunk, caller, source)))
    return outcomes


# --------------------------------------------------------------------------
# Decisions

def _load(db, record_id, caller, session=None):
    record = db.hours.find_one({"_id": record_id}, session=session)
    if record is None:
        raise NotFound(f"no hour record {record_id}", fields={"record_id": ["not found"]})
    access.ensure_within(caller, record["division_code"], "record_id")
    return record


def _decide(tx, record_id, caller, to, extra):
    record = _load(tx.db, record_id, caller, tx.session)
    if record["kind"] != "record" or record["status"] != "recorded":
        what = "a correction" if record["kind"] == "correction" else f"{record['status']}"
        raise Conflict(f"record {record_id} is {what}; only recorded records can be "
                       f"{'approved' if to == 'approved' else 'rejected'}",
                       fields={"record_id": [f"is {what}"]},
                       details={"record_id": record_id, "status": record["status"], "kind": record["kind"]})
    changes = {"status": to, "decided_at": support.now_ms(), "decided_by": access.actor(caller), **extra}
    result = tx.db.hours.update_one({"_id": record_id, "status": "recorded"}, {"$set": changes},
                                    session=tx.session)
    if result.matched_count != 1:
        raise Conflict(f"record {record_id} was decided meanwhile", details={"record_id": record_id})
    record.update(changes)
    return record


def approve(tx, record_id, data, caller):
    record = _decide(tx, record_id, caller, "approved", {"decision_note": data.get("note")})
    tx.emit("hours.approved", record_id, event_data(record, approved_at=record["decided_at"]))
    return record


def _participant_change(tx, activity_id, number, change, check=True):
    """A volunteer's live records at an activity move by `change` (+1/-1)."""
    pair = f"{activity_id}:{number}"
    current = tx.db.participants.find_one({"_id": pair}, session=tx.session) or {"live": 0}
    before, after = current["live"], current["live"] + change
    if before == 0 and after > 0 and check:
        activity = tx.db.activities.find_one({"_id": activity_id}, session=tx.session)
        rules.check_capacity(activity, True)
    tx.db.participants.update_one({"_id": pair}, {"$inc": {"live": change},
                                                  "$setOnInsert": {"activity_id": activity_id,
                                                                   "volunteer_number": number}},
                                  upsert=True, session=tx.session)
    joined = int(after > 0) - int(before > 0)
    if joined:
        tx.db.activities.update_one({"_id": activity_id}, {"$inc": {"participants": joined}},
                                    session=tx.session)


def reject(tx, record_id, data, caller):
    record = _decide(tx, record_id, caller, "rejected", {"rejection_reason": data["reason"]})
    tx.db.slots.update_one({"_id": record_id}, {"$set": {"live": False}}, session=tx.session)
    _participant_change(tx, record["activity_id"], record["volunteer_number"], -1)
    tx.emit("hours.rejected", record_id, event_data(record))
    return record


def correct(tx, record_id, data, caller, now=None, tolerance=None):
    """A compensating entry for an approved record (see the module doc)."""
    now = now or support.now_ms()
    tolerance = support.window_tolerance_minutes() if tolerance is None else tolerance
    original = _load(tx.db, record_id, caller, tx.session)
    if original["kind"] != "record" or original["status"] != "approved":
        what = "a correction: correct the record it corrects" if original["kind"] == "correction" \
            else original["status"]
        raise Conflict(f"record {record_id} is {what}; only approved records are corrected "
                       "(a recorded one is rejected and recorded again)",
                       fields={"record_id": ["not an approved record"]},
                       details={"record_id": record_id, "status": original["status"]})
    number = original["volunteer_number"]
    _serialise(tx, {number})
    slot = tx.db.slots.find_one({"_id": record_id}, session=tx.session)
    current = slot["minutes"] if slot["live"] else 0
    if data.get("cancel"):
        if not slot["live"]:
            raise Conflict(f"record {record_id}'s hours are already cancelled",
                           details={"record_id": record_id, "latest": slot["record_id"]})
        start = end = None
        minutes = 0
        service_date = original["service_date"]
    else:
        start, end = rules.to_minute(data["start"]), rules.to_minute(data["end"])
        rules.check_interval(start, end, now, tolerance)
        if slot["live"] and (start, end) == (slot["start"], slot["end"]):
            raise Conflict("the correction changes nothing: the record already has this time",
                           fields={"start": ["unchanged"], "end": ["unchanged"]},
                           details={"record_id": record_id})
        activity = tx.db.activities.find_one({"_id": original["activity_id"]}, session=tx.session)
        around = _slots_around(tx, {number}, start, end)[number]
        minutes = rules.check_record(number, activity, around, start, end, tolerance, exclude=record_id)
        service_date = rules.china_date(start).isoformat()
    correction = {
        **{k: original[k] for k in ("volunteer_number", "activity_id", "team_id", "station_id",
                                    "division_code", "county", "city", "province", "counted_on")},
        "_id": "H" + uuid.uuid4().hex[:15],
        "kind": "correction",
        "start": start,
        "end": end,
        "minutes": minutes,
        "delta_minutes": minutes - current,
        "service_date": service_date,
        "status": "approved",
        "note": None,
        "source": "api",
        "corrects": record_id,
        "reason": data["reason"],
        "recorded_at": now,
        "recorded_by": access.actor(caller),
        "decided_at": now,
        "decided_by": access.actor(caller),
        "rejection_reason": None,
    }
    tx.db.hours.insert_one(correction, session=tx.session)
    if start is None:
        tx.db.slots.update_one({"_id": record_id}, {"$set": {"live": False, "record_id": correction["_id"]}},
                               session=tx.session)
    else:
        tx.db.slots.update_one({"_id": record_id}, {"$set": {
            "start": start, "end": end, "minutes": minutes, "service_date": service_date,
            "live": True, "record_id": correction["_id"]}}, session=tx.session)
    if slot["live"] != (start is not None):
        _participant_change(tx, original["activity_id"], number, 1 if start is not None else -1)
    tx.emit("hours.corrected", correction["_id"], event_data(
        correction, corrects=record_id, delta_minutes=correction["delta_minutes"],
        cancelled=start is None))
    return correction


# --------------------------------------------------------------------------
# Reading

def view_one(db, record, caller, corrections=None, current=None):
    """The entry as the API shows it; a record's corrections and current minutes
    are looked up unless the caller knows them (a decision: none yet)."""
    names, titles = _labels(db, [record])
    if record["kind"] == "record" and corrections is None:
        corrections = [c["_id"] for c in db.hours.find({"corrects": record["_id"]}, {"_id": 1})
                       .sort([("recorded_at", 1), ("_id", 1)])]
        slot = db.slots.find_one({"_id": record["_id"]})
        current = slot["minutes"] if slot and slot["live"] else 0
    return view(record, caller, names.get(record["volunteer_number"]), titles.get(record["activity_id"]),
                corrections, current)


def get(db, record_id, caller):
    return view_one(db, _load(db, record_id, caller), caller)


def _selector(query, caller):
    selector = support.scoped(caller, query.get("region"))
    for key in ("station_id", "team_id", "activity_id", "volunteer_number", "status", "kind"):
        if query.get(key):
            selector[key] = query[key]
    dates = {}
    if query.get("date_from"):
        dates["$gte"] = str(query["date_from"])
    if query.get("date_to"):
        dates["$lte"] = str(query["date_to"])
    if dates:
        selector["counted_on"] = dates
    return selector


def list_page(db, query, caller):
    def views(found):
        names, titles = _labels(db, found)
        return [view(r, caller, names.get(r["volunteer_number"]), titles.get(r["activity_id"]))
                for r in found]

    return support.page(db.hours, _selector(query, caller), query, views,
                        sort=(("counted_on", -1), ("recorded_at", -1), ("_id", 1)))


def _china(moment):
    return moment.astimezone(rules.CHINA).strftime("%Y-%m-%d %H:%M") if moment else None


STATUS_NAMES = {"recorded": "待审核", "approved": "已审核", "rejected": "已驳回"}
KIND_NAMES = {"record": "记录", "correction": "更正"}
EXPORT_COLUMNS = [
    ("id", "记录编号"), ("kind", "类型"), ("volunteer_number", "志愿者编号"), ("volunteer_name", "姓名"),
    ("activity_id", "活动编号"), ("activity_title", "活动名称"), ("team_id", "服务队"),
    ("station_id", "站点"), ("start", "开始时间(北京时间)"), ("end", "结束时间(北京时间)"),
    ("service_date", "服务日期"), ("minutes", "时长(分钟)"), ("delta_minutes", "计入时长(分钟)"),
    ("hours", "时长(小时)"), ("status", "状态"), ("corrects", "更正的记录"), ("reason", "更正原因"),
    ("recorded_by", "记录人"), ("recorded_at", "记录时间(北京时间)"),
]


def export(db, query, caller):
    found = support.export_rows(db.hours, _selector(query, caller),
                                [("counted_on", 1), ("recorded_at", 1), ("_id", 1)])
    names, titles = _labels(db, found) if found else ({}, {})
    rows = []
    for record in found:
        item = view(record, caller, names.get(record["volunteer_number"]), titles.get(record["activity_id"]))
        item.update(start=_china(record.get("start")), end=_china(record.get("end")),
                    recorded_at=_china(record["recorded_at"]),
                    status=STATUS_NAMES[record["status"]], kind=KIND_NAMES[record["kind"]])
        rows.append([item.get(key) for key, _ in EXPORT_COLUMNS])
    return {"name": "hours", "columns": [{"key": k, "title": t} for k, t in EXPORT_COLUMNS],
            "rows": rows}
