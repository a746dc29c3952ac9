"""Webhook subscriptions: the collection `webhook_subscriptions`, its commands and queries.

    webhook_subscriptions: {_id: "wh-<16 hex>", url, types, description, region,
        status: active | paused, paused_reason, paused_at, secret (Fernet token),
        created_at, created_by, updated_at}

Only province admins change them; auditors and province admins read them, in
their region. The secret is answered once, by `create`; it is never logged,
answered again or put in an event.
"""
import secrets as _secrets

from services.common import access, queries
from services.common.clock import now_ms
from services.common.errors import Conflict, Forbidden, NotFound
from services.common.jsonable import jsonable
from services.webhooks import rules, signing, urls

WRITERS = ("province_admin",)
READERS = ("province_admin", "auditor")
VIEW_FIELDS = ("url", "types", "description", "region", "status", "paused_reason", "paused_at",
               "created_at", "created_by", "updated_at")


def ensure_indexes(db):
    db.webhook_subscriptions.create_index([("status", 1)])
    db.webhook_subscriptions.create_index([("region", 1), ("created_at", 1)])


def require(caller, roles, what):
    access.caller_region(caller)
    if caller.get("role") not in roles:
        raise Forbidden(f"only {' and '.join(r.replace('_', ' ') + 's' for r in roles)} {what}",
                        details={"allowed_roles": list(roles)})


def view(doc):
    return jsonable({"id": doc["_id"], **{k: doc.get(k) for k in VIEW_FIELDS}})


def facts(doc, status=None):
    return {"subscription_id": doc["_id"], "region": doc["region"],
            "status": status or doc["status"], "types": list(doc["types"]),
            "host": urls.host_of(doc["url"])}


def subscribed(db, session=None):
    """[(id, types)] of every subscription, active or paused (paused ones accumulate)."""
    return [(doc["_id"], doc["types"])
            for doc in db.webhook_subscriptions.find({}, {"types": 1}, session=session)]


def matching(subscribed, event_type):
    """Ids of those of `subscribed` (as `subscribed` answers) taking `event_type`."""
    return [_id for _id, types in subscribed if rules.matches_any(types, event_type)]


def create(tx, data, caller, known_types):
    require(caller, WRITERS, "make webhooks")
    urls.check(data["url"])
    types = rules.check_types(data["types"], known_types)
    secret = signing.new_secret()
    now = now_ms()
    doc = {"_id": f"wh-{_secrets.token_hex(8)}", "url": data["url"], "types": types,
           "description": data.get("description"), "region": access.caller_region(caller),
           "status": "active", "paused_reason": None, "paused_at": None,
           "secret": signing.encrypt(secret), "created_at": now,
           "created_by": access.actor(caller), "updated_at": now}
    tx.db.webhook_subscriptions.insert_one(doc, session=tx.session)
    tx.emit("subscription.created", doc["_id"], facts(doc))
    return {**view(doc), "secret": secret}


def load(db, subscription_id, caller, session=None):
    doc = db.webhook_subscriptions.find_one({"_id": subscription_id}, session=session)
    if doc is None:
        raise NotFound(f"no webhook {subscription_id}", fields={"webhook_id": ["not found"]})
    access.ensure_within(caller, doc["region"], "webhook_id")
    return doc


def get(db, subscription_id, caller):
    require(caller, READERS, "read webhooks")
    return view(load(db, subscription_id, caller))


def list_page(db, query, caller):
    require(caller, READERS, "read webhooks")
    region = access.narrow(caller, None)
    selector = {"region": {"$regex": f"^{region}"}} if region else {}
    if query.get("status"):
        selector["status"] = query["status"]
    return queries.page(db.webhook_subscriptions, selector, query,
                        lambda docs: [view(d) for d in docs], sort=(("created_at", 1), ("_id", 1)))


def pause(tx, subscription_id, caller, reason="operator", failure=None):
    """Pause (idempotent: pausing a paused one answers it unchanged, no event)."""
    if reason == "operator":
        require(caller, WRITERS, "pause webhooks")
    doc = load(tx.db, subscription_id, caller, tx.session)
    if doc["status"] == "paused":
        return view(doc)
    now = now_ms()
    changes = {"status": "paused", "paused_reason": reason, "paused_at": now, "updated_at": now}
    updated = tx.db.webhook_subscriptions.update_one(
        {"_id": subscription_id, "status": "active"}, {"$set": changes}, session=tx.session)
    if updated.matched_count != 1:
        raise Conflict(f"webhook {subscription_id} changed meanwhile")
    doc.update(changes)
    tx.emit("subscription.paused", subscription_id,
            {**facts(doc), "reason": reason, **(failure or {})})
    return view(doc)


def resume(tx, subscription_id, caller):
    """Resume: what accumulated is due now, each delivery's 24 h counted anew."""
    from services.webhooks import deliveries

    require(caller, WRITERS, "resume webhooks")
    doc = load(tx.db, subscription_id, caller, tx.session)
    if doc["status"] == "active":
        return view(doc)
    now = now_ms()
    changes = {"status": "active", "paused_reason": None, "paused_at": None, "updated_at": now}
    tx.db.webhook_subscriptions.update_one({"_id": subscription_id}, {"$set": changes},
                                           session=tx.session)
    deliveries.restart_pending(tx.db, tx.session, subscription_id, now)
    doc.update(changes)
    tx.emit("subscription.resumed", subscription_id, facts(doc))
    return view(doc)


def delete(tx, subscription_id, caller):
    from services.webhooks import deliveries

    require(caller, WRITERS, "delete webhooks")
    doc = load(tx.db, subscription_id, caller, tx.session)
    tx.db.webhook_subscriptions.delete_one({"_id": subscription_id}, session=tx.session)
    deliveries.forget(tx.db, tx.session, subscription_id)
    tx.emit("subscription.deleted", subscription_id, facts(doc, status="deleted"))
    return None


def secret_of(doc):
    return signing.decrypt(doc["secret"])
