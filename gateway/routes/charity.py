"""Charity routes: funds and their ledger, donations and receipts, disbursements,
venture rounds and projects, service contracts, exports, and the public receipt
check and fund report.

Each route is: an auth requirement + schema validation (`@endpoint`) + one RPC
call (`call`, which adds `caller=`) + the answer. Money commands read the
`Idempotency-Key` header and pass it on (the service refuses them without one).
Exports render the rows the service answers as CSV or XLSX (gateway/exports.py).
"""
from flask import Blueprint, request, url_for

from gateway import exports
from gateway.api import IDEMPOTENCY_KEY_SCHEMA, check_path, endpoint, load_body, page_of
from gateway.auth import ALL_ROLES, OFFICERS, STATION_WORKERS
from gateway.rpc import call
from services.charity.schemas import (
    RECEIPT_NUMBER, ApplicationCreateSchema, ApplicationSchema, BalancesSchema,
    ContractCreateSchema, ContractQuerySchema, ContractSchema, DisbursementCreateSchema,
    DisbursementEndSchema, DisbursementQuerySchema, DisbursementSchema, DisbursementStepSchema,
    DistributionSchema, DonationCreateSchema, DonationExportQuerySchema, DonationQuerySchema,
    DonationSchema, EntryQuerySchema, EntrySchema, FundBudgetSchema, FundCreateSchema,
    FundQuerySchema, FundSchema, FundStatusSchema, GoodsDistributionSchema,
    LedgerExportQuerySchema, MilestoneAcceptSchema, PeriodQuerySchema, ProjectCloseSchema,
    ProjectQuerySchema, ProjectReportSchema, ProjectSchema, PublicReceiptSchema,
    PublicReportSchema, RankingSchema, ReceiptExportQuerySchema, ReceiptPrintSchema,
    ReceiptQuerySchema, ReceiptSchema, ReceiptVoidSchema, ReverseSchema, ReviewCreateSchema,
    RoundCreateSchema, RoundDecideSchema, RoundQuerySchema, RoundSchema, TrialBalanceSchema,
)

bp = Blueprint("charity", __name__)
SERVICE = "charity"

MONEY = ("A money command: send an `Idempotency-Key` header (1-200 printable characters; "
         "a 400 without one). The same key with the same body answers the first answer again "
         "and moves nothing more; the same key with another body is a 409 naming "
         "`Idempotency-Key`; a key refused for lack of money (409 `insufficient_funds`, naming "
         "`details.available_fen`) stays refused: a new attempt needs a new key. Keys are kept "
         "7 days, per caller.")
IDEMPOTENCY_HEADER = {"Idempotency-Key": {
    "required": True, "schema": IDEMPOTENCY_KEY_SCHEMA,
    "description": "1-200 printable characters; sent again with the same body, returns the "
                   "first answer."}}
FILE_DOWNLOAD = {"text/csv": {"type": "string"},
                 exports.XLSX_TYPE: {"type": "string", "format": "binary"}}
EXPORT = ("`format=csv` (UTF-8 with BOM, opens in Excel) or `format=xlsx`; answered as a file "
          "download. Donor names, phones and ID numbers are masked unless the caller's role "
          "needs them. At most 20,000 rows: narrow the region or the period.")
RECEIPT_PATH = {"number": {"type": "string", "pattern": f"^{RECEIPT_NUMBER}$"}}
MONTHS = ("Whole months: `from` and `to` are `YYYY-MM` (or a month's first and last day); "
          "by default this year so far.")


def _key():
    return request.headers.get("Idempotency-Key")


def _optional_body(schema):
    raw = request.get_data(cache=True)
    return load_body(schema) if raw and raw.strip() else {}


def _receipt_number(number):
    return check_path("number", number, RECEIPT_NUMBER,
                      "must be a receipt number JZSJ-YYYY-<credit code>-NNNNNN")


# ---- funds ----

@bp.post("/charity/funds")
@endpoint(roles=OFFICERS, body=FundCreateSchema, response=FundSchema, status=201,
          errors=(404, 409), tags=("charity funds",), headers={"Idempotency-Key": "Optional."},
          summary="Open a community charity fund (社区慈善基金)",
          description="Belongs to a region (province, city, county or township code) or a "
                      "station known from the registry; hosted by a charitable organisation "
                      "(name and unified social credit code, check character verified); its "
                      "management committee has at least 5 members, an odd number, exactly one "
                      "supervisor. An optional opening balance is posted Dr cash, Cr net assets.")
def open_fund(body):
    fund = call(SERVICE, "open_fund", body, idempotency_key=_key())
    return fund, {"Location": url_for(".get_fund", fund_id=fund["id"])}


@bp.get("/charity/funds")
@endpoint(roles=ALL_ROLES, query=FundQuerySchema, response=page_of(FundSchema),
          tags=("charity funds",), summary="List funds in a region, with their balances")
def list_funds(query):
    return call(SERVICE, "list_funds", query)


@bp.get("/charity/funds/<fund_id>")
@endpoint(roles=ALL_ROLES, response=FundSchema, errors=(404,), tags=("charity funds",),
          summary="One fund, with its balances",
          description="Cash posted, reserved (approved, unpaid disbursements), available, and "
                      "goods in kind at their recorded value (kept apart from cash): kept with "
                      "every entry, not summed when asked.")
def get_fund(fund_id):
    return call(SERVICE, "get_fund", fund_id)


@bp.get("/charity/funds/<fund_id>/balances")
@endpoint(roles=ALL_ROLES, response=BalancesSchema, errors=(404,), tags=("charity ledger",),
          summary="A fund's balance on every account of its chart")
def fund_balances(fund_id):
    return call(SERVICE, "fund_balances", fund_id)


@bp.get("/charity/funds/<fund_id>/budget")
@endpoint(roles=ALL_ROLES, response=FundBudgetSchema, errors=(404,), tags=("charity funds",),
          summary="Budget against actual: per round, project, contract and the fund")
def fund_budget(fund_id):
    return call(SERVICE, "fund_budget", fund_id)


def _status_route(action, summary, description):
    @endpoint(roles=OFFICERS, response=FundSchema, errors=(404, 409), tags=("charity funds",),
              summary=summary, description=description + " The body is optional: "
                                                         "`{\"reason\": \"...\"}`.")
    def change(fund_id):
        return call(SERVICE, "change_fund_status", fund_id, action, _optional_body(FundStatusSchema))

    change.__name__ = f"{action}_fund"
    bp.post(f"/charity/funds/<fund_id>/{action}")(change)


_status_route("freeze", "Freeze a fund", "open -> frozen: no donation is taken and nothing is paid.")
_status_route("unfreeze", "Unfreeze a fund", "frozen -> open.")
_status_route("close", "Close a fund (final)",
              "Only at a zero balance on every asset and liability account, with nothing "
              "reserved and no disbursement waiting; otherwise a 409 naming the balances.")


# ---- ledger ----

@bp.get("/charity/funds/<fund_id>/entries")
@endpoint(roles=ALL_ROLES, query=EntryQuerySchema, response=page_of(EntrySchema), errors=(404,),
          tags=("charity ledger",), summary="A fund's journal entries (oldest first)",
          description="Each entry is two or more postings in fen whose debits equal their credits. "
                      "Entries are never changed; `reversed_by` names the entry that reversed one.")
def list_entries(fund_id, query):
    return call(SERVICE, "list_entries", fund_id, query)


@bp.get("/charity/funds/<fund_id>/entries/export")
@endpoint(roles=ALL_ROLES, query=LedgerExportQuerySchema, errors=(404,), tags=("charity ledger",),
          response_content=FILE_DOWNLOAD, summary="Export a fund's ledger (one row per posting)",
          description=EXPORT)
def export_ledger(fund_id, query):
    result = call(SERVICE, "export_ledger", fund_id, query)
    return exports.download(result, query.get("format", "csv"), "ledger")


@bp.get("/charity/funds/<fund_id>/trial-balance")
@endpoint(roles=ALL_ROLES, query=PeriodQuerySchema, response=TrialBalanceSchema, errors=(404,),
          tags=("charity ledger",), summary="A fund's trial balance for a period",
          description="Per account: opening, debits, credits, closing; debits = credits. " + MONTHS)
def trial_balance(fund_id, query):
    return call(SERVICE, "trial_balance", fund_id, query)


@bp.get("/charity/entries/<entry_id>")
@endpoint(roles=ALL_ROLES, response=EntrySchema, errors=(404,), tags=("charity ledger",),
          summary="One journal entry")
def get_entry(entry_id):
    return call(SERVICE, "get_entry", entry_id)


@bp.post("/charity/entries/<entry_id>/reverse")
@endpoint(roles=OFFICERS, body=ReverseSchema, response=EntrySchema, status=201, errors=(404, 409),
          tags=("charity ledger",), headers=IDEMPOTENCY_HEADER,
          summary="Reverse an entry (冲销): a new entry of the opposite postings",
          description="At most once per entry (a second is a 409 naming `details.reversed_by`); a "
                      "reversal is not itself reversed. Reversing a donation voids its receipt; "
                      "reversing a payment gives its tranche or milestone back. " + MONEY)
def reverse_entry(entry_id, body):
    return call(SERVICE, "reverse_entry", entry_id, body, idempotency_key=_key())


# ---- donations and goods ----

@bp.post("/charity/donations")
@endpoint(roles=STATION_WORKERS, body=DonationCreateSchema, response=DonationSchema, status=201,
          errors=(404, 409), tags=("charity donations",), headers=IDEMPOTENCY_HEADER,
          summary="Record a donation in money or in kind, with its receipt",
          description="Money: `amount_fen`, `channel`, `payer_reference`. In kind: `items` (name, "
                      "quantity, unit, value_fen) and `valuation` (basis, valued_by). The donor is a "
                      "person, an organisation or anonymous; `consent_public` lets the public report "
                      "name them. A receipt (捐赠收据) is issued at once. " + MONEY)
def record_donation(body):
    donation = call(SERVICE, "record_donation", body, idempotency_key=_key())
    return donation, {"Location": url_for(".get_donation", donation_id=donation["id"])}


@bp.get("/charity/donations")
@endpoint(roles=ALL_ROLES, query=DonationQuerySchema, response=page_of(DonationSchema),
          tags=("charity donations",), summary="List donations (newest first)")
def list_donations(query):
    return call(SERVICE, "list_donations", query)


@bp.get("/charity/donations/export")
@endpoint(roles=ALL_ROLES, query=DonationExportQuerySchema, tags=("charity donations",),
          response_content=FILE_DOWNLOAD, summary="Export donations as CSV or Excel",
          description=EXPORT)
def export_donations(query):
    result = call(SERVICE, "export_donations", query)
    return exports.download(result, query.get("format", "csv"), "donations")


@bp.get("/charity/donations/<donation_id>")
@endpoint(roles=ALL_ROLES, response=DonationSchema, errors=(404,), tags=("charity donations",),
          summary="One donation")
def get_donation(donation_id):
    return call(SERVICE, "get_donation", donation_id)


@bp.post("/charity/funds/<fund_id>/distributions")
@endpoint(roles=STATION_WORKERS, body=GoodsDistributionSchema, response=DistributionSchema,
          status=201, errors=(404, 409), tags=("charity donations",), headers=IDEMPOTENCY_HEADER,
          summary="Give out goods in kind (Dr in-kind expense, Cr goods held)",
          description="Never more value than the fund holds in kind (409). " + MONEY)
def distribute_goods(fund_id, body):
    return call(SERVICE, "distribute_goods", fund_id, body, idempotency_key=_key())


# ---- receipts ----

@bp.get("/charity/receipts")
@endpoint(roles=ALL_ROLES, query=ReceiptQuerySchema, response=page_of(ReceiptSchema),
          tags=("charity receipts",), summary="List receipts")
def list_receipts(query):
    return call(SERVICE, "list_receipts", query)


@bp.get("/charity/receipts/export")
@endpoint(roles=ALL_ROLES, query=ReceiptExportQuerySchema, tags=("charity receipts",),
          response_content=FILE_DOWNLOAD, summary="Export receipts as CSV or Excel",
          description=EXPORT)
def export_receipts(query):
    result = call(SERVICE, "export_receipts", query)
    return exports.download(result, query.get("format", "csv"), "receipts")


@bp.get("/charity/receipts/<number>")
@endpoint(roles=ALL_ROLES, response=ReceiptSchema, errors=(404,), tags=("charity receipts",),
          path_params=RECEIPT_PATH, summary="One receipt")
def get_receipt(number):
    return call(SERVICE, "get_receipt", _receipt_number(number))


@bp.get("/charity/receipts/<number>/print")
@endpoint(roles=ALL_ROLES, response=ReceiptPrintSchema, errors=(404,), tags=("charity receipts",),
          path_params=RECEIPT_PATH, summary="What a printed receipt page shows",
          description="Title, number, dates, donor (匿名 if anonymous), property kind and lines, "
                      "the amount in figures and in words (大写), the receiving organisation, the "
                      "handler; `watermark` 作废 on a voided one.")
def print_receipt(number):
    return call(SERVICE, "print_receipt", _receipt_number(number))


@bp.post("/charity/receipts/<number>/void")
@endpoint(roles=STATION_WORKERS, body=ReceiptVoidSchema, response=ReceiptSchema, errors=(404, 409),
          tags=("charity receipts",), path_params=RECEIPT_PATH,
          summary="Void a receipt (never deleted), optionally issuing its replacement",
          description="The void is recorded (who, when, why) and published. With `reissue: true` "
                      "(and an optional corrected `donor_name`) a new number replaces it; the "
                      "answer is then the new receipt.")
def void_receipt(number, body):
    return call(SERVICE, "void_receipt", _receipt_number(number), body)


@bp.get("/public/receipts/<number>")
@endpoint(roles=None, response=PublicReceiptSchema, errors=(404,), tags=("public",),
          path_params=RECEIPT_PATH, summary="Check a receipt number (no token needed)",
          description="Answers only the masked donor, the amount, the date, the organisation and "
                      "whether it is valid or voided.")
def verify_receipt(number):
    return call(SERVICE, "verify_receipt", _receipt_number(number))


# ---- disbursements ----

@bp.post("/charity/disbursements")
@endpoint(roles=STATION_WORKERS, body=DisbursementCreateSchema, response=DisbursementSchema,
          status=201, errors=(404, 409), tags=("charity disbursements",), headers=IDEMPOTENCY_HEADER,
          summary="Request a disbursement (purpose, payee, amount, documents)",
          description="A project tranche (`project_id`) or a contract milestone payment "
                      "(`contract_id` + `milestone_id`, accepted) is held against the project's "
                      "budget or the milestone's amount from the request on. " + MONEY)
def request_disbursement(body):
    disbursement = call(SERVICE, "request_disbursement", body, idempotency_key=_key())
    return disbursement, {"Location": url_for(".get_disbursement", disbursement_id=disbursement["id"])}


@bp.get("/charity/disbursements")
@endpoint(roles=ALL_ROLES, query=DisbursementQuerySchema, response=page_of(DisbursementSchema),
          tags=("charity disbursements",), summary="List disbursements (newest first)")
def list_disbursements(query):
    return call(SERVICE, "list_disbursements", query)


@bp.get("/charity/disbursements/<disbursement_id>")
@endpoint(roles=ALL_ROLES, response=DisbursementSchema, errors=(404,), tags=("charity disbursements",),
          summary="One disbursement, with its history")
def get_disbursement(disbursement_id):
    return call(SERVICE, "get_disbursement", disbursement_id)


@bp.post("/charity/disbursements/<disbursement_id>/approve")
@endpoint(roles=OFFICERS, response=DisbursementSchema, errors=(404, 409),
          tags=("charity disbursements",), headers=IDEMPOTENCY_HEADER,
          summary="Approve a requested disbursement: its amount is reserved",
          description="Never by its requester (409). The money stops being available now, not at "
                      "payment: a fund's available cash never goes below zero, across any number "
                      "of replicas (a conditional write in the approval's transaction). The body "
                      "is optional: `{\"note\": \"...\"}`. " + MONEY)
def approve_disbursement(disbursement_id):
    return call(SERVICE, "approve_disbursement", disbursement_id,
                _optional_body(DisbursementStepSchema), idempotency_key=_key())


@bp.post("/charity/disbursements/<disbursement_id>/pay")
@endpoint(roles=OFFICERS, response=DisbursementSchema, errors=(404, 409),
          tags=("charity disbursements",), headers=IDEMPOTENCY_HEADER,
          summary="Pay an approved disbursement: posted to the ledger (final)",
          description="A mistake is then corrected by reversing its entry. The body is optional: "
                      "`{\"payment_reference\": \"...\", \"note\": \"...\"}`. " + MONEY)
def pay_disbursement(disbursement_id):
    return call(SERVICE, "pay_disbursement", disbursement_id,
                _optional_body(DisbursementStepSchema), idempotency_key=_key())


@bp.post("/charity/disbursements/<disbursement_id>/reject")
@endpoint(roles=OFFICERS, body=DisbursementEndSchema, response=DisbursementSchema, errors=(404, 409),
          tags=("charity disbursements",), summary="Reject a disbursement, with a reason",
          description="From requested or approved; an approved one's reservation is released.")
def reject_disbursement(disbursement_id, body):
    return call(SERVICE, "reject_disbursement", disbursement_id, body)


@bp.post("/charity/disbursements/<disbursement_id>/cancel")
@endpoint(roles=STATION_WORKERS, body=DisbursementEndSchema, response=DisbursementSchema,
          errors=(404, 409), tags=("charity disbursements",),
          summary="Cancel a disbursement (its requester, or an officer)",
          description="From requested or approved; an approved one's reservation is released.")
def cancel_disbursement(disbursement_id, body):
    return call(SERVICE, "cancel_disbursement", disbursement_id, body)


# ---- venture rounds and projects ----

@bp.post("/charity/rounds")
@endpoint(roles=OFFICERS, body=RoundCreateSchema, response=RoundSchema, status=201, errors=(404, 409),
          tags=("charity ventures",), summary="Open a micro-charity venture round (微公益创投)",
          description="A fund, a budget, a call period, criteria with weights summing to 100, "
                      "the grant range per project, and the reviewers.")
def create_round(body):
    round_ = call(SERVICE, "create_round", body)
    return round_, {"Location": url_for(".get_round", round_id=round_["id"])}


@bp.get("/charity/rounds")
@endpoint(roles=ALL_ROLES, query=RoundQuerySchema, response=page_of(RoundSchema),
          tags=("charity ventures",), summary="List venture rounds")
def list_rounds(query):
    return call(SERVICE, "list_rounds", query)


@bp.get("/charity/rounds/<round_id>")
@endpoint(roles=ALL_ROLES, response=RankingSchema, errors=(404,), tags=("charity ventures",),
          summary="A round with its applications, ranked by score")
def get_round(round_id):
    return call(SERVICE, "get_round", round_id)


@bp.post("/charity/rounds/<round_id>/applications")
@endpoint(roles=STATION_WORKERS, body=ApplicationCreateSchema, response=ApplicationSchema,
          status=201, errors=(404, 409), tags=("charity ventures",),
          summary="Submit an application (a community, a community organisation or a volunteer team)",
          description="During the call period; a budget by line within the round's grant range; "
                      "a volunteer team must be known from the volunteer service's events.")
def submit_application(round_id, body):
    return call(SERVICE, "submit_application", round_id, body)


@bp.post("/charity/applications/<application_id>/reviews")
@endpoint(roles=STATION_WORKERS, body=ReviewCreateSchema, response=ApplicationSchema, status=201,
          errors=(403, 404, 409), tags=("charity ventures",),
          summary="Score an application on every criterion (a reviewer of the round)",
          description="Once per reviewer; a reviewer does not review an application of their own "
                      "organisation (409).")
def review_application(application_id, body):
    return call(SERVICE, "review_application", application_id, body)


@bp.post("/charity/rounds/<round_id>/decide")
@endpoint(roles=OFFICERS, response=RankingSchema, errors=(404, 409), tags=("charity ventures",),
          summary="Decide a round: rank by score and approve within its budget",
          description="Down the ranking, every application that still fits the budget and reaches "
                      "the minimum score becomes a project. Final.")
def decide_round(round_id):
    return call(SERVICE, "decide_round", round_id, _optional_body(RoundDecideSchema))


@bp.get("/charity/projects")
@endpoint(roles=ALL_ROLES, query=ProjectQuerySchema, response=page_of(ProjectSchema),
          tags=("charity ventures",), summary="List venture projects")
def list_projects(query):
    return call(SERVICE, "list_projects", query)


@bp.get("/charity/projects/<project_id>")
@endpoint(roles=ALL_ROLES, response=ProjectSchema, errors=(404,), tags=("charity ventures",),
          summary="One project: budget against actual, tranches, reports")
def get_project(project_id):
    return call(SERVICE, "get_project", project_id)


@bp.post("/charity/projects/<project_id>/reports")
@endpoint(roles=STATION_WORKERS, body=ProjectReportSchema, response=ProjectSchema, status=201,
          errors=(404, 409), tags=("charity ventures",),
          summary="File a progress report against a milestone")
def file_project_report(project_id, body):
    return call(SERVICE, "file_project_report", project_id, body)


@bp.post("/charity/projects/<project_id>/close")
@endpoint(roles=OFFICERS, body=ProjectCloseSchema, response=ProjectSchema, errors=(404, 409),
          tags=("charity ventures",), headers=IDEMPOTENCY_HEADER,
          summary="Close a project with its final report; what it did not spend returns to the fund",
          description="Spending by budget line, at most what was paid; one entry: Dr grant "
                      "expense (spent), Dr cash (returned), Cr project advances (paid). " + MONEY)
def close_project(project_id, body):
    return call(SERVICE, "close_project", project_id, body, idempotency_key=_key())


# ---- service contracts ----

@bp.post("/charity/contracts")
@endpoint(roles=OFFICERS, body=ContractCreateSchema, response=ContractSchema, status=201,
          errors=(404, 409), tags=("charity contracts",),
          summary="Sign a government-purchased service contract (政府购买服务)",
          description="Purchaser, provider (a social work service organisation, possibly a "
                      "station's operator), amount, period, milestones adding up to the amount.")
def sign_contract(body):
    contract = call(SERVICE, "sign_contract", body)
    return contract, {"Location": url_for(".get_contract", contract_id=contract["id"])}


@bp.get("/charity/contracts")
@endpoint(roles=ALL_ROLES, query=ContractQuerySchema, response=page_of(ContractSchema),
          tags=("charity contracts",), summary="List service contracts")
def list_contracts(query):
    return call(SERVICE, "list_contracts", query)


@bp.get("/charity/contracts/<contract_id>")
@endpoint(roles=ALL_ROLES, response=ContractSchema, errors=(404,), tags=("charity contracts",),
          summary="One contract with its milestones: amount, accepted, paid")
def get_contract(contract_id):
    return call(SERVICE, "get_contract", contract_id)


@bp.post("/charity/contracts/<contract_id>/milestones/<milestone_id>/accept")
@endpoint(roles=OFFICERS, response=ContractSchema, errors=(404, 409), tags=("charity contracts",),
          summary="Accept a milestone (验收): its amount becomes payable",
          description="Posted Dr service expense, Cr payable; its payment is then a disbursement "
                      "naming the milestone. The body is optional: `{\"note\": \"...\"}`.")
def accept_milestone(contract_id, milestone_id):
    return call(SERVICE, "accept_milestone", contract_id, milestone_id,
                _optional_body(MilestoneAcceptSchema))


# ---- the public report ----

@bp.get("/public/funds/<fund_id>/report")
@endpoint(roles=None, query=PeriodQuerySchema, response=PublicReportSchema, errors=(404,),
          tags=("public",), summary="A fund's public report for a period (no token needed)",
          description="Income by month and source kind; donors by name only where they consented "
                      "(others as 爱心人士); spending by project, contract and purpose; projects "
                      "with budgets, spending, reports and what ended ones left and where it went; "
                      "goods in kind at their value; the balance at both ends. Read from the "
                      "ledger's rollups: it reconciles with the ledger to the fen (`checks`). "
                      + MONTHS)
def public_report(fund_id, query):
    return call(SERVICE, "public_report", fund_id, query)
