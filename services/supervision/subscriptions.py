"""What the supervision service consumes, through its inbox `supervision.inbox`.

  registry station events (the station snapshot)   stations_view, internal supervisors,
                                                   the scorecard's station levels
  volunteer hours.approved, hours.corrected        volunteer hours and active volunteers
  charity donation.received, disbursement.paid     money raised and spent (when the charity
                                                   service's contract exists)
  its own sessions, inspections, rectification     the scorecard
  and report events

Read models (what only these handlers write, emptied by `wushe rebuild supervision`
before the events are replayed): stations, region_names, scorecard, scorecard_marks.
Internal supervisors are not one: the roster also holds the external ones officers
register; replayed station events set the internal ones again (an upsert, nothing counted).

Station events and hours events have batch forms (`many=`): the consecutive ones of an
inbox batch in one read and one bulk_write per collection, leaving what they leave one
by one (tests/integration/test_supervision_batches.py).
"""
import importlib
import logging

from services.common.contract import Subscriptions
from services.registry import contract as registry
from services.supervision import contract, scorecard_feed, stations_view, supervisors
from services.volunteer import contract as volunteer

log = logging.getLogger(__name__)


def on_station_event(db, session, event):
    changed = stations_view.apply_station_event(db, session, event)
    if changed is None:
        return   # stale or repeated: a newer snapshot is already kept
    before, after = changed
    supervisors.sync_internal(db, session, after, before)
    scorecard_feed.on_station_change(db, session, before, after)


def on_station_events(db, session, events):
    """on_station_event of each event in order: one read of the stations (and of the
    region names they tell), then one bulk_write per collection."""
    changes = stations_view.apply_station_events(db, session, events)
    supervisors.sync_internal_all(db, session, changes)
    scorecard_feed.on_station_changes(db, session, changes)


def charity_contract():
    """The charity service's contract, or None while that service is not built yet."""
    try:
        module = importlib.import_module("services.charity.contract")
    except ModuleNotFoundError as missing:
        if missing.name in ("services.charity", "services.charity.contract"):
            return None
        raise
    names = ("DONATION_RECEIVED", "DISBURSEMENT_PAID")
    if not all(hasattr(module, name) for name in names):
        log.warning("services/charity/contract.py does not declare %s yet: money figures stay 0",
                    " and ".join(names))
        return None
    return module


SUBSCRIPTIONS = (
    Subscriptions("supervision",
                  read_models=("stations", "region_names", "scorecard", "scorecard_marks"))
    .on(registry.STATION_EVENTS, on_station_event, many=on_station_events)
    .on([volunteer.HOURS_APPROVED, volunteer.HOURS_CORRECTED],
        scorecard_feed.apply_hours(volunteer.HOURS_APPROVED, volunteer.HOURS_CORRECTED),
        many=scorecard_feed.apply_hours_many(volunteer.HOURS_APPROVED, volunteer.HOURS_CORRECTED))
    .on(contract.SESSION_RECORDED, scorecard_feed.apply_session)
    .on(contract.INSPECTION_COMPLETED, scorecard_feed.apply_inspection)
    .on(contract.RECTIFICATION_OPENED, scorecard_feed.apply_rectification_opened)
    .on(contract.RECTIFICATION_CLOSED, scorecard_feed.apply_rectification_closed)
    .on(contract.RECTIFICATION_OVERDUE, scorecard_feed.apply_rectification_overdue)
    .on(contract.REPORT_SUBMITTED, scorecard_feed.apply_report_submitted)
    .on(contract.REPORT_OVERDUE, scorecard_feed.apply_report_overdue)
    .on(contract.REPORT_RETURNED, scorecard_feed.apply_report_returned))

_charity = charity_contract()
if _charity is not None:
    SUBSCRIPTIONS.on(_charity.DONATION_RECEIVED,
                     scorecard_feed.apply_money(_charity.DONATION_RECEIVED, "raised_fen", "received_on"))
    SUBSCRIPTIONS.on(_charity.DISBURSEMENT_PAID,
                     scorecard_feed.apply_money(_charity.DISBURSEMENT_PAID, "spent_fen", "paid_on"))
