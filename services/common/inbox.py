"""A service's inbox: one durable queue of the events it consumes, handled once.

Each consuming service has one queue, `<service>.inbox`, bound to the event
types it subscribes to. The topology step (`wushe topology`) declares every
inbox before any service publishes, and the consumer declares it again with the
same arguments (RabbitMQ refuses a re-declaration that differs).

Inboxes are quorum queues with a delivery limit and a dead-letter exchange: a
handler that raises has its message returned to the queue, and after
DELIVERY_LIMIT failed deliveries the broker moves it to `wushe.dead-letters`,
where `wushe dead-letters` lists it and `--retry` sends it back.

Handling is idempotent: the handler's writes and a marker keyed by the event's
source and id commit in one transaction; a second delivery finds the marker and
changes nothing.
"""
import logging

from kombu import Exchange, Queue, binding
from nameko.extensions import DependencyProvider
from nameko.messaging import Consumer
from pymongo.errors import DuplicateKeyError

from services.common import events, logs, metrics
from services.common.clock import utcnow
from services.common.mongo import run_in_transaction, service_db

log = logging.getLogger(__name__)

DEAD_LETTER_EXCHANGE = "wushe.dead-letter"
DEAD_LETTER_QUEUE = "wushe.dead-letters"
DELIVERY_LIMIT = 5

# The one definition of the inbox arguments: topology step, consumers, the
# local run and the cluster all declare exactly these.
INBOX_ARGUMENTS = {
    "x-queue-type": "quorum",
    "x-dead-letter-exchange": DEAD_LETTER_EXCHANGE,
    "x-delivery-limit": DELIVERY_LIMIT,
    # Quorum queues dead-letter at most once by default: a letter moved while
    # the dead-letter queue is unavailable (a leader election) would be lost.
    # At-least-once needs reject-publish overflow.
    "x-dead-letter-strategy": "at-least-once",
    "x-overflow": "reject-publish",
}
DEAD_LETTER_ARGUMENTS = {"x-queue-type": "quorum"}


def inbox_name(service):
    return f"{service}.inbox"


def inbox_queue(service, subscriptions):
    """subscriptions: [(publishing service, routing-key pattern), ...]"""
    return Queue(
        inbox_name(service),
        bindings=[binding(events.events_exchange(source), routing_key=pattern)
                  for source, pattern in subscriptions],
        durable=True,
        queue_arguments=INBOX_ARGUMENTS,
    )


def dead_letter_exchange():
    return Exchange(DEAD_LETTER_EXCHANGE, type="fanout", durable=True)


def dead_letter_queue():
    return Queue(DEAD_LETTER_QUEUE, exchange=dead_letter_exchange(), durable=True,
                 queue_arguments=DEAD_LETTER_ARGUMENTS)


class InboxConsumer(Consumer):
    """nameko's Consumer, but a failure never loses the message.

    The message is rejected back to its quorum queue, which counts deliveries
    and dead-letters it once DELIVERY_LIMIT is reached.
    """

    def handle_message_processed(self, message, result=None, exc_info=None):
        if exc_info is None:
            self.queue_consumer.ack_message(message)
            return
        previous = int((message.headers or {}).get("x-delivery-count", 0) or 0)
        if previous + 1 >= DELIVERY_LIMIT:
            event_type = message.properties.get("type") or "unknown"
            metrics.EVENTS_DEAD_LETTERED.labels(self.container.service_name, event_type).inc()
            log.error("event dead-lettered after %d deliveries", previous + 1,
                      extra={"service": self.container.service_name, "event_type": event_type})
        self.queue_consumer.requeue_message(message)


inbox_handler = InboxConsumer.decorator


class _AlreadyHandled(Exception):
    pass


class Inbox(DependencyProvider):
    """Gives workers `inbox.handle(event, handlers)`: apply once, skip duplicates."""

    def setup(self):
        self.service = self.container.service_name
        self.db = service_db(self.service)

    def get_dependency(self, worker_ctx):
        return InboxHandle(self.db, self.service)


def ensure_indexes(db):
    db.processed_events.create_index([("handled_at", 1)])


class InboxHandle:
    def __init__(self, db, service):
        self.db = db
        self.service = service

    def handle(self, event, handlers):
        """handlers: {event type: fn(db, session, event)}. Returns the outcome."""
        event_type = event.get("type", "unknown")
        logs.event_id.set(event.get("id"))
        logs.correlation_id.set(event.get("correlationid"))
        handler = handlers.get(event_type)
        if handler is None:
            outcome = "ignored"
        else:
            key = events.idempotency_key(event)

            def body(session):
                try:
                    self.db.processed_events.insert_one(
                        {"_id": key, "type": event_type, "handled_at": utcnow()},
                        session=session)
                except DuplicateKeyError:
                    raise _AlreadyHandled()
                handler(self.db, session, event)

            try:
                run_in_transaction(self.db, body)
                outcome = "applied"
            except _AlreadyHandled:
                outcome = "duplicate"
            except Exception:
                metrics.EVENTS_HANDLED.labels(self.service, event_type, "failed").inc()
                raise
        metrics.EVENTS_HANDLED.labels(self.service, event_type, outcome).inc()
        log.info("event %s", outcome, extra={"service": self.service, "event_type": event_type})
        return outcome
