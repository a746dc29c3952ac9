"""The volunteer service: nameko entrypoints only. Each validates its input and
runs one command (`self.command`) or one query; the work, and the region
checks, are in the domain modules. An import is the one request of several
commands: a batch of rows each, then its report (imports.py)."""

from services.common import access
from services.common.idempotency import IdempotencyKey
from services.common.inbox import inbox_handler
from services.common.service import WusheService, rpc
from services.volunteer import (
    activities, certificates, hour_records, hours_decisions, hours_recording, hours_views, imports,
    schemas, settings, stations_view, subscriptions, teams, totals, volunteers,
)


class VolunteerService(WusheService):
    name = "volunteer"

    @staticmethod
    def prepare_database(db):
        settings.warn_if_development_key()
        stations_view.ensure_indexes(db)
        volunteers.ensure_indexes(db)
        teams.ensure_indexes(db)
        activities.ensure_indexes(db)
        hour_records.ensure_indexes(db)
        certificates.ensure_indexes(db)
        totals.ensure_indexes(db)

    # -- events in --------------------------------------------------------

    @inbox_handler(subscriptions.SUBSCRIPTIONS.queue())
    def on_events(self, events):
        # One batch at a time per process (services/common/inbox.py): the hours
        # events, which all increment the same region totals, never race here.
        self.inbox.handle_all(events, subscriptions.SUBSCRIPTIONS)

    # -- stations known from the registry ---------------------------------

    @rpc
    def get_station(self, station_id, caller):
        """The station as this service knows it (from the registry's events)."""
        return stations_view.get(self.db, station_id, caller)

    # -- volunteers -------------------------------------------------------

    @rpc
    def register_volunteer(self, data, caller):
        data = access.load(schemas.VolunteerCreateSchema, data)
        return self.command(lambda tx: volunteers.register(tx, data, caller))

    @rpc
    def lookup_volunteer(self, data, caller):
        data = access.load(schemas.VolunteerLookupSchema, data)
        return volunteers.lookup(self.db, data["id_number"], caller)

    @rpc
    def get_volunteer(self, number, caller):
        return volunteers.get(self.db, number, caller)

    @rpc
    def update_volunteer(self, number, data, caller):
        data = access.load(schemas.VolunteerUpdateSchema, data)
        return self.command(lambda tx: volunteers.update(tx, number, data, caller))

    @rpc
    def list_volunteers(self, query, caller):
        query = access.load(schemas.VolunteerQuerySchema, query)
        return volunteers.list_page(self.db, query, caller)

    @rpc
    def export_volunteers(self, query, caller):
        query = access.load(schemas.VolunteerExportQuerySchema, query)
        return volunteers.export(self.db, query, caller)

    # -- teams ------------------------------------------------------------

    @rpc
    def create_team(self, data, caller):
        data = access.load(schemas.TeamCreateSchema, data)
        return self.command(lambda tx: teams.create(tx, data, caller))

    @rpc
    def get_team(self, team_id, caller):
        return teams.get(self.db, team_id, caller)

    @rpc
    def list_teams(self, query, caller):
        query = access.load(schemas.TeamQuerySchema, query)
        return teams.list_page(self.db, query, caller)

    @rpc
    def add_team_member(self, team_id, data, caller):
        data = access.load(schemas.TeamMemberCreateSchema, data)
        return self.command(lambda tx: teams.add_member(tx, team_id, data, caller))

    @rpc
    def remove_team_member(self, team_id, number, caller):
        self.command(lambda tx: teams.remove_member(tx, team_id, number, caller))

    @rpc
    def list_team_members(self, team_id, query, caller):
        query = access.load(schemas.PageQuerySchema, query)
        return teams.members_page(self.db, team_id, query, caller)

    # -- activities -------------------------------------------------------

    @rpc
    def create_activity(self, data, caller):
        data = access.load(schemas.ActivityCreateSchema, data)
        return self.command(lambda tx: activities.create(tx, data, caller))

    @rpc
    def get_activity(self, activity_id, caller):
        return activities.get(self.db, activity_id, caller)

    @rpc
    def list_activities(self, query, caller):
        query = access.load(schemas.ActivityQuerySchema, query)
        return activities.list_page(self.db, query, caller)

    # -- hour records -----------------------------------------------------

    @rpc
    def record_hours(self, data, caller, idempotency_key=None):
        data = access.load(schemas.HoursRecordSchema, data)
        return self.command(lambda tx: hours_recording.record_one(tx, data, caller),
                            idempotency=IdempotencyKey.of(caller, idempotency_key, "record_hours", data))

    @rpc
    def import_hours(self, upload, caller, idempotency_key=None):
        """upload: {"content": base64, "content_type", "filename"}."""
        sheet = imports.read(self.db, upload, caller, idempotency_key)
        for record_batch in sheet.batches():    # a transaction per batch of rows
            self.command(record_batch)
        return self.command(sheet.report, idempotency=sheet.key)

    @rpc
    def approve_hours(self, record_id, data, caller):
        data = access.load(schemas.HoursApproveSchema, data or {})
        return self.command(lambda tx: hours_decisions.approve(tx, record_id, data, caller))

    @rpc
    def approve_hours_batch(self, data, caller):
        data = access.load(schemas.HoursBatchApproveSchema, data)
        return self.command(lambda tx: hours_decisions.approve_many(tx, data, caller))

    @rpc
    def reject_hours(self, record_id, data, caller):
        data = access.load(schemas.HoursRejectSchema, data)
        return self.command(lambda tx: hours_decisions.reject(tx, record_id, data, caller))

    @rpc
    def correct_hours(self, record_id, data, caller):
        data = access.load(schemas.HoursCorrectionSchema, data)
        return self.command(lambda tx: hours_decisions.correct(tx, record_id, data, caller))

    @rpc
    def get_hours(self, record_id, caller):
        return hours_views.get(self.db, record_id, caller)

    @rpc
    def list_hours(self, query, caller):
        query = access.load(schemas.HoursQuerySchema, query)
        return hours_views.list_page(self.db, query, caller)

    @rpc
    def export_hours(self, query, caller):
        query = access.load(schemas.HoursExportQuerySchema, query)
        return hours_views.export(self.db, query, caller)

    # -- totals (read model) ----------------------------------------------

    @rpc
    def hours_totals(self, query, caller):
        query = access.load(schemas.TotalsQuerySchema, query)
        return totals.totals(self.db, query, caller)

    # -- certificates -----------------------------------------------------

    @rpc
    def issue_certificate(self, data, caller):
        data = access.load(schemas.CertificateCreateSchema, data)
        return self.command(lambda tx: certificates.issue(tx, data, caller))

    @rpc
    def get_certificate(self, number, caller):
        return certificates.get(self.db, number, caller)

    @rpc
    def list_certificates(self, query, caller):
        query = access.load(schemas.CertificateQuerySchema, query)
        return certificates.list_page(self.db, query, caller)

    @rpc
    def verify_certificate(self, number):
        """Public: what anyone holding the number may read (no caller)."""
        return certificates.verify(self.db, number)
