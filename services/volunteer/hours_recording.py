"""Recording hours: `POST /hours` and every batch of an import.

* One code path records hours: `record_batch` checks a list of submissions
  against every rule (hour_rules.check_record and friends) in one
  transaction, in order, each against the volunteer's slots plus those
  accepted before it. A single `POST /hours` is a batch of one; an import is
  batches of BATCH rows (imports.py). An item is refused alone, never its
  batch: even a time outside the years 2000-2100 (refused by the schemas and
  the sheet reader already) is a 400 for that item only.
* Races: before reading the slots the transaction increments `hours_seq` on
  every volunteer involved (volunteers.registered_for_hours), so two
  transactions recording for one volunteer write-conflict and
  `with_transaction` retries the loser, which then sees the winner's slot.
  Two overlapping submissions sent at once: exactly one passes.
* Idempotency-Key (per caller, services.common.idempotency): the same key and
  submission answer the first answer again, with 201; the same key with
  another submission is a 409 naming `Idempotency-Key`. A refused submission
  keeps nothing: sent again, it is judged again. Keys are kept 7 days.
"""
from services.common import access, queries
from services.common.clock import china_date, now_ms
from services.common.errors import DomainError, InvalidInput, NotFound
from services.volunteer import activities, hour_records, hour_rules, hours_views, settings, volunteers
from services.volunteer.times import check_years, to_minute

BATCH = 500


def _new_record(item, activity, minutes, start, end, caller, now, source):
    service_date = china_date(start).isoformat()
    return {
        "_id": hour_records.new_id(),
        "kind": "record",
        "volunteer_number": item["volunteer_number"],
        "activity_id": activity["_id"],
        "team_id": activity["team_id"],
        "station_id": activity["station_id"],
        **queries.regions_of(activity),
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


def _whole_minutes(item):
    """(start, end) in whole UTC minutes, or the InvalidInput refusing a time
    outside the service's years (callers check them too; a batch must not fail
    for one item whatever its caller let through)."""
    try:
        check_years(start=item["start"], end=item["end"])
    except InvalidInput as refusal:
        return refusal
    return to_minute(item["start"]), to_minute(item["end"])


def record_batch(tx, items, caller, source="api", now=None, tolerance=None):
    """Record every item that meets the rules. items: [{volunteer_number,
    activity_id, start, end, note}] (aware datetimes). Returns one outcome per
    item: the record's view, or the DomainError that refused it."""
    now = now or now_ms()
    tolerance = settings.window_tolerance_minutes() if tolerance is None else tolerance
    known = volunteers.registered_for_hours(tx, {it["volunteer_number"] for it in items})
    by_id = activities.find_many(tx.db, {it["activity_id"] for it in items}, tx.session)
    times = [_whole_minutes(it) for it in items]
    spans = [t for t in times if not isinstance(t, InvalidInput)]
    slots = hour_records.slots_around(tx, set(known), min(t[0] for t in spans), max(t[1] for t in spans)) \
        if known and spans else {}
    live = activities.live_records(tx, sorted(
        {activities.participant_id(it["activity_id"], it["volunteer_number"]) for it in items}))

    outcomes, records, joined = [], [], {}
    for item, span in zip(items, times):
        try:
            if isinstance(span, InvalidInput):
                raise span
            start, end = span
            activity = by_id.get(item["activity_id"])
            if activity is None:
                raise NotFound(f"no activity {item['activity_id']}", fields={"activity_id": ["not found"]})
            access.ensure_within(caller, activity["division_code"], "activity_id")
            number = item["volunteer_number"]
            if number not in known:
                raise hour_rules.not_registered(number)
            hour_rules.check_interval(start, end, now, tolerance)
            minutes = hour_rules.check_record(number, activity, slots[number], start, end, tolerance)
            pair = activities.participant_id(activity["_id"], number)
            hour_rules.check_capacity(activity, live.get(pair, 0) == 0)
        except DomainError as refusal:
            outcomes.append(refusal)
            continue
        record = _new_record(item, activity, minutes, start, end, caller, now, source)
        records.append(record)
        slots[number].append(hour_records.slot_of(record))
        if live.get(pair, 0) == 0:
            activity["participants"] = activity.get("participants", 0) + 1
            joined[activity["_id"]] = joined.get(activity["_id"], 0) + 1
        live[pair] = live.get(pair, 0) + 1
        outcomes.append(hours_views.view(record, caller, known[number]["name"], activity["title"],
                                         corrections=[], current_minutes=minutes))

    if records:
        hour_records.insert_records(tx, records)
        activities.add_live_records(tx, records, joined)
        for r in records:
            tx.emit("hours.recorded", r["_id"], hour_records.event_data(r, source=r["source"]))
    return outcomes


def record_one(tx, data, caller):
    """POST /hours: one submission; its refusal is raised."""
    outcome = record_batch(tx, [data], caller)[0]
    if isinstance(outcome, DomainError):
        raise outcome
    return outcome


def batches(items):
    """The items in batches of BATCH, each recorded in a transaction of its own."""
    return [items[first:first + BATCH] for first in range(0, len(items), BATCH)]
