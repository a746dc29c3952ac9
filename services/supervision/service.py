"""The supervision service: nameko entrypoints only; the work is in the modules
named by each method (see docs/supervision.md for the layout)."""

from nameko.timer import timer

from services.common import access
from services.common.clock import utcnow
from services.common.errors import InvalidInput
from services.common.idempotency import IdempotencyKey
from services.common.inbox import inbox_handler
from services.common.service import CLOCK_SKEW_SECONDS, WusheService, rpc
from services.supervision import (
    campaigns, checklists, compliance_calendar, due_jobs, escalations, findings, inspections,
    rectifications, reports, roles, schemas, scorecard, sessions, settings, stations_view,
    subscriptions, supervised_quarters, supervisors,
)

class SupervisionService(WusheService):
    name = "supervision"

    @staticmethod
    def prepare_database(db):
        for module in (stations_view, supervisors, sessions, supervised_quarters, checklists,
                       inspections, findings, rectifications, escalations, campaigns, reports,
                       scorecard, due_jobs):
            module.ensure_indexes(db)

    # -- events in, and the scheduled job ----------------------------------------------

    @inbox_handler(subscriptions.SUBSCRIPTIONS.queue())
    def on_events(self, events):
        # One batch at a time per process (services/common/inbox.py): events of one
        # city, which add to the same scorecard documents, never race here.
        self.inbox.handle_all(events, subscriptions.SUBSCRIPTIONS)

    @timer(interval=settings.due_check_seconds())
    def mark_what_is_overdue(self):
        due_jobs.run(self.db, self.command)

    @rpc
    def run_due_jobs(self, data, caller):
        """The scheduled job now, or as of a past instant (system caller only)."""
        roles.ensure_system(caller)
        data = access.load(schemas.DueRunSchema, data or {})
        now = utcnow()
        as_of = data.get("as_of") or now
        if (as_of - now).total_seconds() > CLOCK_SKEW_SECONDS:
            raise InvalidInput("as_of must not be in the future", fields={"as_of": ["in the future"]})
        return due_jobs.run(self.db, self.command, as_of)

    # -- stations known from the registry ------------------------------------------------

    @rpc
    def get_station(self, station_id, caller):
        return stations_view.view(stations_view.load(self.db, station_id, caller))

    # -- supervisors ----------------------------------------------------------------------

    @rpc
    def register_supervisor(self, data, caller):
        data = access.load(schemas.SupervisorCreateSchema, data)
        return self.command(lambda tx: supervisors.register(tx, data, caller))

    @rpc
    def update_supervisor(self, supervisor_id, data, caller):
        data = access.load(schemas.SupervisorUpdateSchema, data)
        return self.command(lambda tx: supervisors.update(tx, supervisor_id, data, caller))

    @rpc
    def get_supervisor(self, supervisor_id, caller):
        return supervisors.get(self.db, supervisor_id, caller)

    @rpc
    def list_supervisors(self, query, caller):
        return supervisors.list_page(self.db, access.load(schemas.SupervisorQuerySchema, query), caller)

    @rpc
    def export_supervisors(self, query, caller):
        return supervisors.export(self.db, access.load(schemas.SupervisorExportQuerySchema, query), caller)

    # -- sessions and the quarterly rule ---------------------------------------------------

    @rpc
    def record_session(self, data, caller, idempotency_key=None):
        data = access.load(schemas.SessionCreateSchema, data)
        return self.command(lambda tx: sessions.record(tx, data, caller),
                            idempotency=IdempotencyKey.of(caller, idempotency_key, "record_session", data))

    @rpc
    def get_session(self, session_id, caller):
        return sessions.get(self.db, session_id, caller)

    @rpc
    def list_sessions(self, query, caller):
        return sessions.list_page(self.db, access.load(schemas.SessionQuerySchema, query), caller)

    @rpc
    def export_sessions(self, query, caller):
        return sessions.export(self.db, access.load(schemas.SessionExportQuerySchema, query), caller)

    @rpc
    def supervision_gaps(self, query, caller):
        return sessions.gaps(self.db, access.load(schemas.GapQuerySchema, query), caller)

    @rpc
    def export_supervision_gaps(self, query, caller):
        return sessions.export_gaps(self.db, access.load(schemas.GapExportQuerySchema, query), caller)

    # -- checklists and inspections ----------------------------------------------------------

    @rpc
    def publish_checklist(self, data, caller):
        data = access.load(schemas.ChecklistPublishSchema, data)
        return self.command(lambda tx: checklists.publish(tx, data, caller))

    @rpc
    def get_checklist(self, code, version, caller):
        return checklists.get(self.db, code, version, caller)

    @rpc
    def list_checklists(self, query, caller):
        return checklists.list_page(self.db, access.load(schemas.ChecklistQuerySchema, query), caller)

    @rpc
    def create_inspection(self, data, caller, idempotency_key=None):
        data = access.load(schemas.InspectionCreateSchema, data)
        return self.command(lambda tx: inspections.create(tx, data, caller),
                            idempotency=IdempotencyKey.of(caller, idempotency_key, "create_inspection",
                                                          data))

    @rpc
    def get_inspection(self, inspection_id, caller):
        return inspections.get(self.db, inspection_id, caller)

    @rpc
    def list_inspections(self, query, caller):
        return inspections.list_page(self.db, access.load(schemas.InspectionQuerySchema, query), caller)

    @rpc
    def export_inspections(self, query, caller):
        return inspections.export(self.db, access.load(schemas.InspectionExportQuerySchema, query), caller)

    @rpc
    def score_inspection(self, inspection_id, data, caller):
        data = access.load(schemas.InspectionScoresSchema, data)
        return self.command(lambda tx: inspections.score(tx, inspection_id, data, caller))

    @rpc
    def complete_inspection(self, inspection_id, data, caller):
        data = access.load(schemas.InspectionCompleteSchema, data or {})
        return self.command(lambda tx: inspections.complete(tx, inspection_id, data, caller))

    @rpc
    def raise_finding(self, inspection_id, data, caller, idempotency_key=None):
        data = access.load(schemas.FindingCreateSchema, data)
        return self.command(lambda tx: findings.raise_finding(tx, inspection_id, data, caller),
                            idempotency=IdempotencyKey.of(caller, idempotency_key, "raise_finding",
                                                          {"inspection_id": inspection_id, **data}))

    @rpc
    def inspector_stations(self, query, caller):
        return inspections.assigned_to(self.db, access.load(schemas.PageQuerySchema, query or {}), caller)

    # -- mutual inspection campaigns ----------------------------------------------------------

    @rpc
    def open_campaign(self, data, caller):
        data = access.load(schemas.CampaignCreateSchema, data)
        return self.command(lambda tx: campaigns.open_campaign(tx, data, caller))

    @rpc
    def get_campaign(self, campaign_id, caller):
        return campaigns.get(self.db, campaign_id, caller)

    @rpc
    def list_campaigns(self, query, caller):
        return campaigns.list_page(self.db, access.load(schemas.CampaignQuerySchema, query), caller)

    @rpc
    def preview_assignment(self, campaign_id, data, caller):
        data = access.load(schemas.AssignmentRequestSchema, data)
        return campaigns.preview(self.db, campaign_id, data, caller)

    @rpc
    def confirm_assignment(self, campaign_id, data, caller):
        data = access.load(schemas.AssignmentRequestSchema, data)
        return self.command(lambda tx: campaigns.confirm(tx, campaign_id, data, caller))

    @rpc
    def get_assignment(self, campaign_id, caller):
        return campaigns.get_assignment(self.db, campaign_id, caller)

    # -- rectification -------------------------------------------------------------------------

    @rpc
    def list_rectifications(self, query, caller):
        return rectifications.list_page(self.db, access.load(schemas.RectificationQuerySchema, query), caller)

    @rpc
    def export_rectifications(self, query, caller):
        return rectifications.export(self.db, access.load(schemas.RectificationExportQuerySchema, query),
                                     caller)

    @rpc
    def get_rectification(self, item_id, caller):
        return rectifications.get(self.db, item_id, caller)

    @rpc
    def start_rectification(self, item_id, data, caller):
        data = access.load(schemas.RectificationStartSchema, data or {})
        return self.command(lambda tx: rectifications.change(tx, item_id, "in_progress", data, caller))

    @rpc
    def submit_rectification(self, item_id, data, caller):
        data = access.load(schemas.RectificationSubmitSchema, data)
        return self.command(lambda tx: rectifications.change(tx, item_id, "submitted", data, caller))

    @rpc
    def close_rectification(self, item_id, data, caller):
        data = access.load(schemas.RectificationCloseSchema, data or {})
        return self.command(lambda tx: rectifications.change(tx, item_id, "closed", data, caller))

    @rpc
    def reopen_rectification(self, item_id, data, caller):
        data = access.load(schemas.RectificationReopenSchema, data)
        return self.command(lambda tx: rectifications.change(tx, item_id, "reopened", data, caller))

    @rpc
    def list_escalations(self, query, caller):
        return escalations.list_page(self.db, access.load(schemas.EscalationQuerySchema, query), caller)

    @rpc
    def export_escalations(self, query, caller):
        return escalations.export(self.db, access.load(schemas.EscalationExportQuerySchema, query), caller)

    # -- monthly reports ---------------------------------------------------------------------------

    @rpc
    def get_report(self, station_id, month, caller):
        return reports.get(self.db, station_id, month, caller)

    @rpc
    def submit_report(self, station_id, month, data, caller):
        data = access.load(schemas.ReportSubmitSchema, data)
        return self.command(lambda tx: reports.submit(tx, station_id, month, data, caller))

    @rpc
    def return_report(self, station_id, month, data, caller):
        data = access.load(schemas.ReportReturnSchema, data)
        return self.command(lambda tx: reports.return_report(tx, station_id, month, data, caller))

    @rpc
    def list_reports(self, query, caller):
        return reports.list_page(self.db, access.load(schemas.ReportQuerySchema, query), caller)

    @rpc
    def export_reports(self, query, caller):
        return reports.export(self.db, access.load(schemas.ReportExportQuerySchema, query), caller)

    # -- the calendar and scorecards -------------------------------------------------------------

    @rpc
    def compliance_calendar(self, query, caller):
        return compliance_calendar.calendar(self.db, access.load(schemas.CalendarQuerySchema, query),
                                            caller)

    @rpc
    def scorecard(self, query, caller):
        return scorecard.card(self.db, access.load(schemas.ScorecardQuerySchema, query), caller)

    @rpc
    def rankings(self, query, caller):
        return scorecard.rankings(self.db, access.load(schemas.RankingQuerySchema, query), caller)

    @rpc
    def export_rankings(self, query, caller):
        return scorecard.export_rankings(self.db, access.load(schemas.RankingExportQuerySchema, query),
                                         caller)
