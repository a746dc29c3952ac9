"""Supervision routes: supervisors and sessions (督导), checklists and inspections,
mutual inspection campaigns (督导互查), rectification (整改) and its escalation lists,
monthly reports (月报), the compliance calendar and scorecards.

Each route is: an auth requirement + schema validation (`@endpoint`) + one RPC
call (`call`, which adds `caller=`) + the answer. Exports render the rows the
service answers as CSV or XLSX (gateway/exports.py).

Inspectors are supervisors with an account: they sign in with a token of any
role whose `sub` is their `account_sub`, so routes an inspector uses admit every
role and the service decides (an auditor's token scores only inspections that
name it as inspector).
"""
from flask import Blueprint, request, url_for

from gateway import exports
from gateway.api import check_path, endpoint, page_of
from gateway.auth import ALL_ROLES, OFFICERS, PROVINCE_ADMIN, STATION_WORKERS
from gateway.rpc import call
from services.supervision.schemas import (
    AssignmentPlanSchema, AssignmentRequestSchema, CalendarQuerySchema, CalendarSchema,
    MONTH_PATTERN, CampaignCreateSchema, CampaignQuerySchema, CampaignSchema, ChecklistPublishSchema,
    ChecklistQuerySchema, ChecklistVersionSchema, EscalationExportQuerySchema, EscalationQuerySchema,
    EscalationSchema, FindingCreateSchema, FindingSchema, GapExportQuerySchema, GapQuerySchema,
    GapSchema, InspectionCompleteSchema, InspectionCreateSchema, InspectionExportQuerySchema,
    InspectionQuerySchema, InspectionSchema, InspectionScoresSchema, InspectorStationSchema,
    RankingExportQuerySchema, RankingQuerySchema, ScorecardRankingSchema, RectificationCloseSchema,
    RectificationExportQuerySchema, RectificationQuerySchema, RectificationReopenSchema,
    RectificationSchema, RectificationStartSchema, RectificationSubmitSchema,
    ReportExportQuerySchema, ReportQuerySchema, ReportReturnSchema, ReportSchema,
    ReportSubmitSchema, ScorecardQuerySchema, ScorecardSchema, SessionCreateSchema,
    SessionExportQuerySchema, SessionQuerySchema, SessionSchema, SupervisorCreateSchema,
    SupervisorExportQuerySchema, SupervisorQuerySchema, SupervisorSchema, SupervisorUpdateSchema,
)
from services.common.schemas import PageQuerySchema

bp = Blueprint("supervision", __name__)
SERVICE = "supervision"

STATION_ID = {"type": "string", "pattern": r"^\d{9}-\d{2}$"}
MONTH = {"type": "string", "pattern": MONTH_PATTERN}
FILE_DOWNLOAD = {"text/csv": {"type": "string"},
                 exports.XLSX_TYPE: {"type": "string", "format": "binary"}}
EXPORT = ("`format=csv` (UTF-8 with BOM, opens in Excel) or `format=xlsx`; a file download. "
          "Names and phones are masked unless the caller's role needs them. At most 20,000 rows.")
INSPECTORS = ("Officers of the station's region, or an inspector named on the inspection (a "
              "token whose `sub` is the supervisor's `account_sub`, of any role).")


def _station_month(station_id, month):
    check_path("station_id", station_id, r"\d{9}-\d{2}", "must be a station id like 340102001-01")
    check_path("month", month, MONTH_PATTERN.strip("^$"), "must be a month YYYY-MM")


def _download(method, query, basename):
    return exports.download(call(SERVICE, method, query), query.get("format", "csv"), basename)


# ---- supervisors ----

@bp.post("/supervisors")
@endpoint(roles=OFFICERS, body=SupervisorCreateSchema, response=SupervisorSchema, status=201,
          tags=("supervision",), summary="Register an external supervisor (督导专家)",
          description="Internal supervisors (a station's own) come from the registry's staff "
                      "records and are not registered here.")
def register_supervisor(body):
    supervisor = call(SERVICE, "register_supervisor", body)
    return supervisor, {"Location": url_for(".get_supervisor", supervisor_id=supervisor["id"])}


@bp.get("/supervisors")
@endpoint(roles=ALL_ROLES, query=SupervisorQuerySchema, response=page_of(SupervisorSchema),
          tags=("supervision",), summary="The roster of supervisors in a region")
def list_supervisors(query):
    return call(SERVICE, "list_supervisors", query)


@bp.get("/supervisors/export")
@endpoint(roles=ALL_ROLES, query=SupervisorExportQuerySchema, response_content=FILE_DOWNLOAD,
          tags=("supervision",), summary="Export the roster as CSV or Excel", description=EXPORT)
def export_supervisors(query):
    return _download("export_supervisors", query, "supervisors")


@bp.get("/supervisors/<supervisor_id>")
@endpoint(roles=ALL_ROLES, response=SupervisorSchema, errors=(404,), tags=("supervision",),
          summary="One supervisor")
def get_supervisor(supervisor_id):
    return call(SERVICE, "get_supervisor", supervisor_id)


@bp.patch("/supervisors/<supervisor_id>")
@endpoint(roles=OFFICERS, body=SupervisorUpdateSchema, response=SupervisorSchema, errors=(404, 409),
          tags=("supervision",), summary="Change an external supervisor, or take them off the roster")
def update_supervisor(supervisor_id, body):
    return call(SERVICE, "update_supervisor", supervisor_id, body)


# ---- sessions and the quarterly rule ----

@bp.post("/supervision-sessions")
@endpoint(roles=OFFICERS, body=SessionCreateSchema, response=SessionSchema, status=201,
          errors=(404, 409), tags=("supervision",), summary="Record a supervision session",
          headers={"Idempotency-Key": "The same key sent again answers the first answer."},
          description="Individual (one person) or group (two or more); a supervisor never "
                      "supervises their own station in an external session (409).")
def record_session(body):
    session = call(SERVICE, "record_session", body,
                   idempotency_key=request.headers.get("Idempotency-Key"))
    return session, {"Location": url_for(".get_session", session_id=session["id"])}


@bp.get("/supervision-sessions")
@endpoint(roles=ALL_ROLES, query=SessionQuerySchema, response=page_of(SessionSchema),
          tags=("supervision",), summary="Supervision sessions in a region")
def list_sessions(query):
    return call(SERVICE, "list_sessions", query)


@bp.get("/supervision-sessions/export")
@endpoint(roles=ALL_ROLES, query=SessionExportQuerySchema, response_content=FILE_DOWNLOAD,
          tags=("supervision",), summary="Export supervision sessions", description=EXPORT)
def export_sessions(query):
    return _download("export_sessions", query, "supervision-sessions")


@bp.get("/supervision-sessions/<session_id>")
@endpoint(roles=ALL_ROLES, response=SessionSchema, errors=(404,), tags=("supervision",),
          summary="One supervision session")
def get_session(session_id):
    return call(SERVICE, "get_session", session_id)


@bp.get("/supervision-gaps")
@endpoint(roles=ALL_ROLES, query=GapQuerySchema, response=page_of(GapSchema, quarter={"type": "string"}),
          tags=("supervision",),
          summary="Operating stations with no supervision session in a quarter (季督导)")
def supervision_gaps(query):
    return call(SERVICE, "supervision_gaps", query)


@bp.get("/supervision-gaps/export")
@endpoint(roles=ALL_ROLES, query=GapExportQuerySchema, response_content=FILE_DOWNLOAD,
          tags=("supervision",), summary="Export the stations short of the quarterly rule",
          description=EXPORT)
def export_supervision_gaps(query):
    return _download("export_supervision_gaps", query, "supervision-gaps")


# ---- checklists ----

@bp.post("/checklists")
@endpoint(roles=OFFICERS, body=ChecklistPublishSchema, response=ChecklistVersionSchema, status=201,
          tags=("inspections",), summary="Publish a checklist version",
          description="Under an existing code: its next version. Inspections keep the version "
                      "they started on.")
def publish_checklist(body):
    checklist = call(SERVICE, "publish_checklist", body)
    return checklist, {"Location": url_for(".get_checklist", code=checklist["code"],
                                           version=checklist["version"])}


@bp.get("/checklists")
@endpoint(roles=ALL_ROLES, query=ChecklistQuerySchema, response=page_of(ChecklistVersionSchema),
          tags=("inspections",), summary="Checklist versions")
def list_checklists(query):
    return call(SERVICE, "list_checklists", query)


@bp.get("/checklists/<code>/versions/<int:version>")
@endpoint(roles=ALL_ROLES, response=ChecklistVersionSchema, errors=(404,), tags=("inspections",),
          path_params={"version": {"type": "integer", "minimum": 1}}, summary="One checklist version")
def get_checklist(code, version):
    return call(SERVICE, "get_checklist", code, version)


# ---- inspections ----

@bp.post("/inspections")
@endpoint(roles=OFFICERS, body=InspectionCreateSchema, response=InspectionSchema, status=201,
          errors=(404, 409), tags=("inspections",),
          summary="Record an inspection, third-party evaluation or year-end assessment",
          headers={"Idempotency-Key": "The same key sent again answers the first answer."},
          description="Pinned to a checklist version (the latest unless one is named).")
def create_inspection(body):
    inspection = call(SERVICE, "create_inspection", body,
                      idempotency_key=request.headers.get("Idempotency-Key"))
    return inspection, {"Location": url_for(".get_inspection", inspection_id=inspection["id"])}


@bp.get("/inspections")
@endpoint(roles=ALL_ROLES, query=InspectionQuerySchema, response=page_of(InspectionSchema),
          tags=("inspections",), summary="Inspections in a region")
def list_inspections(query):
    return call(SERVICE, "list_inspections", query)


@bp.get("/inspections/export")
@endpoint(roles=ALL_ROLES, query=InspectionExportQuerySchema, response_content=FILE_DOWNLOAD,
          tags=("inspections",), summary="Export inspections with their scores", description=EXPORT)
def export_inspections(query):
    return _download("export_inspections", query, "inspections")


@bp.get("/inspections/<inspection_id>")
@endpoint(roles=ALL_ROLES, response=InspectionSchema, errors=(404,), tags=("inspections",),
          summary="One inspection with its item scores and findings")
def get_inspection(inspection_id):
    return call(SERVICE, "get_inspection", inspection_id)


@bp.post("/inspections/<inspection_id>/scores")
@endpoint(roles=ALL_ROLES, body=InspectionScoresSchema, response=InspectionSchema,
          errors=(404, 409), tags=("inspections",), summary="Record item scores with evidence",
          description="A `total` sent is ignored: the service computes every score. " + INSPECTORS)
def score_inspection(inspection_id, body):
    return call(SERVICE, "score_inspection", inspection_id, body)


@bp.post("/inspections/<inspection_id>/findings")
@endpoint(roles=ALL_ROLES, body=FindingCreateSchema, response=FindingSchema, status=201,
          errors=(404, 409), tags=("inspections",),
          summary="Raise a finding; one that needs action opens a rectification item",
          headers={"Idempotency-Key": "The same key sent again answers the first answer."},
          description=INSPECTORS)
def raise_finding(inspection_id, body):
    return call(SERVICE, "raise_finding", inspection_id, body,
                idempotency_key=request.headers.get("Idempotency-Key"))


@bp.post("/inspections/<inspection_id>/complete")
@endpoint(roles=ALL_ROLES, body=InspectionCompleteSchema, response=InspectionSchema,
          errors=(404, 409), tags=("inspections",), summary="Complete an inspection: its score",
          description="Every item must be scored. " + INSPECTORS)
def complete_inspection(inspection_id, body):
    return call(SERVICE, "complete_inspection", inspection_id, body)


@bp.get("/inspector/stations")
@endpoint(roles=ALL_ROLES, query=PageQuerySchema, response=page_of(InspectorStationSchema),
          tags=("inspections",), summary="The stations assigned to me as an inspector")
def inspector_stations(query):
    return call(SERVICE, "inspector_stations", query)


# ---- campaigns ----

@bp.post("/campaigns")
@endpoint(roles=(PROVINCE_ADMIN,), body=CampaignCreateSchema, response=CampaignSchema, status=201,
          errors=(404,), tags=("campaigns",), summary="Open a mutual inspection campaign (督导互查)")
def open_campaign(body):
    campaign = call(SERVICE, "open_campaign", body)
    return campaign, {"Location": url_for(".get_campaign", campaign_id=campaign["id"])}


@bp.get("/campaigns")
@endpoint(roles=ALL_ROLES, query=CampaignQuerySchema, response=page_of(CampaignSchema),
          tags=("campaigns",), summary="Campaigns of the province")
def list_campaigns(query):
    return call(SERVICE, "list_campaigns", query)


@bp.get("/campaigns/<campaign_id>")
@endpoint(roles=ALL_ROLES, response=CampaignSchema, errors=(404,), tags=("campaigns",),
          summary="One campaign")
def get_campaign(campaign_id):
    return call(SERVICE, "get_campaign", campaign_id)


@bp.post("/campaigns/<campaign_id>/assignment/preview")
@endpoint(roles=OFFICERS, body=AssignmentRequestSchema, response=AssignmentPlanSchema,
          errors=(404, 409), tags=("campaigns",), summary="Preview the sample and groups for a seed",
          description="Changes nothing. The same seed over the same stations and supervisors "
                      "gives the same plan; each group and station says why.")
def preview_assignment(campaign_id, body):
    return call(SERVICE, "preview_assignment", campaign_id, body)


@bp.post("/campaigns/<campaign_id>/assignment/confirm")
@endpoint(roles=(PROVINCE_ADMIN,), body=AssignmentRequestSchema, response=AssignmentPlanSchema,
          errors=(404, 409), tags=("campaigns",), summary="Confirm the assignment of a seed",
          description="Opens one planned inspection per drawn station. With the preview's "
                      "`fingerprint`, refused if the plan would differ now.")
def confirm_assignment(campaign_id, body):
    return call(SERVICE, "confirm_assignment", campaign_id, body)


@bp.get("/campaigns/<campaign_id>/assignment")
@endpoint(roles=ALL_ROLES, response=AssignmentPlanSchema, errors=(404,), tags=("campaigns",),
          summary="The confirmed assignment, explained")
def get_assignment(campaign_id):
    return call(SERVICE, "get_assignment", campaign_id)


# ---- rectification ----

@bp.get("/rectifications")
@endpoint(roles=ALL_ROLES, query=RectificationQuerySchema, response=page_of(RectificationSchema),
          tags=("rectification",), summary="Rectification items (整改) in a region")
def list_rectifications(query):
    return call(SERVICE, "list_rectifications", query)


@bp.get("/rectifications/export")
@endpoint(roles=ALL_ROLES, query=RectificationExportQuerySchema, response_content=FILE_DOWNLOAD,
          tags=("rectification",), summary="Export rectification items", description=EXPORT)
def export_rectifications(query):
    return _download("export_rectifications", query, "rectifications")


@bp.get("/rectifications/<item_id>")
@endpoint(roles=ALL_ROLES, response=RectificationSchema, errors=(404,), tags=("rectification",),
          summary="One rectification item with its history")
def get_rectification(item_id):
    return call(SERVICE, "get_rectification", item_id)


@bp.post("/rectifications/<item_id>/start")
@endpoint(roles=STATION_WORKERS, body=RectificationStartSchema, response=RectificationSchema,
          errors=(404, 409), tags=("rectification",), summary="Start work on an item (in progress)")
def start_rectification(item_id, body):
    return call(SERVICE, "start_rectification", item_id, body)


@bp.post("/rectifications/<item_id>/submit")
@endpoint(roles=STATION_WORKERS, body=RectificationSubmitSchema, response=RectificationSchema,
          errors=(404, 409), tags=("rectification",), summary="Submit the rectification with evidence")
def submit_rectification(item_id, body):
    return call(SERVICE, "submit_rectification", item_id, body)


@bp.post("/rectifications/<item_id>/close")
@endpoint(roles=ALL_ROLES, body=RectificationCloseSchema, response=RectificationSchema,
          errors=(404, 409), tags=("rectification",), summary="Verify and close an item",
          description="By an officer of its region or an inspector of its inspection, never by "
                      "its submitter (403). Refused without evidence; closing twice is a 409.")
def close_rectification(item_id, body):
    return call(SERVICE, "close_rectification", item_id, body)


@bp.post("/rectifications/<item_id>/reopen")
@endpoint(roles=ALL_ROLES, body=RectificationReopenSchema, response=RectificationSchema,
          errors=(404, 409), tags=("rectification",), summary="Send a submitted item back, with a reason")
def reopen_rectification(item_id, body):
    return call(SERVICE, "reopen_rectification", item_id, body)


@bp.get("/escalations")
@endpoint(roles=ALL_ROLES, query=EscalationQuerySchema, response=page_of(EscalationSchema),
          tags=("rectification",), summary="Overdue items escalated to a region (its list)")
def list_escalations(query):
    return call(SERVICE, "list_escalations", query)


@bp.get("/escalations/export")
@endpoint(roles=ALL_ROLES, query=EscalationExportQuerySchema, response_content=FILE_DOWNLOAD,
          tags=("rectification",), summary="Export a region's escalation list", description=EXPORT)
def export_escalations(query):
    return _download("export_escalations", query, "escalations")


# ---- monthly reports ----

@bp.get("/monthly-reports")
@endpoint(roles=ALL_ROLES, query=ReportQuerySchema, response=page_of(ReportSchema),
          tags=("reports",), summary="Monthly reports filed, returned or overdue in a region")
def list_reports(query):
    return call(SERVICE, "list_reports", query)


@bp.get("/monthly-reports/export")
@endpoint(roles=ALL_ROLES, query=ReportExportQuerySchema, response_content=FILE_DOWNLOAD,
          tags=("reports",), summary="Export monthly reports", description=EXPORT)
def export_reports(query):
    return _download("export_reports", query, "monthly-reports")


@bp.get("/monthly-reports/<station_id>/<month>")
@endpoint(roles=ALL_ROLES, response=ReportSchema, errors=(404,), tags=("reports",),
          path_params={"station_id": STATION_ID, "month": MONTH},
          summary="A station's report of a month, or its pre-filled draft")
def get_report(station_id, month):
    _station_month(station_id, month)
    return call(SERVICE, "get_report", station_id, month)


@bp.post("/monthly-reports/<station_id>/<month>")
@endpoint(roles=STATION_WORKERS, body=ReportSubmitSchema, response=ReportSchema, status=201,
          errors=(404, 409), tags=("reports",), path_params={"station_id": STATION_ID, "month": MONTH},
          summary="File a station's monthly report",
          description="Due on the 25th of the month at 23:59:59 China time; filed later it is "
                      "marked late. A filed report is changed only after it is returned (409).")
def submit_report(station_id, month, body):
    _station_month(station_id, month)
    return call(SERVICE, "submit_report", station_id, month, body)


@bp.post("/monthly-reports/<station_id>/<month>/return")
@endpoint(roles=OFFICERS, body=ReportReturnSchema, response=ReportSchema, errors=(404, 409),
          tags=("reports",), path_params={"station_id": STATION_ID, "month": MONTH},
          summary="Return a filed report for correction, with a reason")
def return_report(station_id, month, body):
    _station_month(station_id, month)
    return call(SERVICE, "return_report", station_id, month, body)


# ---- the calendar and scorecards ----

@bp.get("/compliance-calendar")
@endpoint(roles=ALL_ROLES, query=CalendarQuerySchema, response=CalendarSchema, errors=(404,),
          tags=("reports",), summary="What falls due in a month, for a station or a region")
def compliance_calendar(query):
    return call(SERVICE, "compliance_calendar", query)


@bp.get("/scorecards")
@endpoint(roles=ALL_ROLES, query=ScorecardQuerySchema, response=ScorecardSchema, errors=(404,),
          tags=("scorecards",), summary="The scorecard of a station, county, city or province",
          description="Built from events; the overall score weighs the rates with "
                      "SUPERVISION_SCORE_WEIGHTS (docs/supervision.md).")
def scorecard(query):
    return call(SERVICE, "scorecard", query)


@bp.get("/scorecards/rankings")
@endpoint(roles=ALL_ROLES, query=RankingQuerySchema, response=ScorecardRankingSchema, tags=("scorecards",),
          summary="Cities or counties ranked on a figure")
def rankings(query):
    return call(SERVICE, "rankings", query)


@bp.get("/scorecards/rankings/export")
@endpoint(roles=ALL_ROLES, query=RankingExportQuerySchema, response_content=FILE_DOWNLOAD,
          tags=("scorecards",), summary="Export a ranking with every figure's rank", description=EXPORT)
def export_rankings(query):
    return _download("export_rankings", query, "rankings")
