"""Volunteer routes: volunteers, teams, activities, hour records (with approval,
rejection, correction, import and export), totals and certificates, and the
public certificate check.

Each route is: an auth requirement + schema validation (`@endpoint`) + one RPC
call (`call`, which adds `caller=`) + the answer. Exports render the rows the
service answers as CSV or XLSX (gateway/exports.py); the import sends the sheet
to the service, which reads it.
"""
import base64

from flask import Blueprint, request, url_for

from gateway import exports
from gateway.api import check_path, endpoint, load_body, page_of
from gateway.auth import ALL_ROLES, STATION_WORKERS
from gateway.errors import BadRequest
from gateway.rpc import call
from services.volunteer.schemas import (
    CERTIFICATE_NUMBER, MAX_SHEET_ROWS, ActivityCreateSchema, ActivityQuerySchema,
    ActivitySchema, BatchApprovalSchema, CertificateCreateSchema, CertificateQuerySchema,
    CertificateSchema, HoursApproveSchema, HoursBatchApproveSchema, HoursCorrectionSchema,
    HoursExportQuerySchema, HoursQuerySchema, HoursRecordSchema, HoursRecordViewSchema,
    HoursRejectSchema, ImportReportSchema, PageQuerySchema, PublicCertificateSchema,
    TeamCreateSchema, TeamMemberCreateSchema, TeamMemberSchema, TeamQuerySchema, TeamSchema,
    TotalsQuerySchema, TotalsSchema, VolunteerCreateSchema, VolunteerExportQuerySchema,
    VolunteerLookupResultSchema, VolunteerLookupSchema, VolunteerQuerySchema, VolunteerSchema,
    VolunteerUpdateSchema,
)

bp = Blueprint("volunteer", __name__)
SERVICE = "volunteer"

IDEMPOTENCY = ("Send an `Idempotency-Key` header (1-200 printable characters) to make a retry "
               "safe: the same key with the same body answers the first answer again and "
               "records nothing more; the same key with another body is a 409 naming "
               "`Idempotency-Key`. Keys are kept 7 days, per caller.")
VOLUNTEER_NUMBER = {"type": "string", "pattern": r"^V\d{14}$"}
EXPORT = ("`format=csv` (UTF-8 with BOM, opens in Excel) or `format=xlsx`; answered as a file "
          "download (Content-Disposition). Personal data is masked unless the caller's role "
          "needs it; ID numbers are always masked. At most 20,000 rows: narrow the region.")

IDEMPOTENCY_HEADER = {"Idempotency-Key": "Any 1-200 printable characters; the same key sent "
                                         "again returns the first answer instead of recording "
                                         "twice."}
SHEET_BODY = {  # an empty body is refused (400): minLength 1
    "text/csv": {"type": "string", "minLength": 1},
    exports.XLSX_TYPE: {"type": "string", "format": "binary", "minLength": 1},
    "multipart/form-data": {"type": "object", "required": ["file"],
                            "properties": {"file": {"type": "string", "format": "binary"}}},
}
FILE_DOWNLOAD = {"text/csv": {"type": "string"},
                 exports.XLSX_TYPE: {"type": "string", "format": "binary"}}


def _idempotency_key():
    return request.headers.get("Idempotency-Key")


# ---- volunteers ----

@bp.post("/volunteers")
@endpoint(roles=STATION_WORKERS, body=VolunteerCreateSchema, response=VolunteerSchema, status=201,
          errors=(404, 409), tags=("volunteers",), summary="Register a volunteer (实名注册)",
          description="The ID number is validated (GB 11643-1999 check character, birth date) "
                      "and kept only hashed and masked. A second registration with the same ID "
                      "number is a 409 whose `details.volunteer_number` names the existing one.")
def register_volunteer(body):
    volunteer = call(SERVICE, "register_volunteer", body)
    return volunteer, {"Location": url_for(".get_volunteer", number=volunteer["number"])}


@bp.get("/volunteers")
@endpoint(roles=ALL_ROLES, query=VolunteerQuerySchema, response=page_of(VolunteerSchema),
          tags=("volunteers",), summary="List volunteers in a region, optionally by skill")
def list_volunteers(query):
    return call(SERVICE, "list_volunteers", query)


@bp.post("/volunteers/lookup")
@endpoint(roles=STATION_WORKERS, body=VolunteerLookupSchema, response=VolunteerLookupResultSchema,
          errors=(404,), tags=("volunteers",),
          summary="The volunteer number registered for an ID number",
          description="Matched by the keyed hash; answers only the number (as a second "
                      "registration's 409 would). A POST so that the ID number is never in a URL.")
def lookup_volunteer(body):
    return call(SERVICE, "lookup_volunteer", body)


@bp.get("/volunteers/export")
@endpoint(roles=ALL_ROLES, query=VolunteerExportQuerySchema, tags=("volunteers",),
          response_content=FILE_DOWNLOAD,
          summary="Export the volunteer list as CSV or Excel", description=EXPORT)
def export_volunteers(query):
    result = call(SERVICE, "export_volunteers", query)
    return exports.download(result, query.get("format", "csv"), "volunteers")


@bp.get("/volunteers/<number>")
@endpoint(roles=ALL_ROLES, response=VolunteerSchema, errors=(404,), tags=("volunteers",),
          path_params={"number": VOLUNTEER_NUMBER}, summary="One volunteer")
def get_volunteer(number):
    check_path("number", number, r"V\d{14}", "must be a volunteer number (V + 14 digits)")
    return call(SERVICE, "get_volunteer", number)


@bp.patch("/volunteers/<number>")
@endpoint(roles=STATION_WORKERS, body=VolunteerUpdateSchema, response=VolunteerSchema,
          errors=(404, 409), tags=("volunteers",), path_params={"number": VOLUNTEER_NUMBER},
          summary="Change a volunteer's name, phone, skills or availability")
def update_volunteer(number, body):
    check_path("number", number, r"V\d{14}", "must be a volunteer number (V + 14 digits)")
    return call(SERVICE, "update_volunteer", number, body)


# ---- teams ----

@bp.post("/teams")
@endpoint(roles=STATION_WORKERS, body=TeamCreateSchema, response=TeamSchema, status=201,
          errors=(404, 409), tags=("teams",), summary="Create a volunteer team at a station",
          description="The station must be known to the volunteer service (from the registry's "
                      "events) and not closed.")
def create_team(body):
    team = call(SERVICE, "create_team", body)
    return team, {"Location": url_for(".get_team", team_id=team["id"])}


@bp.get("/teams")
@endpoint(roles=ALL_ROLES, query=TeamQuerySchema, response=page_of(TeamSchema), tags=("teams",),
          summary="List teams in a region, of a station or of a kind")
def list_teams(query):
    return call(SERVICE, "list_teams", query)


@bp.get("/teams/<team_id>")
@endpoint(roles=ALL_ROLES, response=TeamSchema, errors=(404,), tags=("teams",), summary="One team")
def get_team(team_id):
    return call(SERVICE, "get_team", team_id)


@bp.get("/teams/<team_id>/members")
@endpoint(roles=ALL_ROLES, query=PageQuerySchema, response=page_of(TeamMemberSchema),
          errors=(404,), tags=("teams",), summary="A team's members")
def list_team_members(team_id, query):
    return call(SERVICE, "list_team_members", team_id, query)


@bp.post("/teams/<team_id>/members")
@endpoint(roles=STATION_WORKERS, body=TeamMemberCreateSchema, response=TeamMemberSchema,
          status=201, errors=(404, 409), tags=("teams",), summary="Add a volunteer to a team",
          description="A silver-age team (银龄) takes volunteers 60 or over on `joined_on`; "
                      "a younger one is a 409 naming the volunteer.")
def add_team_member(team_id, body):
    return call(SERVICE, "add_team_member", team_id, body)


@bp.delete("/teams/<team_id>/members/<number>")
@endpoint(roles=STATION_WORKERS, status=204, errors=(404,), tags=("teams",),
          path_params={"number": VOLUNTEER_NUMBER}, summary="Remove a volunteer from a team")
def remove_team_member(team_id, number):
    check_path("number", number, r"V\d{14}", "must be a volunteer number (V + 14 digits)")
    call(SERVICE, "remove_team_member", team_id, number)


# ---- activities ----

@bp.post("/activities")
@endpoint(roles=STATION_WORKERS, body=ActivityCreateSchema, response=ActivitySchema, status=201,
          errors=(404, 409), tags=("activities",), summary="Create an activity organised by a team")
def create_activity(body):
    activity = call(SERVICE, "create_activity", body)
    return activity, {"Location": url_for(".get_activity", activity_id=activity["id"])}


@bp.get("/activities")
@endpoint(roles=ALL_ROLES, query=ActivityQuerySchema, response=page_of(ActivitySchema),
          tags=("activities",), summary="List activities in a region, of a station, team or category")
def list_activities(query):
    return call(SERVICE, "list_activities", query)


@bp.get("/activities/<activity_id>")
@endpoint(roles=ALL_ROLES, response=ActivitySchema, errors=(404,), tags=("activities",),
          summary="One activity")
def get_activity(activity_id):
    return call(SERVICE, "get_activity", activity_id)


# ---- hour records ----

@bp.post("/hours")
@endpoint(roles=STATION_WORKERS, body=HoursRecordSchema, response=HoursRecordViewSchema,
          status=201, errors=(404, 409), tags=("hours",), headers=IDEMPOTENCY_HEADER,
          summary="Record a volunteer's hours at an activity (status recorded)",
          description="Refused with a 409 naming the conflicting record "
                      "(`details.conflicting_record`) when the time overlaps another record of "
                      "the volunteer, makes more than 24 hours on the service date, or lies "
                      "outside the activity's window beyond the tolerance; a 409 too for a "
                      "volunteer who is not registered or a full activity. " + IDEMPOTENCY)
def record_hours(body):
    record = call(SERVICE, "record_hours", body, idempotency_key=_idempotency_key())
    return record, {"Location": url_for(".get_hours", record_id=record["id"])}


def _upload():
    if request.mimetype == "multipart/form-data":
        sheet = request.files.get("file")
        if sheet is None:
            raise BadRequest("send the sheet in multipart field `file`",
                             fields={"file": ["missing multipart field"]})
        return {"content": base64.b64encode(sheet.read()).decode("ascii"),
                "content_type": sheet.mimetype, "filename": sheet.filename}
    content = request.get_data(cache=False)
    if not content:
        raise BadRequest("send the sheet as the request body (text/csv or .xlsx) or as "
                         "multipart field `file`", fields={"file": ["missing"]})
    return {"content": base64.b64encode(content).decode("ascii"),
            "content_type": request.mimetype, "filename": None}


@bp.post("/hours/import")
@endpoint(roles=STATION_WORKERS, response=ImportReportSchema, errors=(409, 413), tags=("hours",),
          headers=IDEMPOTENCY_HEADER, body_content=SHEET_BODY,
          summary="Import hour records from a CSV or Excel sheet",
          description="The sheet is the request body (`Content-Type: text/csv` or "
                      "`application/vnd.openxmlformats-officedocument.spreadsheetml.sheet`) or "
                      "multipart field `file`. Columns (English or Chinese headers): "
                      "volunteer_number (志愿者编号) or id_number (身份证号), activity_id (活动编号), "
                      "start (开始时间), end (结束时间), note (备注); times with an offset or in "
                      f"China time. At most {MAX_SHEET_ROWS} rows (413 beyond). Every row passes the "
                      "rules of POST /hours; good rows are recorded even when others fail; the "
                      "answer reports each row. A missing column or an unreadable file is a 400 "
                      "naming it. " + IDEMPOTENCY)
def import_hours():
    return call(SERVICE, "import_hours", _upload(), idempotency_key=_idempotency_key())


@bp.get("/hours")
@endpoint(roles=ALL_ROLES, query=HoursQuerySchema, response=page_of(HoursRecordViewSchema),
          tags=("hours",), summary="List hour records and corrections")
def list_hours(query):
    return call(SERVICE, "list_hours", query)


@bp.get("/hours/export")
@endpoint(roles=ALL_ROLES, query=HoursExportQuerySchema, tags=("hours",),
          response_content=FILE_DOWNLOAD,
          summary="Export hour records as CSV or Excel", description=EXPORT)
def export_hours(query):
    result = call(SERVICE, "export_hours", query)
    return exports.download(result, query.get("format", "csv"), "hours")


@bp.get("/hours/totals")
@endpoint(roles=ALL_ROLES, query=TotalsQuerySchema, response=TotalsSchema, errors=(404,),
          tags=("hours",), summary="Approved hours and distinct volunteers, with the children",
          description="Give exactly one of `region` (province, city, county or township code: "
                      "children are the next level down, then stations), `station_id` "
                      "(children: teams), `team_id` or `volunteer_number`. Answered from read "
                      "models the service keeps from its hours events: a just-approved record "
                      "counts within moments.")
def hours_totals(query):
    return call(SERVICE, "hours_totals", query)


@bp.post("/hours/approvals")
@endpoint(roles=STATION_WORKERS, body=HoursBatchApproveSchema, response=BatchApprovalSchema,
          tags=("hours",), summary="Approve many recorded hour records at once",
          description="Each record is approved on its own; the answer lists those approved and "
                      "those refused with the reason.")
def approve_hours_batch(body):
    return call(SERVICE, "approve_hours_batch", body)


@bp.get("/hours/<record_id>")
@endpoint(roles=ALL_ROLES, response=HoursRecordViewSchema, errors=(404,), tags=("hours",),
          summary="One hour record, with its corrections")
def get_hours(record_id):
    return call(SERVICE, "get_hours", record_id)


def _optional_body(schema):
    raw = request.get_data(cache=True)
    return load_body(schema) if raw and raw.strip() else {}


@bp.post("/hours/<record_id>/approve")
@endpoint(roles=STATION_WORKERS, response=HoursRecordViewSchema, errors=(404, 409),
          tags=("hours",), summary="Approve a recorded hour record (审核通过)",
          description="Only from `recorded`. The body is optional: `{\"note\": \"...\"}`.")
def approve_hours(record_id):
    return call(SERVICE, "approve_hours", record_id, _optional_body(HoursApproveSchema))


@bp.post("/hours/<record_id>/reject")
@endpoint(roles=STATION_WORKERS, body=HoursRejectSchema, response=HoursRecordViewSchema,
          errors=(404, 409), tags=("hours",), summary="Reject a recorded hour record, with a reason")
def reject_hours(record_id, body):
    return call(SERVICE, "reject_hours", record_id, body)


@bp.post("/hours/<record_id>/correct")
@endpoint(roles=STATION_WORKERS, body=HoursCorrectionSchema, response=HoursRecordViewSchema,
          status=201, errors=(404, 409), tags=("hours",),
          summary="Correct an approved hour record with a compensating record",
          description="The approved record stays as it is; the answer is the new correction "
                      "entry (its `delta_minutes` changes the totals). Give the replacement "
                      "`start` and `end`, or `cancel: true`, and a `reason`.")
def correct_hours(record_id, body):
    correction = call(SERVICE, "correct_hours", record_id, body)
    return correction, {"Location": url_for(".get_hours", record_id=correction["id"])}


# ---- certificates ----

@bp.post("/certificates")
@endpoint(roles=STATION_WORKERS, body=CertificateCreateSchema, response=CertificateSchema,
          status=201, errors=(404, 409), tags=("certificates",),
          summary="Issue a certificate of service records (志愿服务记录证明)",
          description="Lists the volunteer's approved hours (corrections included) from `from` "
                      "to `to` by activity; numbered ZYZM-<year>-<8 digits>. A period without "
                      "approved hours is a 409.")
def issue_certificate(body):
    certificate = call(SERVICE, "issue_certificate", body)
    return certificate, {"Location": url_for(".get_certificate", number=certificate["number"])}


@bp.get("/certificates")
@endpoint(roles=ALL_ROLES, query=CertificateQuerySchema, response=page_of(CertificateSchema),
          tags=("certificates",), summary="List certificates, of a volunteer or a region")
def list_certificates(query):
    return call(SERVICE, "list_certificates", query)


@bp.get("/certificates/<number>")
@endpoint(roles=ALL_ROLES, response=CertificateSchema, errors=(404,), tags=("certificates",),
          path_params={"number": {"type": "string", "pattern": f"^{CERTIFICATE_NUMBER}$"}},
          summary="One certificate")
def get_certificate(number):
    check_path("number", number, CERTIFICATE_NUMBER, "must be a certificate number ZYZM-YYYY-NNNNNNNN")
    return call(SERVICE, "get_certificate", number)


@bp.get("/public/certificates/<number>")
@endpoint(roles=None, response=PublicCertificateSchema, errors=(404,), tags=("public",),
          path_params={"number": {"type": "string", "pattern": f"^{CERTIFICATE_NUMBER}$"}},
          summary="Verify a certificate number (no token needed)",
          description="Answers only the masked name, the period, the total hours, when and by "
                      "which station it was issued.")
def verify_certificate(number):
    check_path("number", number, CERTIFICATE_NUMBER, "must be a certificate number ZYZM-YYYY-NNNNNNNN")
    return call(SERVICE, "verify_certificate", number)
