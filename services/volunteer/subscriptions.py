"""What the volunteer service consumes, through its inbox `volunteer.inbox`.

  registry station events (every one carries the station snapshot)  the stations read model
  its own hours.approved and hours.corrected                        the totals read model

Consecutive events of an inbox batch that share a batch form go to it together
(services.common.contract.Subscriptions): a few commands for the whole run.
"""
from services.common.contract import Subscriptions
from services.registry import contract as registry
from services.volunteer import contract, stations_view, totals

SUBSCRIPTIONS = (Subscriptions("volunteer", read_models=("stations", "totals", "totals_members"))
                 .on(registry.STATION_EVENTS, stations_view.apply_station_event,
                     many=stations_view.apply_station_events)
                 # One batch form for both: a run of mixed hours events is summed at once.
                 .on(contract.HOURS_APPROVED, totals.apply_approved, many=totals.apply_hours_events)
                 .on(contract.HOURS_CORRECTED, totals.apply_corrected, many=totals.apply_hours_events))
