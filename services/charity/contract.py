"""The charity service's published events: its contract with every consumer.

Exchange `charity.events`, routing key = the CloudEvents type. Events carry
ids, region codes, kinds, dates and amounts in integer fen; never a donor's
name, phone or ID number, and no free text (a purpose or a note may name a
person). Every event names the fund's region with four codes: `province`
always; `city` and `county` when the fund lies at or below that level;
`division_code` (a township) only for a township's or a station's fund.
"""
from marshmallow import Schema, fields, validate

from services.common.contract import Contract, EventSpec
from services.charity import rules


def _code(digits, **kwargs):
    return fields.String(required=True, validate=validate.Regexp(rf"^\d{{{digits}}}$"), **kwargs)


def _fen(description="Integer fen (1 yuan = 100 fen)."):
    return fields.Integer(required=True, strict=True, validate=validate.Range(min=0),
                          metadata={"description": description})


def _date(description):
    return fields.Date(required=True, metadata={"description": description})


class FundRegions(Schema):
    """Where the fund belongs: its own fields and its region codes."""
    fund_id = fields.String(required=True)
    station_id = fields.String(required=True, allow_none=True)
    division_code = _code(9, allow_none=True, metadata={
        "description": "The township, for a township's or a station's fund; otherwise null."})
    county = _code(6, allow_none=True)
    city = _code(4, allow_none=True)
    province = _code(2)


class FundOpened(FundRegions):
    kind = fields.String(required=True, validate=validate.OneOf(rules.FUND_KINDS))
    host_credit_code = fields.String(required=True, metadata={
        "description": "The hosting charitable organisation's unified social credit code."})
    opened_on = _date("China civil date.")


class FundStatusChanged(FundRegions):
    status = fields.String(required=True, validate=validate.OneOf(rules.FUND_STATUSES))
    from_status = fields.String(required=True, validate=validate.OneOf(rules.FUND_STATUSES))
    on = _date("China civil date of the change.")


class DonationReceived(FundRegions):
    donation_id = fields.String(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(rules.DONATION_KINDS))
    amount_fen = _fen("The money, or the in-kind valuation, in fen.")
    received_on = _date("China civil date the donation was received.")
    donor_kind = fields.String(required=True, validate=validate.OneOf(rules.DONOR_KINDS))
    channel = fields.String(required=True, allow_none=True,
                            validate=validate.OneOf(rules.CHANNELS),
                            metadata={"description": "Money only; null for in kind."})


class ReceiptIssued(FundRegions):
    receipt_number = fields.String(required=True, metadata={"example": "JZSJ-2026-91340100MJ0000000X-000001"})
    donation_id = fields.String(required=True)
    host_credit_code = fields.String(required=True)
    year = fields.Integer(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(rules.DONATION_KINDS))
    amount_fen = _fen()
    issued_on = _date("China civil date.")


class ReceiptVoided(FundRegions):
    receipt_number = fields.String(required=True)
    donation_id = fields.String(required=True)
    amount_fen = _fen()
    voided_on = _date("China civil date.")


class DisbursementChanged(FundRegions):
    """A disbursement's step: requested, approved (money reserved), rejected or cancelled
    (money released)."""
    disbursement_id = fields.String(required=True)
    amount_fen = _fen()
    status = fields.String(required=True, validate=validate.OneOf(rules.DISBURSEMENT_STATUSES))
    on = _date("China civil date of the step.")
    project_id = fields.String(required=True, allow_none=True)
    contract_id = fields.String(required=True, allow_none=True)


class DisbursementPaid(FundRegions):
    disbursement_id = fields.String(required=True)
    amount_fen = _fen()
    paid_on = _date("China civil date of the payment.")
    project_id = fields.String(required=True, allow_none=True)
    contract_id = fields.String(required=True, allow_none=True)
    entry_id = fields.String(required=True, metadata={"description": "The ledger entry posting it."})


class EntryReversed(FundRegions):
    entry_id = fields.String(required=True, metadata={"description": "The reversing entry."})
    reverses = fields.String(required=True, metadata={"description": "The entry it reverses."})
    amount_fen = _fen("The reversed entry's debit total.")
    on = _date("China civil date.")


class ProjectApproved(FundRegions):
    project_id = fields.String(required=True)
    round_id = fields.String(required=True)
    applicant_kind = fields.String(required=True, validate=validate.OneOf(rules.APPLICANT_KINDS))
    budget_fen = _fen()
    rank = fields.Integer(required=True)
    approved_on = _date("China civil date.")


class ProjectClosed(FundRegions):
    project_id = fields.String(required=True)
    round_id = fields.String(required=True)
    budget_fen = _fen()
    spent_fen = _fen()
    returned_fen = _fen("Paid to the project but unspent: back in the fund.")
    closed_on = _date("China civil date.")


class ContractSigned(FundRegions):
    contract_id = fields.String(required=True)
    provider_credit_code = fields.String(required=True)
    provider_station_id = fields.String(required=True, allow_none=True)
    amount_fen = _fen()
    period_from = fields.Date(required=True)
    period_to = fields.Date(required=True)
    milestones = fields.Integer(required=True)
    signed_on = _date("China civil date.")


class MilestoneAccepted(FundRegions):
    contract_id = fields.String(required=True)
    milestone_id = fields.String(required=True)
    amount_fen = _fen("What the milestone makes payable.")
    accepted_on = _date("China civil date.")


FUND = "fund id"

CONTRACT = Contract("charity", [
    EventSpec("fund.opened", FundOpened, subject=FUND, summary="A charity fund opened."),
    EventSpec("fund.frozen", FundStatusChanged, subject=FUND,
              summary="A fund frozen: no money moves until it is unfrozen."),
    EventSpec("fund.unfrozen", FundStatusChanged, subject=FUND, summary="A frozen fund reopened."),
    EventSpec("fund.closed", FundStatusChanged, subject=FUND,
              summary="A fund closed at a zero balance (final)."),
    EventSpec("donation.received", DonationReceived, subject="donation id",
              summary="A donation in money or in kind entered the fund's ledger."),
    EventSpec("receipt.issued", ReceiptIssued, subject="receipt number",
              summary="A donation receipt (捐赠收据) issued."),
    EventSpec("receipt.voided", ReceiptVoided, subject="receipt number",
              summary="A receipt voided (kept, marked voided)."),
    EventSpec("disbursement.requested", DisbursementChanged, subject="disbursement id",
              summary="A disbursement requested."),
    EventSpec("disbursement.approved", DisbursementChanged, subject="disbursement id",
              summary="A disbursement approved: its amount is reserved."),
    EventSpec("disbursement.paid", DisbursementPaid, subject="disbursement id",
              summary="A disbursement paid: posted to the ledger (final)."),
    EventSpec("disbursement.rejected", DisbursementChanged, subject="disbursement id",
              summary="A requested disbursement rejected."),
    EventSpec("disbursement.cancelled", DisbursementChanged, subject="disbursement id",
              summary="A requested or approved disbursement cancelled: its reservation released."),
    EventSpec("entry.reversed", EntryReversed, subject="reversing entry id",
              summary="A ledger entry reversed by a new entry (at most once)."),
    EventSpec("project.approved", ProjectApproved, subject="project id",
              summary="A venture (创投) application approved as a project."),
    EventSpec("project.closed", ProjectClosed, subject="project id",
              summary="A project closed with its final report; the unspent rest returned."),
    EventSpec("contract.signed", ContractSigned, subject="contract id",
              summary="A government-purchased service contract (政府购买服务) signed."),
    EventSpec("milestone.accepted", MilestoneAccepted, subject="milestone id",
              summary="A contract milestone accepted: its payment may be requested."),
])

DONATION_RECEIVED = CONTRACT["donation.received"]
DISBURSEMENT_PAID = CONTRACT["disbursement.paid"]
