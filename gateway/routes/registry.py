"""Registry routes: stations, their status, 六有 checklist, staff and rooms; divisions,
coverage and staffing gaps; the station sheets (import, template, exports).

Each route is: an auth requirement + schema validation (`@endpoint`) + one RPC
call (`call`, which adds `caller=`) + the answer. Copy this file for a new service.
Exports render the rows the service answers as CSV or XLSX (gateway/exports.py);
the import sends the files to the service, which reads them.
"""
import base64

from flask import Blueprint, request, url_for

from gateway import exports
from gateway.api import check_path, endpoint, list_of, page_of
from gateway.auth import ALL_ROLES, OFFICERS, STATION_WORKERS
from gateway.errors import BadRequest
from gateway.rpc import call
from services.registry.schemas import (
    DIVISION_CODE, MAX_SHEET_FILES, ChecklistUpdateSchema, ChecklistViewSchema,
    CoverageExportQuerySchema, CoverageQuerySchema, CoverageSchema, DivisionQuerySchema,
    DivisionSchema, RegionExportQuerySchema, RegionQuerySchema, RoomCreateSchema, RoomSchema,
    SheetTemplateQuerySchema, StaffCreateSchema, StaffingGapSchema, StaffingSchema, StaffSchema,
    StaffUpdateSchema, StationCreateSchema, StationExportQuerySchema, StationImportQuerySchema,
    StationImportReportSchema, StationQuerySchema, StationSchema, StationUpdateSchema,
    TransitionSchema,
)

bp = Blueprint("registry", __name__)
SERVICE = "registry"


STAFF_LIST = {
    "type": "object",
    "properties": {"items": list_of(StaffSchema), "staffing": StaffingSchema},
}


# ---- stations ----

@bp.post("/stations")
@endpoint(roles=OFFICERS, body=StationCreateSchema, response=StationSchema, status=201,
          errors=(404, 409), summary="Register a station (建站)",
          description="The township must exist and lie in the caller's region.")
def create_station(body):
    station = call(SERVICE, "create_station", body)
    return station, {"Location": url_for(".get_station", station_id=station["id"])}


@bp.get("/stations")
@endpoint(roles=ALL_ROLES, query=StationQuerySchema, response=page_of(StationSchema),
          summary="List stations in a region, optionally by status")
def list_stations(query):
    return call(SERVICE, "list_stations", query)


@bp.get("/stations/<station_id>")
@endpoint(roles=ALL_ROLES, response=StationSchema, errors=(404,), summary="One station")
def get_station(station_id):
    return call(SERVICE, "get_station", station_id)


@bp.patch("/stations/<station_id>")
@endpoint(roles=OFFICERS, body=StationUpdateSchema, response=StationSchema, errors=(404, 409),
          summary="Change a station's name, address, population served or operator")
def update_station(station_id, body):
    return call(SERVICE, "update_station", station_id, body)


@bp.post("/stations/<station_id>/transitions")
@endpoint(roles=OFFICERS, body=TransitionSchema, response=StationSchema, errors=(404, 409),
          summary="Move a station to another status",
          description="planned → built → operating ⇄ suspended → closed. An invalid move "
                      "answers 409 with the allowed ones in `details`.")
def transition_station(station_id, body):
    return call(SERVICE, "transition_station", station_id, body)


# ---- 六有 checklist ----

@bp.get("/stations/<station_id>/checklist")
@endpoint(roles=ALL_ROLES, response=ChecklistViewSchema, errors=(404,),
          summary="A station's 六有 checklist")
def get_checklist(station_id):
    # Without staff: this answer shows no one's personal data, so none is audited.
    return call(SERVICE, "get_station", station_id, with_staff=False).get("checklist", {})


@bp.patch("/stations/<station_id>/checklist")
@endpoint(roles=STATION_WORKERS, body=ChecklistUpdateSchema, response=ChecklistViewSchema,
          errors=(404, 409), summary="Attest some of the six 六有 items")
def update_checklist(station_id, body):
    result = call(SERVICE, "update_checklist", station_id, body)
    # The service may answer with the station or with the checklist itself.
    if isinstance(result, dict) and isinstance(result.get("checklist"), dict):
        return result["checklist"]
    return result


# ---- staff (1+1+X) ----

@bp.get("/stations/<station_id>/staff")
@endpoint(roles=ALL_ROLES, response=STAFF_LIST, errors=(404,),
          summary="A station's staff and whether it meets 1+1+X")
def list_staff(station_id):
    station = call(SERVICE, "get_station", station_id)
    return {"items": station.get("staff", []), "staffing": station.get("staffing")}


@bp.post("/stations/<station_id>/staff")
@endpoint(roles=STATION_WORKERS, body=StaffCreateSchema, response=StaffSchema, status=201,
          errors=(404, 409), summary="Add a staff member")
def add_staff(station_id, body):
    return call(SERVICE, "add_staff", station_id, body)


@bp.patch("/stations/<station_id>/staff/<staff_id>")
@endpoint(roles=STATION_WORKERS, body=StaffUpdateSchema, response=StaffSchema,
          errors=(404, 409), summary="Change a staff member")
def update_staff(station_id, staff_id, body):
    return call(SERVICE, "update_staff", station_id, staff_id, body)


@bp.delete("/stations/<station_id>/staff/<staff_id>")
@endpoint(roles=STATION_WORKERS, status=204, errors=(404, 409), summary="Remove a staff member")
def remove_staff(station_id, staff_id):
    call(SERVICE, "remove_staff", station_id, staff_id)


# ---- rooms and micro-sites ----

@bp.get("/stations/<station_id>/rooms")
@endpoint(roles=ALL_ROLES, response=list_of(RoomSchema), errors=(404,),
          summary="A station's rooms and village micro-sites")
def list_rooms(station_id):
    return call(SERVICE, "get_station", station_id, with_staff=False).get("rooms", [])


@bp.post("/stations/<station_id>/rooms")
@endpoint(roles=STATION_WORKERS, body=RoomCreateSchema, response=RoomSchema, status=201,
          errors=(404, 409), summary="Add a room or village micro-site")
def add_room(station_id, body):
    return call(SERVICE, "add_room", station_id, body)


@bp.delete("/stations/<station_id>/rooms/<room_id>")
@endpoint(roles=STATION_WORKERS, status=204, errors=(404, 409), summary="Remove a room")
def remove_room(station_id, room_id):
    call(SERVICE, "remove_room", station_id, room_id)


# ---- divisions, coverage, staffing gaps ----

@bp.get("/divisions/<code>")
@endpoint(roles=ALL_ROLES, response=DivisionSchema, errors=(404,),
          path_params={"code": {"type": "string", "pattern": f"^({DIVISION_CODE})$"}},
          summary="One administrative division")
def get_division(code):
    check_path("code", code, DIVISION_CODE, "must be a 2, 4, 6, 9 or 12-digit division code")
    return call(SERVICE, "get_division", code)


@bp.get("/divisions")
@endpoint(roles=ALL_ROLES, query=DivisionQuerySchema, response=page_of(DivisionSchema),
          errors=(404,), summary="The divisions under a parent (provinces without one)")
def list_divisions(query):
    return call(SERVICE, "list_divisions", query)


@bp.get("/coverage")
@endpoint(roles=ALL_ROLES, query=CoverageQuerySchema, response=CoverageSchema, errors=(404,),
          summary="Station coverage of a region and of each of its children",
          description="coverage_rate: townships with a station / all; operating_rate: "
                      "with an operating station / all. `as_of` looks back in time.")
def coverage(query):
    return call(SERVICE, "coverage", query)


@bp.get("/staffing-gaps")
@endpoint(roles=ALL_ROLES, query=RegionQuerySchema, response=page_of(StaffingGapSchema),
          errors=(404,), summary="Stations in a region short of the 1+1+X staffing rule")
def staffing_gaps(query):
    return call(SERVICE, "staffing_gaps", query)


# ---- station sheets: import, template, exports (docs/station-sheets.md) ----

SHEET_BODY = {  # an empty body is refused (400): minLength 1
    "text/csv": {"type": "string", "minLength": 1},
    exports.XLSX_TYPE: {"type": "string", "format": "binary", "minLength": 1},
    "multipart/form-data": {"type": "object", "required": ["file"], "properties": {"file": {
        "type": "array", "minItems": 1, "maxItems": MAX_SHEET_FILES,
        "items": {"type": "string", "format": "binary"},
        "description": "One or more files (any field names): workbooks or CSV files."}}},
}
FILE_DOWNLOAD = {"text/csv": {"type": "string"},
                 exports.XLSX_TYPE: {"type": "string", "format": "binary"}}
EXPORT = ("`format=csv` (UTF-8 with BOM, opens in Excel) or `format=xlsx`; answered as a file "
          "download (Content-Disposition). At most 20,000 stations: narrow the region.")
SHEET_EXPORT = (EXPORT + " The headings are those the import accepts (docs/station-sheets.md), "
                "so the file imports back with every row `unchanged`.")


def _uploads():
    """The request's files for the service: multipart files in order, or the raw body."""
    if request.mimetype == "multipart/form-data":
        files = [f for _, f in request.files.items(multi=True)]
        if not files:
            raise BadRequest("send the sheets as multipart files", fields={"file": ["missing"]})
        if len(files) > MAX_SHEET_FILES:
            raise BadRequest(f"at most {MAX_SHEET_FILES} files", fields={"file": ["too many files"]})
        return [{"content": base64.b64encode(f.read()).decode("ascii"), "content_type": f.mimetype,
                 "filename": f.filename} for f in files]
    content = request.get_data(cache=False)
    if not content:
        raise BadRequest("send the sheet as the request body (text/csv or .xlsx) or as "
                         "multipart files", fields={"file": ["missing"]})
    return [{"content": base64.b64encode(content).decode("ascii"),
             "content_type": request.mimetype, "filename": None}]


@bp.post("/stations/import")
@endpoint(roles=OFFICERS, query=StationImportQuerySchema, response=StationImportReportSchema,
          errors=(413,), body_content=SHEET_BODY, tags=("station sheets",),
          summary="Import stations, staff and rooms from a province's sheets (dry run first)",
          description="CSV files or Excel workbooks, each sheet recognised by its Chinese "
                      "headings (docs/station-sheets.md): stations (one row a station, with its "
                      "township by code or by name within its county, and the dates of its "
                      "history), staff and rooms keyed by the station. `dry_run=true` (the "
                      "default) answers the report of every row (new, changed, unchanged, or "
                      "refused with each reason) and writes nothing; `dry_run=false` writes the "
                      "accepted rows, each station with its whole dated history and its events. "
                      "The same sheet again changes nothing; a corrected sheet changes only what "
                      "it changes; a row that would move a history backwards is refused. "
                      "One request holds at most 1 MiB (a city's sheets); a whole province goes "
                      "through `wushe import-stations`.")
def import_stations(query):
    return call(SERVICE, "import_stations", {"files": _uploads(), "dry_run": query["dry_run"]})


@bp.get("/stations/import/template")
@endpoint(roles=ALL_ROLES, query=SheetTemplateQuerySchema, response_content=FILE_DOWNLOAD,
          tags=("station sheets",), summary="An empty station, staff or room sheet to fill in",
          description="`sheet=station|staff|room`, `format=xlsx|csv`: the headings the import "
                      "reads and the exports write.")
def station_sheet_template(query):
    result = call(SERVICE, "station_sheet_template", query)
    return exports.download(result, query["format"], f"station-sheet-{query['sheet']}")


def _export(method, query, basename):
    result = call(SERVICE, method, query)
    return exports.download(result, query.get("format", "csv"), basename)


@bp.get("/stations/export")
@endpoint(roles=ALL_ROLES, query=StationExportQuerySchema, response_content=FILE_DOWNLOAD,
          tags=("station sheets",), summary="Export stations with their status and dated history",
          description=SHEET_EXPORT)
def export_stations(query):
    return _export("export_stations", query, "stations")


@bp.get("/stations/staff/export")
@endpoint(roles=ALL_ROLES, query=StationExportQuerySchema, response_content=FILE_DOWNLOAD,
          tags=("station sheets",), summary="Export the stations' staff",
          description=SHEET_EXPORT + " Names and phones are masked unless the caller's role "
                                     "needs them; an unmasked export is in the audit trail.")
def export_staff(query):
    return _export("export_staff", query, "station-staff")


@bp.get("/stations/rooms/export")
@endpoint(roles=ALL_ROLES, query=StationExportQuerySchema, response_content=FILE_DOWNLOAD,
          tags=("station sheets",), summary="Export the stations' rooms and micro-sites",
          description=SHEET_EXPORT)
def export_rooms(query):
    return _export("export_rooms", query, "station-rooms")


@bp.get("/stations/checklists/export")
@endpoint(roles=ALL_ROLES, query=StationExportQuerySchema, response_content=FILE_DOWNLOAD,
          tags=("station sheets",), summary="Export the stations' 六有 checklist state",
          description=EXPORT)
def export_checklists(query):
    return _export("export_checklists", query, "station-checklists")


@bp.get("/staffing-gaps/export")
@endpoint(roles=ALL_ROLES, query=RegionExportQuerySchema, response_content=FILE_DOWNLOAD,
          errors=(404,), tags=("station sheets",),
          summary="Export the stations short of 1+1+X, with what each lacks", description=EXPORT)
def export_staffing_gaps(query):
    return _export("export_staffing_gaps", query, "staffing-gaps")


@bp.get("/coverage/export")
@endpoint(roles=ALL_ROLES, query=CoverageExportQuerySchema, response_content=FILE_DOWNLOAD,
          errors=(404,), tags=("station sheets",),
          summary="Export a region's coverage and its children's, as of a date",
          description="The region's figures (first row) and each child's, as `GET /coverage` "
                      "answers them. " + EXPORT)
def export_coverage(query):
    return _export("export_coverage", query, "coverage")
