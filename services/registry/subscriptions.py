"""What the registry consumes: its own station events feed the coverage read model."""
from services.common.contract import Subscriptions
from services.registry import contract, coverage

SUBSCRIPTIONS = (Subscriptions("registry", read_models=("coverage_units",))
                 .on(contract.STATION_EVENTS, coverage.apply_station_event,
                     many=coverage.apply_station_events))
