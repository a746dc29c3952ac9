"""The transactional outbox: a state change and its events commit together.

A command runs inside a Mongo transaction that writes the domain change and
appends its events to the service's `outbox` collection. A relay in every
service process publishes unpublished entries with publisher confirms and then
marks them published. If the process dies between commit and publish, the
entries stay unpublished and the next relay (this process restarted, or another
replica) publishes them: at least once. Entries are kept after relaying: the
outbox is the service's event log, which `wushe replay` re-publishes.
"""
import collections
import datetime
import logging
import threading
import time
import uuid

import eventlet
import kombu
from kombu import Exchange
from nameko.extensions import DependencyProvider

from pymongo.errors import DuplicateKeyError

from services.common import audit, catalog, config, events, logs, metrics, sequences
from services.common.errors import DomainError, NotFound
from services.common.clock import utcnow
from services.common.mongo import run_in_transaction, service_db

log = logging.getLogger(__name__)

POLL_INTERVAL = 1.0          # seconds between sweeps for leftovers
BATCH_SIZE = 64              # events per publish-and-confirm and per marking write
                             # (short `$in` lists: docs/mongo-wire-server.md)
MARK_DELAY = 0.1             # seconds a confirmed batch may wait to be marked with others
SWEEP_GRACE = datetime.timedelta(seconds=2)   # leave fresh entries to their own process
LEASE = datetime.timedelta(seconds=30)        # another replica may take over after this


class Transaction:
    """What a command sees: the database, its session, and `emit` for events."""

    def __init__(self, db, session, service, correlation_id=None):
        self.db = db
        self.session = session
        self.service = service
        self.correlation_id = correlation_id
        self.events = []

    def emit(self, name, subject, data):
        """Append an event of the service's contract; data that does not match its
        declaration raises EventContractError here, so the transaction aborts."""
        spec = catalog.contract(self.service).spec(name)
        spec.check(data)
        event = events.cloud_event(self.service, spec.name, subject, data, self.correlation_id,
                                   version=spec.version)
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
        # The change's audit entry commits with it, or nothing does (services.common.audit).
        audit.record_change(tx)
        if tx.events:
            now = utcnow()
            db.outbox.insert_many(
                [{"_id": e["id"], "type": e["type"], "event": e, "recorded_at": now,
                  "published_at": None, "lease_until": None} for e in tx.events],
                session=session,
            )
        return result, tx.events

    return run_in_transaction(db, body)


class EventPublisher:
    """Publishes batches on one channel in confirm mode: every message of a
    batch is sent, then one wait for the broker's confirms of all of them
    (RabbitMQ acks several tags at once with multiple=True). py-amqp's own
    confirm_publish waits after each message (Channel.basic_publish_confirm)."""

    CONFIRM_TIMEOUT = 30.0

    def __init__(self, amqp_uri):
        self.amqp_uri = amqp_uri
        self.connection = None
        self.channel = None

    def open(self):
        if self.channel is None:
            self.connection = kombu.Connection(self.amqp_uri)
            self.connection.ensure_connection(max_retries=3, interval_start=0.5, interval_step=1)
            channel = self.connection.channel()
            channel.confirm_select()
            # Delivery tags count publishes on this channel from 1 after confirm.select.
            self.sent, self.unconfirmed, self.nacked = 0, set(), set()
            channel.events["basic_ack"].add(self._on_ack)
            channel.events["basic_nack"].add(self._on_nack)
            self.channel, self.producer = channel, kombu.Producer(channel)
        return self.channel

    def _settle(self, tag, multiple):
        settled = {t for t in self.unconfirmed if t <= tag} if multiple else {tag}
        self.unconfirmed -= settled
        return settled

    def _on_ack(self, delivery_tag, multiple):
        self._settle(delivery_tag, multiple)

    def _on_nack(self, delivery_tag, multiple):
        self.nacked |= self._settle(delivery_tag, multiple)

    def declare(self, entity):
        entity(self.open()).declare()

    def publish_batch(self, messages):
        """messages: [(event, exchange, routing key)]. Returns the ids of the events
        the broker confirmed; raises (and starts afresh next time) if it cannot tell."""
        self.open()
        tags = {}
        try:
            for event, exchange, routing_key in messages:
                self.producer.publish(event, exchange=exchange, routing_key=routing_key,
                                      serializer="json", delivery_mode=2,
                                      message_id=event["id"], type=event["type"])
                self.sent += 1
                tags[self.sent] = event["id"]
                self.unconfirmed.add(self.sent)
            deadline = time.monotonic() + self.CONFIRM_TIMEOUT
            while self.unconfirmed:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"{len(self.unconfirmed)} publishes not confirmed")
                self.connection.drain_events(timeout=remaining)
        except Exception:
            self.close()
            raise
        nacked, self.nacked = self.nacked, set()
        return [ident for tag, ident in tags.items() if tag not in nacked]

    def close(self):
        if self.connection is not None:
            try:
                self.connection.release()
            except Exception:
                pass
        self.connection = self.channel = None


class OutboxRelay:
    """Publishes what the outbox holds, then marks it published.

    Fast path: events this process just committed are handed over in memory
    and published at once; what the broker confirmed is marked published with
    one write for everything confirmed within MARK_DELAY (so the marking waits
    until the consumers' first reads and writes are done, and one write serves
    several batches). A process that dies before marking leaves entries the
    sweep publishes again: duplicates, which the consumers' markers absorb. Sweep: every POLL_INTERVAL
    the relay claims entries still unpublished after SWEEP_GRACE (left by a
    process that died, or by a failed publish) under a lease, so that two
    replicas rarely publish the same entry; when they do, consumers' markers
    make the duplicate harmless.
    """

    def __init__(self, db, service, amqp_uri):
        self.db = db
        self.service = service
        self.exchange = events.events_exchange(service)
        self.publisher = EventPublisher(amqp_uri)
        self.owner = uuid.uuid4().hex
        self.wakeup = threading.Event()
        self.handed_over = collections.deque()
        self.unmarked = []
        self.mark_due = None
        self.running = False

    def submit(self, committed_events):
        self.handed_over.extend(committed_events)
        self.wakeup.set()

    def wake(self):
        self.wakeup.set()

    def run_forever(self):
        self.running = True
        declared = False
        next_sweep = 0.0
        while self.running:
            try:
                if not declared:
                    self.publisher.declare(self.exchange)
                    declared = True
                self.publish_handed_over()
                if self.unmarked and (len(self.unmarked) >= BATCH_SIZE
                                      or time.monotonic() >= self.mark_due):
                    self.mark_published()
                if time.monotonic() >= next_sweep:
                    self.mark_published()
                    while self.running and self.sweep():
                        pass
                    self.update_lag()
                    next_sweep = time.monotonic() + POLL_INTERVAL
            except Exception:
                log.exception("outbox relay failed; retrying", extra={"service": self.service})
                declared = False
                self.publisher.close()
                # What was handed over stays in the outbox; the sweep takes it.
                self.handed_over.clear()
            wait = POLL_INTERVAL
            if self.unmarked:
                wait = max(0.0, min(wait, self.mark_due - time.monotonic()))
            self.wakeup.wait(wait)
            self.wakeup.clear()
        try:
            self.mark_published()
        except Exception:
            log.exception("outbox relay could not mark its last events; the sweep sends them again",
                          extra={"service": self.service})

    def stop(self):
        self.running = False
        self.wake()

    def _publish(self, batch):
        """Publish a batch with one wait for its confirms; what was confirmed is
        marked by mark_published. What was not stays unpublished for the sweep."""
        published = self.publisher.publish_batch(
            [(event, self.exchange, event["type"]) for event in batch])
        if published:
            if not self.unmarked:
                self.mark_due = time.monotonic() + MARK_DELAY
            self.unmarked.extend(published)
        confirmed = set(published)
        for event in batch:
            if event["id"] in confirmed:
                metrics.EVENTS_PUBLISHED.labels(self.service, event["type"]).inc()
        if len(published) < len(batch):
            log.warning("broker refused %d events; the sweep sends them again",
                        len(batch) - len(published), extra={"service": self.service})
        log.info("events published", extra={"service": self.service, "count": len(published)})

    def mark_published(self):
        """Mark what the broker confirmed, in writes of up to BATCH_SIZE."""
        while self.unmarked:
            chunk = self.unmarked[:BATCH_SIZE]
            self.db.outbox.update_many(
                {"_id": {"$in": chunk}, "published_at": None},
                {"$set": {"published_at": utcnow(), "lease_until": None}})
            del self.unmarked[:BATCH_SIZE]

    def publish_handed_over(self):
        while self.handed_over:
            batch = []
            while self.handed_over and len(batch) < BATCH_SIZE:
                batch.append(self.handed_over.popleft())
            self._publish(batch)

    def _claim(self):
        now = utcnow()
        free = {"published_at": None, "recorded_at": {"$lt": now - SWEEP_GRACE},
                "lease_until": {"$not": {"$gt": now}}}
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

    def sweep(self):
        """Publish one claimed batch of leftovers; True if there may be more."""
        entries = self._claim()
        if entries:
            self._publish([entry["event"] for entry in entries])
            self.mark_published()
        return len(entries) == BATCH_SIZE

    def update_lag(self):
        oldest = self.db.outbox.find_one({"published_at": None}, {"recorded_at": 1},
                                         sort=[("recorded_at", 1)])
        pending = self.db.outbox.count_documents({"published_at": None}) if oldest else 0
        lag = (utcnow() - oldest["recorded_at"]).total_seconds() if oldest else 0.0
        metrics.OUTBOX_PENDING.labels(self.service).set(pending)
        metrics.OUTBOX_LAG.labels(self.service).set(lag)


def _confirmed(publisher, batch):
    confirmed = publisher.publish_batch(batch)
    if len(confirmed) < len(batch):
        raise RuntimeError(f"the broker refused {len(batch) - len(confirmed)} of {len(batch)} events")
    return len(confirmed)


def replay(db, service, amqp_uri, since, queue, types=None):
    """Re-publish the service's events recorded since `since` to one named queue."""
    publisher = EventPublisher(amqp_uri)
    try:
        channel = publisher.open()
        try:
            channel.queue_declare(queue=queue, passive=True)
        except Exception:
            raise NotFound(f"queue {queue!r} does not exist", fields={"queue": ["no such queue"]})
        query = {"recorded_at": {"$gte": since}}
        if types:
            query["type"] = {"$in": list(types)}
        count = 0
        default_exchange = Exchange("", type="direct")
        batch = []
        for entry in db.outbox.find(query).sort([("recorded_at", 1), ("_id", 1)]):
            batch.append((entry["event"], default_exchange, queue))
            if len(batch) == BATCH_SIZE:
                count += _confirmed(publisher, batch)
                batch = []
        if batch:
            count += _confirmed(publisher, batch)
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
        if emitted and config.outbox_relay_enabled():
            provider.relay.submit(emitted)
            # Let the relay put the events on the wire now, before this worker goes on
            # to shape and send its answer: consumers start while the caller is answered.
            eventlet.sleep(0)
        return result

    def run(self, fn, idempotency=None, keep_refusal=None):
        """Run the command fn(tx): its change and events in one transaction.

        idempotency: an IdempotencyKey (services.common.idempotency): a repeat
            answers the first answer, stored in the same transaction.
        keep_refusal: refusal -> bool; True keeps that refusal with the key, so
            a repeat is refused again rather than judged anew.
        A counter the command needs and that does not exist yet
        (services.common.sequences) is created and the command run again.
        """
        db = self._provider.db
        key = idempotency

        def body(tx):
            if key is not None:
                stored = key.find(tx.db, tx.session)
                if stored is not None:
                    return key.answer(stored)
            result = fn(tx)
            if key is not None:
                key.remember(tx, result)
            return result

        def attempt():
            if key is not None:
                stored = key.find(db)
                if stored is not None:
                    return key.answer(stored)
            try:
                return self.record(body)
            except DuplicateKeyError:
                # Two requests with one key at once: the other one's answer stands.
                stored = key.find(db) if key is not None else None
                if stored is None:
                    raise
                return key.answer(stored)
            except DomainError as refusal:
                if key is not None and keep_refusal is not None and keep_refusal(refusal):
                    key.remember_refusal(db, refusal)
                raise

        return sequences.with_counters(db, attempt)

    def replay(self, since, queue, types=None):
        provider = self._provider
        return replay(provider.db, provider.service, provider.container.config["AMQP_URI"],
                      since, queue, types)
