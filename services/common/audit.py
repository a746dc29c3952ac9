"""The audit trail: who changed what, and who saw whose personal data.

Each service keeps its own `audit` collection, next to the data it audits.
Every command writes its entry inside the command's own transaction
(services.common.outbox.OutboxHandle.run), so a change without its audit entry
cannot commit; a read that shows personal data unmasked writes its entry
before the answer leaves the service (`saw_personal_data`), so the answer
cannot be given without it. Nothing in the platform updates or deletes an
entry: the only way out is the retention (AUDIT_RETENTION_DAYS, default 3650,
applied as each entry's `expire_at`; changing it applies to entries written
from then on).

    audit: {_id, at, service, action, actor: {sub, role, region}, address, request_id,
            kind: "change" | "personal_data_read",
            records: [{type, id}], regions: [34, 3401, 340102, 340102001], expire_at}

`records` name what was changed (each event's type and subject) or whose data
was shown; `regions` are the region codes the records lie in, so an auditor
asks by region with one indexed equality. Who (actor), from where (address,
from the gateway's view of the client) and which request (request_id) come
from the RPC context through the contextvars below.
"""
import contextvars
import datetime
import uuid

from marshmallow import Schema, fields, validate

from services.common import access, config
from services.common.clock import now_ms
from services.common.jsonable import jsonable
from services.common.schemas import PageQuerySchema

caller = contextvars.ContextVar("audit_caller", default=None)
action = contextvars.ContextVar("audit_action", default=None)
address = contextvars.ContextVar("audit_address", default=None)
request_id = contextvars.ContextVar("audit_request_id", default=None)

READERS = ("system", "province_admin", "auditor")
_REGION_KEYS = ("province", "city", "county", "division_code", "region")


def retention():
    return datetime.timedelta(days=int(config.env("AUDIT_RETENTION_DAYS", "3650")))


def ensure_indexes(db):
    db.audit.create_index([("expire_at", 1)], expireAfterSeconds=0)
    db.audit.create_index([("regions", 1), ("at", -1)])
    db.audit.create_index([("records.id", 1), ("at", -1)])
    db.audit.create_index([("actor.sub", 1), ("at", -1)])


def regions_of(data):
    """Every region code a record's data names, widest first ("34", "3401", ...)."""
    codes = set()
    for key in _REGION_KEYS:
        value = (data or {}).get(key) if isinstance(data, dict) else None
        if isinstance(value, str) and value.isdigit():
            codes.update(value[:n] for n in (2, 4, 6, 9) if n <= len(value))
    return sorted(codes, key=lambda c: (len(c), c))


KINDS = ("change", "personal_data_read", "sign_in")


def entry(service, kind, records, regions, who=None, action_=None, **extra):
    """One audit entry of the common shape; `extra` adds fields a service needs
    (the accounts service: outcome, reason, login)."""
    who = who or caller.get() or access.SYSTEM
    at = now_ms()
    return {"_id": uuid.uuid4().hex, "at": at, "service": service,
            "action": action_ or action.get(), "kind": kind,
            "actor": {k: who.get(k) for k in ("sub", "role", "region")},
            "address": address.get(), "request_id": request_id.get(),
            "records": records, "regions": regions, **extra, "expire_at": at + retention()}


def record_change(tx):
    """The command's entry, in its transaction: what its events say it changed."""
    if not tx.events:
        return
    records = [{"type": e["type"], "id": e.get("subject")} for e in tx.events]
    regions = sorted({code for e in tx.events for code in regions_of(e.get("data"))},
                     key=lambda c: (len(c), c))
    tx.db.audit.insert_one(entry(tx.service, "change", records, regions), session=tx.session)


def saw_personal_data(db, service, kind, ids_and_regions, who=None):
    """Before answering personal data unmasked: which people's records were shown.

    ids_and_regions: [(record id, region code)], e.g. [("V34010200000001", "340102001")].
    Raises if the entry cannot be written: then the answer is not given."""
    if not ids_and_regions:
        return
    records = [{"type": kind, "id": record_id} for record_id, _ in ids_and_regions]
    regions = sorted({code for _, region in ids_and_regions for code in regions_of({"region": region})},
                     key=lambda c: (len(c), c))
    db.audit.insert_one(entry(service, "personal_data_read", records, regions, who))


class AuditQuerySchema(PageQuerySchema):
    region = fields.String(validate=validate.Regexp(r"^(\d{2}|\d{4}|\d{6}|\d{9})$"))
    record = fields.String(validate=validate.Length(min=1, max=100), metadata={
        "description": "A record's id: a station, a volunteer number (a person), a fund ..."})
    actor = fields.String(validate=validate.Length(min=1, max=200), metadata={
        "description": "Who acted (the token's sub)."})
    kind = fields.String(validate=validate.OneOf(KINDS))
    since = fields.DateTime(metadata={"description": "From this instant (RFC 3339)."})
    until = fields.DateTime(metadata={"description": "Before this instant (RFC 3339)."})


def query(db, service, query_, who):
    """Entries newest first, within the reader's region (auditors and province admins)."""
    if who.get("role") not in READERS:
        from services.common.errors import Forbidden

        raise Forbidden("only auditors and province admins read the audit trail",
                        details={"allowed_roles": list(READERS[1:])})
    region = access.narrow(who, query_.get("region"))
    selector = {"regions": region} if region else {}
    if query_.get("record"):
        selector["records.id"] = query_["record"]
    if query_.get("actor"):
        selector["actor.sub"] = query_["actor"]
    if query_.get("kind"):
        selector["kind"] = query_["kind"]
    period = {k: v for k, v in (("$gte", query_.get("since")), ("$lt", query_.get("until"))) if v}
    if period:
        selector["at"] = period
    page, per_page = query_["page"], query_["per_page"]
    total = db.audit.count_documents(selector)
    found = db.audit.find(selector, {"expire_at": 0}).sort([("at", -1), ("_id", 1)]) \
        .skip((page - 1) * per_page).limit(per_page)
    items = [jsonable({**{k: v for k, v in d.items() if k != "_id"}, "id": d["_id"]}) for d in found]
    return {"items": items, "total": total, "page": page, "per_page": per_page}


class AuditEntrySchema(Schema):
    id = fields.String(required=True)
    at = fields.DateTime(required=True)
    service = fields.String(required=True)
    action = fields.String(allow_none=True, metadata={"description": "The RPC method."})
    kind = fields.String(required=True, validate=validate.OneOf(KINDS))
    outcome = fields.String(metadata={"description": "Sign-ins: success, failure, locked ..."})
    reason = fields.String(allow_none=True)
    login = fields.String(allow_none=True, metadata={"description": "Sign-ins: the login tried "
                                                                    "(masked when unknown)."})
    actor = fields.Dict(keys=fields.String(), values=fields.String(allow_none=True))
    address = fields.String(allow_none=True)
    request_id = fields.String(allow_none=True)
    records = fields.List(fields.Dict(keys=fields.String(), values=fields.String(allow_none=True)))
    regions = fields.List(fields.String())
