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
changes nothing. Deliveries waiting together are applied in one transaction
with all their markers, and acknowledged after it commits (InboxConsumer).
"""
import collections
import logging

import eventlet.event
from kombu import Exchange, Queue, binding
from nameko.exceptions import ContainerBeingKilled
from nameko.extensions import DependencyProvider
from nameko.messaging import Consumer, QueueConsumer
from pymongo.errors import DuplicateKeyError

from services.common import events, logs, metrics
from services.common.clock import utcnow
from services.common.mongo import run_in_transaction, service_db

log = logging.getLogger(__name__)

DEAD_LETTER_EXCHANGE = "wushe.dead-letter"
DEAD_LETTER_QUEUE = "wushe.dead-letters"
DELIVERY_LIMIT = 5
# Deliveries applied in one transaction (and prefetched). Kept under the
# Mongo-wire server's cheap `$in` length (docs/mongo-wire-server.md).
BATCH_LIMIT = 32

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


class InboxQueueConsumer(QueueConsumer):
    """The inbox's own broker connection, with room for a batch in flight.

    nameko's shared QueueConsumer prefetches max_workers messages for every
    consumer of the process; the inbox wants BATCH_LIMIT, and its deliveries
    only queued (InboxConsumer.handle_message), not a greenlet spawned each."""

    @property
    def prefetch_count(self):
        return BATCH_LIMIT

    def handle_message(self, provider, body, message):
        provider.handle_message(body, message)


class InboxConsumer(Consumer):
    """Takes the inbox's deliveries in batches, each applied in one transaction.

    Deliveries are queued as they arrive; one runner at a time takes all that
    are ready (up to BATCH_LIMIT) and hands them to one worker of the service's
    inbox method, which applies them in order (InboxHandle.handle_all) inside
    one transaction that also writes their markers; they are acknowledged
    after the commit. Nothing waits for a batch to fill: a lone delivery is a
    batch of one, handled at once. If a batch fails, its deliveries are
    handled again one by one (a worker and a transaction each), so only a
    failing event is returned to its quorum queue, which counts deliveries and
    dead-letters it once DELIVERY_LIMIT is reached. One batch at a time per
    process: handlers never race each other inside one process.
    """

    queue_consumer = InboxQueueConsumer()

    def setup(self):
        super().setup()
        self.pending = collections.deque()
        self.current_batch = None
        self.stopping = False
        self.idle = eventlet.event.Event()
        self.idle.send()
        self.db = service_db(self.container.service_name)

    def stop(self):
        self.stopping = True
        self.idle.wait()   # the batch in hand is finished (committed and acked, or returned)
        super().stop()

    def kill(self):
        self.stopping = True

    def handle_message(self, body, message):
        self.pending.append((body, message))
        if self.idle.ready():
            self.idle.reset()
            self.container.spawn_managed_thread(self._run, identifier="inbox-batches")

    def _run(self):
        try:
            while self.pending and not self.stopping:
                batch = [self.pending.popleft()
                         for _ in range(min(BATCH_LIMIT, len(self.pending)))]
                try:
                    if len(batch) == 1:
                        self._one_by_one(batch)
                    else:
                        self._handle_batch(batch)
                except ContainerBeingKilled:
                    return   # unacknowledged: delivered again to the next process
                except Exception:
                    # Never hold deliveries unacknowledged: the broker's count decides.
                    log.exception("inbox batch failed", extra={"service": self.container.service_name})
                    for _body, message in batch:
                        self.queue_consumer.requeue_message(message)
        finally:
            # What is left when stopping is not acknowledged: the broker delivers it again.
            self.pending.clear()
            self.idle.send()

    def _handle_batch(self, batch):
        try:
            outcomes = run_in_transaction(self.db, lambda session: self._apply(batch, session))
        except Exception as exc:
            log.warning("inbox batch of %d failed (%s); handling its events one by one",
                        len(batch), type(exc).__name__,
                        extra={"service": self.container.service_name})
            self._one_by_one(batch)
            return
        for _body, message in batch:
            self.queue_consumer.ack_message(message)
        service = self.container.service_name
        metrics.INBOX_BATCH_SIZE.labels(service).observe(len(batch))
        for event_type, outcome, event_id, correlation in outcomes:
            metrics.EVENTS_HANDLED.labels(service, event_type, outcome).inc()
            logs.event_id.set(event_id)
            logs.correlation_id.set(correlation)
            log.info("event %s", outcome, extra={"service": service, "event_type": event_type,
                                                  "batch": len(batch)})

    def _apply(self, batch, session):
        """Run the service's inbox method once for the whole batch in `session`,
        then write the markers; raise what failed. (Called again by
        with_transaction on a transient error: the state starts afresh.)"""
        state = self.current_batch = _Batch(session)
        try:
            exc_info = self._work([body for body, _message in batch], batch[0][1])
            failure = exc_info[1] if exc_info else state.failure
            if failure is not None:
                raise failure
        finally:
            self.current_batch = None
        if state.markers:
            self.db.processed_events.insert_many(state.markers, session=session)
        return state.outcomes

    def _one_by_one(self, batch):
        for body, message in batch:
            if self.stopping:
                return
            exc_info = self._work([body], message)
            self.handle_message_processed(message, exc_info=exc_info)

    def _work(self, bodies, message):
        """Run the service's inbox method for these events in a nameko worker
        (its dependencies and tracing as ever) and wait for it; its exc_info or None."""
        finished = eventlet.event.Event()

        def handle_result(worker_ctx, result, exc_info):
            finished.send(exc_info)
            return result, exc_info

        self.container.spawn_worker(self, (bodies,), {},
                                    context_data=self.unpack_message_headers(message),
                                    handle_result=handle_result)
        return finished.wait()

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


class _Batch:
    """What one batch's worker shares with the consumer: its session, the
    markers to write, the outcomes, and the failure that aborts it."""

    def __init__(self, session):
        self.session = session
        self.markers = []
        self.outcomes = []
        self.failure = None


inbox_handler = InboxConsumer.decorator


class _AlreadyHandled(Exception):
    pass


class Inbox(DependencyProvider):
    """Gives workers `inbox.handle(event, handlers)`: apply once, skip duplicates."""

    def setup(self):
        self.service = self.container.service_name
        self.db = service_db(self.service)

    def get_dependency(self, worker_ctx):
        # A worker of an inbox batch applies its event in the batch's transaction.
        return InboxHandle(self.db, self.service, getattr(worker_ctx.entrypoint, "current_batch", None))


def ensure_indexes(db):
    db.processed_events.create_index([("handled_at", 1)])


class InboxHandle:
    def __init__(self, db, service, batch=None):
        self.db = db
        self.service = service
        self.batch = batch

    def handle_all(self, events, subscriptions):
        """Apply these events in order, each once (services.common.contract.Subscriptions).

        In an inbox batch, in the batch's transaction: events already marked as
        handled are skipped, consecutive events that share a batch form
        (`Subscriptions.on(..., many=fn)`) go to it together, and the markers
        are written by the consumer with the others. Otherwise each event in a
        transaction of its own (handle)."""
        if self.batch is None:
            return [self.handle(event, subscriptions.handlers) for event in events]
        try:
            return self._in_batch(events, subscriptions)
        except Exception as exc:
            # Kept for the consumer to raise: the batch aborts and its events
            # go one by one, so only the failing one is returned to the queue.
            self.batch.failure = exc
            return None

    def handle(self, event, handlers):
        """handlers: {event type: fn(db, session, event)}. Applies the event in its
        own transaction with its marker; returns the outcome."""
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

    def _in_batch(self, batch_events, subscriptions):
        """The batch's plan: each event ignored, duplicate or applied, in order;
        the applied ones run in consecutive groups (one call of a batch form, or
        one call each). Outcomes are counted and logged after the commit."""
        batch = self.batch
        keys = {}
        for event in batch_events:
            if event.get("type") in subscriptions.handlers:
                keys[id(event)] = events.idempotency_key(event)
        # One read for the batch instead of a failed marker insert: a redelivered
        # batch (after a crash) is skipped rather than aborted and retried one by one.
        seen = set()
        wanted = list(dict.fromkeys(keys.values()))
        if wanted:
            seen = {doc["_id"] for doc in self.db.processed_events.find(
                {"_id": {"$in": wanted}}, {"_id": 1}, session=batch.session)}
        groups = []   # [(fn, many?, [events])]
        outcomes = []
        for event in batch_events:
            event_type = event.get("type", "unknown")
            key = keys.get(id(event))
            if key is None:
                outcome = "ignored"
            elif key in seen:
                outcome = "duplicate"
            else:
                seen.add(key)
                batch.markers.append({"_id": key, "type": event_type, "handled_at": utcnow()})
                many = subscriptions.batch_handlers.get(event_type)
                if many is not None and groups and groups[-1][0] is many:
                    groups[-1][2].append(event)
                elif many is not None:
                    groups.append((many, True, [event]))
                else:
                    groups.append((subscriptions.handlers[event_type], False, [event]))
                outcome = "applied"
            outcomes.append((event_type, outcome, event.get("id"), event.get("correlationid")))
        for fn, is_many, group in groups:
            logs.event_id.set(group[0].get("id"))
            logs.correlation_id.set(group[0].get("correlationid"))
            if is_many:
                fn(self.db, batch.session, group)
            else:
                fn(self.db, batch.session, group[0])
        batch.outcomes.extend(outcomes)
        return [outcome for _type, outcome, _id, _corr in outcomes]
