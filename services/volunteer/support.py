"""What the volunteer service's parts share: settings, counters, region filters, paging.

Settings (environment, read through services.common.config.env):
  PII_HASH_KEY                     key of the HMAC-SHA256 under which ID numbers are
                                   matched; a local development key by default. In the
                                   cluster it comes from Secret `wushe-volunteer-pii`.
                                   Keep it: a new key makes every stored hash
                                   unmatchable, and the numbers themselves are not
                                   kept, so they cannot be hashed again.
  HOURS_WINDOW_TOLERANCE_MINUTES   how far a record may lie outside its activity's
                                   window (default 30).
"""
import logging

from pymongo import ReturnDocument
from pymongo.errors import OperationFailure

from services.common import access, config
from services.common.errors import InvalidInput
from services.common.clock import utcnow

log = logging.getLogger(__name__)

DEV_PII_HASH_KEY = "wushe-local-development-pii-key-change-me"
EXPORT_LIMIT = 20_000


def pii_hash_key():
    return config.env("PII_HASH_KEY", DEV_PII_HASH_KEY)


def warn_if_development_key():
    if pii_hash_key() == DEV_PII_HASH_KEY:
        log.warning("PII_HASH_KEY is not set: ID numbers are hashed with the local development "
                    "key; set it (Secret wushe-volunteer-pii) anywhere real people register")


def window_tolerance_minutes():
    value = config.env("HOURS_WINDOW_TOLERANCE_MINUTES", "30")
    try:
        minutes = int(value)
    except ValueError:
        raise RuntimeError(f"HOURS_WINDOW_TOLERANCE_MINUTES must be whole minutes, got {value!r}")
    return max(minutes, 0)


def now_ms():
    """Now, to the millisecond: what Mongo keeps, so an answer equals a later read."""
    moment = utcnow()
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


# --------------------------------------------------------------------------
# Counters (STACK.md Trap 3: an upsert racing to create a counter may answer
# None; counters are created first, outside any transaction, then incremented).

def ensure_counter(db, name):
    db.counters.update_one({"_id": name}, {"$setOnInsert": {"seq": 0}}, upsert=True)


def next_seq(tx, name):
    """The next number of counter `name` inside the transaction (rolled back with it)."""
    doc = tx.db.counters.find_one_and_update({"_id": name}, {"$inc": {"seq": 1}},
                                             return_document=ReturnDocument.AFTER,
                                             session=tx.session)
    if doc is None:
        # Not created beforehand (a new county or year): the caller runs
        # ensure_counter outside the transaction and retries.
        raise MissingCounter(name)
    return doc["seq"]


class MissingCounter(Exception):
    def __init__(self, name):
        super().__init__(name)
        self.name = name


def with_counters(db, fn):
    """Run fn(); if it needed a counter that did not exist, create it and run again."""
    for _ in range(5):
        try:
            return fn()
        except MissingCounter as missing:
            ensure_counter(db, missing.name)
    return fn()


# --------------------------------------------------------------------------
# Regions and pages

REGION_FIELD = {2: "province", 4: "city", 6: "county", 9: "division_code"}


def region_filter(region, township_field="division_code"):
    if not region:
        return {}
    field = REGION_FIELD[len(region)]
    if field == "division_code":
        field = township_field
    return {field: region}


def scoped(caller, region, township_field="division_code"):
    """The filter for a list: the region asked (or the caller's own), checked."""
    return region_filter(access.narrow(caller, region), township_field)


def page(collection, selector, query, view, sort=(("_id", 1),)):
    page_, per_page = query["page"], query["per_page"]
    total = collection.count_documents(selector)
    found = collection.find(selector).sort(list(sort)).skip((page_ - 1) * per_page).limit(per_page)
    return {"items": view(list(found)), "total": total, "page": page_, "per_page": per_page}


def export_rows(collection, selector, sort):
    total = collection.count_documents(selector)
    if total > EXPORT_LIMIT:
        raise InvalidInput(f"{total} rows match; an export holds at most {EXPORT_LIMIT}: narrow "
                           "the region or the period",
                           fields={"region": [f"more than {EXPORT_LIMIT} rows"]})
    return list(collection.find(selector).sort(list(sort)))


def station_regions(station):
    return {"division_code": station["division_code"], "county": station["county"],
            "city": station["city"], "province": station["province"]}


def write_conflict(message):
    """An error with_transaction retries, as for the server's own write conflicts."""
    return OperationFailure(message, code=112, details={
        "ok": 0, "code": 112, "codeName": "WriteConflict", "errmsg": message,
        "errorLabels": ["TransientTransactionError"]})
