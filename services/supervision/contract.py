"""The supervision service's published events: its contract with every consumer.

Exchange `supervision.events`, routing key = the CloudEvents type. Events carry
ids (sessions, supervisors, inspections, findings, rectification items,
reports, campaigns), station ids and region codes, dates, counts and scores;
never a name, phone, note, observation, recommendation, reason or narrative
(free text may hold personal data). Supervisor ids are the only ids of people.
"""
from marshmallow import Schema, fields, validate

from services.common.contract import Contract, EventSpec
from services.supervision import rules

MONTH = fields.String(required=True, validate=validate.Regexp(rules.MONTH.pattern),
                      metadata={"example": "2026-11"})


class StationRegions(Schema):
    """The station and the four region codes every station-bound event carries."""
    station_id = fields.String(required=True, metadata={"example": "340102001-01"})
    division_code = fields.String(required=True, validate=validate.Regexp(r"^\d{9}$"))
    county = fields.String(required=True, validate=validate.Regexp(r"^\d{6}$"))
    city = fields.String(required=True, validate=validate.Regexp(r"^\d{4}$"))
    province = fields.String(required=True, validate=validate.Regexp(r"^\d{2}$"))


class SessionRecorded(StationRegions):
    session_id = fields.String(required=True)
    supervisor_id = fields.String(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(("individual", "group")))
    setting = fields.String(required=True, validate=validate.OneOf(("internal", "external")))
    method = fields.String(required=True, validate=validate.OneOf(("on_site", "online")))
    held_on = fields.Date(required=True, metadata={"description": "Civil date in China."})
    quarter = fields.String(required=True, metadata={"example": "2026Q4"})
    duration_minutes = fields.Integer(required=True)
    supervisees = fields.Integer(required=True, metadata={"description": "People supervised."})


class Sample(Schema):
    per_city = fields.Integer(allow_none=True)
    share = fields.Float(allow_none=True)


class CampaignOpened(Schema):
    campaign_id = fields.String(required=True)
    province = fields.String(required=True)
    period_from = fields.Date(required=True)
    period_to = fields.Date(required=True)
    checklist_id = fields.String(required=True, metadata={"example": "station-standard@v2"})
    sample = fields.Nested(Sample, required=True)
    group_size = fields.Integer(required=True)


class GroupAssigned(Schema):
    group_id = fields.String(required=True)
    city = fields.String(required=True, metadata={"description": "The city the inspectors come from."})
    inspector_ids = fields.List(fields.String(), required=True)
    station_ids = fields.List(fields.String(), required=True)
    inspection_ids = fields.List(fields.String(), required=True)


class AssignmentConfirmed(Schema):
    campaign_id = fields.String(required=True)
    province = fields.String(required=True)
    seed = fields.Integer(required=True)
    stations = fields.Integer(required=True)
    groups = fields.List(fields.Nested(GroupAssigned), required=True)


class InspectionCompleted(StationRegions):
    inspection_id = fields.String(required=True)
    kind = fields.String(required=True)
    checklist_id = fields.String(required=True)
    campaign_id = fields.String(required=True, allow_none=True)
    visited_on = fields.Date(required=True)
    score = fields.Float(required=True, metadata={"description": "0-100, computed by the service."})
    sections = fields.Dict(keys=fields.String(), values=fields.Float(allow_none=True), required=True)
    findings = fields.Integer(required=True)


class FindingRaised(StationRegions):
    finding_id = fields.String(required=True)
    inspection_id = fields.String(required=True)
    item_key = fields.String(required=True, allow_none=True)
    severity = fields.String(required=True, validate=validate.OneOf(rules.SEVERITIES))
    needs_action = fields.Boolean(required=True)
    rectification_id = fields.String(required=True, allow_none=True)


class Rectification(StationRegions):
    """A rectification item's state after the change."""
    rectification_id = fields.String(required=True)
    finding_id = fields.String(required=True)
    inspection_id = fields.String(required=True)
    severity = fields.String(required=True, validate=validate.OneOf(rules.SEVERITIES))
    deadline = fields.Date(required=True, metadata={"description": "Due at 23:59:59 China time."})
    status = fields.String(required=True, validate=validate.OneOf(rules.RECTIFICATION_STATUSES))
    overdue = fields.Boolean(required=True)
    escalated_to = fields.String(required=True, allow_none=True,
                                 validate=validate.OneOf(rules.ESCALATION_LEVELS))
    on = fields.Date(required=True, metadata={"description": "China date of the change."})


class RectificationEscalated(Rectification):
    level = fields.String(required=True, validate=validate.OneOf(rules.ESCALATION_LEVELS))
    region = fields.String(required=True, metadata={"description": "The code escalated to."})


class Report(StationRegions):
    report_id = fields.String(required=True, metadata={"example": "340102001-01:2026-11"})
    month = MONTH
    due_at = fields.DateTime(required=True)
    revision = fields.Integer(required=True)
    late = fields.Boolean(required=True, allow_none=True,
                          metadata={"description": "Filed after its due time (null: not filed)."})
    was_overdue = fields.Boolean(required=True,
                                 metadata={"description": "Marked overdue before it was filed."})


class ServedCounts(Schema):
    elderly = fields.Integer(required=True)
    children = fields.Integer(required=True)
    disabled = fields.Integer(required=True)
    others = fields.Integer(required=True)


class ReportSubmitted(Report):
    submitted_at = fields.DateTime(required=True)
    casework = fields.Integer(required=True)
    group_work = fields.Integer(required=True)
    community_activities = fields.Integer(required=True)
    served = fields.Nested(ServedCounts, required=True)


STATION = "station id"

CONTRACT = Contract("supervision", [
    EventSpec("session.recorded", SessionRecorded, subject="session id",
              summary="A supervision session (督导) was held at a station."),
    EventSpec("campaign.opened", CampaignOpened, subject="campaign id",
              summary="The province opened a mutual inspection campaign (督导互查)."),
    EventSpec("assignment.confirmed", AssignmentConfirmed, subject="campaign id",
              summary="A campaign's sample and inspection groups were confirmed."),
    EventSpec("inspection.completed", InspectionCompleted, subject="inspection id",
              summary="An inspection, evaluation or assessment was completed with its score."),
    EventSpec("finding.raised", FindingRaised, subject="finding id",
              summary="An inspection raised a finding (observation and recommendation not sent)."),
    EventSpec("rectification.opened", Rectification, subject="rectification id",
              summary="A finding that needs action became a rectification item (整改) of the station."),
    EventSpec("rectification.submitted", Rectification, subject="rectification id",
              summary="The station submitted its rectification with evidence."),
    EventSpec("rectification.closed", Rectification, subject="rectification id",
              summary="A verifier (not the submitter) verified and closed the item."),
    EventSpec("rectification.reopened", Rectification, subject="rectification id",
              summary="A verifier sent the item back (the reason is not sent)."),
    EventSpec("rectification.overdue", Rectification, subject="rectification id",
              summary="The item's deadline passed while the station still owed it."),
    EventSpec("rectification.escalated", RectificationEscalated, subject="rectification id",
              summary="An overdue item escalated one level up: county, then city, then province."),
    EventSpec("report.submitted", ReportSubmitted, subject="report id",
              summary="A station filed its monthly report (the narrative is not sent)."),
    EventSpec("report.returned", Report, subject="report id",
              summary="A filed monthly report was returned for correction (the reason is not sent)."),
    EventSpec("report.overdue", Report, subject="report id",
              summary="A station's monthly report was not filed by its due time."),
])

SESSION_RECORDED = CONTRACT["session.recorded"]
INSPECTION_COMPLETED = CONTRACT["inspection.completed"]
RECTIFICATION_OPENED = CONTRACT["rectification.opened"]
RECTIFICATION_CLOSED = CONTRACT["rectification.closed"]
RECTIFICATION_OVERDUE = CONTRACT["rectification.overdue"]
REPORT_SUBMITTED = CONTRACT["report.submitted"]
REPORT_RETURNED = CONTRACT["report.returned"]
REPORT_OVERDUE = CONTRACT["report.overdue"]
