"""The audit trail of each service: who changed what, and who saw whose personal data.

Each service keeps its own trail (services/common/audit.py); these routes ask
one service for its entries, for auditors and province admins within their
region, as JSON pages or as an Excel download.
"""
from flask import Blueprint
from marshmallow import fields, validate

from gateway import exports
from gateway.api import endpoint, page_of
from gateway.auth import AUDITOR, PROVINCE_ADMIN
from gateway.errors import BadRequest
from gateway.rpc import call
from services.common import catalog
from services.common.audit import AuditEntrySchema, AuditQuerySchema

bp = Blueprint("audit", __name__)
READERS = (PROVINCE_ADMIN, AUDITOR)
SERVICE_PARAM = {"service": {"type": "string", "enum": list(catalog.names()),
                             "description": "The service whose trail is read (registry, "
                                            "volunteer, ...)."}}
EXPORT_PAGES, EXPORT_PAGE_SIZE = 40, 500   # at most 20,000 rows, as every export


class AuditAnswerSchema(AuditEntrySchema):
    """An entry as /audit/{service} answers it: the accounts service's refusals say why."""
    message = fields.String(allow_none=True, metadata={"description": "Why a request was refused."})


class AuditExportQuerySchema(AuditQuerySchema):
    format = fields.String(load_default="xlsx", validate=validate.OneOf(("csv", "xlsx")))


COLUMNS = [("at", "时间 (UTC)"), ("service", "服务"), ("kind", "类别"), ("action", "操作"),
           ("actor", "操作人"), ("role", "角色"), ("actor_region", "操作人区划"),
           ("address", "来源地址"), ("request_id", "请求号"), ("records", "记录"),
           ("regions", "所属区划")]


def _service(service):
    if service not in catalog.names():
        raise BadRequest(f"no service {service}", fields={"service": [
            f"one of {', '.join(catalog.names())}"]})
    return service


def _row(entry):
    actor = entry.get("actor") or {}
    return [entry["at"], entry["service"], entry["kind"], entry.get("action"), actor.get("sub"),
            actor.get("role"), actor.get("region"), entry.get("address"), entry.get("request_id"),
            "; ".join(f"{r.get('type')} {r.get('id')}" for r in entry.get("records", [])),
            " ".join(entry.get("regions", [])[-1:])]


@bp.get("/audit/<service>")
@endpoint(roles=READERS, query=AuditQuerySchema, response=page_of(AuditAnswerSchema),
          path_params=SERVICE_PARAM, tags=("audit",),
          summary="Read a service's audit trail (newest first)",
          description="Every change (who, role, region, when, from which address, the request "
                      "id, what and which record) and every answer that showed personal data "
                      "unmasked. Filter by region, record (a person's or a station's id), "
                      "actor and time.")
def read_audit(service, query):
    return call(_service(service), "audit_log", query)


@bp.get("/audit/<service>/export")
@endpoint(roles=READERS, query=AuditExportQuerySchema, path_params=SERVICE_PARAM,
          tags=("audit",), response_content={
              "text/csv": {"type": "string"},
              exports.XLSX_TYPE: {"type": "string", "format": "binary"}},
          summary="Export a service's audit trail as Excel or CSV (at most 20,000 entries)")
def export_audit(service, query):
    service = _service(service)
    fmt = query.pop("format")
    rows = []
    for page in range(1, EXPORT_PAGES + 1):
        answer = call(service, "audit_log", {**query, "page": page, "per_page": EXPORT_PAGE_SIZE})
        rows.extend(_row(entry) for entry in answer["items"])
        if page * EXPORT_PAGE_SIZE >= answer["total"]:
            break
    result = {"name": f"audit-{service}", "columns": [{"key": k, "title": t} for k, t in COLUMNS],
              "rows": rows}
    return exports.download(result, fmt, f"audit-{service}")
