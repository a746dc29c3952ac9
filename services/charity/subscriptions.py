"""What the charity service consumes, through its inbox `charity.inbox`.

  registry station events (every one carries the station snapshot)  the stations read model
  volunteer team.created                                             the teams read model

Both are written by these handlers alone: `wushe rebuild charity` empties them and
replays the events.
"""
from services.common.contract import Subscriptions
from services.charity import stations_view, teams_view
from services.registry import contract as registry

SUBSCRIPTIONS = (Subscriptions("charity", read_models=("stations", "teams"))
                 .on(registry.STATION_EVENTS, stations_view.apply_station_event,
                     many=stations_view.apply_station_events)
                 .on(teams_view.TEAM_CREATED, teams_view.apply_team_created,
                     many=teams_view.apply_teams_created))
