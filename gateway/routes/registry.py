"""Registry routes: stations, their status, 六有 checklist, staff and rooms; divisions,
coverage and staffing gaps.

Each route is: an auth requirement + schema validation (`@endpoint`) + one RPC
call (`call`, which adds `caller=`) + the answer. Copy this file for a new service.
"""
from flask import Blueprint, url_for

from gateway.api import check_path, endpoint, list_of, page_of
from gateway.auth import ALL_ROLES, OFFICERS, STATION_WORKERS
from gateway.rpc import call
from services.registry.schemas import (
    DIVISION_CODE, ChecklistSchema, ChecklistUpdateSchema, CoverageQuerySchema, CoverageSchema,
    DivisionQuerySchema, DivisionSchema, RegionQuerySchema, RoomCreateSchema, RoomSchema,
    StaffCreateSchema, StaffingGapSchema, StaffingSchema, StaffSchema, StaffUpdateSchema,
    StationCreateSchema, StationQuerySchema, StationSchema, StationUpdateSchema,
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
@endpoint(roles=ALL_ROLES, response=ChecklistSchema, errors=(404,),
          summary="A station's 六有 checklist")
def get_checklist(station_id):
    return call(SERVICE, "get_station", station_id).get("checklist", {})


@bp.patch("/stations/<station_id>/checklist")
@endpoint(roles=STATION_WORKERS, body=ChecklistUpdateSchema, response=ChecklistSchema,
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
    return call(SERVICE, "get_station", station_id).get("rooms", [])


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
          summary="The divisions under a parent (provinces without one)")
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
