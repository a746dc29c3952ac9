"""Request and response schemas of the charity service.

The same classes validate RPC input in the service, validate HTTP bodies and
query strings in the gateway, and generate the OpenAPI document.

Money is integer fen everywhere (`amount_fen`: 1 yuan = 100 fen; a float or a
string is a 400 naming the field). Dates are China civil dates `YYYY-MM-DD`;
instants are answered RFC 3339 in UTC with `Z`. Free text holds no control
characters. Reports and trial balances cover whole months: `from` and `to`
are `YYYY-MM` (or the first and the last day of a month).
"""
import calendar
import datetime
import decimal
import re

from marshmallow import Schema, ValidationError, fields, post_load, validate, validates_schema

from services.common.schemas import PHONE, PageQuerySchema
from services.charity import rules

MAX_FEN = 10 ** 13   # 1,000 亿 yuan: beyond any fund, and exact in every JSON reader
REGION_CODE = validate.Regexp(r"^(\d{2}|\d{4}|\d{6}|\d{9})$",
                              error="must be a province (2), city (4), county (6) or township (9) digit code")
IDENT = validate.Length(min=1, max=64)
RECEIPT_NUMBER = r"JZSJ-\d{4}-[0-9A-Z]{18}-\d{6}"
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_CONTROL_OR_BREAK = re.compile(r"[\x00-\x1f\x7f]")


def free_text(max, min=1, lines=False):
    """Length, and no control characters (tabs and line breaks only where `lines`)."""
    pattern = _CONTROL if lines else _CONTROL_OR_BREAK

    def check(value):
        if pattern.search(value or ""):
            raise ValidationError("must not contain control characters")
        if min and not (value or "").strip():
            raise ValidationError("must not be blank")
    # The same rule for the OpenAPI document (gateway/openapi.py).
    allowed = r"[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]" if lines else r"[^\x00-\x1f\x7f]"
    visible = r"[^\s\x00-\x1f\x7f\x85]"  # \x85: a space to str.strip, not to \s
    check.openapi = {"pattern": f"^{allowed}*{visible}{allowed}*$" if min else f"^{allowed}*$"}
    return [validate.Length(min=min, max=max), check]


def in_years(value):
    if not 2000 <= value.year <= 2100:
        raise ValidationError("must lie in the years 2000-2100")


in_years.openapi = {"pattern": r"^(20\d{2}|2100)-"}  # for the OpenAPI document


def credit_code(value):
    problem = rules.credit_code_problem(value)
    if problem:
        raise ValidationError(problem)


# The check character is beyond a pattern: the format names the rule (GB 32100-2015).
# (tests/contracts/test_schemathesis.py generates valid ones for it).
credit_code.openapi = {"format": "unified-social-credit-code"}


def fen(minimum=1, metadata=None, **kwargs):
    return fields.Integer(strict=True, validate=validate.Range(min=minimum, max=MAX_FEN),
                          metadata={"description": "Integer fen (1 yuan = 100 fen).", "example": 600000,
                                    **(metadata or {})}, **kwargs)


def quantity(value):
    if value <= 0 or value > 10 ** 9:
        raise ValidationError("must be more than 0 and at most 1,000,000,000")
    if value != value.quantize(decimal.Decimal("0.001")):
        raise ValidationError("at most 3 decimals")


quantity.openapi = {"minimum": 0, "exclusiveMinimum": True, "maximum": 10 ** 9}  # 3 decimals: in words


def text(max, **kwargs):
    return fields.String(validate=free_text(max), **kwargs)


def optional_text(max, lines=False):
    return fields.String(load_default=None, allow_none=True, validate=free_text(max, lines=lines))


class ExportFormat(Schema):
    format = fields.String(load_default="csv", validate=validate.OneOf(("csv", "xlsx")))


# ---- funds ----

class HostSchema(Schema):
    """The registered charitable organisation hosting the fund (a community fund has no
    legal personality of its own)."""
    name = text(100, required=True)
    credit_code = fields.String(required=True, validate=credit_code, metadata={
        "description": "Unified social credit code (统一社会信用代码), check character verified.",
        "example": "53340100MJ0000006T"})


class CommitteeMemberSchema(Schema):
    name = text(60, required=True, metadata={"description": "Personal data: masked for auditors."})
    role = fields.String(required=True, validate=validate.OneOf(("chair", "member", "supervisor")))
    title = optional_text(60)


class FundCreateSchema(Schema):
    name = text(100, required=True)
    kind = fields.String(required=True, validate=validate.OneOf(rules.FUND_KINDS))
    purpose = fields.String(required=True, validate=free_text(500, lines=True))
    region = fields.String(load_default=None, allow_none=True, validate=REGION_CODE, metadata={
        "description": "The region the fund belongs to; or give station_id."})
    station_id = fields.String(load_default=None, allow_none=True, validate=IDENT, metadata={
        "description": "Instead of region: a station known from the registry's events."})
    host = fields.Nested(HostSchema, required=True)
    committee = fields.List(fields.Nested(CommitteeMemberSchema), required=True,
                            validate=validate.Length(min=1, max=51), metadata={
                                "description": "At least 5 members, an odd number, exactly one supervisor."})
    opening_balance_fen = fen(minimum=0, load_default=0, metadata={
        "description": "Cash brought in from before (Dr cash, Cr net_assets)."})

    @validates_schema
    def where(self, data, **kwargs):
        if bool(data.get("region")) == bool(data.get("station_id")):
            raise ValidationError("give either region or station_id", "region")


class FundStatusSchema(Schema):
    reason = optional_text(500)


class FundQuerySchema(PageQuerySchema):
    region = fields.String(load_default=None, allow_none=True, validate=REGION_CODE)
    status = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(rules.FUND_STATUSES))
    kind = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(rules.FUND_KINDS))
    station_id = fields.String(load_default=None, allow_none=True, validate=IDENT)


class BalanceSummarySchema(Schema):
    cash_posted_fen = fields.Integer(metadata={"description": "Cash on the ledger."})
    cash_reserved_fen = fields.Integer(metadata={"description": "Held by approved, unpaid disbursements."})
    cash_available_fen = fields.Integer(metadata={"description": "Posted minus reserved; never below 0."})
    in_kind_fen = fields.Integer(metadata={"description": "Goods held, at their recorded value (not cash)."})
    project_advances_fen = fields.Integer(metadata={"description": "Paid to active projects, not yet reported spent."})
    payable_fen = fields.Integer(metadata={"description": "Accepted contract milestones not yet paid."})


class AccountBalanceSchema(Schema):
    account = fields.String()
    type = fields.String(validate=validate.OneOf(("asset", "liability", "income", "expense", "net_assets")))
    name = fields.String()
    debits_fen = fields.Integer()
    credits_fen = fields.Integer()
    balance_fen = fields.Integer(metadata={"description": "On the account's normal side."})
    reserved_fen = fields.Integer()
    available_fen = fields.Integer()


class BalancesSchema(BalanceSummarySchema):
    fund_id = fields.String()
    accounts = fields.List(fields.Nested(AccountBalanceSchema))


class StatusChangeSchema(Schema):
    status = fields.String()
    on = fields.Date()
    by = fields.String()
    reason = fields.String(allow_none=True)


class FundSchema(Schema):
    id = fields.String()
    name = fields.String()
    kind = fields.String()
    purpose = fields.String()
    level = fields.String(validate=validate.OneOf(("province", "city", "county", "township", "station")))
    region = fields.String()
    station_id = fields.String(allow_none=True)
    division_code = fields.String(allow_none=True)
    county = fields.String(allow_none=True)
    city = fields.String(allow_none=True)
    province = fields.String()
    host = fields.Nested(HostSchema)
    committee = fields.List(fields.Nested(CommitteeMemberSchema))
    status = fields.String(validate=validate.OneOf(rules.FUND_STATUSES))
    status_history = fields.List(fields.Nested(StatusChangeSchema))
    opened_on = fields.Date()
    balances = fields.Nested(BalanceSummarySchema)
    created_at = fields.DateTime()
    created_by = fields.String()


# ---- ledger ----

class PostingViewSchema(Schema):
    account = fields.String()
    type = fields.String()
    debit_fen = fields.Integer()
    credit_fen = fields.Integer()


class EntrySchema(Schema):
    id = fields.String(metadata={"description": "E...; a reversal is R + the id it reverses."})
    fund_id = fields.String()
    kind = fields.String()
    booked_on = fields.Date()
    dim = fields.String(metadata={"description": "What it is for: donor kind, project, contract, purpose."})
    refs = fields.Dict()
    memo = fields.String(allow_none=True)
    reverses = fields.String(allow_none=True)
    reversed_by = fields.String(allow_none=True)
    postings = fields.List(fields.Nested(PostingViewSchema))
    total_fen = fields.Integer(metadata={"description": "Its debits (= its credits)."})
    created_at = fields.DateTime()
    created_by = fields.String()


class EntryQuerySchema(PageQuerySchema):
    date_from = fields.Date(data_key="from", load_default=None, allow_none=True, validate=in_years)
    date_to = fields.Date(data_key="to", load_default=None, allow_none=True, validate=in_years)
    kind = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(
        ("opening", "donation", "payment", "milestone", "project_close", "distribution", "reversal")))

    @post_load
    def named(self, data, **kwargs):
        data["from"], data["to"] = data.pop("date_from"), data.pop("date_to")
        return data


class LedgerExportQuerySchema(EntryQuerySchema, ExportFormat):
    pass


class ReverseSchema(Schema):
    reason = fields.String(required=True, validate=free_text(500))


def _month(value, field, end):
    """'2026-03' or a date at the month's start (from) or end (to) -> '2026-03'."""
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}", value):
        year, month = int(value[:4]), int(value[5:])
        if 2000 <= year <= 2100 and 1 <= month <= 12:
            return value
    elif isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        try:
            day = datetime.date.fromisoformat(value)
        except ValueError:
            day = None
        if day and 2000 <= day.year <= 2100:
            last = calendar.monthrange(day.year, day.month)[1]
            if day.day == (last if end else 1):
                return value[:7]
            raise ValidationError({field: ["the report covers whole months: give YYYY-MM or the "
                                           + ("last" if end else "first") + " day of a month"]})
    raise ValidationError({field: ["must be a month YYYY-MM"]})


class PeriodQuerySchema(Schema):
    """Whole months; by default this year so far."""
    # The patterns document _month (a month's last day, also taken for `to`, is left out).
    period_from = fields.String(data_key="from", load_default=None, allow_none=True, metadata={
        "example": "2026-01", "pattern": r"^(20\d{2}|2100)-(0[1-9]|1[0-2])(-01)?$"})
    period_to = fields.String(data_key="to", load_default=None, allow_none=True, metadata={
        "example": "2026-12", "pattern": r"^(20\d{2}|2100)-(0[1-9]|1[0-2])$"})

    @post_load
    def months(self, data, **kwargs):
        from services.common.clock import china_today

        today = china_today()
        first = _month(data["period_from"], "from", False) if data.get("period_from") else f"{today.year}-01"
        last = _month(data["period_to"], "to", True) if data.get("period_to") else today.isoformat()[:7]
        if last < first:
            raise ValidationError({"to": ["before from"]})
        return {"from": first, "to": last}


class TrialBalanceRowSchema(Schema):
    account = fields.String()
    type = fields.String()
    name = fields.String()
    opening_fen = fields.Integer()
    debits_fen = fields.Integer()
    credits_fen = fields.Integer()
    closing_fen = fields.Integer()


class TrialBalanceSchema(Schema):
    fund_id = fields.String()
    period_from = fields.String(data_key="from")
    period_to = fields.String(data_key="to")
    accounts = fields.List(fields.Nested(TrialBalanceRowSchema))
    total_debits_fen = fields.Integer()
    total_credits_fen = fields.Integer()
    balanced = fields.Boolean()


class CheckQuerySchema(Schema):
    fund_id = fields.String(load_default=None, allow_none=True, validate=IDENT)


class CheckSchema(Schema):
    funds = fields.Integer()
    entries = fields.Integer()
    problems = fields.List(fields.String())
    ok = fields.Boolean()


# ---- donations ----

class DonorSchema(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(rules.DONOR_KINDS))
    name = fields.String(load_default=None, allow_none=True, validate=free_text(100), metadata={
        "description": "A person's name is personal data: masked for auditors, never in events."})
    phone = fields.String(load_default=None, allow_none=True, validate=PHONE)
    id_number = fields.String(load_default=None, allow_none=True,
                              validate=validate.Regexp(r"^\d{17}[\dX]$", error="must be an 18-character ID number"))
    credit_code = fields.String(load_default=None, allow_none=True, validate=credit_code)
    consent_public = fields.Boolean(load_default=False, metadata={
        "description": "May the public report name the donor? Otherwise 爱心人士."})


class DonorViewSchema(Schema):
    """The donor as answered: personal fields masked (139****0983) unless the caller's
    role needs them, so they carry no input pattern."""
    kind = fields.String(validate=validate.OneOf(rules.DONOR_KINDS))
    name = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    id_number = fields.String(allow_none=True)
    credit_code = fields.String(allow_none=True)
    consent_public = fields.Boolean()


class GoodsItemSchema(Schema):
    name = text(60, required=True)
    quantity = fields.Decimal(required=True, validate=quantity, metadata={"example": "50"})
    unit = text(10, required=True)
    value_fen = fen(required=True, metadata={"description": "This item's recorded value in fen."})


class ValuationSchema(Schema):
    basis = fields.String(required=True, validate=validate.OneOf(
        ("invoice", "market_price", "appraisal", "donor_declared")))
    note = optional_text(200)
    valued_by = text(60, required=True, metadata={"description": "The receiving staff member."})


class DonationCreateSchema(Schema):
    fund_id = fields.String(required=True, validate=IDENT)
    kind = fields.String(required=True, validate=validate.OneOf(rules.DONATION_KINDS))
    received_on = fields.Date(required=True, validate=in_years)
    donor = fields.Nested(DonorSchema, required=True)
    amount_fen = fen(load_default=None, allow_none=True)
    channel = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(rules.CHANNELS))
    payer_reference = optional_text(100)
    items = fields.List(fields.Nested(GoodsItemSchema), load_default=None, allow_none=True,
                        validate=validate.Length(min=1, max=50))
    valuation = fields.Nested(ValuationSchema, load_default=None, allow_none=True)
    handler = optional_text(60)
    note = optional_text(500, lines=True)

    @validates_schema
    def kind_fields(self, data, **kwargs):
        if data.get("kind") == "money":
            missing = [f for f in ("amount_fen", "channel") if data.get(f) is None]
            if missing:
                raise ValidationError({f: ["required for a donation in money"] for f in missing})
            if data.get("items"):
                raise ValidationError({"items": ["only for a donation in kind"]})
        elif data.get("kind") == "in_kind":
            missing = [f for f in ("items", "valuation") if not data.get(f)]
            if missing:
                raise ValidationError({f: ["required for a donation in kind"] for f in missing})
            if data.get("amount_fen") is not None:
                raise ValidationError({"amount_fen": ["a donation in kind is valued by its items"]})


class DonationQuerySchema(PageQuerySchema):
    region = fields.String(load_default=None, allow_none=True, validate=REGION_CODE)
    fund_id = fields.String(load_default=None, allow_none=True, validate=IDENT)
    kind = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(rules.DONATION_KINDS))
    status = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(("received", "reversed")))
    date_from = fields.Date(data_key="from", load_default=None, allow_none=True, validate=in_years)
    date_to = fields.Date(data_key="to", load_default=None, allow_none=True, validate=in_years)

    @post_load
    def named(self, data, **kwargs):
        data["from"], data["to"] = data.pop("date_from"), data.pop("date_to")
        return data


class DonationExportQuerySchema(DonationQuerySchema, ExportFormat):
    pass


class GoodsItemViewSchema(Schema):
    name = fields.String()
    quantity = fields.String()
    unit = fields.String()
    value_fen = fields.Integer()


class DonationSchema(Schema):
    id = fields.String()
    fund_id = fields.String()
    station_id = fields.String(allow_none=True)
    region = fields.String()
    kind = fields.String()
    received_on = fields.Date()
    donor = fields.Nested(DonorViewSchema, metadata={"description": "Masked unless the caller's role needs it."})
    amount_fen = fields.Integer()
    channel = fields.String(allow_none=True)
    payer_reference = fields.String(allow_none=True)
    items = fields.List(fields.Nested(GoodsItemViewSchema), allow_none=True)
    valuation = fields.Nested(ValuationSchema, allow_none=True)
    handler = fields.String()
    note = fields.String(allow_none=True)
    entry_id = fields.String()
    receipt_number = fields.String()
    status = fields.String()
    reversed_entry_id = fields.String(allow_none=True)
    created_at = fields.DateTime()
    created_by = fields.String()


class GoodsDistributionSchema(Schema):
    items = fields.List(fields.Nested(GoodsItemSchema), required=True, validate=validate.Length(min=1, max=50))
    purpose = fields.String(required=True, validate=free_text(500))
    category = fields.String(required=True, validate=validate.OneOf(("direct_aid", "activity", "project_grant")))
    project_id = fields.String(load_default=None, allow_none=True, validate=IDENT)


class DistributionSchema(Schema):
    id = fields.String()
    fund_id = fields.String()
    items = fields.List(fields.Nested(GoodsItemViewSchema))
    value_fen = fields.Integer()
    purpose = fields.String()
    category = fields.String()
    project_id = fields.String(allow_none=True)
    distributed_on = fields.Date()
    entry_id = fields.String()
    reversed_entry_id = fields.String(allow_none=True)


# ---- receipts ----

class ReceiptDonorSchema(Schema):
    kind = fields.String()
    name = fields.String(metadata={"description": "匿名 for an anonymous donor; masked for auditors."})
    id_number = fields.String(allow_none=True)


class VoidSchema(Schema):
    on = fields.Date()
    at = fields.DateTime()
    by = fields.String()
    reason = fields.String()


class ReceiptSchema(Schema):
    number = fields.String(metadata={"example": "JZSJ-2026-53340100MJ0000006T-000001"})
    year = fields.Integer()
    host = fields.Nested(HostSchema)
    fund_id = fields.String()
    fund_name = fields.String()
    donation_id = fields.String()
    donor = fields.Nested(ReceiptDonorSchema)
    kind = fields.String()
    items = fields.List(fields.Nested(GoodsItemViewSchema), allow_none=True)
    amount_fen = fields.Integer()
    received_on = fields.Date()
    handler = fields.String()
    issued_on = fields.Date()
    issued_at = fields.DateTime()
    issued_by = fields.String()
    status = fields.String(validate=validate.OneOf(("valid", "voided")))
    void = fields.Nested(VoidSchema, allow_none=True)
    replaces = fields.String(allow_none=True)
    replaced_by = fields.String(allow_none=True)


class ReceiptLineSchema(Schema):
    description = fields.String()
    quantity = fields.String(allow_none=True)
    unit = fields.String(allow_none=True)
    amount_fen = fields.Integer()
    amount_yuan = fields.String()


class ReceiptPrintSchema(Schema):
    title = fields.String(metadata={"example": "捐赠收据"})
    number = fields.String()
    issued_on = fields.Date()
    donor = fields.String()
    property_kind = fields.String(metadata={"example": "货币"})
    lines = fields.List(fields.Nested(ReceiptLineSchema))
    amount_fen = fields.Integer()
    amount_yuan = fields.String(metadata={"example": "6000.00"})
    amount_in_words = fields.String(metadata={"example": "人民币陆仟元整"})
    received_on = fields.Date()
    receiving_organisation = fields.String()
    credit_code = fields.String()
    fund_name = fields.String()
    handler = fields.String()
    status = fields.String()
    watermark = fields.String(allow_none=True, metadata={"description": "作废 on a voided receipt."})
    verify_path = fields.String()


class PublicReceiptSchema(Schema):
    number = fields.String()
    donor = fields.String(metadata={"description": "Masked (匿名 for an anonymous donor)."})
    amount_fen = fields.Integer()
    amount_yuan = fields.String()
    issued_on = fields.Date()
    organisation = fields.String()
    status = fields.String(validate=validate.OneOf(("valid", "voided")))


class ReceiptVoidSchema(Schema):
    reason = fields.String(required=True, validate=free_text(500))
    reissue = fields.Boolean(load_default=False, metadata={
        "description": "Issue a replacement receipt (a new number) in the same step."})
    donor_name = optional_text(100)


class ReceiptQuerySchema(PageQuerySchema):
    region = fields.String(load_default=None, allow_none=True, validate=REGION_CODE)
    fund_id = fields.String(load_default=None, allow_none=True, validate=IDENT)
    status = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(("valid", "voided")))
    year = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=2000, max=2100))


class ReceiptExportQuerySchema(ReceiptQuerySchema, ExportFormat):
    pass


# ---- disbursements ----

class PayeeSchema(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(("person", "organisation")))
    name = fields.String(required=True, validate=free_text(100), metadata={
        "description": "A person is personal data: masked for auditors, never in events."})
    account = optional_text(60)


class DisbursementCreateSchema(Schema):
    fund_id = fields.String(required=True, validate=IDENT)
    purpose = fields.String(required=True, validate=free_text(500, lines=True))
    category = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(("direct_aid", "activity")),
                             metadata={"description": "For spending outside a project or a contract."})
    payee = fields.Nested(PayeeSchema, required=True)
    amount_fen = fen(required=True)
    documents = fields.List(fields.String(validate=free_text(200)), load_default=list,
                            validate=validate.Length(max=20),
                            metadata={"description": "References of the supporting documents."})
    project_id = fields.String(load_default=None, allow_none=True, validate=IDENT,
                               metadata={"description": "A tranche of this venture project."})
    contract_id = fields.String(load_default=None, allow_none=True, validate=IDENT)
    milestone_id = fields.String(load_default=None, allow_none=True, validate=IDENT,
                                 metadata={"description": "With contract_id: the accepted milestone paid."})
    note = optional_text(500)

    @validates_schema
    def target(self, data, **kwargs):
        if data.get("project_id") and data.get("contract_id"):
            raise ValidationError("a disbursement pays a project or a contract, not both", "contract_id")
        if data.get("contract_id") and not data.get("milestone_id"):
            raise ValidationError("a contract payment names its accepted milestone", "milestone_id")
        if data.get("milestone_id") and not data.get("contract_id"):
            raise ValidationError("a milestone belongs to a contract_id", "contract_id")


class DisbursementStepSchema(Schema):
    note = optional_text(500)
    payment_reference = optional_text(100)


class DisbursementEndSchema(Schema):
    reason = fields.String(required=True, validate=free_text(500))


class DisbursementQuerySchema(PageQuerySchema):
    region = fields.String(load_default=None, allow_none=True, validate=REGION_CODE)
    fund_id = fields.String(load_default=None, allow_none=True, validate=IDENT)
    status = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(rules.DISBURSEMENT_STATUSES))
    project_id = fields.String(load_default=None, allow_none=True, validate=IDENT)
    contract_id = fields.String(load_default=None, allow_none=True, validate=IDENT)
    category = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(
        ("direct_aid", "activity", "project_grant", "service_contract")))


class StepSchema(Schema):
    status = fields.String()
    on = fields.Date()
    at = fields.DateTime()
    by = fields.String()
    note = fields.String(allow_none=True)


class DisbursementSchema(Schema):
    id = fields.String()
    fund_id = fields.String()
    station_id = fields.String(allow_none=True)
    region = fields.String()
    purpose = fields.String()
    category = fields.String()
    payee = fields.Nested(PayeeSchema)
    amount_fen = fields.Integer()
    documents = fields.List(fields.String())
    project_id = fields.String(allow_none=True)
    contract_id = fields.String(allow_none=True)
    milestone_id = fields.String(allow_none=True)
    status = fields.String(validate=validate.OneOf(rules.DISBURSEMENT_STATUSES))
    requested_by = fields.Dict()
    requested_on = fields.Date()
    approved_by = fields.Dict(allow_none=True)
    approved_on = fields.Date(allow_none=True)
    paid_on = fields.Date(allow_none=True)
    payment_reference = fields.String(allow_none=True)
    entry_id = fields.String(allow_none=True)
    reversed_entry_id = fields.String(allow_none=True)
    history = fields.List(fields.Nested(StepSchema))


# ---- venture rounds and projects ----

class CriterionSchema(Schema):
    key = fields.String(required=True, validate=validate.Regexp(r"^[a-z][a-z0-9_]{0,29}$"))
    title = text(60, required=True)
    weight = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=100),
                            metadata={"description": "Whole percent; the weights sum to 100."})


class ReviewerSchema(Schema):
    sub = fields.String(required=True, validate=IDENT, metadata={"description": "The reviewer's token subject."})
    name = text(60, required=True)
    organisation_id = fields.String(load_default=None, allow_none=True, validate=IDENT, metadata={
        "description": "Their organisation (team id, credit code or community code): they do not "
                       "review its applications."})


class RoundCreateSchema(Schema):
    fund_id = fields.String(required=True, validate=IDENT)
    title = text(100, required=True)
    budget_fen = fen(required=True)
    call_from = fields.Date(required=True, validate=in_years)
    call_to = fields.Date(required=True, validate=in_years)
    criteria = fields.List(fields.Nested(CriterionSchema), required=True, validate=validate.Length(min=1, max=10))
    grant_min_fen = fen(minimum=0, load_default=0)
    grant_max_fen = fen(load_default=None, allow_none=True, metadata={"example": 800000})
    min_score = fields.Integer(load_default=0, validate=validate.Range(min=0, max=100),
                               metadata={"description": "Applications below this average are not approved."})
    reviewers = fields.List(fields.Nested(ReviewerSchema), required=True, validate=validate.Length(min=1, max=30))


class ApplicantSchema(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(rules.APPLICANT_KINDS))
    name = fields.String(load_default=None, allow_none=True, validate=free_text(100))
    team_id = fields.String(load_default=None, allow_none=True, validate=IDENT)
    credit_code = fields.String(load_default=None, allow_none=True)
    community_code = fields.String(load_default=None, allow_none=True,
                                   validate=validate.Regexp(r"^\d{12}$", error="must be a 12-digit community code"))

    @validates_schema
    def identity(self, data, **kwargs):
        need = {"volunteer_team": "team_id", "community_organisation": "credit_code",
                "community": "community_code"}.get(data.get("kind"))
        if need and not data.get(need):
            raise ValidationError(f"required for a {data['kind']} applicant", need)
        if data.get("kind") != "volunteer_team" and not data.get("name"):
            raise ValidationError("required", "name")


class BudgetLineSchema(Schema):
    item = text(60, required=True)
    amount_fen = fen(required=True)


class MilestonePlanSchema(Schema):
    key = fields.String(required=True, validate=validate.Regexp(r"^[a-z0-9_]{1,20}$"))
    title = text(100, required=True)
    due_on = fields.Date(required=True, validate=in_years)


class ApplicationCreateSchema(Schema):
    applicant = fields.Nested(ApplicantSchema, required=True)
    title = text(100, required=True)
    summary = fields.String(required=True, validate=free_text(2000, lines=True))
    budget_lines = fields.List(fields.Nested(BudgetLineSchema), required=True, validate=validate.Length(min=1, max=30))
    milestones = fields.List(fields.Nested(MilestonePlanSchema), required=True, validate=validate.Length(min=1, max=12))


class ReviewCreateSchema(Schema):
    scores = fields.Dict(keys=fields.String(validate=IDENT),
                         values=fields.Integer(strict=True, validate=validate.Range(min=0, max=100)),
                         required=True, metadata={"description": "Every criterion's key: 0-100."})
    comment = optional_text(1000, lines=True)


class RoundDecideSchema(Schema):
    note = optional_text(500)


class RoundQuerySchema(PageQuerySchema):
    region = fields.String(load_default=None, allow_none=True, validate=REGION_CODE)
    fund_id = fields.String(load_default=None, allow_none=True, validate=IDENT)
    status = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(("open", "decided")))


class RoundSchema(Schema):
    id = fields.String()
    fund_id = fields.String()
    region = fields.String()
    station_id = fields.String(allow_none=True, metadata={"description": "The fund's station, if a station's fund."})
    created_at = fields.DateTime()
    title = fields.String()
    budget_fen = fields.Integer()
    call_from = fields.Date()
    call_to = fields.Date()
    criteria = fields.List(fields.Nested(CriterionSchema))
    grant_min_fen = fields.Integer()
    grant_max_fen = fields.Integer(allow_none=True)
    min_score = fields.Integer()
    reviewers = fields.List(fields.Nested(ReviewerSchema))
    status = fields.String()
    applications = fields.Integer()
    approved_fen = fields.Integer()
    decided_on = fields.Date(allow_none=True)


class ApplicationSchema(Schema):
    id = fields.String()
    round_id = fields.String()
    fund_id = fields.String()
    seq = fields.Integer()
    applicant = fields.Dict()
    title = fields.String()
    summary = fields.String()
    budget_lines = fields.List(fields.Nested(BudgetLineSchema))
    budget_fen = fields.Integer()
    milestones = fields.List(fields.Nested(MilestonePlanSchema))
    reviews = fields.Integer()
    average_score = fields.Float(allow_none=True, metadata={"description": "0-100, two decimals."})
    rank = fields.Integer(allow_none=True)
    status = fields.String(validate=validate.OneOf(rules.APPLICATION_STATUSES))
    project_id = fields.String(allow_none=True)
    submitted_at = fields.DateTime(allow_none=True)


class RankingSchema(RoundSchema):
    ranking = fields.List(fields.Nested(ApplicationSchema))


class ProjectReportSchema(Schema):
    milestone_key = fields.String(required=True, validate=validate.Regexp(r"^[a-z0-9_]{1,20}$"))
    summary = fields.String(required=True, validate=free_text(2000, lines=True))
    spent_fen = fen(minimum=0, load_default=None, allow_none=True, metadata={"description": "Spent so far."})


class SpentLineSchema(Schema):
    item = text(60, required=True)
    spent_fen = fen(minimum=0, required=True)


class ProjectCloseSchema(Schema):
    summary = fields.String(required=True, validate=free_text(2000, lines=True))
    lines = fields.List(fields.Nested(SpentLineSchema), required=True, validate=validate.Length(min=1, max=30),
                        metadata={"description": "What was spent, by budget line; at most what was paid."})


class ProjectQuerySchema(PageQuerySchema):
    region = fields.String(load_default=None, allow_none=True, validate=REGION_CODE)
    fund_id = fields.String(load_default=None, allow_none=True, validate=IDENT)
    round_id = fields.String(load_default=None, allow_none=True, validate=IDENT)
    status = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(rules.PROJECT_STATUSES))


class ProjectLineSchema(Schema):
    item = fields.String()
    budget_fen = fields.Integer()
    spent_fen = fields.Integer(allow_none=True)


class ProjectSchema(Schema):
    id = fields.String()
    round_id = fields.String()
    application_id = fields.String()
    fund_id = fields.String()
    region = fields.String()
    title = fields.String()
    applicant = fields.Dict()
    budget_fen = fields.Integer()
    budget_lines = fields.List(fields.Nested(ProjectLineSchema))
    milestones = fields.List(fields.Nested(MilestonePlanSchema))
    status = fields.String()
    uncommitted_fen = fields.Integer(metadata={"description": "Budget not yet requested as tranches."})
    committed_fen = fields.Integer()
    paid_fen = fields.Integer()
    spent_fen = fields.Integer(allow_none=True)
    returned_fen = fields.Integer(allow_none=True)
    unused_budget_fen = fields.Integer(allow_none=True)
    reports = fields.List(fields.Dict())
    rank = fields.Integer()
    approved_on = fields.Date()
    closed_on = fields.Date(allow_none=True)
    close_entry_id = fields.String(allow_none=True)


# ---- service contracts ----

class PartySchema(Schema):
    name = text(100, required=True)
    credit_code = fields.String(load_default=None, allow_none=True)


class ProviderSchema(Schema):
    name = text(100, required=True)
    credit_code = fields.String(required=True, validate=credit_code)
    station_id = fields.String(load_default=None, allow_none=True, validate=IDENT, metadata={
        "description": "When the provider is a station's operator."})


class ContractMilestoneSchema(Schema):
    title = text(100, required=True)
    due_on = fields.Date(required=True, validate=in_years)
    amount_fen = fen(required=True)


class ContractCreateSchema(Schema):
    fund_id = fields.String(required=True, validate=IDENT)
    title = text(100, required=True)
    purchaser = fields.Nested(PartySchema, required=True)
    provider = fields.Nested(ProviderSchema, required=True)
    amount_fen = fen(required=True)
    period_from = fields.Date(required=True, validate=in_years)
    period_to = fields.Date(required=True, validate=in_years)
    signed_on = fields.Date(load_default=None, allow_none=True, validate=in_years)
    milestones = fields.List(fields.Nested(ContractMilestoneSchema), required=True,
                             validate=validate.Length(min=1, max=24))


class MilestoneAcceptSchema(Schema):
    note = optional_text(500)


class ContractQuerySchema(PageQuerySchema):
    region = fields.String(load_default=None, allow_none=True, validate=REGION_CODE)
    fund_id = fields.String(load_default=None, allow_none=True, validate=IDENT)


class MilestoneSchema(Schema):
    id = fields.String()
    seq = fields.Integer()
    title = fields.String()
    due_on = fields.Date()
    amount_fen = fields.Integer()
    status = fields.String(validate=validate.OneOf(rules.MILESTONE_STATUSES))
    accepted_on = fields.Date(allow_none=True)
    accepted_by = fields.String(allow_none=True)
    acceptance_note = fields.String(allow_none=True)
    accrual_entry_id = fields.String(allow_none=True, metadata={
        "description": "The ledger entry that accrued the milestone when it was accepted."})
    committed_fen = fields.Integer()
    paid_fen = fields.Integer()


class ContractSchema(Schema):
    id = fields.String()
    fund_id = fields.String()
    region = fields.String()
    station_id = fields.String(allow_none=True, metadata={"description": "The fund's station, if a station's fund."})
    created_at = fields.DateTime()
    title = fields.String()
    purchaser = fields.Nested(PartySchema)
    provider = fields.Nested(ProviderSchema)
    amount_fen = fields.Integer()
    period_from = fields.Date()
    period_to = fields.Date()
    accepted_fen = fields.Integer()
    paid_fen = fields.Integer()
    status = fields.String(validate=validate.OneOf(rules.CONTRACT_STATUSES))
    signed_on = fields.Date()
    milestones = fields.List(fields.Nested(MilestoneSchema))


class FundBudgetSchema(Schema):
    fund_id = fields.String()
    rounds = fields.List(fields.Dict())
    projects = fields.List(fields.Dict())
    contracts = fields.List(fields.Dict())
    totals = fields.Dict()
    balances = fields.Nested(BalanceSummarySchema)


# ---- the public report ----

class PublicReportSchema(Schema):
    """See services/charity/transparency.py; every figure in fen."""
    fund = fields.Dict()
    period = fields.Dict(metadata={"example": {"from": "2026-01", "to": "2026-12"}})
    income = fields.Dict(metadata={"description": "total, money, in kind; by month and by source kind."})
    donors = fields.Dict(metadata={"description": "named (consented) donors; others as 爱心人士."})
    spending = fields.Dict(metadata={"description": "cash paid out by purpose, project and contract."})
    cash = fields.Dict(metadata={"description": "opening + in - paid out = closing."})
    projects = fields.List(fields.Dict())
    contracts = fields.List(fields.Dict())
    in_kind = fields.Dict()
    balance = fields.Dict()
    checks = fields.Dict()
    reconciles = fields.Boolean()
