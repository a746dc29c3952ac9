"""Bulk import of hour records from a sheet (CSV or .xlsx): every row is accepted
or rejected with its reason, and the answer is the report.

Decisions:
* Every row goes through exactly the rules of `POST /hours` (hours.record_batch),
  checked in sheet order against what is stored and the rows accepted before
  it, so a sheet cannot overlap itself either. Good rows are recorded even when
  others fail; rows are committed in batches of hours.BATCH.
* A row may name the volunteer by `id_number` instead of the volunteer number;
  it is matched by its keyed hash and never echoed in the report.
* The report: {rows_read, accepted, rejected, rows: [{row, status, reason,
  fields, record_id, conflicting_record}]} with the sheet's row numbers.
* With an Idempotency-Key the report is kept with the key and a hash of the
  file: the same file with the same key answers the same report again without
  importing; another file with that key is a 409. (Should the process die
  mid-import before the report is kept, a retry finds the rows already
  recorded and refuses them as overlapping: nothing is counted twice.)
"""
import hashlib

from pymongo.errors import DuplicateKeyError

from services.common import access
from services.common.errors import DomainError
from services.volunteer import hours, rules, sheets, support


def _rejected(row, error):
    return {"row": row, "status": "rejected", "reason": error.message,
            "fields": error.fields or None, "record_id": None,
            "conflicting_record": (error.details or {}).get("conflicting_record")}


def import_sheet(db, record, upload, caller, idempotency_key=None):
    access.caller_region(caller)
    content, kind = sheets.decode_upload(upload)
    request_hash = hashlib.sha256(content).hexdigest()
    key_id = hours._idempotency_id(caller, idempotency_key) if idempotency_key is not None else None
    if key_id:
        stored = db.idempotency.find_one({"_id": key_id})
        if stored:
            return hours._replay(stored, request_hash, "import_hours")
    rows = sheets.read(content, kind)

    entries, parsed = [], []
    for number, values in rows:
        item, problems = sheets.parse_row(values)
        if problems:
            names = ", ".join(sorted(problems))
            entries.append({"row": number, "status": "rejected", "reason": f"invalid {names}",
                            "fields": problems, "record_id": None, "conflicting_record": None})
        else:
            parsed.append((number, item))

    key = support.pii_hash_key()
    hashes = {rules.hash_id_number(item["id_number"], key) for _, item in parsed if "id_number" in item}
    by_hash = {v["id_hash"]: v["_id"] for v in
               db.volunteers.find({"id_hash": {"$in": sorted(hashes)}}, {"id_hash": 1})} if hashes else {}
    items, positions = [], []
    for number, item in parsed:
        if "id_number" in item:
            volunteer = by_hash.get(rules.hash_id_number(item.pop("id_number"), key))
            if volunteer is None:
                entries.append({"row": number, "status": "rejected",
                                "reason": "no volunteer is registered with this ID number",
                                "fields": {"id_number": ["not registered"]}, "record_id": None,
                                "conflicting_record": None})
                continue
            item["volunteer_number"] = volunteer
        items.append(item)
        positions.append(number)

    outcomes = hours.record_many(record, items, caller, source="import") if items else []
    for number, outcome in zip(positions, outcomes):
        if isinstance(outcome, DomainError):
            entries.append(_rejected(number, outcome))
        else:
            entries.append({"row": number, "status": "accepted", "reason": None, "fields": None,
                            "record_id": outcome["id"], "conflicting_record": None})
    entries.sort(key=lambda e: e["row"])
    accepted = sum(1 for e in entries if e["status"] == "accepted")
    report = {"rows_read": len(rows), "accepted": accepted, "rejected": len(entries) - accepted,
              "rows": entries}
    if key_id:
        try:
            db.idempotency.insert_one({"_id": key_id, "method": "import_hours",
                                       "request_hash": request_hash, "result": report,
                                       "created_at": support.now_ms()})
        except DuplicateKeyError:
            pass
    return report
