"""The charity service: nameko entrypoints only; the work is in funds, ledger,
donations, receipts, goods, disbursements, corrections, rounds, projects,
service_contracts, budgets, transparency, journal and the read models."""
from services.common import access
from services.common.errors import InvalidInput
from services.common.idempotency import HEADER, IdempotencyKey
from services.common.inbox import inbox_handler
from services.common.service import WusheService, rpc
from services.charity import (
    budgets, corrections, disbursements, donations, funds, goods, journal, ledger, projects,
    receipts, rounds, schemas, service_contracts, stations_view, subscriptions, teams_view,
    transparency,
)
from services.charity import fund_locks
from services.charity.errors import is_lack_of_funds


def money_key(caller, key, method, request):
    """Money commands need an Idempotency-Key: a retry must never move money twice."""
    if key is None:
        raise InvalidInput(f"a money command needs an {HEADER} header",
                           fields={HEADER: ["required for money commands"]})
    return IdempotencyKey.of(caller, key, method, request)


class CharityService(WusheService):
    name = "charity"

    @staticmethod
    def prepare_database(db):
        stations_view.ensure_indexes(db)
        teams_view.ensure_indexes(db)
        funds.ensure_indexes(db)
        ledger.ensure_indexes(db)
        donations.ensure_indexes(db)
        receipts.ensure_indexes(db)
        goods.ensure_indexes(db)
        disbursements.ensure_indexes(db)
        rounds.ensure_indexes(db)
        projects.ensure_indexes(db)
        service_contracts.ensure_indexes(db)

    def money(self, fn, caller, key, method, request, fund_id):
        """A money command: its Idempotency-Key kept with its answer, and "not enough
        money" kept too, so that key stays refused; one per fund at a time in this
        process (fund_locks: fewer conflicts, not the guarantee)."""
        idempotency = money_key(caller, key, method, request)
        with fund_locks.held(fund_id):
            return self.command(fn, idempotency=idempotency, keep_refusal=is_lack_of_funds)

    # -- events in --------------------------------------------------------

    @inbox_handler(subscriptions.SUBSCRIPTIONS.queue())
    def on_events(self, events):
        self.inbox.handle_all(events, subscriptions.SUBSCRIPTIONS)

    # -- read models --------------------------------------------------------

    @rpc
    def get_station(self, station_id, caller):
        return stations_view.get(self.db, station_id, caller)

    @rpc
    def get_team(self, team_id, caller):
        """A volunteer team as this service knows it (from the volunteer service's events)."""
        return teams_view.get(self.db, team_id, caller)

    # -- funds --------------------------------------------------------------

    @rpc
    def open_fund(self, data, caller, idempotency_key=None):
        data = access.load(schemas.FundCreateSchema, data)
        return self.command(lambda tx: funds.open_fund(tx, data, caller),
                            idempotency=IdempotencyKey.of(caller, idempotency_key, "open_fund", data))

    @rpc
    def get_fund(self, fund_id, caller):
        return funds.get(self.db, fund_id, caller)

    @rpc
    def list_funds(self, query, caller):
        query = access.load(schemas.FundQuerySchema, query)
        return funds.list_page(self.db, query, caller)

    @rpc
    def change_fund_status(self, fund_id, action, data, caller):
        if action not in ("freeze", "unfreeze", "close"):
            raise InvalidInput(f"unknown action {action}", fields={"action": ["freeze, unfreeze or close"]})
        data = access.load(schemas.FundStatusSchema, data or {})
        return self.command(lambda tx: funds.change_status(tx, fund_id, action, data, caller))

    @rpc
    def fund_balances(self, fund_id, caller):
        return funds.get_balances(self.db, fund_id, caller)

    @rpc
    def fund_budget(self, fund_id, caller):
        return budgets.fund_budget(self.db, fund_id, caller)

    # -- ledger -------------------------------------------------------------

    @rpc
    def list_entries(self, fund_id, query, caller):
        query = access.load(schemas.EntryQuerySchema, query)
        return journal.entries_page(self.db, fund_id, query, caller)

    @rpc
    def get_entry(self, entry_id, caller):
        return journal.get_entry(self.db, entry_id, caller)

    @rpc
    def reverse_entry(self, entry_id, data, caller, idempotency_key=None):
        data = access.load(schemas.ReverseSchema, data)
        return self.money(lambda tx: corrections.reverse_entry(tx, entry_id, data, caller),
                          caller, idempotency_key, "reverse_entry", {"entry_id": entry_id, **data},
                          ledger.fund_of_entry(self.db, entry_id))

    @rpc
    def trial_balance(self, fund_id, query, caller):
        query = access.load(schemas.PeriodQuerySchema, query)
        return journal.trial_balance(self.db, fund_id, query, caller)

    @rpc
    def export_ledger(self, fund_id, query, caller):
        query = access.load(schemas.LedgerExportQuerySchema, query)
        return journal.export(self.db, fund_id, query, caller)

    @rpc
    def check_ledger(self, query, caller):
        query = access.load(schemas.CheckQuerySchema, query or {})
        return journal.check(self.db, query, caller)

    # -- donations and receipts ---------------------------------------------

    @rpc
    def record_donation(self, data, caller, idempotency_key=None):
        data = access.load(schemas.DonationCreateSchema, data)
        return self.money(lambda tx: donations.receive(tx, data, caller),
                          caller, idempotency_key, "record_donation", data, data["fund_id"])

    @rpc
    def get_donation(self, donation_id, caller):
        return donations.get(self.db, donation_id, caller)

    @rpc
    def list_donations(self, query, caller):
        query = access.load(schemas.DonationQuerySchema, query)
        return donations.list_page(self.db, query, caller)

    @rpc
    def export_donations(self, query, caller):
        query = access.load(schemas.DonationExportQuerySchema, query)
        return donations.export(self.db, query, caller)

    @rpc
    def distribute_goods(self, fund_id, data, caller, idempotency_key=None):
        data = access.load(schemas.GoodsDistributionSchema, data)
        return self.money(lambda tx: goods.distribute(tx, fund_id, data, caller),
                          caller, idempotency_key, "distribute_goods", {"fund_id": fund_id, **data}, fund_id)

    @rpc
    def get_receipt(self, number, caller):
        return receipts.get(self.db, number, caller)

    @rpc
    def print_receipt(self, number, caller):
        return receipts.printable(self.db, number, caller)

    @rpc
    def list_receipts(self, query, caller):
        query = access.load(schemas.ReceiptQuerySchema, query)
        return receipts.list_page(self.db, query, caller)

    @rpc
    def export_receipts(self, query, caller):
        query = access.load(schemas.ReceiptExportQuerySchema, query)
        return receipts.export(self.db, query, caller)

    @rpc
    def void_receipt(self, number, data, caller):
        data = access.load(schemas.ReceiptVoidSchema, data)
        return self.command(lambda tx: receipts.void(tx, number, data, caller))

    @rpc
    def verify_receipt(self, number):
        """Public: what anyone holding the number may read (no caller)."""
        return receipts.verify(self.db, number)

    # -- disbursements ------------------------------------------------------

    @rpc
    def request_disbursement(self, data, caller, idempotency_key=None):
        data = access.load(schemas.DisbursementCreateSchema, data)
        return self.money(lambda tx: disbursements.request(tx, data, caller),
                          caller, idempotency_key, "request_disbursement", data, data["fund_id"])

    @rpc
    def approve_disbursement(self, disbursement_id, data, caller, idempotency_key=None):
        data = access.load(schemas.DisbursementStepSchema, data or {})
        return self.money(lambda tx: disbursements.approve(tx, disbursement_id, data, caller),
                          caller, idempotency_key, "approve_disbursement", {"id": disbursement_id, **data},
                          disbursements.fund_of(self.db, disbursement_id))

    @rpc
    def pay_disbursement(self, disbursement_id, data, caller, idempotency_key=None):
        data = access.load(schemas.DisbursementStepSchema, data or {})
        return self.money(lambda tx: disbursements.pay(tx, disbursement_id, data, caller),
                          caller, idempotency_key, "pay_disbursement", {"id": disbursement_id, **data},
                          disbursements.fund_of(self.db, disbursement_id))

    @rpc
    def reject_disbursement(self, disbursement_id, data, caller):
        data = access.load(schemas.DisbursementEndSchema, data)
        return self.command(lambda tx: disbursements.reject(tx, disbursement_id, data, caller))

    @rpc
    def cancel_disbursement(self, disbursement_id, data, caller):
        data = access.load(schemas.DisbursementEndSchema, data)
        return self.command(lambda tx: disbursements.cancel(tx, disbursement_id, data, caller))

    @rpc
    def get_disbursement(self, disbursement_id, caller):
        return disbursements.get(self.db, disbursement_id, caller)

    @rpc
    def list_disbursements(self, query, caller):
        query = access.load(schemas.DisbursementQuerySchema, query)
        return disbursements.list_page(self.db, query, caller)

    # -- venture rounds and projects ------------------------------------------

    @rpc
    def create_round(self, data, caller):
        data = access.load(schemas.RoundCreateSchema, data)
        return self.command(lambda tx: rounds.create(tx, data, caller))

    @rpc
    def get_round(self, round_id, caller):
        return rounds.ranking(self.db, round_id, caller)

    @rpc
    def list_rounds(self, query, caller):
        query = access.load(schemas.RoundQuerySchema, query)
        return rounds.list_page(self.db, query, caller)

    @rpc
    def submit_application(self, round_id, data, caller):
        data = access.load(schemas.ApplicationCreateSchema, data)
        return self.command(lambda tx: rounds.submit(tx, round_id, data, caller))

    @rpc
    def review_application(self, application_id, data, caller):
        data = access.load(schemas.ReviewCreateSchema, data)
        return self.command(lambda tx: rounds.review(tx, application_id, data, caller))

    @rpc
    def decide_round(self, round_id, data, caller):
        data = access.load(schemas.RoundDecideSchema, data or {})
        return self.command(lambda tx: rounds.decide(tx, round_id, data, caller))

    @rpc
    def get_project(self, project_id, caller):
        return projects.get(self.db, project_id, caller)

    @rpc
    def list_projects(self, query, caller):
        query = access.load(schemas.ProjectQuerySchema, query)
        return projects.list_page(self.db, query, caller)

    @rpc
    def file_project_report(self, project_id, data, caller):
        data = access.load(schemas.ProjectReportSchema, data)
        return self.command(lambda tx: projects.file_report(tx, project_id, data, caller))

    @rpc
    def close_project(self, project_id, data, caller, idempotency_key=None):
        data = access.load(schemas.ProjectCloseSchema, data)
        return self.money(lambda tx: projects.close(tx, project_id, data, caller),
                          caller, idempotency_key, "close_project", {"id": project_id, **data},
                          projects.fund_of(self.db, project_id))

    # -- service contracts ----------------------------------------------------

    @rpc
    def sign_contract(self, data, caller):
        data = access.load(schemas.ContractCreateSchema, data)
        return self.command(lambda tx: service_contracts.sign(tx, data, caller))

    @rpc
    def get_contract(self, contract_id, caller):
        return service_contracts.get(self.db, contract_id, caller)

    @rpc
    def list_contracts(self, query, caller):
        query = access.load(schemas.ContractQuerySchema, query)
        return service_contracts.list_page(self.db, query, caller)

    @rpc
    def accept_milestone(self, contract_id, milestone_id, data, caller):
        data = access.load(schemas.MilestoneAcceptSchema, data or {})
        return self.command(lambda tx: service_contracts.accept(tx, contract_id, milestone_id, data, caller))

    # -- the public report ----------------------------------------------------

    @rpc
    def public_report(self, fund_id, query):
        """Public: no caller; no personal data in the answer."""
        query = access.load(schemas.PeriodQuerySchema, query or {})
        return transparency.report(self.db, fund_id, query["from"], query["to"])
