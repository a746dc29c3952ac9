"""Request and response schemas of the registry.

The same classes validate RPC input in the service, validate HTTP bodies in the
gateway, and generate the OpenAPI document, so the three never disagree.
"""
from marshmallow import Schema, fields, validate, validates_schema, ValidationError

from services.common.schemas import PHONE, PageQuerySchema

STATUSES = ("planned", "built", "operating", "suspended", "closed")
LEVELS = ("province", "city", "county", "township", "village")
KINDS = ("street", "town", "township", "other")
CHECKLIST_ITEMS = ("premises", "equipment", "staff", "rules", "funding", "services")
CHECKLIST_STATES = ("missing", "partial", "met")
STAFF_ROLES = ("head", "supervisor", "resident")
CERTIFICATION_LEVELS = ("none", "junior", "intermediate", "senior")
ROOM_KINDS = ("room", "micro_site")

# A division code of any level (the gateway checks `/divisions/<code>` with it).
DIVISION_CODE = r"\d{2}|\d{4}|\d{6}|\d{9}|\d{12}"
TOWNSHIP_CODE = validate.Regexp(r"^\d{9}$", error="must be a 9-digit township-level division code")
REGION_CODE = validate.Regexp(r"^(\d{2}|\d{4}|\d{6})$",
                              error="must be a province (2), city (4) or county (6) digit code")
# A region or a township: what lists of stations and divisions narrow to.
AREA_CODE = validate.Regexp(r"^(\d{2}|\d{4}|\d{6}|\d{9})$",
                            error="must be a province, city, county or township code")
CREDIT_CODE = validate.Regexp(r"^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$",
                              error="must be an 18-character unified social credit code")


class OperatorSchema(Schema):
    """The contracted social work service organisation running the station."""
    name = fields.String(required=True, validate=validate.Length(min=2, max=120))
    credit_code = fields.String(load_default=None, allow_none=True, validate=CREDIT_CODE)
    contract_start = fields.Date(load_default=None, allow_none=True)
    contract_end = fields.Date(load_default=None, allow_none=True)

    @validates_schema
    def contract_in_order(self, data, **kwargs):
        start, end = data.get("contract_start"), data.get("contract_end")
        if start and end and end < start:
            raise ValidationError("must not be before contract_start", "contract_end")


class StationCreateSchema(Schema):
    division_code = fields.String(required=True, validate=TOWNSHIP_CODE)
    name = fields.String(required=True, validate=validate.Length(min=2, max=120))
    address = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=300))
    population_served = fields.Integer(load_default=0, validate=validate.Range(min=0, max=5_000_000))
    operator = fields.Nested(OperatorSchema, load_default=None, allow_none=True)
    planned_on = fields.Date(
        load_default=None, allow_none=True,
        metadata={"description": "When the station was planned; defaults to today. Lets officers "
                                 "record stations that were planned, built or opened years ago."})
    second_station_reason = fields.String(
        load_default=None, allow_none=True, validate=validate.Length(min=4, max=300),
        metadata={"description": "Required for a unit's second station (大团镇两站): why the "
                                 "township runs two."})


class StationUpdateSchema(Schema):
    OPENAPI = {"minProperties": 1}  # the not_empty rule, in the document

    name = fields.String(validate=validate.Length(min=2, max=120))
    address = fields.String(allow_none=True, validate=validate.Length(max=300))
    population_served = fields.Integer(validate=validate.Range(min=0, max=5_000_000))
    operator = fields.Nested(OperatorSchema, allow_none=True)

    @validates_schema
    def not_empty(self, data, **kwargs):
        if not data:
            raise ValidationError("give at least one of name, address, population_served, operator")


class TransitionSchema(Schema):
    to = fields.String(required=True, validate=validate.OneOf(STATUSES))
    on = fields.Date(required=True, metadata={"description": "The date the change took effect."})
    note = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=500))


class ChecklistItemSchema(Schema):
    state = fields.String(required=True, validate=validate.OneOf(CHECKLIST_STATES))
    note = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=500))
    attested_on = fields.Date(required=True)


class ChecklistSchema(Schema):
    """A station's 六有 checklist: the state of each of the six items."""
    premises = fields.Nested(ChecklistItemSchema, metadata={"description": "有场所"})
    equipment = fields.Nested(ChecklistItemSchema, metadata={"description": "有设备"})
    staff = fields.Nested(ChecklistItemSchema, metadata={"description": "有人员"})
    rules = fields.Nested(ChecklistItemSchema, metadata={"description": "有制度"})
    funding = fields.Nested(ChecklistItemSchema, metadata={"description": "有经费"})
    services = fields.Nested(ChecklistItemSchema, metadata={"description": "有服务"})


class ChecklistUpdateSchema(ChecklistSchema):
    """Any subset of the six items of the 六有 standard."""
    OPENAPI = {"minProperties": 1}  # the not_empty rule, in the document


    @validates_schema
    def not_empty(self, data, **kwargs):
        if not data:
            raise ValidationError(f"give at least one of {', '.join(CHECKLIST_ITEMS)}")


class StaffCreateSchema(Schema):
    role = fields.String(required=True, validate=validate.OneOf(STAFF_ROLES))
    name = fields.String(required=True, validate=validate.Length(min=2, max=60))
    phone = fields.String(load_default=None, allow_none=True, validate=PHONE)
    certification = fields.String(load_default="none", validate=validate.OneOf(CERTIFICATION_LEVELS))
    since = fields.Date(load_default=None, allow_none=True)


class StaffUpdateSchema(Schema):
    OPENAPI = {"minProperties": 1}  # the not_empty rule, in the document

    role = fields.String(validate=validate.OneOf(STAFF_ROLES))
    name = fields.String(validate=validate.Length(min=2, max=60))
    phone = fields.String(allow_none=True, validate=PHONE)
    certification = fields.String(validate=validate.OneOf(CERTIFICATION_LEVELS))

    @validates_schema
    def not_empty(self, data, **kwargs):
        if not data:
            raise ValidationError("give at least one of role, name, phone, certification")


class RoomCreateSchema(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(ROOM_KINDS))
    name = fields.String(required=True, validate=validate.Length(min=2, max=120))
    village_code = fields.String(
        required=True, validate=validate.Regexp(r"^\d{12}$", error="must be a 12-digit village "
                                                "or community committee code"))
    address = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=300))
    opened_on = fields.Date(load_default=None, allow_none=True)


class StationQuerySchema(PageQuerySchema):
    region = fields.String(load_default=None, allow_none=True, validate=AREA_CODE)
    status = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(STATUSES))


class CoverageQuerySchema(Schema):
    region = fields.String(required=True, validate=REGION_CODE)
    as_of = fields.Date(load_default=None, allow_none=True)


class RegionQuerySchema(PageQuerySchema):
    region = fields.String(required=True, validate=REGION_CODE)


class DivisionQuerySchema(PageQuerySchema):
    parent = fields.String(load_default=None, allow_none=True, validate=AREA_CODE)


class DivisionImportSummarySchema(Schema):
    """What the chunks of one division import did (`wushe import-divisions`)."""
    inserted = fields.Integer(required=True, strict=True, validate=validate.Range(min=0))
    updated = fields.Integer(required=True, strict=True, validate=validate.Range(min=0))
    unchanged = fields.Integer(required=True, strict=True, validate=validate.Range(min=0))


# ---- responses (documentation of what the API returns) ----

class HistoryEntrySchema(Schema):
    status = fields.String()
    on = fields.Date()
    recorded_at = fields.DateTime()
    by = fields.String(allow_none=True)
    note = fields.String(allow_none=True)


class ChecklistItemViewSchema(ChecklistItemSchema):
    attested_on = fields.Date(allow_none=True, metadata={"description": "null until attested."})


class ChecklistViewSchema(Schema):
    """A station's 六有 checklist as answered: every item, attested or not."""
    premises = fields.Nested(ChecklistItemViewSchema, metadata={"description": "有场所"})
    equipment = fields.Nested(ChecklistItemViewSchema, metadata={"description": "有设备"})
    staff = fields.Nested(ChecklistItemViewSchema, metadata={"description": "有人员"})
    rules = fields.Nested(ChecklistItemViewSchema, metadata={"description": "有制度"})
    funding = fields.Nested(ChecklistItemViewSchema, metadata={"description": "有经费"})
    services = fields.Nested(ChecklistItemViewSchema, metadata={"description": "有服务"})


class StaffSchema(StaffCreateSchema):
    id = fields.String()
    phone = fields.String(allow_none=True, metadata={"description": "Masked unless the caller's role needs it."})


class RoomSchema(RoomCreateSchema):
    id = fields.String()


class StaffingSchema(Schema):
    required = fields.Dict(keys=fields.String(), values=fields.Integer())
    have = fields.Dict(keys=fields.String(), values=fields.Integer())
    missing = fields.Dict(keys=fields.String(), values=fields.Integer())
    certification = fields.Dict(keys=fields.String(), values=fields.Integer(), metadata={
        "description": "Staff by certification level (none, junior, intermediate, senior)."})
    meets_rule = fields.Boolean(metadata={"description": "1+1+X: a head, a supervisor and X resident "
                                                         "workers, X = 2 above 20,000 people served, else 1."})


class StationSchema(Schema):
    id = fields.String()
    division_code = fields.String()
    division_name = fields.String()
    division_kind = fields.String(allow_none=True, validate=validate.OneOf(KINDS))
    region_names = fields.Dict(keys=fields.String(), values=fields.String(allow_none=True),
                               metadata={"description": "{province, city, county}: their names."})
    county = fields.String()
    city = fields.String()
    province = fields.String()
    name = fields.String()
    address = fields.String(allow_none=True)
    population_served = fields.Integer()
    operator = fields.Nested(OperatorSchema, allow_none=True)
    second_station_reason = fields.String(allow_none=True)
    status = fields.String(validate=validate.OneOf(STATUSES))
    opened_on = fields.Date(allow_none=True)
    history = fields.List(fields.Nested(HistoryEntrySchema))
    allowed_transitions = fields.List(fields.String())
    checklist = fields.Dict(keys=fields.String(), values=fields.Nested(ChecklistItemViewSchema))
    staff = fields.List(fields.Nested(StaffSchema))
    staffing = fields.Nested(StaffingSchema)
    rooms = fields.List(fields.Nested(RoomSchema))
    version = fields.Integer()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    created_by = fields.String(allow_none=True, metadata={"description": "role:sub of who did it."})
    updated_by = fields.String(allow_none=True)


class DivisionSchema(Schema):
    code = fields.String()
    name = fields.String()
    level = fields.String(validate=validate.OneOf(LEVELS))
    kind = fields.String(allow_none=True, validate=validate.OneOf(KINDS))
    parent = fields.String(allow_none=True)
    province = fields.String(allow_none=True, metadata={"description": "The codes it lies in."})
    city = fields.String(allow_none=True)
    county = fields.String(allow_none=True)
    township = fields.String(allow_none=True, metadata={"description": "Villages only."})
    units = fields.Integer(allow_none=True, metadata={"description": "Not for villages."})
    other_units = fields.Integer(allow_none=True)


class CoverageFiguresSchema(Schema):
    region = fields.String()
    name = fields.String()
    units = fields.Integer()
    with_station = fields.Integer()
    operating = fields.Integer()
    coverage_rate = fields.Float()
    operating_rate = fields.Float()
    other_units = fields.Integer()


class CoverageSchema(CoverageFiguresSchema):
    level = fields.String(validate=validate.OneOf(LEVELS))
    as_of = fields.Date()
    children = fields.List(fields.Nested(CoverageFiguresSchema))


class StaffingGapSchema(Schema):
    station_id = fields.String()
    name = fields.String()
    division_code = fields.String()
    status = fields.String()
    population_served = fields.Integer()
    staffing = fields.Nested(StaffingSchema)


# ---- station sheets: import, template and exports (docs/station-sheets.md) ----

MAX_SHEET_FILES = 40
SHEET_KINDS = ("station", "staff", "room")
EXPORT_FORMATS = ("csv", "xlsx")


class ExportFormatSchema(Schema):
    format = fields.String(load_default="csv", validate=validate.OneOf(EXPORT_FORMATS), metadata={
        "description": "`csv` (UTF-8 with BOM, opens in Excel) or `xlsx`."})


class StationExportQuerySchema(ExportFormatSchema):
    region = fields.String(load_default=None, allow_none=True, validate=AREA_CODE)
    status = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(STATUSES))


class RegionExportQuerySchema(ExportFormatSchema):
    region = fields.String(required=True, validate=REGION_CODE)


class CoverageExportQuerySchema(CoverageQuerySchema, ExportFormatSchema):
    pass


class SheetTemplateQuerySchema(Schema):
    format = fields.String(load_default="xlsx", validate=validate.OneOf(EXPORT_FORMATS))
    sheet = fields.String(load_default="station", validate=validate.OneOf(SHEET_KINDS), metadata={
        "description": "Which sheet: stations (站点), staff (人员) or rooms (社工室)."})


class SheetUploadSchema(Schema):
    content = fields.String(required=True, metadata={"description": "The file, base64."})
    content_type = fields.String(load_default=None, allow_none=True)
    filename = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=255))


class StationImportQuerySchema(Schema):
    dry_run = fields.Boolean(load_default=True, metadata={
        "description": "true (the default): judge every row and write nothing; false: write "
                       "the accepted rows."})


class StationImportSchema(StationImportQuerySchema):
    """What the gateway and `wushe import-stations` send: the files and the mode."""
    files = fields.List(fields.Nested(SheetUploadSchema), required=True,
                        validate=validate.Length(min=1, max=MAX_SHEET_FILES))


class ImportReasonSchema(Schema):
    field = fields.String(metadata={"description": "The column's key (division_code, opened_on...)."})
    column = fields.String(metadata={"description": "The column's heading as the sheet has it."})
    message = fields.String()


class StationImportRowSchema(Schema):
    sheet = fields.String(metadata={"description": "The file, and for a workbook `file / sheet`."})
    row = fields.Integer(metadata={"description": "The row's number in its sheet."})
    kind = fields.String(validate=validate.OneOf(SHEET_KINDS))
    status = fields.String(validate=validate.OneOf(("new", "changed", "unchanged", "refused")))
    station_id = fields.String(allow_none=True, metadata={
        "description": "The station the row is (or, in a dry run, would be) about."})
    reasons = fields.List(fields.Nested(ImportReasonSchema), metadata={
        "description": "Every reason a refused row is refused."})
    changes = fields.List(fields.String(), metadata={"description": "What a changed row changes."})
    notes = fields.List(fields.String(), metadata={
        "description": "What the import inferred (a blank 规划日期 taken as the first date...)."})


class StationImportReportSchema(Schema):
    dry_run = fields.Boolean()
    rows_read = fields.Integer()
    accepted = fields.Integer(metadata={"description": "new + changed + unchanged"})
    refused = fields.Integer()
    new = fields.Integer()
    changed = fields.Integer()
    unchanged = fields.Integer()
    by_kind = fields.Dict(keys=fields.String(), values=fields.Dict(
        keys=fields.String(), values=fields.Integer()))
    sheets = fields.List(fields.Dict(), metadata={"description": "[{sheet, kind, rows}] read."})
    ignored_sheets = fields.List(fields.Dict(), metadata={
        "description": "[{sheet, reason}]: a workbook's sheets that are none of the three."})
    removed = fields.List(fields.Dict(), metadata={
        "description": "[{station_id, kind, id, role|name}]: staff and rooms the registry has "
                       "and the station's rows no longer list (removed by the real run)."})
    events = fields.Integer(metadata={"description": "Events the real run published."})
    rows = fields.List(fields.Nested(StationImportRowSchema))
