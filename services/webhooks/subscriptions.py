"""What the webhooks service consumes, through its inbox `webhooks.inbox`: every event
type of every other service's contract (found through services.common.catalog),
each turned into a delivery for every subscription whose types match.

A subscription may name any of these types (or a `wushe.<service>.*` pattern);
the inbox is bound to all of them whether or not anyone subscribes, so a new
subscription needs no change of the broker's topology.
"""
import copy
import functools

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
            subs.on(specs, deliveries.enqueue, many=deliveries.enqueue_many)
    return subs


SUBSCRIPTIONS = _build()


def known_types():
    return sorted(SUBSCRIPTIONS.handlers)


def delivering_to(subscribed):
    """SUBSCRIPTIONS for one inbox batch whose subscriptions are already read
    (hooks.subscribed): its handlers take them from here instead of reading them.
    One handler (and one batch form) for every type, so the inbox gives a whole
    batch to one call whatever its types."""
    bound = copy.copy(SUBSCRIPTIONS)
    one = functools.partial(deliveries.enqueue, subscribed=subscribed)
    many = functools.partial(deliveries.enqueue_many, subscribed=subscribed)
    bound.handlers = dict.fromkeys(SUBSCRIPTIONS.handlers, one)
    bound.batch_handlers = dict.fromkeys(SUBSCRIPTIONS.batch_handlers, many)
    return bound
