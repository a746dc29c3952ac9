"""Request and response schemas of the volunteer service.

The same classes validate RPC input in the service, validate HTTP bodies and
query strings in the gateway, and generate the OpenAPI document.

Times are ISO 8601 with an offset (`2026-05-01T09:00:00+08:00`, answered in
UTC with `Z`); dates are `YYYY-MM-DD`; hours are whole minutes (`minutes`),
shown also as `hours` ("2.50"). Every time and date lies in the years
2000-2100 (`in_years`; birth dates 1900-2100), and free text (names, titles,
places, notes, reasons, skills) holds no control characters (`free_text`;
descriptions may break lines): otherwise a 400 naming the field.
"""
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from services.common.schemas import PHONE, PageQuerySchema
# Pure rules and vocabularies only, no storage: the gateway imports this module.
from services.volunteer.id_numbers import birth_date_of, id_number_problem
from services.volunteer.text import text_problem
from services.volunteer.times import FIRST_YEAR, LAST_YEAR, years_problem
from services.volunteer.vocabulary import (
    AVAILABILITY, CATEGORIES, ENTRY_KINDS, LEVELS, MAX_ACTIVITY_DAYS, MEMBER_ROLES, SOURCES,
    STATUSES, TEAM_KINDS,
)
from services.volunteer.vocabulary import MAX_SHEET_ROWS  # noqa: F401  (the import route states it)

REGION_CODE = validate.Regexp(r"^(\d{2}|\d{4}|\d{6}|\d{9})$",
                              error="must be a province (2), city (4), county (6) or township (9) digit code")
COUNTY_CODE = validate.Regexp(r"^\d{6}$", error="must be a 6-digit county code")
VOLUNTEER_NUMBER = validate.Regexp(r"^V\d{14}$", error="must be a volunteer number (V + 14 digits)")
IDENT = validate.Length(min=1, max=64)
CERTIFICATE_NUMBER = r"ZYZM-\d{4}-\d{8}"


def valid_id_number(value):
    problem = id_number_problem(value)
    if problem:
        raise ValidationError(problem)


def in_years(first=FIRST_YEAR, last=LAST_YEAR):
    """A validator of a date or time: its year in first-last (times.years_problem)."""
    def check(value):
        problem = years_problem(value, first, last)
        if problem:
            raise ValidationError(problem)
    # For the OpenAPI document (gateway/openapi.py): the year, as the string starts.
    check.openapi = {"pattern": "^(" + "|".join(str(y) for y in range(first, last + 1)) + ")-"
                     if (first, last) != (2000, 2100) else r"^(20\d{2}|2100)-"}
    return check


YEARS = in_years()


def free_text(max, min=None, lines=False):
    """The validators of a free-text field: its length and no control characters
    (text.text_problem; `lines`: tabs and line breaks allowed)."""
    def check(value):
        problem = text_problem(value, lines)
        if problem:
            raise ValidationError(problem)
    # The same rule for the OpenAPI document (gateway/openapi.py); see volunteer/text.py.
    check.openapi = {"pattern": r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$" if lines
                     else r"^[^\x00-\x1f\x7f-\x9f]*$"}
    return [validate.Length(min=min, max=max), check]


# ---- volunteers ----

class VolunteerCreateSchema(Schema):
    """Real-name registration (实名注册)."""
    name = fields.String(required=True, validate=free_text(min=2, max=60))
    id_number = fields.String(required=True, validate=valid_id_number, metadata={
        "description": "18-character resident ID number. Kept only as a keyed hash (for "
                       "matching) and masked; never shown in full or put in an event.",
        "example": "34010219580301123X"})
    phone = fields.String(required=True, validate=PHONE)
    birth_date = fields.Date(required=True, validate=in_years(1900), metadata={
        "description": "Must equal the birth date in the ID number."})
    skills = fields.List(fields.String(validate=free_text(min=1, max=30)),
                         load_default=list, validate=validate.Length(max=20))
    availability = fields.List(fields.String(validate=validate.OneOf(AVAILABILITY)),
                               load_default=list, validate=validate.Length(max=len(AVAILABILITY)))
    station_id = fields.String(load_default=None, allow_none=True, validate=IDENT, metadata={
        "description": "The registering station; the volunteer belongs to its township."})
    county = fields.String(load_default=None, allow_none=True, validate=COUNTY_CODE, metadata={
        "description": "Instead of station_id: register at county level."})

    @validates_schema
    def where_and_birth_date(self, data, **kwargs):
        if bool(data.get("station_id")) == bool(data.get("county")):
            raise ValidationError("give either station_id or county", "station_id")
        number, born = data.get("id_number"), data.get("birth_date")
        if number and born and not id_number_problem(number):
            in_number = birth_date_of(number)
            if in_number != born:
                raise ValidationError(
                    f"does not match the birth date in id_number ({in_number.isoformat()})",
                    "birth_date")


class VolunteerUpdateSchema(Schema):
    OPENAPI = {"minProperties": 1}  # the not_empty rule, in the document

    name = fields.String(validate=free_text(min=2, max=60))
    phone = fields.String(validate=PHONE)
    skills = fields.List(fields.String(validate=free_text(min=1, max=30)),
                         validate=validate.Length(max=20))
    availability = fields.List(fields.String(validate=validate.OneOf(AVAILABILITY)),
                               validate=validate.Length(max=len(AVAILABILITY)))

    @validates_schema
    def not_empty(self, data, **kwargs):
        if not data:
            raise ValidationError("give at least one of name, phone, skills, availability")


class VolunteerQuerySchema(PageQuerySchema):
    region = fields.String(load_default=None, allow_none=True, validate=REGION_CODE)
    skill = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=30))


class VolunteerLookupSchema(Schema):
    """An ID number travels in a body, never in a URL (URLs end up in logs)."""
    id_number = fields.String(required=True, validate=valid_id_number)


class VolunteerLookupResultSchema(Schema):
    volunteer_number = fields.String()


class ExportFormat(Schema):
    format = fields.String(load_default="csv", validate=validate.OneOf(("csv", "xlsx")))


class VolunteerExportQuerySchema(ExportFormat):
    region = fields.String(load_default=None, allow_none=True, validate=REGION_CODE)
    skill = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=30))


class VolunteerSchema(Schema):
    number = fields.String(metadata={"description": "Unified volunteer number (V + county + sequence)."})
    name = fields.String(metadata={"description": "Masked (张*三) unless the caller's role needs it."})
    id_number_masked = fields.String(metadata={"example": "340102********123X"})
    phone = fields.String(metadata={"description": "Masked unless the caller's role needs it."})
    birth_date = fields.Date(allow_none=True, metadata={"description": "Null unless the caller's role needs it."})
    age = fields.Integer(allow_none=True)
    skills = fields.List(fields.String())
    availability = fields.List(fields.String())
    region = fields.String(metadata={"description": "Township (9 digits) or county (6) code."})
    station_id = fields.String(allow_none=True)
    county = fields.String()
    registered_at = fields.DateTime()
    updated_at = fields.DateTime()


# ---- teams ----

class TeamCreateSchema(Schema):
    station_id = fields.String(required=True, validate=IDENT)
    name = fields.String(required=True, validate=free_text(min=2, max=60))
    kind = fields.String(load_default="general", validate=validate.OneOf(TEAM_KINDS), metadata={
        "description": "silver_age teams (银龄) take members 60 or over; party_member (党员) ..."})
    parent_id = fields.String(load_default=None, allow_none=True, validate=IDENT)
    description = fields.String(load_default=None, allow_none=True, validate=free_text(max=500, lines=True))


class TeamQuerySchema(PageQuerySchema):
    region = fields.String(load_default=None, allow_none=True, validate=REGION_CODE)
    station_id = fields.String(load_default=None, allow_none=True, validate=IDENT)
    kind = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(TEAM_KINDS))


class TeamMemberCreateSchema(Schema):
    volunteer_number = fields.String(required=True, validate=VOLUNTEER_NUMBER)
    joined_on = fields.Date(load_default=None, allow_none=True, validate=YEARS, metadata={
        "description": "Defaults to today (China time); the silver-age rule is checked on it."})
    role = fields.String(load_default="member", validate=validate.OneOf(MEMBER_ROLES))


class TeamSchema(Schema):
    id = fields.String()
    station_id = fields.String()
    name = fields.String()
    kind = fields.String(validate=validate.OneOf(TEAM_KINDS))
    parent_id = fields.String(allow_none=True)
    description = fields.String(allow_none=True)
    division_code = fields.String()
    county = fields.String()
    city = fields.String()
    province = fields.String()
    members = fields.Integer()
    created_at = fields.DateTime()


class TeamMemberSchema(Schema):
    volunteer_number = fields.String()
    name = fields.String(metadata={"description": "Masked unless the caller's role needs it."})
    role = fields.String()
    joined_on = fields.Date()


# ---- activities ----

class ActivityCreateSchema(Schema):
    team_id = fields.String(required=True, validate=IDENT)
    station_id = fields.String(load_default=None, allow_none=True, validate=IDENT, metadata={
        "description": "Where it takes place; defaults to the team's station."})
    title = fields.String(required=True, validate=free_text(min=2, max=120))
    category = fields.String(required=True, validate=validate.OneOf(CATEGORIES))
    place = fields.String(required=True, validate=free_text(min=2, max=200))
    starts_at = fields.AwareDateTime(required=True, validate=YEARS)
    ends_at = fields.AwareDateTime(required=True, validate=YEARS)
    capacity = fields.Integer(required=True, validate=validate.Range(min=1, max=100_000), metadata={
        "description": "How many volunteers may record hours there."})
    description = fields.String(load_default=None, allow_none=True, validate=free_text(max=1000, lines=True))

    @validates_schema
    def window(self, data, **kwargs):
        start, end = data.get("starts_at"), data.get("ends_at")
        if start and end:
            if end <= start:
                raise ValidationError("must be after starts_at", "ends_at")
            if (end - start).days > MAX_ACTIVITY_DAYS:
                raise ValidationError(f"an activity lasts at most {MAX_ACTIVITY_DAYS} days", "ends_at")


class ActivityQuerySchema(PageQuerySchema):
    region = fields.String(load_default=None, allow_none=True, validate=REGION_CODE)
    station_id = fields.String(load_default=None, allow_none=True, validate=IDENT)
    team_id = fields.String(load_default=None, allow_none=True, validate=IDENT)
    category = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(CATEGORIES))


class ActivitySchema(Schema):
    id = fields.String()
    team_id = fields.String()
    station_id = fields.String()
    title = fields.String()
    category = fields.String()
    place = fields.String()
    starts_at = fields.DateTime()
    ends_at = fields.DateTime()
    capacity = fields.Integer()
    participants = fields.Integer(metadata={"description": "Volunteers with live hour records there."})
    description = fields.String(allow_none=True)
    division_code = fields.String()
    county = fields.String()
    created_at = fields.DateTime()


# ---- hour records ----

class HoursRecordSchema(Schema):
    volunteer_number = fields.String(required=True, validate=VOLUNTEER_NUMBER)
    activity_id = fields.String(required=True, validate=IDENT)
    start = fields.AwareDateTime(required=True, validate=YEARS)
    end = fields.AwareDateTime(required=True, validate=YEARS)
    note = fields.String(load_default=None, allow_none=True, validate=free_text(max=500))

    @validates_schema
    def in_order(self, data, **kwargs):
        if data.get("start") and data.get("end") and data["end"] <= data["start"]:
            raise ValidationError("must be after start", "end")


class HoursApproveSchema(Schema):
    note = fields.String(load_default=None, allow_none=True, validate=free_text(max=500))


class HoursRejectSchema(Schema):
    reason = fields.String(required=True, validate=free_text(min=2, max=500))


class HoursCorrectionSchema(Schema):
    """A compensating record for an approved one: its replacement time, or cancel."""
    reason = fields.String(required=True, validate=free_text(min=2, max=500))
    start = fields.AwareDateTime(load_default=None, allow_none=True, validate=YEARS)
    end = fields.AwareDateTime(load_default=None, allow_none=True, validate=YEARS)
    cancel = fields.Boolean(load_default=False, metadata={
        "description": "True: the hours were not served at all (the record's minutes are taken back)."})

    @validates_schema
    def one_kind(self, data, **kwargs):
        start, end = data.get("start"), data.get("end")
        if data.get("cancel"):
            if start or end:
                raise ValidationError("give either cancel or start and end", "cancel")
            return
        if not start or not end:
            missing = {k: ["required unless cancel is true"] for k in ("start", "end") if not data.get(k)}
            raise ValidationError(missing)
        if end <= start:
            raise ValidationError("must be after start", "end")


class HoursBatchApproveSchema(Schema):
    ids = fields.List(fields.String(validate=IDENT), required=True,
                      validate=validate.Length(min=1, max=500))
    note = fields.String(load_default=None, allow_none=True, validate=free_text(max=500))


class HoursQuerySchema(PageQuerySchema):
    region = fields.String(load_default=None, allow_none=True, validate=REGION_CODE)
    station_id = fields.String(load_default=None, allow_none=True, validate=IDENT)
    team_id = fields.String(load_default=None, allow_none=True, validate=IDENT)
    activity_id = fields.String(load_default=None, allow_none=True, validate=IDENT)
    volunteer_number = fields.String(load_default=None, allow_none=True, validate=VOLUNTEER_NUMBER)
    status = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(STATUSES))
    kind = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(ENTRY_KINDS))
    date_from = fields.Date(load_default=None, allow_none=True, validate=YEARS,
                            metadata={"description": "Service dates from (inclusive)."})
    date_to = fields.Date(load_default=None, allow_none=True, validate=YEARS,
                          metadata={"description": "Service dates up to (inclusive)."})


class HoursExportQuerySchema(HoursQuerySchema, ExportFormat):
    pass


class HoursRecordViewSchema(Schema):
    counted_on = fields.Date(allow_none=True, metadata={
        "description": "The civil date (China) the minutes count on."})
    id = fields.String()
    kind = fields.String(validate=validate.OneOf(ENTRY_KINDS))
    volunteer_number = fields.String()
    volunteer_name = fields.String(metadata={"description": "Masked unless the caller's role needs it."})
    activity_id = fields.String()
    activity_title = fields.String()
    team_id = fields.String()
    station_id = fields.String()
    division_code = fields.String()
    start = fields.DateTime(allow_none=True)
    end = fields.DateTime(allow_none=True)
    service_date = fields.Date(metadata={"description": "The day the hours count on (China time)."})
    minutes = fields.Integer(metadata={"description": "A record: its minutes. A correction: the "
                                                      "corrected minutes of the original."})
    delta_minutes = fields.Integer(metadata={"description": "What this entry adds to the approved "
                                                            "total (negative for a reduction)."})
    hours = fields.String(metadata={"example": "2.50"})
    status = fields.String(validate=validate.OneOf(STATUSES))
    note = fields.String(allow_none=True)
    corrects = fields.String(allow_none=True, metadata={"description": "A correction: the record it corrects."})
    reason = fields.String(allow_none=True)
    corrections = fields.List(fields.String(), metadata={
        "description": "A record, when asked for alone: its corrections, oldest first."})
    current_minutes = fields.Integer(allow_none=True, metadata={
        "description": "A record, when asked for alone: its minutes after its corrections."})
    recorded_at = fields.DateTime()
    recorded_by = fields.String()
    decided_at = fields.DateTime(allow_none=True)
    decided_by = fields.String(allow_none=True)
    rejection_reason = fields.String(allow_none=True)
    source = fields.String(validate=validate.OneOf(SOURCES))


class ImportRowSchema(Schema):
    row = fields.Integer(metadata={"description": "Row number in the sheet (the header is row 1)."})
    status = fields.String(validate=validate.OneOf(("accepted", "rejected")))
    reason = fields.String(allow_none=True)
    field_messages = fields.Dict(keys=fields.String(), data_key="fields", allow_none=True)
    record_id = fields.String(allow_none=True)
    conflicting_record = fields.String(allow_none=True)


class ImportReportSchema(Schema):
    rows_read = fields.Integer()
    accepted = fields.Integer()
    rejected = fields.Integer()
    rows = fields.List(fields.Nested(ImportRowSchema))


class BatchApprovalSchema(Schema):
    approved = fields.List(fields.String())
    refused = fields.List(fields.Dict(), metadata={"description": "[{id, code, reason}]"})


# ---- totals ----

class TotalsQuerySchema(Schema):
    region = fields.String(load_default=None, allow_none=True, validate=REGION_CODE)
    station_id = fields.String(load_default=None, allow_none=True, validate=IDENT)
    team_id = fields.String(load_default=None, allow_none=True, validate=IDENT)
    volunteer_number = fields.String(load_default=None, allow_none=True, validate=VOLUNTEER_NUMBER)

    @validates_schema
    def exactly_one(self, data, **kwargs):
        given = [k for k in ("region", "station_id", "team_id", "volunteer_number") if data.get(k)]
        if len(given) != 1:
            raise ValidationError("give exactly one of region, station_id, team_id, volunteer_number",
                                  "region")


class TotalsFiguresSchema(Schema):
    level = fields.String(validate=validate.OneOf(LEVELS))
    code = fields.String()
    name = fields.String(allow_none=True)
    minutes = fields.Integer(metadata={"description": "Approved minutes, corrections included."})
    hours = fields.String(metadata={"example": "1234.50"})
    volunteers = fields.Integer(metadata={"description": "Distinct volunteers with approved hours."})
    records = fields.Integer(metadata={"description": "Approved hour records (corrections not counted)."})


class TotalsSchema(TotalsFiguresSchema):
    children = fields.List(fields.Nested(TotalsFiguresSchema))


# ---- certificates ----

class CertificateCreateSchema(Schema):
    volunteer_number = fields.String(required=True, validate=VOLUNTEER_NUMBER)
    period_from = fields.Date(required=True, data_key="from", validate=YEARS)
    period_to = fields.Date(required=True, data_key="to", validate=YEARS)
    station_id = fields.String(load_default=None, allow_none=True, validate=IDENT, metadata={
        "description": "The issuing station, named on the certificate."})

    @validates_schema
    def in_order(self, data, **kwargs):
        if data.get("period_from") and data.get("period_to") and data["period_to"] < data["period_from"]:
            raise ValidationError("must not be before from", "to")


class CertificateQuerySchema(PageQuerySchema):
    volunteer_number = fields.String(load_default=None, allow_none=True, validate=VOLUNTEER_NUMBER)
    region = fields.String(load_default=None, allow_none=True, validate=REGION_CODE)


class CertificateActivitySchema(Schema):
    activity_id = fields.String()
    title = fields.String()
    category = fields.String()
    station_id = fields.String()
    team_id = fields.String()
    records = fields.Integer()
    minutes = fields.Integer()
    hours = fields.String()


class CertificateSchema(Schema):
    number = fields.String(metadata={"example": "ZYZM-2026-00000001"})
    volunteer_number = fields.String()
    name = fields.String(metadata={"description": "Masked unless the caller's role needs it."})
    id_number_masked = fields.String()
    period_from = fields.Date(data_key="from")
    period_to = fields.Date(data_key="to")
    activities = fields.List(fields.Nested(CertificateActivitySchema))
    total_minutes = fields.Integer()
    total_hours = fields.String()
    issued_at = fields.DateTime()
    issued_by = fields.String()
    station_id = fields.String(allow_none=True)
    station_name = fields.String(allow_none=True)


class PublicCertificateSchema(Schema):
    """What anyone may learn from a certificate number: nothing more."""
    number = fields.String()
    name = fields.String(metadata={"description": "Masked: 张*三."})
    period_from = fields.Date(data_key="from")
    period_to = fields.Date(data_key="to")
    total_minutes = fields.Integer()
    total_hours = fields.String()
    issued_at = fields.DateTime()
    station_name = fields.String(allow_none=True)
