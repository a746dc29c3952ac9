"""Bulk import of hour records from a sheet (CSV or .xlsx): every row is accepted
or rejected with its reason, and the answer is the report.

Decisions:
* Every row goes through exactly the rules of `POST /hours`
  (hours_recording.record_batch), checked in sheet order against what is
  stored and the rows accepted before it, so a sheet cannot overlap itself
  either. Good rows are recorded even when others fail.
* An import is several commands, which the service runs: one per batch of
  hours_recording.BATCH rows (`SheetImport.batches`), then one answering the
  report (`SheetImport.report`), which the command runner keeps with the
  Idempotency-Key.
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

from services.common import access
from services.common.errors import DomainError
from services.common.idempotency import IdempotencyKey
from services.volunteer import hours_recording, id_numbers, settings, sheets, volunteers


def _rejected(row, reason, fields, conflicting_record=None):
    return {"row": row, "status": "rejected", "reason": reason, "fields": fields,
            "record_id": None, "conflicting_record": conflicting_record}


def _refused(row, refusal):
    return _rejected(row, refusal.message, refusal.fields or None,
                     (refusal.details or {}).get("conflicting_record"))


def _accepted(row, record):
    return {"row": row, "status": "accepted", "reason": None, "fields": None,
            "record_id": record["id"], "conflicting_record": None}


class SheetImport:
    """A sheet read and checked (`read`): its rows refused already, and the
    submissions of the others with their row numbers; or, for a sheet imported
    with this key before, that import's report (`earlier`).

    The service runs each of `batches()` as a command, then `report` as the
    command whose answer the runner keeps with the key."""

    def __init__(self, caller, key, earlier=None, rows_read=0, entries=(), items=(), positions=()):
        self.caller = caller
        self.key = key
        self.earlier = earlier
        self.rows_read = rows_read
        self.entries = list(entries)
        self.items = list(items)
        self.positions = list(positions)
        self._outcomes = {}

    def batches(self):
        """Commands, one per batch of submissions, each recording its batch."""
        return [self._recording(index, batch)
                for index, batch in enumerate(hours_recording.batches(self.items))]

    def _recording(self, index, batch):
        def record_batch(tx):
            # Kept by index: a transaction run again replaces its outcomes.
            self._outcomes[index] = hours_recording.record_batch(tx, batch, self.caller, source="import")
        return record_batch

    def report(self, tx=None):
        """The report of every row, in sheet order (it writes nothing itself)."""
        if self.earlier is not None:
            return self.earlier
        outcomes = [o for index in sorted(self._outcomes) for o in self._outcomes[index]]
        entries = list(self.entries)
        for row, outcome in zip(self.positions, outcomes):
            entries.append(_refused(row, outcome) if isinstance(outcome, DomainError)
                           else _accepted(row, outcome))
        entries.sort(key=lambda e: e["row"])
        accepted = sum(1 for e in entries if e["status"] == "accepted")
        return {"rows_read": self.rows_read, "accepted": accepted,
                "rejected": len(entries) - accepted, "rows": entries}


def read(db, upload, caller, idempotency_key=None):
    """The sheet of `upload` as a SheetImport; a 400 or 413 for a sheet that
    cannot be read, a 409 for a key used with another sheet."""
    access.caller_region(caller)
    content, kind = sheets.decode_upload(upload)
    key = IdempotencyKey.of(caller, idempotency_key, "import_hours", hashlib.sha256(content).hexdigest())
    stored = key.find(db) if key is not None else None
    if stored is not None:
        return SheetImport(caller, key, earlier=key.answer(stored))
    rows = sheets.read(content, kind)

    entries, parsed = [], []
    for number, values in rows:
        item, problems = sheets.parse_row(values)
        if problems:
            entries.append(_rejected(number, f"invalid {', '.join(sorted(problems))}", problems))
        else:
            parsed.append((number, item))

    pii_key = settings.pii_hash_key()
    by_hash = volunteers.numbers_by_id_hash(db, {id_numbers.hash_id_number(item["id_number"], pii_key)
                                                 for _, item in parsed if "id_number" in item})
    items, positions = [], []
    for number, item in parsed:
        if "id_number" in item:
            volunteer = by_hash.get(id_numbers.hash_id_number(item.pop("id_number"), pii_key))
            if volunteer is None:
                entries.append(_rejected(number, "no volunteer is registered with this ID number",
                                         {"id_number": ["not registered"]}))
                continue
            item["volunteer_number"] = volunteer
        items.append(item)
        positions.append(number)
    return SheetImport(caller, key, rows_read=len(rows), entries=entries, items=items,
                       positions=positions)
