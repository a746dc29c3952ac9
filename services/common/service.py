"""The base every wushe nameko service extends.

It brings the parts every service has: its database, the outbox and its relay,
the inbox, request/event tracing with latency metrics, `ping` and
`replay_events` over RPC, and /healthz, /readyz and /metrics over HTTP.
"""
import contextvars
import datetime
import functools
import json
import logging
import time

import amqp.exceptions
import kombu
import kombu.exceptions
from kombu import Queue
from nameko.extensions import DependencyProvider
from nameko.messaging import QueueConsumer
from nameko.rpc import RPC_QUEUE_TEMPLATE, Rpc, RpcConsumer, get_rpc_exchange
from nameko.web.handlers import http

from services.common import audit, idempotency, inbox, logs, metrics
from services.common.errors import DomainError, Expired, InvalidInput, for_the_wire
from services.common.mongo import ServiceDatabase, service_db
from services.common.outbox import Outbox

log = logging.getLogger(__name__)

RPC_QUEUE_ARGUMENTS = {"x-queue-type": "quorum"}


def rpc_queue(service, exchange):
    """A service's RPC queue: a replicated quorum queue, not nameko's classic one,
    which in a RabbitMQ 4 cluster lives on one node and goes with it."""
    return Queue(RPC_QUEUE_TEMPLATE.format(service), exchange=exchange,
                 routing_key=f"{service}.*", durable=True, queue_arguments=RPC_QUEUE_ARGUMENTS)


# What a lost broker connection raises while a reply is published or acked.
BROKER_LOST = (kombu.exceptions.OperationalError, amqp.exceptions.ConnectionError,
               amqp.exceptions.RecoverableConnectionError, ConnectionError, OSError)


class QuorumRpcConsumer(RpcConsumer):
    def setup(self):
        if self.queue is None:
            self.queue = rpc_queue(self.container.service_name,
                                   get_rpc_exchange(self.container.config))
            self.queue_consumer.register_provider(self)
            self._registered = True

    def handle_result(self, message, result, exc_info):
        """nameko lets a reply that cannot be published (the broker restarting) kill
        the whole container: every entrypoint stops and the process stays up doing
        nothing. The reply is dropped instead; the request stays unacknowledged, so
        the broker delivers it again, and the caller's deadline (or the command's
        Idempotency-Key) decides what that redelivery does."""
        try:
            return super().handle_result(message, result, exc_info)
        except BROKER_LOST as exc:
            log.warning("RPC reply not sent, broker connection lost: %s", exc,
                        extra={"method": (message.delivery_info or {}).get("routing_key")})
            return result, exc_info


class QuorumRpc(Rpc):
    rpc_consumer = QuorumRpcConsumer()


# Clocks of the gateway's and the services' hosts may differ a little.
CLOCK_SKEW_SECONDS = 2.0
_deadline = contextvars.ContextVar("deadline", default=None)


def rpc(fn):
    """nameko's @rpc, with domain errors expected (answers, not faults: nameko logs
    them as warnings), and refusing requests whose caller's deadline has passed.

    RPC queues are durable: a request sent while no instance runs waits for one.
    If the caller gave up meanwhile (a 504 at the gateway), doing the work later
    would change data behind the officer's back; it is refused instead.
    (nameko drops keyword arguments when its decorator is used bare, hence a
    function rather than functools.partial.)"""

    @functools.wraps(fn)
    def within_deadline(self, *args, **kwargs):
        deadline = _deadline.get()
        if deadline is not None and time.time() > float(deadline) + CLOCK_SKEW_SECONDS:
            raise Expired(f"the caller stopped waiting {time.time() - float(deadline):.0f} s ago; "
                          "nothing was done")
        try:
            return fn(self, *args, **kwargs)
        except DomainError as refusal:
            # A service's own error class is sent as one every caller knows.
            raise for_the_wire(refusal) from None

    return QuorumRpc.decorator(expected_exceptions=DomainError)(within_deadline)


class Tracing(DependencyProvider):
    """Carries the request id (from the gateway's RPC context) into logs and events,
    and times every worker."""

    def worker_setup(self, worker_ctx):
        logs.correlation_id.set(worker_ctx.data.get("request_id"))
        _deadline.set(worker_ctx.data.get("deadline"))
        logs.event_id.set(None)
        # Who asks, from where and with which request: the audit trail's facts.
        audit.caller.set(_caller_of(worker_ctx))
        audit.action.set(worker_ctx.entrypoint.method_name)
        audit.address.set(worker_ctx.data.get("client_address"))
        audit.request_id.set(worker_ctx.data.get("request_id"))
        worker_ctx.data["_started"] = time.perf_counter()

    def worker_result(self, worker_ctx, result=None, exc_info=None):
        started = worker_ctx.data.pop("_started", None)
        if started is None:
            return
        entrypoint = worker_ctx.entrypoint
        outcome = "ok"
        if exc_info is not None:
            outcome = "rejected" if isinstance(exc_info[1], DomainError) else "error"
        metrics.WORKER_LATENCY.labels(
            self.container.service_name, entrypoint.method_name,
            type(entrypoint).__name__.lower(), outcome,
        ).observe(time.perf_counter() - started)


def _caller_of(worker_ctx):
    found = (worker_ctx.kwargs or {}).get("caller")
    if isinstance(found, dict):
        return found
    return next((a for a in worker_ctx.args or () if isinstance(a, dict) and "role" in a), None)


class Prepare(DependencyProvider):
    """Creates the kit's indexes and runs the service's `prepare_database(db)` once, at start."""

    def setup(self):
        database = service_db(self.container.service_name)
        inbox.ensure_indexes(database)
        idempotency.ensure_indexes(database)
        audit.ensure_indexes(database)
        prepare = getattr(self.container.service_cls, "prepare_database", None)
        if prepare is not None:
            prepare(database)


class Health(DependencyProvider):
    """Readiness: this process consumes from the broker and reaches its database."""

    def setup(self):
        self.amqp_uri = self.container.config["AMQP_URI"]

    def _queue_consumer(self):
        for extension in self.container.extensions:
            for sub in getattr(extension, "queue_consumer", None), extension:
                if isinstance(sub, QueueConsumer):
                    return sub
        return None

    def check(self, database):
        problems = {}
        consumer = self._queue_consumer()
        if consumer is None or consumer._gt is None or consumer._gt.dead \
                or not consumer._consumers_ready.ready():
            problems["amqp"] = "queue consumer not running"
        else:
            try:
                # Ask the broker itself whether our RPC queue has consumers.
                with kombu.Connection(self.amqp_uri, connect_timeout=2) as conn:
                    _, _, consumers = conn.default_channel.queue_declare(
                        queue=f"rpc-{self.container.service_name}", passive=True)
                if consumers < 1:
                    problems["amqp"] = "no consumer on the RPC queue"
            except Exception as exc:
                problems["amqp"] = f"broker unreachable: {exc}"
        try:
            database.client.admin.command("ping")
        except Exception as exc:
            problems["mongo"] = f"unreachable: {exc}"
        return problems

    def get_dependency(self, worker_ctx):
        return self


def _json_response(status, body):
    return status, {"Content-Type": "application/json"}, json.dumps(body)


class WusheService:
    """Subclasses set `name` and add their entrypoints and domain dependencies."""

    db = ServiceDatabase()
    outbox = Outbox()
    inbox = inbox.Inbox()
    tracing = Tracing()
    health = Health()
    prepare = Prepare()

    def command(self, fn, idempotency=None, keep_refusal=None):
        """Run the command fn(tx) in one transaction with its events (see
        services.common.outbox.OutboxHandle.run). Every change goes through here."""
        return self.outbox.run(fn, idempotency=idempotency, keep_refusal=keep_refusal)

    @rpc
    def ping(self):
        return "pong"

    @rpc
    def audit_log(self, query, caller):
        """This service's audit trail, for auditors and province admins in their region."""
        from services.common.access import load

        return audit.query(self.db, self.name, load(audit.AuditQuerySchema, query), caller)

    @rpc
    def clear_read_models(self, caller):
        """Empty the read models this service keeps from events, and forget which events
        it handled, so that replaying them rebuilds the models (`wushe rebuild`)."""
        from services.common import access, catalog

        access.ensure_system(caller, "rebuild read models (wushe rebuild)")
        subs = catalog.subscriptions(self.name)
        if subs is None:
            return {"queue": None, "publishers": {}, "cleared": {}}
        cleared = {name: self.db[name].delete_many({}).deleted_count for name in subs.read_models}
        types = [t for ts in subs.types_by_publisher().values() for t in ts]
        for start in range(0, len(types), 20):  # short $in lists (docs/mongo-wire-server.md)
            self.db.processed_events.delete_many({"type": {"$in": types[start:start + 20]}})
        return {"queue": inbox.inbox_name(self.name), "publishers": subs.types_by_publisher(),
                "cleared": cleared}

    @rpc
    def replay_events(self, since, queue, types=None):
        """Re-publish this service's events recorded since `since` (ISO time) to `queue`."""
        try:
            moment = datetime.datetime.fromisoformat(since.replace("Z", "+00:00"))
        except (AttributeError, ValueError):
            raise InvalidInput("since must be an ISO 8601 time", fields={"since": ["not a time"]})
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=datetime.timezone.utc)
        return self.outbox.replay(moment, queue, types)

    @http("GET", "/healthz")
    def healthz(self, request):
        return _json_response(200, {"status": "ok", "service": self.name})

    @http("GET", "/readyz")
    def readyz(self, request):
        problems = self.health.check(self.db)
        status = 503 if problems else 200
        return _json_response(status, {"status": "unready" if problems else "ready",
                                       "service": self.name, "problems": problems})

    @http("GET", "/metrics")
    def metrics(self, request):
        body, content_type = metrics.exposition()
        return 200, {"Content-Type": content_type}, body.decode("utf-8")
