"""Deliveries: the collection `webhook_deliveries`, one document per (subscription, event).

    webhook_deliveries: {_id: 32 hex (from subscription and event: a replayed event
        makes no second delivery), subscription_id, event (as published),
        event_id, event_source, event_type, subject, event_time,
        status: pending | delivered, attempts, redeliveries, created_at,
        first_attempt_at, last_attempt_at, next_attempt_at, delivered_at,
        last_status_code, last_error, lease_until, lease_owner}

Written by the inbox handler in the transaction of the inbox marker, so each
event becomes each matching subscription's delivery exactly once; the sender
(services.webhooks.sender) sends it at least once. All delivery state is
here, none only in a process's memory.

Order: within one (subscription, subject) lane only the head (the pending
delivery with the earliest event time, then the earliest created_at) may be
sent, and only while no one holds its lease; so a lane has at most one
delivery in flight, in the subject's order, and a failing head holds back the
later events of its subject (and only of its subject).
"""
import collections
import datetime
import hashlib

from services.common import events
from services.common.clock import now_ms, parse_instant
from services.common.errors import NotFound
from services.common.jsonable import jsonable
from services.webhooks import hooks

# A delivery becomes eligible this long after it was stored: events of one
# subject handled by concurrent inbox workers have all committed by then, so
# the head is really the earliest.
ORDER_GRACE = datetime.timedelta(seconds=0.5)
VIEW_FIELDS = ("subscription_id", "event_id", "event_source", "event_type", "subject",
               "event_time", "status", "attempts", "redeliveries", "created_at",
               "first_attempt_at", "last_attempt_at", "next_attempt_at", "delivered_at",
               "last_status_code", "last_error")
LANE_ORDER = [("subject", 1), ("event_time", 1), ("created_at", 1), ("_id", 1)]
# Ids per `$in` of the look-up before an insert: the Mongo-wire server's cost of
# one `$in` grows with the square of its list (docs/mongo-wire-server.md).
LOOKUP_CHUNK = 64


def ensure_indexes(db):
    db.webhook_deliveries.create_index(
        [("subscription_id", 1), ("status", 1)] + LANE_ORDER)
    db.webhook_deliveries.create_index([("subscription_id", 1), ("created_at", -1), ("_id", 1)])
    db.webhook_deliveries.create_index([("subscription_id", 1), ("event_id", 1)])


def delivery_id(subscription_id, event):
    return hashlib.sha256(f"{subscription_id}|{events.idempotency_key(event)}".encode()).hexdigest()[:32]


def view(doc):
    return jsonable({"id": doc["_id"], **{k: doc.get(k) for k in VIEW_FIELDS}})


def enqueue(db, session, event, subscribed=None):
    """The inbox handler: a delivery for every subscription taking this event's type."""
    enqueue_many(db, session, [event], subscribed)


def enqueue_many(db, session, batch, subscribed=None):
    """The inbox's batch form: what `enqueue` of each event in order leaves, with one
    read of the subscriptions (none if `subscribed`, as hooks.subscribed answers, is
    given), one look-up of the deliveries already there (per LOOKUP_CHUNK) and one insert."""
    if subscribed is None:
        subscribed = hooks.subscribed(db, session)
    now = now_ms()
    docs = {}
    ties = collections.Counter()
    for event in batch:
        targets = hooks.matching(subscribed, event.get("type", ""))
        if not targets:
            continue
        moment = _to_ms(parse_instant(event.get("time")))   # as Mongo keeps it
        # A lane is ordered by event time, then created_at: events of one subject
        # at one millisecond get created_at a millisecond apart, in the batch's
        # order, as they would handled one by one.
        tie = (event.get("subject"), moment)
        created = now + datetime.timedelta(milliseconds=ties[tie])
        ties[tie] += 1
        for subscription_id in targets:
            _id = delivery_id(subscription_id, event)
            if _id not in docs:   # the same event twice: the first one counts
                docs[_id] = _new_delivery(_id, subscription_id, event, moment or created, created)
    if not docs:
        return
    # Looked up, not caught: a duplicate key error would abort the transaction.
    ids = list(docs)
    for start in range(0, len(ids), LOOKUP_CHUNK):
        for doc in db.webhook_deliveries.find({"_id": {"$in": ids[start:start + LOOKUP_CHUNK]}},
                                              {"_id": 1}, session=session):
            del docs[doc["_id"]]
    if docs:
        db.webhook_deliveries.insert_many(list(docs.values()), session=session)


def _to_ms(moment):
    return moment and moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def _new_delivery(_id, subscription_id, event, moment, now):
    return {"_id": _id, "subscription_id": subscription_id, "event": event,
            "event_id": event.get("id"), "event_source": event.get("source"),
            "event_type": event.get("type"), "subject": event.get("subject"),
            "event_time": moment, "status": "pending", "attempts": 0,
            "redeliveries": 0, "created_at": now, "first_attempt_at": None,
            "last_attempt_at": None, "next_attempt_at": now, "delivered_at": None,
            "last_status_code": None, "last_error": None, "lease_until": None,
            "lease_owner": None}


def due_heads(db, subscription_id, now, limit):
    """Ids of lane heads that are due and free, oldest event first, at most `limit`."""
    pipeline = [
        {"$match": {"subscription_id": subscription_id, "status": "pending"}},
        {"$sort": dict(LANE_ORDER)},
        {"$group": {"_id": "$subject", "id": {"$first": "$_id"},
                    "next": {"$first": "$next_attempt_at"}, "lease": {"$first": "$lease_until"},
                    "created": {"$first": "$created_at"}, "order": {"$first": "$event_time"}}},
        {"$match": {"next": {"$lte": now}, "created": {"$lte": now - ORDER_GRACE}}},
        {"$sort": {"order": 1}},
    ]
    found = []
    for head in db.webhook_deliveries.aggregate(pipeline):
        if head.get("lease") is not None and head["lease"] > now:
            continue
        found.append(head["id"])
        if len(found) >= limit:
            break
    return found


def claim(db, _id, owner, now, lease):
    """Take the lease on a pending delivery; True if this process holds it now."""
    result = db.webhook_deliveries.update_one(
        {"_id": _id, "status": "pending", "lease_until": {"$not": {"$gt": now}}},
        {"$set": {"lease_until": now + lease, "lease_owner": owner}})
    return result.modified_count == 1


def leased(db, _id, owner):
    return db.webhook_deliveries.find_one({"_id": _id, "lease_owner": owner, "status": "pending"})


def release(db, _id, owner):
    db.webhook_deliveries.update_one({"_id": _id, "lease_owner": owner},
                                     {"$set": {"lease_until": None, "lease_owner": None}})


def delivered(db, doc, owner, status_code, at):
    """Only while this process still holds the lease (a redelivery asked meanwhile wins)."""
    db.webhook_deliveries.update_one(
        {"_id": doc["_id"], "lease_owner": owner, "status": "pending"},
        {"$set": {"status": "delivered", "delivered_at": at, "last_attempt_at": at,
                  "first_attempt_at": doc.get("first_attempt_at") or at,
                  "last_status_code": status_code, "last_error": None,
                  "next_attempt_at": None, "lease_until": None, "lease_owner": None},
         "$inc": {"attempts": 1}})


def failed(db, doc, owner, status_code, error, at, next_at):
    db.webhook_deliveries.update_one(
        {"_id": doc["_id"], "lease_owner": owner, "status": "pending"},
        {"$set": {"last_attempt_at": at, "first_attempt_at": doc.get("first_attempt_at") or at,
                  "last_status_code": status_code, "last_error": error,
                  "next_attempt_at": next_at, "lease_until": None, "lease_owner": None},
         "$inc": {"attempts": 1}})


def restart_pending(db, session, subscription_id, now):
    """On resume: every pending delivery is due now and its 24 h start again."""
    db.webhook_deliveries.update_many(
        {"subscription_id": subscription_id, "status": "pending"},
        {"$set": {"next_attempt_at": now, "first_attempt_at": None}}, session=session)


def forget(db, session, subscription_id):
    db.webhook_deliveries.delete_many({"subscription_id": subscription_id}, session=session)


def list_page(db, subscription_id, query, caller):
    from services.common import queries

    hooks.get(db, subscription_id, caller)
    selector = {"subscription_id": subscription_id}
    for key in ("status", "event_id"):
        if query.get(key):
            selector[key] = query[key]
    return queries.page(db.webhook_deliveries, selector, query,
                        lambda docs: [view(d) for d in docs],
                        sort=(("created_at", -1), ("_id", 1)))


def redeliver(tx, subscription_id, _id, caller):
    """Send it again (delivered or not): due now, with a fresh 24 h; a send in flight
    loses its lease, so its outcome no longer counts."""
    hooks.require(caller, hooks.WRITERS, "redeliver webhooks")
    hooks.load(tx.db, subscription_id, caller, tx.session)
    doc = tx.db.webhook_deliveries.find_one({"_id": _id, "subscription_id": subscription_id},
                                            session=tx.session)
    if doc is None:
        raise NotFound(f"no delivery {_id} of webhook {subscription_id}",
                       fields={"delivery_id": ["not found"]})
    now = now_ms()
    changes = {"status": "pending", "next_attempt_at": now, "first_attempt_at": None,
               "delivered_at": None, "lease_until": None, "lease_owner": None}
    tx.db.webhook_deliveries.update_one({"_id": _id}, {"$set": changes, "$inc": {"redeliveries": 1}},
                                        session=tx.session)
    doc.update(changes, redeliveries=doc.get("redeliveries", 0) + 1)
    return view(doc)
