"""The volunteer service's published events: its contract with every consumer.

Exchange `volunteer.events`, routing key = the CloudEvents type. Events carry
the volunteer number, record, activity, team and station ids, region codes
and minutes; never a name, ID number, phone, birth date, note or reason (free
text may hold personal data): other services use the volunteer number.
"""
from marshmallow import Schema, fields, validate

from services.common.contract import Contract, EventSpec
from services.volunteer.vocabulary import CATEGORIES, TEAM_KINDS


NUMBER = fields.String(required=True, validate=validate.Regexp(r"^V\d{14}$"),
                       metadata={"description": "The unified volunteer number."})

class Regions(Schema):
    """The four region codes every event of this service carries."""
    division_code = fields.String(required=True, validate=validate.Regexp(r"^\d{9}$"))
    county = fields.String(required=True, validate=validate.Regexp(r"^\d{6}$"))
    city = fields.String(required=True, validate=validate.Regexp(r"^\d{4}$"))
    province = fields.String(required=True, validate=validate.Regexp(r"^\d{2}$"))


class VolunteerRegistered(Regions):
    volunteer_number = NUMBER
    region = fields.String(required=True, metadata={
        "description": "Where the volunteer registered: a township (at a station) or a county."})
    station_id = fields.String(required=True, allow_none=True)
    division_code = fields.String(required=True, allow_none=True,
                                  validate=validate.Regexp(r"^\d{9}$"))


class TeamCreated(Regions):
    team_id = fields.String(required=True)
    station_id = fields.String(required=True)
    parent_id = fields.String(required=True, allow_none=True)
    kind = fields.String(required=True, validate=validate.OneOf(TEAM_KINDS))
    name = fields.String(required=True, metadata={"description": "The team's name (not a person's)."})


class ActivityCreated(Regions):
    activity_id = fields.String(required=True)
    team_id = fields.String(required=True)
    station_id = fields.String(required=True)
    category = fields.String(required=True, validate=validate.OneOf(CATEGORIES))
    title = fields.String(required=True)
    place = fields.String(required=True)
    starts_at = fields.DateTime(required=True)
    ends_at = fields.DateTime(required=True)
    capacity = fields.Integer(required=True, allow_none=True)


class HoursEntry(Regions):
    """An hour record (or a correction of one): who served, where, when, how long."""
    record_id = fields.String(required=True)
    volunteer_number = NUMBER
    activity_id = fields.String(required=True)
    team_id = fields.String(required=True)
    station_id = fields.String(required=True)
    start = fields.DateTime(required=True, allow_none=True, metadata={"description": "UTC; null: cancelled."})
    end = fields.DateTime(required=True, allow_none=True)
    service_date = fields.Date(required=True, allow_none=True,
                               metadata={"description": "China civil date of `start`."})
    minutes = fields.Integer(required=True, allow_none=True)


class HoursRecorded(HoursEntry):
    source = fields.String(required=True, validate=validate.OneOf(("api", "import")))


class HoursApproved(HoursEntry):
    approved_at = fields.DateTime(required=True)


class HoursCorrected(HoursEntry):
    corrects = fields.String(required=True, metadata={"description": "The record corrected."})
    delta_minutes = fields.Integer(required=True, metadata={
        "description": "Signed change to approved totals."})
    cancelled = fields.Boolean(required=True)


class CertificateIssued(Schema):
    number = fields.String(required=True, metadata={"example": "ZYZM-2026-00000001"})
    volunteer_number = NUMBER
    period_from = fields.Date(required=True)
    period_to = fields.Date(required=True)
    total_minutes = fields.Integer(required=True)
    station_id = fields.String(required=True, allow_none=True)
    region = fields.String(required=True)
    county = fields.String(required=True)
    city = fields.String(required=True)
    province = fields.String(required=True)

CONTRACT = Contract("volunteer", [
    EventSpec("volunteer.registered", VolunteerRegistered, subject="volunteer number",
              summary="A volunteer registered under real name."),
    EventSpec("team.created", TeamCreated, subject="team id", summary="A team formed at a station."),
    EventSpec("activity.created", ActivityCreated, subject="activity id",
              summary="An activity organised by a team at a station."),
    EventSpec("hours.recorded", HoursRecorded, subject="hour record id",
              summary="An hour record awaiting approval."),
    EventSpec("hours.approved", HoursApproved, subject="hour record id",
              summary="An hour record approved: it counts in totals."),
    EventSpec("hours.rejected", HoursEntry, subject="hour record id",
              summary="An hour record rejected: its time is freed."),
    EventSpec("hours.corrected", HoursCorrected, subject="correction id",
              summary="A compensating record for an approved one (signed delta_minutes)."),
    EventSpec("certificate.issued", CertificateIssued, subject="certificate number",
              summary="A 志愿服务记录证明 issued for a period."),
])

HOURS_APPROVED = CONTRACT["hours.approved"]
HOURS_CORRECTED = CONTRACT["hours.corrected"]
