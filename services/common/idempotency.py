"""`Idempotency-Key` for any command: a retried request is answered, not done twice.

A careful client sends a key with every command it may retry (after a 502/503/
504 or no answer). The key is kept per caller (role and subject), with a hash
of the validated request and the answer, in the same transaction as the
command's change (collection `idempotency`, kept IDEMPOTENCY_TTL_SECONDS):

* the same key with the same request answers the first answer again, with no
  second change and no second event;
* the same key with another request, or for another command, is a 409 naming
  `Idempotency-Key`;
* a refusal keeps nothing by default (sent again, the request is judged
  again), unless the command says that refusal is final (`keep_refusal`): the
  charity service keeps "not enough money", so a retry never pays later what
  was refused earlier; a new attempt needs a new key.

The command runner (OutboxHandle.run in services.common.outbox) applies it;
commands only pass `idempotency=IdempotencyKey.of(caller, key, method, request)`.
"""
import hashlib
import json

from services.common.clock import now_ms
from services.common.errors import Conflict, DomainError, InvalidInput
from services.common.jsonable import jsonable

IDEMPOTENCY_TTL_SECONDS = 7 * 24 * 3600
HEADER = "Idempotency-Key"


def ensure_indexes(db):
    db.idempotency.create_index([("created_at", 1)], expireAfterSeconds=IDEMPOTENCY_TTL_SECONDS)


def request_hash(method, request):
    text = json.dumps([method, jsonable(request)], sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class IdempotencyKey:
    """One caller's key for one request."""

    def __init__(self, caller, key, method, request):
        if not isinstance(key, str) or not 1 <= len(key) <= 200 or not key.isprintable():
            raise InvalidInput(f"{HEADER} must be 1 to 200 printable characters",
                               fields={HEADER: ["1 to 200 printable characters"]})
        self.id = f"{caller.get('role')}:{caller.get('sub')}:{key}"
        self.method = method
        self.hash = request_hash(method, request)

    @classmethod
    def of(cls, caller, key, method, request):
        """The key, or None when the request came without one."""
        return None if key is None else cls(caller, key, method, request)

    def find(self, db, session=None):
        return db.idempotency.find_one({"_id": self.id}, session=session)

    def answer(self, stored):
        """What the first request answered (or raised), if this is the same request."""
        if stored["request_hash"] != self.hash or stored.get("method") != self.method:
            first = (stored.get("result") or {}) if isinstance(stored.get("result"), dict) else {}
            raise Conflict(f"this {HEADER} was used for a different request",
                           fields={HEADER: ["already used with a different request"]},
                           details={"first_result": first["id"]} if first.get("id") else None)
        refusal = stored.get("refusal")
        if refusal:
            raise DomainError(refusal["message"], refusal.get("fields"), refusal.get("details"),
                              refusal["status"], refusal["code"])
        return stored["result"]

    def _doc(self, **outcome):
        return {"_id": self.id, "method": self.method, "request_hash": self.hash,
                "created_at": now_ms(), **outcome}

    def remember(self, tx, result):
        """Keep the answer, inside the command's transaction."""
        tx.db.idempotency.insert_one(self._doc(result=jsonable(result)), session=tx.session)

    def remember_refusal(self, db, refusal):
        """Keep a final refusal (outside the rolled-back transaction)."""
        db.idempotency.update_one(
            {"_id": self.id},
            {"$setOnInsert": {k: v for k, v in self._doc(result=None, refusal={
                "status": refusal.status, "code": refusal.code, "message": refusal.message,
                "fields": refusal.fields, "details": refusal.details}).items() if k != "_id"}},
            upsert=True)
