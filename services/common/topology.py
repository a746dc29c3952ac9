"""The broker topology, declared in one step before any service publishes.

An event published while no queue is bound is dropped silently (docs/stack.md), so
`wushe topology` runs first in `make up`, in the tests and as an init step in
the cluster. It declares each service's events exchange, the dead-letter
exchange and queue, every inbox with its bindings, and every service's RPC
queue. All queues are quorum queues, replicated in the cluster; consumers
declare theirs again with the identical arguments, which RabbitMQ accepts.
"""
import logging

import amqp.exceptions
import kombu

from services.common import catalog, config, events, inbox

log = logging.getLogger(__name__)


def subscriptions():
    """{service: [(publisher, routing key), ...]} of every service (empty: no inbox).

    A service whose modules fail to import fails this step: a broken service
    must not be deployed with its inbox silently missing."""
    found = {}
    for service in catalog.names():
        subs = catalog.subscriptions(service)
        found[service] = subs.bindings() if subs is not None else []
    return found


class TopologyMismatch(SystemExit):
    pass


def _declare(entity, channel):
    try:
        entity(channel).declare()
    except amqp.exceptions.PreconditionFailed as exc:
        # RabbitMQ keeps a queue's arguments for life; one made by an older
        # version must be drained and deleted before it can be declared anew.
        raise TopologyMismatch(
            f"{getattr(entity, 'name', entity)} exists with other arguments than this version "
            f"declares ({exc}). Stop its consumers, let it drain, delete it "
            f"(rabbitmqctl delete_queue NAME -p VHOST) and run `wushe topology` again.")


def declare(amqp_uri=None, subscriptions_by_service=None):
    """Declare everything; safe to run any number of times. Returns the queue names."""
    from nameko.rpc import get_rpc_exchange

    from services.common.service import rpc_queue

    subs = subscriptions() if subscriptions_by_service is None else subscriptions_by_service
    with kombu.Connection(amqp_uri or config.amqp_uri()) as connection:
        connection.ensure_connection(max_retries=10)
        channel = connection.channel()
        publishers = set(catalog.names()) | {publisher for bindings in subs.values()
                                             for publisher, _key in bindings}
        for service in sorted(publishers):
            _declare(events.events_exchange(service), channel)
        rpc_exchange = get_rpc_exchange({})
        _declare(rpc_exchange, channel)
        _declare(inbox.dead_letter_exchange(), channel)
        _declare(inbox.dead_letter_queue(), channel)
        declared = []
        for service, subscriptions_ in subs.items():
            # Every present service's RPC queue, so a call made before the
            # service first starts waits for it instead of failing.
            queue = rpc_queue(service, rpc_exchange)
            _declare(queue, channel)
            declared.append(queue.name)
            if subscriptions_:
                _declare(inbox.inbox_queue(service, subscriptions_), channel)
                declared.append(inbox.inbox_name(service))
        channel.close()
    log.info("topology declared", extra={"queues": declared})
    return declared
