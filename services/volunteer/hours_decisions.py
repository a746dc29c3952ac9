"""Deciding on hour records: approval, rejection and correction.

* Approval and rejection are by station workers and officers whose region
  holds the activity's township, and only from `recorded`. A rejection frees
  the time. Approving many at once approves each on its own: the answer lists
  those approved and those refused with the reason.
* An approved record is never changed: a correction is a new, immediately
  approved entry with a reason, linked by `corrects`, giving the replacement
  time (checked by every rule, the record's own slot excepted) or cancelling
  the hours; its `delta_minutes` is the change to the totals. Corrections of
  corrections are corrections of the original again.
"""
from services.common import access
from services.common.clock import china_date, now_ms
from services.common.errors import Conflict, DomainError
from services.volunteer import activities, hour_records, hour_rules, hours_views, settings, volunteers
from services.volunteer.times import to_minute


def _decide(tx, record_id, caller, to, extra):
    """Refuses before it writes: a refused decision leaves nothing in its transaction."""
    record = hour_records.load(tx.db, record_id, caller, tx.session)
    if record["kind"] != "record" or record["status"] != "recorded":
        what = "a correction" if record["kind"] == "correction" else f"{record['status']}"
        raise Conflict(f"record {record_id} is {what}; only recorded records can be "
                       f"{'approved' if to == 'approved' else 'rejected'}",
                       fields={"record_id": [f"is {what}"]},
                       details={"record_id": record_id, "status": record["status"], "kind": record["kind"]})
    changes = {"status": to, "decided_at": now_ms(), "decided_by": access.actor(caller), **extra}
    if not hour_records.decide(tx, record_id, changes):
        raise Conflict(f"record {record_id} was decided meanwhile", details={"record_id": record_id})
    record.update(changes)
    return record


def _approve(tx, record_id, data, caller):
    record = _decide(tx, record_id, caller, "approved", {"decision_note": data.get("note")})
    tx.emit("hours.approved", record_id, hour_records.event_data(record, approved_at=record["decided_at"]))
    return record


def approve(tx, record_id, data, caller):
    record = _approve(tx, record_id, data, caller)
    # Only recorded records are decided, and only approved ones corrected: none yet.
    return hours_views.view_one(tx.db, record, caller, corrections=[], current=record["minutes"])


def approve_many(tx, data, caller):
    """Approve each record of data["ids"] that may be: {approved: [ids], refused: [{id, code, reason}]}."""
    approved, refused = [], []
    for record_id in dict.fromkeys(data["ids"]):
        try:
            _approve(tx, record_id, data, caller)
            approved.append(record_id)
        except DomainError as refusal:
            refused.append({"id": record_id, "code": refusal.code, "reason": refusal.message})
    return {"approved": approved, "refused": refused}


def reject(tx, record_id, data, caller):
    record = _decide(tx, record_id, caller, "rejected", {"rejection_reason": data["reason"]})
    hour_records.free_slot(tx, record_id)
    activities.change_live_records(tx, record["activity_id"], record["volunteer_number"], -1)
    tx.emit("hours.rejected", record_id, hour_records.event_data(record))
    return hours_views.view_one(tx.db, record, caller, corrections=[], current=0)


def correct(tx, record_id, data, caller, now=None, tolerance=None):
    """A compensating entry for an approved record (see the module doc)."""
    now = now or now_ms()
    tolerance = settings.window_tolerance_minutes() if tolerance is None else tolerance
    original = hour_records.load(tx.db, record_id, caller, tx.session)
    if original["kind"] != "record" or original["status"] != "approved":
        what = "a correction: correct the record it corrects" if original["kind"] == "correction" \
            else original["status"]
        raise Conflict(f"record {record_id} is {what}; only approved records are corrected "
                       "(a recorded one is rejected and recorded again)",
                       fields={"record_id": ["not an approved record"]},
                       details={"record_id": record_id, "status": original["status"]})
    number = original["volunteer_number"]
    volunteers.serialise_hours(tx, {number})
    slot = hour_records.find_slot(tx.db, record_id, tx.session)
    current = hour_records.current_minutes(slot)
    if data.get("cancel"):
        if not slot["live"]:
            raise Conflict(f"record {record_id}'s hours are already cancelled",
                           details={"record_id": record_id, "latest": slot["record_id"]})
        start = end = None
        minutes = 0
        service_date = original["service_date"]
    else:
        start, end = to_minute(data["start"]), to_minute(data["end"])
        hour_rules.check_interval(start, end, now, tolerance)
        if slot["live"] and (start, end) == (slot["start"], slot["end"]):
            raise Conflict("the correction changes nothing: the record already has this time",
                           fields={"start": ["unchanged"], "end": ["unchanged"]},
                           details={"record_id": record_id})
        activity = activities.find(tx.db, original["activity_id"], tx.session)
        around = hour_records.slots_around(tx, {number}, start, end)[number]
        minutes = hour_rules.check_record(number, activity, around, start, end, tolerance, exclude=record_id)
        service_date = china_date(start).isoformat()
    correction = {
        **{k: original[k] for k in ("volunteer_number", "activity_id", "team_id", "station_id",
                                    "division_code", "county", "city", "province", "counted_on")},
        "_id": hour_records.new_id(),
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
    hour_records.insert_correction(tx, correction)
    hour_records.move_slot(tx, correction)
    if slot["live"] != (start is not None):
        activities.change_live_records(tx, original["activity_id"], number, 1 if start is not None else -1)
    tx.emit("hours.corrected", correction["_id"], hour_records.event_data(
        correction, corrects=record_id, delta_minutes=correction["delta_minutes"],
        cancelled=start is None))
    return hours_views.view_one(tx.db, correction, caller)
