"""The broker topology, declared in one step before any service publishes.

An event published while no queue is bound is dropped silently (STACK.md), so
`wushe topology` runs first in `make up`, in the tests and as an init step in
the cluster. It declares each service's events exchange, the dead-letter
exchange and queue, and every inbox with its bindings. Consumers declare their
inbox again with the identical arguments, which RabbitMQ accepts.
"""
import importlib
import logging

import kombu

from services.common import config, events, inbox

log = logging.getLogger(__name__)


def subscriptions():
    """{consuming service: [(publisher, routing-key pattern), ...]} of the services present."""
    found = {}
    for service in config.SERVICES:
        try:
            module = importlib.import_module(f"services.{service}.events")
        except ModuleNotFoundError:
            continue
        found[service] = list(getattr(module, "SUBSCRIPTIONS", []))
    return found


def declare(amqp_uri=None, subscriptions_by_service=None):
    """Declare everything; safe to run any number of times. Returns the inbox names."""
    subs = subscriptions() if subscriptions_by_service is None else subscriptions_by_service
    with kombu.Connection(amqp_uri or config.amqp_uri()) as connection:
        connection.ensure_connection(max_retries=10)
        channel = connection.channel()
        for service in config.SERVICES:
            events.events_exchange(service)(channel).declare()
        inbox.dead_letter_exchange()(channel).declare()
        inbox.dead_letter_queue()(channel).declare()
        declared = []
        for service, subscriptions_ in subs.items():
            if subscriptions_:
                inbox.inbox_queue(service, subscriptions_)(channel).declare()
                declared.append(inbox.inbox_name(service))
        channel.close()
    log.info("topology declared", extra={"inboxes": declared})
    return declared
