"""Request and response schemas of the supervision service.

The same classes validate RPC input in the service, validate HTTP bodies in the
gateway, and generate the OpenAPI document. Names are specific to supervision
(the OpenAPI components of every service share one namespace).
"""
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from services.common.schemas import PHONE, PageQuerySchema
from services.supervision import rules, scoring

REGION = validate.Regexp(r"^(\d{2}|\d{4}|\d{6}|\d{9})$",
                         error="must be a division code of 2, 4, 6 or 9 digits")
HOME_REGION = validate.Regexp(r"^(\d{4}|\d{6})$", error="must be a city (4) or county (6) digit code")
STATION_ID = validate.Regexp(r"^\d{9}-\d{2}$", error="must be a station id like 340102001-01")
SLUG = validate.Regexp(r"^[a-z][a-z0-9_-]{1,40}$",
                       error="must be 2-41 lower-case letters, digits, - or _, starting with a letter")
# rules.month_parts also holds the year to 2000-2100: the pattern says so too.
MONTH_PATTERN = r"^(20\d{2}|2100)-(0[1-9]|1[0-2])$"
MONTH = validate.Regexp(MONTH_PATTERN, error="must be a month YYYY-MM")
QUARTER = validate.Regexp(r"^(20\d{2}|2100)Q[1-4]$", error="must be a quarter like 2026Q3")

SUPERVISOR_KINDS = ("internal", "expert", "university", "industry_body")
EXTERNAL_KINDS = ("expert", "university", "industry_body")
SESSION_KINDS = ("individual", "group")
SESSION_SETTINGS = ("internal", "external")
SESSION_METHODS = ("on_site", "online")
SECTION_KINDS = ("liuyou", "liuhua", "administration", "finance", "service_delivery",
                 "social_evaluation", "publicity_innovation", "other")
INSPECTION_KINDS = ("mutual", "daily", "special", "assessment", "third_party", "year_end")
RECORDED_KINDS = tuple(k for k in INSPECTION_KINDS if k != "mutual")  # mutual: from campaigns
INSPECTION_STATUSES = ("planned", "in_progress", "completed")
REPORT_STATUSES = ("submitted", "returned", "overdue")
RANKED_FIGURES = ("overall", "supervision", "inspection", "reports", "rectification", "liuyou",
                  "staffing", "operating", "sessions_quarter", "volunteer_minutes",
                  "volunteers_active", "raised_fen", "spent_fen", "rect_open", "rect_overdue")


def _text(max_length, required=False, **kwargs):
    if required:
        return fields.String(required=True, validate=validate.Length(min=1, max=max_length), **kwargs)
    return fields.String(load_default=None, allow_none=True, validate=validate.Length(max=max_length),
                         **kwargs)


def _not_empty(data, names):
    if not data:
        raise ValidationError(f"give at least one of {', '.join(names)}")


class FilesField(fields.List):
    """References to files kept elsewhere (document store paths or URLs), never the files."""

    def __init__(self, **kwargs):
        super().__init__(fields.String(validate=validate.Length(min=1, max=500)),
                         validate=validate.Length(max=20), **kwargs)


class EvidenceSchema(Schema):
    notes = _text(2000)
    files = FilesField(load_default=list)


# ---- supervisors ----

class SupervisorCreateSchema(Schema):
    """An external supervisor (internal ones come from the registry's station staff)."""
    name = fields.String(required=True, validate=validate.Length(min=2, max=60))
    kind = fields.String(required=True, validate=validate.OneOf(EXTERNAL_KINDS))
    organisation = fields.String(required=True, validate=validate.Length(min=2, max=120),
                                 metadata={"description": "University, organisation or body."})
    qualifications = fields.List(fields.String(validate=validate.Length(min=1, max=60)),
                                 load_default=list, validate=validate.Length(max=10))
    home_region = fields.String(required=True, validate=HOME_REGION, metadata={
        "description": "The city (or county) the supervisor belongs to: inspection groups are "
                       "formed per city."})
    regions = fields.List(fields.String(validate=REGION), load_default=list,
                          validate=validate.Length(max=50),
                          metadata={"description": "The regions served (default: home_region)."})
    phone = fields.String(load_default=None, allow_none=True, validate=PHONE)
    account_sub = fields.String(load_default=None, allow_none=True,
                                validate=validate.Length(min=1, max=120), metadata={
                                    "description": "The `sub` of the supervisor's sign-in token: "
                                                   "as an inspector they see the stations "
                                                   "assigned to them."})


class SupervisorUpdateSchema(Schema):
    OPENAPI = {"minProperties": 1}  # the not_empty rule, in the document

    name = fields.String(validate=validate.Length(min=2, max=60))
    organisation = fields.String(validate=validate.Length(min=2, max=120))
    qualifications = fields.List(fields.String(validate=validate.Length(min=1, max=60)),
                                 validate=validate.Length(max=10))
    regions = fields.List(fields.String(validate=REGION), validate=validate.Length(max=50))
    phone = fields.String(allow_none=True, validate=PHONE)
    account_sub = fields.String(allow_none=True, validate=validate.Length(min=1, max=120))
    active = fields.Boolean()

    @validates_schema
    def not_empty(self, data, **kwargs):
        _not_empty(data, ("name", "organisation", "qualifications", "regions", "phone",
                          "account_sub", "active"))


class SupervisorQuerySchema(PageQuerySchema):
    region = fields.String(load_default=None, allow_none=True, validate=REGION)
    kind = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(SUPERVISOR_KINDS))
    active = fields.Boolean(load_default=None, allow_none=True)


class SupervisorSchema(Schema):
    id = fields.String()
    kind = fields.String(validate=validate.OneOf(SUPERVISOR_KINDS))
    name = fields.String(allow_none=True, metadata={
        "description": "Masked unless the caller's role needs it; none for internal supervisors "
                       "(the registry keeps their names)."})
    organisation = fields.String(allow_none=True)
    qualifications = fields.List(fields.String())
    home_region = fields.String()
    city = fields.String()
    regions = fields.List(fields.String())
    station_id = fields.String(allow_none=True, metadata={"description": "Internal: their station."})
    staff_id = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    account_sub = fields.String(allow_none=True)
    active = fields.Boolean()
    internal = fields.Boolean(metadata={"description": "From the registry's station staff."})
    division_code = fields.String(allow_none=True)
    county = fields.String(allow_none=True)
    province = fields.String(allow_none=True)


# ---- sessions and the quarterly rule ----

class SessionCreateSchema(Schema):
    supervisor_id = fields.String(required=True, validate=validate.Length(min=1, max=40))
    station_id = fields.String(required=True, validate=STATION_ID)
    kind = fields.String(required=True, validate=validate.OneOf(SESSION_KINDS))
    setting = fields.String(required=True, validate=validate.OneOf(SESSION_SETTINGS), metadata={
        "description": "internal: the station's own supervisor; external: an outside expert, "
                       "never at a station of their own."})
    method = fields.String(required=True, validate=validate.OneOf(SESSION_METHODS))
    held_on = fields.Date(required=True, metadata={"description": "Civil date in China."})
    duration_minutes = fields.Integer(required=True, validate=validate.Range(min=15, max=600))
    topics = fields.List(fields.String(validate=validate.Length(min=1, max=60)), required=True,
                         validate=validate.Length(min=1, max=10))
    agreed = _text(2000, metadata={"description": "What was agreed (never in an event)."})
    follow_ups = fields.List(fields.String(validate=validate.Length(min=1, max=300)),
                             load_default=list, validate=validate.Length(max=10))
    staff_ids = fields.List(fields.String(validate=validate.Length(min=1, max=40)),
                            load_default=list, validate=validate.Length(max=50),
                            metadata={"description": "Station staff supervised (registry staff ids)."})
    room_workers = fields.Integer(load_default=0, validate=validate.Range(min=0, max=200),
                                  metadata={"description": "Community-room (社工室) workers supervised."})

    @validates_schema
    def people(self, data, **kwargs):
        count = len(set(data.get("staff_ids") or [])) + (data.get("room_workers") or 0)
        if data.get("kind") == "individual" and count != 1:
            raise ValidationError("an individual session supervises exactly one person", "staff_ids")
        if data.get("kind") == "group" and count < 2:
            raise ValidationError("a group session supervises two people or more", "staff_ids")


class SessionQuerySchema(PageQuerySchema):
    region = fields.String(load_default=None, allow_none=True, validate=REGION)
    station_id = fields.String(load_default=None, allow_none=True, validate=STATION_ID)
    supervisor_id = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=40))
    quarter = fields.String(load_default=None, allow_none=True, validate=QUARTER)


class SessionSchema(SessionCreateSchema):
    id = fields.String()
    supervisees = fields.Integer(metadata={"description": "Staff plus room workers supervised."})
    quarter = fields.String()
    division_code = fields.String()
    county = fields.String()
    city = fields.String()
    province = fields.String()
    recorded_at = fields.DateTime()
    recorded_by = fields.String()


class GapQuerySchema(PageQuerySchema):
    region = fields.String(load_default=None, allow_none=True, validate=REGION)
    quarter = fields.String(load_default=None, allow_none=True, validate=QUARTER,
                            metadata={"description": "Default: the current quarter (China)."})


class SupervisedStationSchema(Schema):
    """A station as this service knows it from the registry's events."""
    station_id = fields.String()
    name = fields.String()
    division_code = fields.String()
    division_name = fields.String(allow_none=True)
    county = fields.String()
    county_name = fields.String(allow_none=True)
    city = fields.String()
    city_name = fields.String(allow_none=True)
    province = fields.String()
    status = fields.String()
    operator_name = fields.String(allow_none=True)


class GapSchema(SupervisedStationSchema):
    quarter = fields.String()
    sessions = fields.Integer(metadata={"description": "Sessions held there in the quarter (0)."})


# ---- checklists ----

class CheckRuleSchema(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(scoring.RULE_KINDS))
    max = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=1, max=1000),
                         metadata={"description": "points: the most points; scale: N of 0-N."})


class CheckItemSchema(Schema):
    key = fields.String(required=True, validate=SLUG)
    title = fields.String(required=True, validate=validate.Length(min=1, max=200))
    weight = fields.Float(required=True, validate=validate.Range(min=0, max=1000, min_inclusive=False))
    rule = fields.Nested(CheckRuleSchema, required=True)


class CheckSectionSchema(Schema):
    key = fields.String(required=True, validate=SLUG)
    title = fields.String(required=True, validate=validate.Length(min=1, max=200))
    kind = fields.String(required=True, validate=validate.OneOf(SECTION_KINDS), metadata={
        "description": "liuyou (六有), liuhua (六化), administration, finance, service_delivery "
                       "(service delivery and output), social_evaluation, publicity_innovation, other."})
    items = fields.List(fields.Nested(CheckItemSchema), required=True,
                        validate=validate.Length(min=1, max=100))


class ChecklistPublishSchema(Schema):
    code = fields.String(required=True, validate=SLUG, metadata={
        "description": "Publishing under an existing code makes its next version."})
    title = fields.String(required=True, validate=validate.Length(min=2, max=200))
    sections = fields.List(fields.Nested(CheckSectionSchema), required=True,
                           validate=validate.Length(min=1, max=20))


class ChecklistQuerySchema(PageQuerySchema):
    code = fields.String(load_default=None, allow_none=True, validate=SLUG)


class ChecklistVersionSchema(ChecklistPublishSchema):
    id = fields.String(metadata={"example": "station-standard@v2"})
    version = fields.Integer()
    published_at = fields.DateTime()
    published_by = fields.String()


# ---- inspections ----

class InspectionCreateSchema(Schema):
    station_id = fields.String(required=True, validate=STATION_ID)
    kind = fields.String(required=True, validate=validate.OneOf(RECORDED_KINDS), metadata={
        "description": "daily (日常监测), special (专项), assessment (定期评估), third_party "
                       "(第三方评估), year_end (年底考核). Mutual inspections come from campaigns."})
    checklist_code = fields.String(required=True, validate=SLUG)
    checklist_version = fields.Integer(load_default=None, allow_none=True,
                                       validate=validate.Range(min=1),
                                       metadata={"description": "Default: the latest version."})
    visited_on = fields.Date(required=True)
    inspector_ids = fields.List(fields.String(validate=validate.Length(min=1, max=40)),
                                load_default=list, validate=validate.Length(max=10))
    evaluator = _text(120, metadata={"description": "Third-party evaluations: the evaluating body."})
    report_files = FilesField(load_default=list)

    @validates_schema
    def evaluator_named(self, data, **kwargs):
        if data.get("kind") == "third_party" and not data.get("evaluator"):
            raise ValidationError("a third-party evaluation names its evaluator", "evaluator")


class ItemScoreSchema(Schema):
    value = fields.Raw(required=True, metadata={
        "description": "points: 0-max; pass_fail: true/false; scale: a whole number 0-N."})
    notes = _text(1000)
    files = FilesField(load_default=list)


class InspectionScoresSchema(Schema):
    scores = fields.Dict(keys=fields.String(validate=SLUG), values=fields.Nested(ItemScoreSchema),
                         required=True, validate=validate.Length(min=1, max=200))
    total = fields.Raw(load_default=None, load_only=True, metadata={
        "description": "Ignored: the service computes every score from the item scores."})


class InspectionCompleteSchema(Schema):
    report_files = FilesField(load_default=list)
    total = fields.Raw(load_default=None, load_only=True, metadata={"description": "Ignored."})


class FindingCreateSchema(Schema):
    item_key = fields.String(load_default=None, allow_none=True, validate=SLUG)
    observation = fields.String(required=True, validate=validate.Length(min=2, max=2000))
    recommendation = fields.String(required=True, validate=validate.Length(min=2, max=2000))
    severity = fields.String(required=True, validate=validate.OneOf(rules.SEVERITIES))
    needs_action = fields.Boolean(load_default=True, metadata={
        "description": "A finding that needs action becomes a rectification item of the station."})
    deadline = fields.Date(load_default=None, allow_none=True, metadata={
        "description": "Default: the visit date plus the severity's days "
                       "(SUPERVISION_RECTIFICATION_DAYS)."})


class InspectionQuerySchema(PageQuerySchema):
    region = fields.String(load_default=None, allow_none=True, validate=REGION)
    station_id = fields.String(load_default=None, allow_none=True, validate=STATION_ID)
    kind = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(INSPECTION_KINDS))
    status = fields.String(load_default=None, allow_none=True,
                           validate=validate.OneOf(INSPECTION_STATUSES))
    campaign_id = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=40))


class ItemScoreViewSchema(ItemScoreSchema):
    scored_by = fields.String()
    scored_at = fields.DateTime()


class FindingSchema(FindingCreateSchema):
    id = fields.String()
    inspection_id = fields.String()
    station_id = fields.String()
    division_code = fields.String()
    county = fields.String()
    city = fields.String()
    province = fields.String()
    raised_by = fields.String(metadata={"description": "Who raised it (the account)."})
    rectification_id = fields.String(allow_none=True)
    raised_at = fields.DateTime()


class InspectionSchema(Schema):
    id = fields.String()
    station_id = fields.String()
    station_name = fields.String(allow_none=True)
    division_code = fields.String()
    county = fields.String()
    city = fields.String()
    province = fields.String()
    kind = fields.String(validate=validate.OneOf(INSPECTION_KINDS))
    status = fields.String(validate=validate.OneOf(INSPECTION_STATUSES))
    checklist_id = fields.String(metadata={"description": "The checklist version it is pinned to."})
    campaign_id = fields.String(allow_none=True)
    group_id = fields.String(allow_none=True)
    inspector_ids = fields.List(fields.String())
    evaluator = fields.String(allow_none=True)
    visited_on = fields.Date(allow_none=True)
    scores = fields.Dict(keys=fields.String(), values=fields.Nested(ItemScoreViewSchema))
    score = fields.Float(allow_none=True, metadata={"description": "Computed on completion."})
    sections = fields.Dict(keys=fields.String(), values=fields.Float(allow_none=True))
    findings = fields.List(fields.Nested(FindingSchema))
    report_files = fields.List(fields.String())
    completed_at = fields.DateTime(allow_none=True)
    completed_by = fields.String(allow_none=True)
    due_on = fields.Date(allow_none=True, metadata={"description": "When a campaign's inspection is due."})
    created_at = fields.DateTime()
    created_by = fields.String()


# ---- campaigns ----

class SampleSchema(Schema):
    per_city = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=1, max=500))
    share = fields.Float(load_default=None, allow_none=True,
                         validate=validate.Range(min=0, max=1, min_inclusive=False))

    @validates_schema
    def one_of(self, data, **kwargs):
        if (data.get("per_city") is None) == (data.get("share") is None):
            raise ValidationError("give either per_city or share")


class CampaignCreateSchema(Schema):
    title = fields.String(required=True, validate=validate.Length(min=2, max=200))
    period_from = fields.Date(required=True)
    period_to = fields.Date(required=True)
    checklist_code = fields.String(required=True, validate=SLUG)
    checklist_version = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=1))
    sample = fields.Nested(SampleSchema, required=True, metadata={
        "description": "Stations drawn per city: a number or a share; at least one per county."})
    group_size = fields.Integer(load_default=3, validate=validate.Range(min=1, max=10))

    @validates_schema
    def period_in_order(self, data, **kwargs):
        if data.get("period_from") and data.get("period_to") and data["period_to"] < data["period_from"]:
            raise ValidationError("must not be before period_from", "period_to")


class AssignmentRequestSchema(Schema):
    seed = fields.Integer(required=True, validate=validate.Range(min=0, max=2**31 - 1), metadata={
        "description": "The same seed over the same stations and supervisors gives the same plan."})
    fingerprint = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=64),
                                metadata={"description": "Confirm: the preview's fingerprint; refused "
                                                         "if the plan would differ now."})


class CampaignQuerySchema(PageQuerySchema):
    pass


class AssignedGroupSchema(Schema):
    group_id = fields.String()
    city = fields.String()
    inspector_ids = fields.List(fields.String())
    organisations = fields.List(fields.String())
    station_ids = fields.List(fields.String())
    inspection_ids = fields.List(fields.String())
    load = fields.Integer()
    why = fields.Dict()


class AssignedStationSchema(Schema):
    station_id = fields.String()
    city = fields.String()
    county = fields.String()
    group_id = fields.String()
    drawn_because = fields.String(validate=validate.OneOf(("county", "quota")), metadata={
        "description": "county: its county's one station; quota: drawn to fill the city's number."})
    not_allowed = fields.Dict(metadata={"description": "{group id: [own_city | own_organisation]}"})


class AssignmentPlanSchema(Schema):
    campaign_id = fields.String()
    seed = fields.Integer()
    confirmed = fields.Boolean()
    target_load = fields.List(fields.Integer(), metadata={"description": "[q, q+1] stations per group."})
    quotas = fields.Dict(keys=fields.String(), values=fields.Integer())
    groups = fields.List(fields.Nested(AssignedGroupSchema))
    stations = fields.List(fields.Nested(AssignedStationSchema))


class CampaignSchema(CampaignCreateSchema):
    id = fields.String()
    province = fields.String()
    checklist_id = fields.String()
    status = fields.String(validate=validate.OneOf(("open", "assigned")))
    seed = fields.Integer(allow_none=True)
    opened_at = fields.DateTime()


class InspectorStationSchema(Schema):
    inspection_id = fields.String()
    campaign_id = fields.String(allow_none=True)
    station_id = fields.String()
    station_name = fields.String(allow_none=True)
    city = fields.String()
    status = fields.String()


# ---- rectification ----

class RectificationQuerySchema(PageQuerySchema):
    region = fields.String(load_default=None, allow_none=True, validate=REGION)
    station_id = fields.String(load_default=None, allow_none=True, validate=STATION_ID)
    status = fields.String(load_default=None, allow_none=True,
                           validate=validate.OneOf(rules.RECTIFICATION_STATUSES))
    overdue = fields.Boolean(load_default=None, allow_none=True)
    inspection_id = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=40))


class RectificationStartSchema(Schema):
    note = _text(1000)


class RectificationSubmitSchema(Schema):
    evidence = fields.Nested(EvidenceSchema, required=True)

    @validates_schema
    def has_evidence(self, data, **kwargs):
        evidence = data.get("evidence") or {}
        if not (evidence.get("notes") or "").strip() and not evidence.get("files"):
            raise ValidationError("give notes or files as evidence", "evidence")


class RectificationCloseSchema(Schema):
    note = _text(1000, metadata={"description": "The verifier's note."})


class RectificationReopenSchema(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=2, max=1000))


class RectificationHistorySchema(Schema):
    status = fields.String()
    at = fields.DateTime()
    by = fields.String()
    note = fields.String(allow_none=True)
    evidence = fields.Nested(EvidenceSchema, allow_none=True)
    level = fields.String(allow_none=True)


class RectificationSchema(Schema):
    id = fields.String()
    finding_id = fields.String()
    inspection_id = fields.String()
    station_id = fields.String()
    station_name = fields.String(allow_none=True)
    division_code = fields.String()
    county = fields.String()
    city = fields.String()
    province = fields.String()
    severity = fields.String()
    observation = fields.String()
    recommendation = fields.String()
    deadline = fields.Date()
    status = fields.String(validate=validate.OneOf(rules.RECTIFICATION_STATUSES))
    allowed = fields.List(fields.String())
    overdue = fields.Boolean()
    escalated_to = fields.String(allow_none=True)
    evidence = fields.Nested(EvidenceSchema, allow_none=True)
    submitted_by = fields.String(allow_none=True)
    submitted_at = fields.DateTime(allow_none=True)
    opened_at = fields.DateTime()
    overdue_at = fields.DateTime(allow_none=True)
    escalations = fields.Integer(metadata={"description": "Escalation steps taken so far."})
    closed_at = fields.DateTime(allow_none=True)
    closed_by = fields.String(allow_none=True)
    history = fields.List(fields.Nested(RectificationHistorySchema))


class EscalationQuerySchema(PageQuerySchema):
    region = fields.String(load_default=None, allow_none=True, validate=REGION, metadata={
        "description": "Whose list: the lines escalated to this county, city or province "
                       "(default: the caller's region)."})


class EscalationSchema(Schema):
    id = fields.String()
    rectification_id = fields.String()
    station_id = fields.String()
    level = fields.String(validate=validate.OneOf(rules.ESCALATION_LEVELS))
    to = fields.String(metadata={"description": "The region escalated to."})
    severity = fields.String()
    deadline = fields.Date()
    escalated_at = fields.DateTime()


# ---- monthly reports ----

class ServedSchema(Schema):
    elderly = fields.Integer(load_default=0, validate=validate.Range(min=0, max=1_000_000))
    children = fields.Integer(load_default=0, validate=validate.Range(min=0, max=1_000_000))
    disabled = fields.Integer(load_default=0, validate=validate.Range(min=0, max=1_000_000),
                              metadata={"description": "People with disabilities."})
    others = fields.Integer(load_default=0, validate=validate.Range(min=0, max=1_000_000))


class ReportSubmitSchema(Schema):
    """What the station adds to the pre-filled figures."""
    casework = fields.Integer(required=True, validate=validate.Range(min=0, max=100_000),
                              metadata={"description": "Cases (个案) served this month."})
    group_work = fields.Integer(required=True, validate=validate.Range(min=0, max=100_000),
                                metadata={"description": "Group work sessions (小组)."})
    community_activities = fields.Integer(required=True, validate=validate.Range(min=0, max=100_000),
                                          metadata={"description": "Community activities (社区活动)."})
    served = fields.Nested(ServedSchema, required=True)
    narrative = _text(5000, metadata={"description": "Never in an event."})


class ReportReturnSchema(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=2, max=1000))


class ReportQuerySchema(PageQuerySchema):
    region = fields.String(load_default=None, allow_none=True, validate=REGION)
    month = fields.String(load_default=None, allow_none=True, validate=MONTH)
    status = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(REPORT_STATUSES))
    late = fields.Boolean(load_default=None, allow_none=True)


class PrefillSchema(Schema):
    volunteer_minutes = fields.Integer()
    volunteer_hours = fields.Float()
    volunteers_active = fields.Integer()
    raised_fen = fields.Integer()
    spent_fen = fields.Integer()
    status = fields.String(allow_none=True)
    checklist_met = fields.Integer(allow_none=True, metadata={"description": "六有 items met."})
    staffing = fields.Dict(allow_none=True, metadata={"description": "1+1+X, from the registry."})


class ReportRevisionSchema(Schema):
    revision = fields.Integer()
    submitted_at = fields.DateTime()
    submitted_by = fields.String()


class ReportSchema(Schema):
    id = fields.String()
    station_id = fields.String()
    station_name = fields.String(allow_none=True)
    division_code = fields.String()
    county = fields.String()
    city = fields.String()
    month = fields.String()
    due_at = fields.DateTime()
    status = fields.String(validate=validate.OneOf(("draft",) + REPORT_STATUSES), metadata={
        "description": "draft: not filed yet (the pre-filled figures, nothing stored)."})
    late = fields.Boolean(allow_none=True)
    overdue = fields.Boolean()
    revision = fields.Integer()
    prefill = fields.Nested(PrefillSchema)
    casework = fields.Integer(allow_none=True)
    group_work = fields.Integer(allow_none=True)
    community_activities = fields.Integer(allow_none=True)
    served = fields.Nested(ServedSchema, allow_none=True)
    narrative = fields.String(allow_none=True)
    submitted_at = fields.DateTime(allow_none=True)
    returned = fields.List(fields.Dict())
    province = fields.String()
    last_submitted_at = fields.DateTime(allow_none=True)
    overdue_at = fields.DateTime(allow_none=True)
    revisions = fields.List(fields.Nested(ReportRevisionSchema), metadata={
        "description": "Every filing: revision, when and by whom."})


# ---- calendar and scorecards ----

class CalendarQuerySchema(Schema):
    station_id = fields.String(load_default=None, allow_none=True, validate=STATION_ID)
    region = fields.String(load_default=None, allow_none=True, validate=REGION)
    month = fields.String(load_default=None, allow_none=True, validate=MONTH,
                          metadata={"description": "Default: the current month (China)."})

    @validates_schema
    def one_target(self, data, **kwargs):
        if data.get("station_id") and data.get("region"):
            raise ValidationError("give station_id or region, not both", "region")


class CalendarEntrySchema(Schema):
    kind = fields.String(validate=validate.OneOf(("monthly_report", "quarterly_supervision",
                                                  "inspection", "rectification", "year_end_assessment")))
    due_at = fields.DateTime()
    station_id = fields.String(allow_none=True)
    ref = fields.String(allow_none=True)
    state = fields.String(allow_none=True, metadata={
        "description": "done, pending or overdue (a station's); null for a region (see counts)."})
    counts = fields.Dict(allow_none=True)


class CalendarSchema(Schema):
    region = fields.String(allow_none=True)
    station_id = fields.String(allow_none=True)
    month = fields.String()
    entries = fields.List(fields.Nested(CalendarEntrySchema))


class ScorecardQuerySchema(Schema):
    region = fields.String(load_default=None, allow_none=True,
                           validate=validate.Regexp(r"^(\d{2}|\d{4}|\d{6})$",
                                                    error="a province, city or county code"))
    station_id = fields.String(load_default=None, allow_none=True, validate=STATION_ID)
    month = fields.String(load_default=None, allow_none=True, validate=MONTH)

    @validates_schema
    def one_target(self, data, **kwargs):
        if data.get("station_id") and data.get("region"):
            raise ValidationError("give station_id or region, not both", "region")


class RankingQuerySchema(PageQuerySchema):
    region = fields.String(load_default=None, allow_none=True,
                           validate=validate.Regexp(r"^(\d{2}|\d{4})$", error="a province or city code"))
    level = fields.String(load_default="county", validate=validate.OneOf(("city", "county")))
    month = fields.String(load_default=None, allow_none=True, validate=MONTH)
    figure = fields.String(load_default="overall", validate=validate.OneOf(RANKED_FIGURES))


class ScorecardSchema(Schema):
    level = fields.String()
    code = fields.String()
    name = fields.String(allow_none=True)
    month = fields.String()
    quarter = fields.String()
    figures = fields.Dict(metadata={"description": "Every figure (docs/supervision.md)."})
    rates = fields.Dict(metadata={"description": "0-1 rates the overall score weighs."})
    overall = fields.Float(allow_none=True)
    weights = fields.Dict()
    children = fields.List(fields.Dict())


class ScorecardRankingSchema(Schema):
    level = fields.String()
    region = fields.String()
    month = fields.String()
    figure = fields.String()
    weights = fields.Dict(metadata={"description": "The weights of the overall score."})
    items = fields.List(fields.Dict(), metadata={
        "description": "Regions best first: {rank, code, name, value, figures, ranks}."})
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()


class ExportQuerySchema(Schema):
    format = fields.String(load_default="csv", validate=validate.OneOf(("csv", "xlsx")))


class SupervisorExportQuerySchema(SupervisorQuerySchema, ExportQuerySchema):
    pass


class SessionExportQuerySchema(SessionQuerySchema, ExportQuerySchema):
    pass


class GapExportQuerySchema(GapQuerySchema, ExportQuerySchema):
    pass


class InspectionExportQuerySchema(InspectionQuerySchema, ExportQuerySchema):
    pass


class RectificationExportQuerySchema(RectificationQuerySchema, ExportQuerySchema):
    pass


class EscalationExportQuerySchema(EscalationQuerySchema, ExportQuerySchema):
    pass


class ReportExportQuerySchema(ReportQuerySchema, ExportQuerySchema):
    pass


class RankingExportQuerySchema(RankingQuerySchema, ExportQuerySchema):
    pass


class DueRunSchema(Schema):
    as_of = fields.DateTime(load_default=None, allow_none=True)
