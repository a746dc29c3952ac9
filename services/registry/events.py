"""Events the registry publishes and the ones it consumes.

Published on exchange `registry.events`, routing key = CloudEvents type:
  wushe.registry.station.created.v1           a station registered (status planned)
  wushe.registry.station.built.v1             planned -> built
  wushe.registry.station.opened.v1            built -> operating
  wushe.registry.station.suspended.v1         operating -> suspended
  wushe.registry.station.resumed.v1           suspended -> operating
  wushe.registry.station.closed.v1            any -> closed
  wushe.registry.station.updated.v1           name, address, population or operator changed
  wushe.registry.station.checklist_updated.v1 六有 items attested
  wushe.registry.station.staffing_changed.v1  staff added, changed or removed (counts only)
  wushe.registry.station.room_added.v1 / room_removed.v1
  wushe.registry.divisions.imported.v1        a division import changed the hierarchy
Every station event's data is the station snapshot (stations.snapshot): ids,
region codes and names, status and its dated history, counts and `version`;
never the names or phones of people.

Consumed: the registry's own station events feed the coverage read model.
"""
from services.common import inbox
from services.registry import coverage

STATION_EVENTS = (
    "created", "built", "opened", "suspended", "resumed", "closed", "updated",
    "checklist_updated", "staffing_changed", "room_added", "room_removed",
)

SUBSCRIPTIONS = [("registry", "wushe.registry.station.#")]

INBOX = inbox.inbox_queue("registry", SUBSCRIPTIONS)

HANDLERS = {f"wushe.registry.station.{name}.v1": coverage.apply_station_event
            for name in STATION_EVENTS}
