"""What the volunteer service consumes, through its inbox `volunteer.inbox`.

  registry station events (every one carries the station snapshot)  the stations read model
  its own hours.approved and hours.corrected                        the totals read model
"""
from services.common.contract import Subscriptions
from services.registry import contract as registry
from services.volunteer import contract, stations_view, totals

SUBSCRIPTIONS = (Subscriptions("volunteer", read_models=("stations", "totals", "totals_members"))
                 .on(registry.STATION_EVENTS, stations_view.apply_station_event)
                 .on(contract.HOURS_APPROVED, totals.apply_approved)
                 .on(contract.HOURS_CORRECTED, totals.apply_corrected))
