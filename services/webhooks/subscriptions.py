"""What the webhooks service consumes, through its inbox `webhooks.inbox`: every event
type of every other service's contract (found through services.common.catalog),
each turned into a delivery for every subscription whose types match.

A subscription may name any of these types (or a `wushe.<service>.*` pattern);
the inbox is bound to all of them whether or not anyone subscribes, so a new
subscription needs no change of the broker's topology.
"""
from services.common import catalog
from services.common.contract import Subscriptions
from services.webhooks import deliveries

SERVICE = "webhooks"


def _build():
    subs = Subscriptions(SERVICE)
    for name in catalog.names():
        if name == SERVICE:
            continue
        specs = catalog.contract(name).specs
        if specs:
            subs.on(specs, deliveries.enqueue)
    return subs


SUBSCRIPTIONS = _build()


def known_types():
    return sorted(SUBSCRIPTIONS.handlers)
