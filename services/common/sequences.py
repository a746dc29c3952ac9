"""Gap-free numbered sequences: volunteer numbers, certificates, receipts.

A number is taken inside the command's transaction (`next_number`), so a
command that fails or is refused gives its number back with its rollback:
the numbers issued have no gaps. Two commands taking a number from one
counter write-conflict, and the loser is retried by the transaction.

The counter document must exist before the transaction increments it: on the
local Mongo-wire server an upsert racing to create a counter may answer None
(docs/mongo-wire-server.md, trap 3), and inside a transaction a racing
insert is a conflict anyway. So `next_number` raises `MissingCounter` when the
counter is new; the command runner (services.common.outbox.OutboxHandle.run)
creates it outside the transaction and runs the command again.
"""
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError


class MissingCounter(Exception):
    def __init__(self, name):
        super().__init__(name)
        self.name = name


def ensure_counter(db, name):
    try:
        db.counters.update_one({"_id": name}, {"$setOnInsert": {"seq": 0}}, upsert=True)
    except DuplicateKeyError:
        pass  # two racing upserts (a real MongoDB may answer so): the counter exists


def next_number(tx, name):
    """The next number of counter `name` (1, 2, ...), inside the transaction."""
    doc = tx.db.counters.find_one_and_update({"_id": name}, {"$inc": {"seq": 1}},
                                             return_document=ReturnDocument.AFTER,
                                             session=tx.session)
    if doc is None:
        raise MissingCounter(name)
    return doc["seq"]


def with_counters(db, fn, attempts=5):
    """Run fn(); each time it needs a counter that does not exist yet, create it and rerun."""
    for _ in range(attempts):
        try:
            return fn()
        except MissingCounter as missing:
            ensure_counter(db, missing.name)
    return fn()
