"""Read models kept from another service's events: the newest version of a thing wins.

Events that carry a snapshot with a growing `version` (the registry's station
events) are applied with `store_if_newer`: a duplicate, a replay or an event
overtaken by a later one changes nothing. Two events of one thing handled at
once race on the same document; the loser raises `errors.write_conflict`,
which the inbox transaction retries, and then sees the winner.
"""
from pymongo.errors import DuplicateKeyError

from services.common.errors import write_conflict


def store_if_newer(collection, doc, session):
    """Write `doc` (with `_id` and `version`) unless a version as new is stored; True if written."""
    current = collection.find_one({"_id": doc["_id"]}, {"version": 1}, session=session)
    if current is None:
        try:
            collection.insert_one(doc, session=session)
        except DuplicateKeyError:
            raise write_conflict(f"{collection.name} {doc['_id']} was stored meanwhile")
        return True
    if current["version"] >= doc["version"]:
        return False
    result = collection.replace_one({"_id": doc["_id"], "version": current["version"]}, doc,
                                    session=session)
    if result.matched_count != 1:
        raise write_conflict(f"{collection.name} {doc['_id']} changed meanwhile")
    return True
