"""Hour records (志愿服务记录) as stored: the ledger and the time each record occupies.

Recording (hours_recording.py), decisions (hours_decisions.py) and views
(hours_views.py) share the two collections through this module only.

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

Events carry numbers, ids, region codes, times and minutes (event_data); never
names, notes or reasons (free text may hold personal data).
"""
import datetime
import uuid

from services.common import queries
from services.common.jsonable import jsonable


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


def new_id():
    return "H" + uuid.uuid4().hex[:15]


def event_data(entry, **extra):
    data = {k: entry.get(k) for k in ("volunteer_number", "activity_id", "team_id", "station_id",
                                      "division_code", "county", "city", "province", "start",
                                      "end", "service_date", "minutes")}
    data["record_id"] = entry["_id"]
    data.update(extra)
    return jsonable(data)


# --------------------------------------------------------------------------
# The ledger

def load(db, record_id, caller, session=None):
    """The entry, in the caller's region (404 / 403 naming record_id)."""
    return queries.load_in_region(db.hours, record_id, caller, what="hour record",
                                  field="record_id", session=session)


def insert_records(tx, records):
    """New records, each with its slot."""
    tx.db.hours.insert_many(records, session=tx.session)
    tx.db.slots.insert_many([slot_of(r) for r in records], session=tx.session)


def decide(tx, record_id, changes):
    """Set a recorded record's decision; False if it was decided meanwhile."""
    result = tx.db.hours.update_one({"_id": record_id, "status": "recorded"}, {"$set": changes},
                                    session=tx.session)
    return result.matched_count == 1


def insert_correction(tx, correction):
    tx.db.hours.insert_one(correction, session=tx.session)


def corrections_of(db, record_id):
    """The ids of a record's corrections, oldest first."""
    return [c["_id"] for c in db.hours.find({"corrects": record_id}, {"_id": 1})
            .sort([("recorded_at", 1), ("_id", 1)])]


def approved_entries(db, number, counted_from, counted_to, session=None):
    """A volunteer's approved entries counted on days in [counted_from, counted_to]."""
    return db.hours.find({"volunteer_number": number, "status": "approved",
                          "counted_on": {"$gte": counted_from, "$lte": counted_to}},
                         {"activity_id": 1, "kind": 1, "delta_minutes": 1}, session=session)


# Lists go by the service date the entries count on (the indexes' order).
def page(db, selector, query, view):
    """One page of entries, the latest service dates first."""
    return queries.page(db.hours, selector, query, view,
                        sort=(("counted_on", -1), ("recorded_at", -1), ("_id", 1)))


def export_rows(db, selector):
    """Every matching entry for an export, oldest first (at most queries.EXPORT_LIMIT)."""
    return queries.export_rows(db.hours, selector, [("counted_on", 1), ("recorded_at", 1), ("_id", 1)])


# --------------------------------------------------------------------------
# Slots

def slot_of(record):
    return {"_id": record["_id"], "volunteer_number": record["volunteer_number"],
            "activity_id": record["activity_id"], "start": record["start"], "end": record["end"],
            "minutes": record["minutes"], "service_date": record["service_date"], "live": True,
            "record_id": record["_id"]}


def find_slot(db, record_id, session=None):
    return db.slots.find_one({"_id": record_id}, session=session)


def current_minutes(slot):
    """What a record counts now, after its corrections (0 when cancelled or rejected)."""
    return slot["minutes"] if slot and slot["live"] else 0


def slots_around(tx, numbers, start, end):
    """{number: live slots} of the volunteers that could overlap [start, end) or
    share a service date with a time in it (a day either side)."""
    day = datetime.timedelta(days=1)
    found = tx.db.slots.find({"volunteer_number": {"$in": sorted(numbers)}, "live": True,
                              "start": {"$lt": end + day}, "end": {"$gt": start - day}},
                             session=tx.session)
    by_volunteer = {n: [] for n in numbers}
    for slot in found:
        by_volunteer[slot["volunteer_number"]].append(slot)
    return by_volunteer


def free_slot(tx, record_id):
    """A rejected record's time is free again."""
    tx.db.slots.update_one({"_id": record_id}, {"$set": {"live": False}}, session=tx.session)


def move_slot(tx, correction):
    """The corrected record's slot takes the correction's time (none: cancelled)."""
    if correction["start"] is None:
        changes = {"live": False, "record_id": correction["_id"]}
    else:
        changes = {"start": correction["start"], "end": correction["end"],
                   "minutes": correction["minutes"], "service_date": correction["service_date"],
                   "live": True, "record_id": correction["_id"]}
    tx.db.slots.update_one({"_id": correction["corrects"]}, {"$set": changes}, session=tx.session)
