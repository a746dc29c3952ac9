"""The registry's published events: its contract with every consumer.

Exchange `registry.events`, routing key = the CloudEvents type. Every station
event's data is the station snapshot (stations.snapshot): ids, region codes
and names, status and its dated history, counts and `version` (it grows with
every change, so a read model applies the newest and ignores stale ones);
never the names or phones of people.
"""
from marshmallow import Schema, fields, validate

from services.common.contract import Contract, EventSpec
from services.registry.schemas import STATUSES
CODE = {"township": r"^\d{9}$", "county": r"^\d{6}$", "city": r"^\d{4}$", "province": r"^\d{2}$"}


def _code(level, **kwargs):
    return fields.String(required=True, validate=validate.Regexp(CODE[level]), **kwargs)


class StatusChange(Schema):
    status = fields.String(required=True, validate=validate.OneOf(STATUSES))
    on = fields.Date(required=True, metadata={"description": "Civil date in China."})


class RoleCounts(Schema):
    head = fields.Integer(required=True)
    supervisor = fields.Integer(required=True)
    resident = fields.Integer(required=True)


class StaffingSummary(Schema):
    """1+1+X: required and present counts of head, supervisor and resident workers."""
    required = fields.Nested(RoleCounts, required=True)
    have = fields.Nested(RoleCounts, required=True)
    meets_rule = fields.Boolean(required=True)


class StaffRef(Schema):
    """A staff member as events name them: an id and a role, never a name or phone."""
    id = fields.String(required=True)
    role = fields.String(required=True, validate=validate.OneOf(("head", "supervisor", "resident")))
    certification = fields.String(allow_none=True)


class StationSnapshot(Schema):
    """What every station event says about the station after the change."""
    station_id = fields.String(required=True, metadata={"example": "340102001-01"})
    division_code = _code("township")
    county = _code("county")
    city = _code("city")
    province = _code("province")
    name = fields.String(required=True)
    division_name = fields.String(required=True)
    county_name = fields.String(allow_none=True)
    city_name = fields.String(allow_none=True)
    province_name = fields.String(allow_none=True)
    status = fields.String(required=True, validate=validate.OneOf(STATUSES))
    status_on = fields.Date(required=True)
    status_history = fields.List(fields.Nested(StatusChange), required=True)
    opened_on = fields.Date(allow_none=True)
    population_served = fields.Integer(required=True, validate=validate.Range(min=0))
    operator_name = fields.String(allow_none=True)
    staffing = fields.Nested(StaffingSummary, required=True)
    staff = fields.List(fields.Nested(StaffRef), metadata={
        "description": "The station's staff by id and role (added in v1; absent in older events)."})
    checklist_met = fields.Integer(required=True, validate=validate.Range(min=0, max=6),
                                   metadata={"description": "How many of the 六有 items are met."})
    rooms = fields.Integer(required=True, validate=validate.Range(min=0))
    version = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))


class StationTransition(StationSnapshot):
    from_status = fields.String(required=True, validate=validate.OneOf(STATUSES))


class StationUpdated(StationSnapshot):
    changed = fields.List(fields.String(), required=True,
                          metadata={"description": "The fields the change set."})


class StationChecklistUpdated(StationSnapshot):
    items = fields.Dict(keys=fields.String(), values=fields.String(
        validate=validate.OneOf(("missing", "partial", "met"))), required=True,
        metadata={"description": "The 六有 items attested by this change, with their state."})


class RoomRef(Schema):
    id = fields.String(required=True)
    kind = fields.String(required=True)
    name = fields.String(required=True)
    village_code = fields.String(required=True)


class StationRoomChanged(StationSnapshot):
    room = fields.Nested(RoomRef, required=True)


class DivisionsImported(Schema):
    inserted = fields.Integer(required=True)
    updated = fields.Integer(required=True)
    unchanged = fields.Integer(required=True)
    regions = fields.Integer(required=True, metadata={"description": "Regions recounted."})


STATION = "station id (`<division code>-NN`)"

CONTRACT = Contract("registry", [
    EventSpec("station.created", StationSnapshot, subject=STATION,
              summary="A station registered (status planned)."),
    EventSpec("station.built", StationTransition, subject=STATION, summary="planned -> built."),
    EventSpec("station.opened", StationTransition, subject=STATION,
              summary="built -> operating: the station serves."),
    EventSpec("station.suspended", StationTransition, subject=STATION,
              summary="operating -> suspended."),
    EventSpec("station.resumed", StationTransition, subject=STATION,
              summary="suspended -> operating."),
    EventSpec("station.closed", StationTransition, subject=STATION,
              summary="Any live status -> closed (final)."),
    EventSpec("station.updated", StationUpdated, subject=STATION,
              summary="Name, address, population served or operator changed."),
    EventSpec("station.checklist_updated", StationChecklistUpdated, subject=STATION,
              summary="六有 checklist items attested."),
    EventSpec("station.staffing_changed", StationSnapshot, subject=STATION,
              summary="Staff added, changed or removed (counts only, never names)."),
    EventSpec("station.room_added", StationRoomChanged, subject=STATION,
              summary="A community room (社工室) or micro-site added."),
    EventSpec("station.room_removed", StationRoomChanged, subject=STATION,
              summary="A community room or micro-site removed."),
    EventSpec("station.imported", StationSnapshot, subject=STATION,
              summary="A station registered from a province's sheet, with its whole dated "
                      "history, staff and rooms (instead of created + each transition).",
              description="`status_history` holds every step the sheet dates, so coverage as "
                          "of any past date counts it at once. A later sheet that changes the "
                          "station publishes the usual events (updated, a transition per new "
                          "step, staffing_changed, room_added / room_updated / room_removed)."),
    EventSpec("station.room_updated", StationRoomChanged, subject=STATION,
              summary="A community room's or micro-site's name, address or opening date "
                      "changed (by a corrected sheet)."),
    EventSpec("divisions.imported", DivisionsImported, subject="`divisions`",
              summary="A division import changed the hierarchy."),
])

# Every event that carries the station snapshot: what a stations read model consumes.
STATION_EVENTS = [spec for spec in CONTRACT.specs if spec.name.startswith("station.")]
