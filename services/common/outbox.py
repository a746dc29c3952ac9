"""The transactional outbox: a state change and its events commit together.

A command runs inside a Mongo transaction that writes the domain change and
appends its events to the service's `outbox` collection. A relay in every
service process publishes unpublished entries with publisher confirms and then
marks them published. If the process dies between commit and publish, the
entries stay unpublished and the next relay (this process restarted, or another
replica) publishes them: at least once. Entries are kept after relaying: the
outbox is the service's event log, which `wushe replay` re-publishes.
"""
import datetime
import logging
import threading
import uuid

import kombu
from kombu import Exchange
from nameko.extensions import DependencyProvider

from services.common import config, events, logs, metrics
from services.common.errors import NotFound
from services.common.mongo import run_in_transaction, service_db, utcnow

log = logging.getLogger(__name__)

POLL_INTERVAL = 1.0          # seconds between sweeps when nothing wakes the relay
BATCH_SIZE = 200
LEASE = datetime.timedelta(seconds=30)   # another replica may take over after this


class Transaction:
    """What a command sees: the database, its session, and `emit` for events."""

    def __init__(self, db, session, service, correlation_id=None):
        self.db = db
        self.session = session
        self.service = service
        self.correlation_id = correlation_id
        self.events = []

    def emit(self, name, subject, data):
        event = events.cloud_event(self.service, name, subject, data, self.correlation_id)
        self.events.append(event)
        return event


def ensure_indexes(db):
    db.outbox.create_index([("published_at", 1), ("recorded_at", 1)])
    db.outbox.create_index([("recorded_at", 1)])


def record(db, service, fn, correlation_id=None):
    """Run fn(tx) in a transaction, storing the events it emits in the outbox."""

    def body(session):
        tx = Transaction(db, session, service, correlation_id)
        result = fn(tx)
        if tx.events:
            now = utcnow()
            db.outbox.insert_many(
                [{"_id": e["id"], "type": e["type"], "event": e, "recorded_at": now,
                  "published_at": None, "lease_until": None} for e in tx.events],
                session=session,
            )
        return result, len(tx.events)

    return run_in_transaction(db, body)


class EventPublisher:
    """A kombu producer with publisher confirms, reconnecting on failure."""

    def __init__(self, amqp_uri):
        self.connection = kombu.Connection(amqp_uri, transport_options={"confirm_publish": True})
        self.producer = None

    def publish(self, event, exchange, routing_key):
        if self.producer is None:
            self.producer = kombu.Producer(self.connection)
        self.producer.publish(
            event,
            exchange=exchange,
            routing_key=routing_key,
            serializer="json",
            delivery_mode=2,
            message_id=event["id"],
            type=event["type"],
            retry=True,
            retry_policy={"max_retries": 3, "interval_start": 0.5, "interval_step": 1},
        )

    def close(self):
        self.connection.release()


class OutboxRelay:
    """Publishes what the outbox holds, in recorded order, then marks it published."""

    def __init__(self, db, service, amqp_uri):
        self.db = db
        self.service = service
        self.exchange = events.events_exchange(service)
        self.publisher = EventPublisher(amqp_uri)
        self.owner = uuid.uuid4().hex
        self.wakeup = threading.Event()
        self.running = False

    def wake(self):
        self.wakeup.set()

    def run_forever(self):
        self.running = True
        declared = False
        while self.running:
            try:
                if not declared:
                    self.exchange(self.publisher.connection.default_channel).declare()
                    declared = True
                while self.running and self.relay_batch():
                    pass
                self.update_lag()
            except Exception:
                log.exception("outbox relay failed; retrying", extra={"service": self.service})
                declared = False
                self.publisher.producer = None
            self.wakeup.wait(POLL_INTERVAL)
            self.wakeup.clear()

    def stop(self):
        self.running = False
        self.wake()

    def _claim(self):
        """Lease a batch so that two replicas rarely publish the same entries."""
        now = utcnow()
        free = {"published_at": None,
                "$or": [{"lease_until": None}, {"lease_until": {"$lt": now}}]}
        ids = [d["_id"] for d in self.db.outbox.find(free, {"_id": 1})
               .sort([("recorded_at", 1), ("_id", 1)]).limit(BATCH_SIZE)]
        if not ids:
            return []
        self.db.outbox.update_many(
            {"_id": {"$in": ids}, **free},
            {"$set": {"lease_until": now + LEASE, "lease_owner": self.owner}})
        return list(self.db.outbox.find({"_id": {"$in": ids}, "lease_owner": self.owner,
                                         "published_at": None})
                    .sort([("recorded_at", 1), ("_id", 1)]))

    def relay_batch(self):
        entries = self._claim()
        for entry in entries:
            event = entry["event"]
            self.publisher.publish(event, self.exchange, event["type"])
            # Marked one by one: a crash re-publishes at most the one in flight.
            self.db.outbox.update_one(
                {"_id": entry["_id"]},
                {"$set": {"published_at": utcnow(), "lease_until": None}})
            metrics.EVENTS_PUBLISHED.labels(self.service, event["type"]).inc()
            log.info("event published", extra={"event_type": event["type"],
                                               "published_event_id": event["id"],
                                               "service": self.service})
        return len(entries) == BATCH_SIZE

    def update_lag(self):
        oldest = self.db.outbox.find_one({"published_at": None}, {"recorded_at": 1},
                                         sort=[("recorded_at", 1)])
        pending = self.db.outbox.count_documents({"published_at": None}) if oldest else 0
        lag = (utcnow() - oldest["recorded_at"]).total_seconds() if oldest else 0.0
        metrics.OUTBOX_PENDING.labels(self.service).set(pending)
        metrics.OUTBOX_LAG.labels(self.service).set(lag)


def replay(db, service, amqp_uri, since, queue, types=None):
    """Re-publish the service's events recorded since `since` to one named queue."""
    publisher = EventPublisher(amqp_uri)
    try:
        channel = publisher.connection.default_channel
        try:
            channel.queue_declare(queue=queue, passive=True)
        except Exception:
            raise NotFound(f"queue {queue!r} does not exist", fields={"queue": ["no such queue"]})
        query = {"recorded_at": {"$gte": since}}
        if types:
            query["type"] = {"$in": list(types)}
        count = 0
        default_exchange = Exchange("", type="direct")
        for entry in db.outbox.find(query).sort([("recorded_at", 1), ("_id", 1)]):
            publisher.publish(entry["event"], default_exchange, queue)
            count += 1
        return count
    finally:
        publisher.close()


class Outbox(DependencyProvider):
    """Gives workers `outbox.record(fn)` and runs this process's relay."""

    def setup(self):
        self.service = self.container.service_name
        self.db = service_db(self.service)
        ensure_indexes(self.db)
        self.relay = OutboxRelay(self.db, self.service, self.container.config["AMQP_URI"])

    def start(self):
        if config.outbox_relay_enabled():
            self.container.spawn_managed_thread(self.relay.run_forever, identifier="outbox-relay")
        else:
            log.warning("outbox relay is off: events stay in the outbox",
                        extra={"service": self.service})

    def stop(self):
        self.relay.stop()

    def kill(self):
        self.relay.stop()

    def get_dependency(self, worker_ctx):
        return OutboxHandle(self)


class OutboxHandle:
    def __init__(self, provider):
        self._provider = provider

    def record(self, fn):
        """Run fn(tx) atomically with its events; returns what fn returned."""
        provider = self._provider
        result, emitted = record(provider.db, provider.service, fn, logs.correlation_id.get())
        if emitted:
            provider.relay.wake()
        return result

    def replay(self, since, queue, types=None):
        provider = self._provider
        return replay(provider.db, provider.service, provider.container.config["AMQP_URI"],
                      since, queue, types)
