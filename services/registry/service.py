"""The registry service: nameko entrypoints only; the work is in stations,
divisions, division_import, coverage, station_import and station_exports. An
import is the one request of several commands: a batch of stations each
(station_import.py)."""
from services.common import access
from services.common.inbox import inbox_handler
from services.common.service import WusheService, rpc
from services.registry import (coverage, division_import, divisions, schemas, station_exports,
                               station_import, stations)
from services.registry.subscriptions import SUBSCRIPTIONS


class RegistryService(WusheService):
    name = "registry"

    @staticmethod
    def prepare_database(db):
        divisions.ensure_indexes(db)
        stations.ensure_indexes(db)
        coverage.ensure_indexes(db)

    # -- events in --------------------------------------------------------

    @inbox_handler(SUBSCRIPTIONS.queue())
    def on_events(self, events):
        self.inbox.handle_all(events, SUBSCRIPTIONS)

    # -- divisions: the country's reference data, read by every caller ----

    @rpc
    def import_divisions(self, rows, caller):
        """Store a chunk of division rows (see division_files.read_division_files)."""
        _system_only(caller)
        return divisions.import_divisions(self.db, rows)

    @rpc
    def finish_division_import(self, summary, caller):
        """After all chunks: recount, let coverage follow, tell others if anything changed."""
        _system_only(caller)
        summary = access.load(schemas.DivisionImportSummarySchema, summary)
        return self.command(lambda tx: division_import.finish(tx, summary))

    @rpc
    def get_division(self, code, caller):
        access.caller_region(caller)
        return divisions.get_division(self.db, code)

    @rpc
    def list_divisions(self, query, caller):
        access.caller_region(caller)
        query = access.load(schemas.DivisionQuerySchema, query)
        return divisions.list_divisions(self.db, query["parent"], query["page"], query["per_page"])

    # -- stations ---------------------------------------------------------

    @rpc
    def create_station(self, data, caller):
        data = access.load(schemas.StationCreateSchema, data)
        return self.command(lambda tx: stations.create(tx, data, caller))

    @rpc
    def get_station(self, station_id, caller, with_staff=True):
        """with_staff=False: the station without its staff (a checklist's or rooms' answer)."""
        return stations.get(self.db, station_id, caller, with_staff=with_staff is not False)

    @rpc
    def list_stations(self, query, caller):
        query = access.load(schemas.StationQuerySchema, query)
        return stations.list_page(self.db, query, caller)

    @rpc
    def update_station(self, station_id, data, caller):
        data = access.load(schemas.StationUpdateSchema, data)
        return self.command(lambda tx: stations.update(tx, station_id, data, caller))

    @rpc
    def transition_station(self, station_id, data, caller):
        data = access.load(schemas.TransitionSchema, data)
        return self.command(lambda tx: stations.transition(tx, station_id, data, caller))

    @rpc
    def update_checklist(self, station_id, data, caller):
        data = access.load(schemas.ChecklistUpdateSchema, data)
        return self.command(lambda tx: stations.update_checklist(tx, station_id, data, caller))

    @rpc
    def add_staff(self, station_id, data, caller):
        data = access.load(schemas.StaffCreateSchema, data)
        return self.command(lambda tx: stations.add_staff(tx, station_id, data, caller))

    @rpc
    def update_staff(self, station_id, staff_id, data, caller):
        data = access.load(schemas.StaffUpdateSchema, data)
        return self.command(lambda tx: stations.update_staff(tx, station_id, staff_id, data, caller))

    @rpc
    def remove_staff(self, station_id, staff_id, caller):
        self.command(lambda tx: stations.remove_staff(tx, station_id, staff_id, caller))

    @rpc
    def add_room(self, station_id, data, caller):
        data = access.load(schemas.RoomCreateSchema, data)
        return self.command(lambda tx: stations.add_room(tx, station_id, data, caller))

    @rpc
    def remove_room(self, station_id, room_id, caller):
        self.command(lambda tx: stations.remove_room(tx, station_id, room_id, caller))

    # -- station sheets: import and exports ----------------------------------

    @rpc
    def import_stations(self, request, caller):
        """request: {"files": [{"content": base64, "content_type", "filename"}], "dry_run"}."""
        request = access.load(schemas.StationImportSchema, request)
        sheets = station_import.read(self.db, request["files"], caller)
        if request["dry_run"]:
            return sheets.dry_run(self.db)
        for batch in sheets.batches():    # a transaction per batch of stations
            self.command(batch)
        return sheets.report()

    @rpc
    def station_sheet_template(self, query, caller):
        access.caller_region(caller)
        query = access.load(schemas.SheetTemplateQuerySchema, query)
        return station_exports.template(query["sheet"])

    @rpc
    def export_stations(self, query, caller):
        query = access.load(schemas.StationExportQuerySchema, query)
        return station_exports.export_stations(self.db, query, caller)

    @rpc
    def export_staff(self, query, caller):
        query = access.load(schemas.StationExportQuerySchema, query)
        return station_exports.export_staff(self.db, query, caller)

    @rpc
    def export_rooms(self, query, caller):
        query = access.load(schemas.StationExportQuerySchema, query)
        return station_exports.export_rooms(self.db, query, caller)

    @rpc
    def export_checklists(self, query, caller):
        query = access.load(schemas.StationExportQuerySchema, query)
        return station_exports.export_checklists(self.db, query, caller)

    @rpc
    def export_staffing_gaps(self, query, caller):
        query = access.load(schemas.RegionExportQuerySchema, query)
        return station_exports.export_staffing_gaps(self.db, query, caller)

    @rpc
    def export_coverage(self, query, caller):
        query = access.load(schemas.CoverageExportQuerySchema, query)
        return station_exports.export_coverage(self.db, query, caller)

    # -- read models ------------------------------------------------------

    @rpc
    def coverage(self, query, caller):
        query = access.load(schemas.CoverageQuerySchema, query)
        return coverage.asked(self.db, query, caller)

    @rpc
    def staffing_gaps(self, query, caller):
        query = access.load(schemas.RegionQuerySchema, query)
        return stations.staffing_gaps(self.db, query, caller)


def _system_only(caller):
    # The hierarchy is the whole country's reference data: only `wushe import-divisions`.
    access.ensure_system(caller, "import divisions")
