"""Read models kept from another service's events: the newest version of a thing wins.

Events that carry a snapshot with a growing `version` (the registry's station
events) are applied with `store_if_newer` one at a time and with
`store_newest` for an inbox batch: a duplicate, a replay or an event overtaken
by a later one changes nothing. Two events of one thing handled at once race
on the same document; the loser raises `errors.write_conflict`, which the
inbox transaction retries, and then sees the winner.
"""
from pymongo import InsertOne, ReplaceOne
from pymongo.errors import BulkWriteError, DuplicateKeyError

from services.common.errors import write_conflict


def store_if_newer(collection, doc, session, usually_known=False):
    """Write `doc` (with `_id` and `version`) unless a version as new is stored; True if written.

    One command for a known older document (usually_known) or a new one; two
    for a stale event, or an unknown document that was expected to be known."""
    if usually_known and collection.replace_one(
            {"_id": doc["_id"], "version": {"$lt": doc["version"]}}, doc, session=session).matched_count:
        return True
    # The server inserts, replaces or keeps. Not an upsert filtered on the version: for a
    # stored newer version that would insert a duplicate _id, and abort the transaction.
    try:
        result = collection.update_one(
            {"_id": doc["_id"]},
            [{"$replaceWith": {"$cond": [{"$lt": ["$version", doc["version"]]},
                                         {"$literal": doc}, "$$ROOT"]}}],
            upsert=True, session=session)
    except DuplicateKeyError:
        raise write_conflict(f"{collection.name} {doc['_id']} was stored meanwhile")
    return result.upserted_id is not None or result.modified_count == 1


def store_newest(collection, docs, session):
    """Leave what store_if_newer of each doc in order leaves, in one `find` and
    one `bulk_write`: per `_id`, the first doc of the greatest version, if
    greater than the stored one."""
    newest = {}
    for doc in docs:
        if doc["_id"] not in newest or doc["version"] > newest[doc["_id"]]["version"]:
            newest[doc["_id"]] = doc
    stored = {d["_id"]: d["version"] for d in collection.find(
        {"_id": {"$in": list(newest)}}, {"version": 1}, session=session)}
    writes = [InsertOne(doc) if doc["_id"] not in stored else
              ReplaceOne({"_id": doc["_id"], "version": stored[doc["_id"]]}, doc)
              for doc in newest.values()
              if doc["_id"] not in stored or stored[doc["_id"]] < doc["version"]]
    if not writes:
        return
    replaces = sum(isinstance(write, ReplaceOne) for write in writes)
    try:
        result = collection.bulk_write(writes, ordered=False, session=session)
    except BulkWriteError as exc:
        if exc.details.get("writeErrors") and all(
                error.get("code") == 11000 for error in exc.details["writeErrors"]):
            raise write_conflict(f"{collection.name}: a document was stored meanwhile")
        raise
    if result.matched_count != replaces:
        raise write_conflict(f"{collection.name}: a document changed meanwhile")
