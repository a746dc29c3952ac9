"""RPC from the gateway to the services.

`RpcPool` keeps ONE long-lived `AmqpRpcClient` per thread (gunicorn gthread
workers). A client is one py-amqp connection with one channel that publishes the
requests and consumes the client's own exclusive reply queue: nothing is set up
per call. nameko's standalone `ClusterRpcProxy`, used before, made a kombu
Connection and acquired a pooled producer for every call and waited for a
publisher confirm (docs/gateway-performance.md).

The client speaks nameko 2.14's AMQP RPC protocol exactly, so the services see
no difference: the request goes to the `nameko-rpc` topic exchange with routing
key `service.method`, body `{"args", "kwargs"}` (kombu's json), persistent,
`reply_to` and `correlation_id` set, the context as `nameko.`-prefixed headers
(with a `call_id_stack`); the reply body is `{"result", "error"}` and an error is
rebuilt with `nameko.exceptions.deserialize` (the kit's DomainError classes are
registered by services.common.errors, imported below).

Published `mandatory` without publisher confirms: an unroutable request (no
service ever declared its queue) comes back as basic.return on the same
connection while the client waits for the reply, so `UnknownService` is still
raised at once; a routed request is proven by its reply. A confirm would cost
the broker a quorum-queue commit before answering and tell nothing a reply does
not (a connection lost before the confirm is as ambiguous as one lost before the
reply). Replies are matched by correlation id: one that comes after its call
timed out is dropped.

Clients are created lazily on first use in a thread, so never before gunicorn
forks; one inherited across a fork is dropped, not used. Before a call the
connection is checked without blocking (a poll of its socket); a dead one
(broker restarted, `rabbitmqctl close_connection`) is replaced. A call whose
request could not be published is retried once on a fresh connection. A call
whose reply was lost after the request went out is retried only when
`idempotent` (GET), since the service may already have acted on it.

Routes use `call(service, method, *args, **kwargs)`: it adds `caller=` (the
authenticated caller) and the request id, times the call, and turns transport
failures into API errors (503/504). Domain errors from the service pass through
unchanged (the app maps them to their status); other remote errors become 502.

Anything with the same methods as `RpcPool` (call, ping, broker_ok, close) can
be given to `create_app(rpc=...)`; the unit tests give a fake. `RpcPool` itself
takes a `client_factory(amqp_uri)` (tests/unit/test_gateway_rpc.py gives a fake).
"""
import logging
import os
import select
import socket
import sys
import threading
import time
import uuid
import weakref

import amqp
import amqp.exceptions
import kombu
import kombu.exceptions
import kombu.serialization
from flask import current_app, g, request
from nameko.constants import HEADER_PREFIX, PERSISTENT
from nameko.exceptions import RemoteError, RpcTimeout, UnknownService, deserialize

import services.common.errors  # noqa: F401 - registers the domain errors for deserialize
from gateway import metrics
from gateway.errors import ServiceUnavailable, UpstreamTimeout
from services.common import config

log = logging.getLogger("wushe.gateway.rpc")

# kombu.Connection (broker_ok, a client's first connect) tries `import librabbitmq`
# for an amqp:// URI: not installed, so a failed import (a walk of sys.path). A None
# entry makes that import fail at once; kombu then takes py-amqp, as it does now.
sys.modules.setdefault("librabbitmq", None)

RPC_EXCHANGE = "nameko-rpc"  # nameko.rpc.get_rpc_exchange without `rpc_exchange` set
REPLY_QUEUE = "rpc.reply-gateway-{}"
CALL_ID = "gateway.call.{}"  # the gateway's entry in the call id stack, as nameko's "service.method.id"
ACCEPT = {"application/json"}
CONNECT_TIMEOUT = 5.0
CLOSE_TIMEOUT = 1.0

# What a broken broker connection raises somewhere in kombu/amqp. (socket.timeout
# is an OSError too; the client turns its own reply timeout into RpcTimeout.) A
# channel error closes the channel, so the client is as unusable as on a lost link.
CONNECTION_ERRORS = (OSError, amqp.exceptions.ConnectionError, amqp.exceptions.ChannelError,
                     kombu.exceptions.OperationalError)


class BrokerUnavailable(Exception):
    """The broker could not be reached, even on a fresh connection."""


class ReplyLost(Exception):
    """The request went out but the connection died before its reply came back."""


def _is_connection_error(exc):
    return isinstance(exc, CONNECTION_ERRORS)


class _Reply:
    """One call under way: filled in by the client's callbacks, read by `result()`."""

    __slots__ = ("client", "correlation_id", "service", "timeout", "deadline", "done",
                 "body", "unroutable", "failure")

    def __init__(self, client, correlation_id, service, timeout):
        self.client = client
        self.correlation_id = correlation_id
        self.service = service
        self.timeout = timeout
        self.deadline = time.monotonic() + timeout
        self.done = False
        self.body = self.failure = None
        self.unroutable = False

    def result(self):
        """The service's answer; its error rebuilt; UnknownService, RpcTimeout, or a
        connection error (OSError, amqp's) when the link broke while waiting."""
        self.client.wait(self)
        if self.unroutable:
            raise UnknownService(self.service)
        if self.failure is not None:
            raise self.failure
        error = self.body.get("error")
        if error:
            raise deserialize(error)
        return self.body["result"]


class AmqpRpcClient:
    """One thread's link to the services: a connection, a channel, a reply queue.

    Not thread-safe: one per thread (RpcPool)."""

    def __init__(self, amqp_uri, exchange=RPC_EXCHANGE, connect_timeout=CONNECT_TIMEOUT):
        self.pid = os.getpid()
        self.exchange = exchange
        self.broken = False
        self._pending = {}  # correlation id -> _Reply
        self._kombu = kombu.Connection(amqp_uri, connect_timeout=connect_timeout, heartbeat=0)
        try:
            self._kombu.ensure_connection(max_retries=0)  # one attempt, no sleeping
            self._connection = self._kombu.connection  # the py-amqp connection
            # py-amqp reads the socket before every publish when connection.blocked
            # was negotiated (to take in a memory-alarm notice); alive() has just
            # read whatever was there, so that second look per call is skipped.
            # Notices still arrive and are handled by any read.
            properties = self._connection.client_properties
            properties["capabilities"] = {**properties.get("capabilities", {}),
                                          "connection.blocked": False}
            channel = self._channel = self._connection.channel()
            # Declared as nameko declares it, in case no service has yet.
            channel.exchange_declare(exchange, "topic", durable=True, auto_delete=False)
            self.routing_key = str(uuid.uuid4())
            queue = REPLY_QUEUE.format(self.routing_key)
            # Exclusive: gone with the connection, so a reconnect never reads old replies.
            channel.queue_declare(queue, durable=False, exclusive=True, auto_delete=True)
            channel.queue_bind(queue, exchange, self.routing_key)
            channel.basic_consume(queue, callback=self._on_reply, no_ack=True)
            channel.events["basic_return"].add(self._on_return)
            self._poll = select.poll()
            self._poll.register(self._connection.sock.fileno(),
                                select.POLLIN | select.POLLPRI | select.POLLERR | select.POLLHUP)
        except BaseException:
            self.close()
            raise

    # ---- callbacks, run inside a read of the connection ----

    def _on_reply(self, message):
        reply = self._pending.pop(message.properties.get("correlation_id"), None)
        if reply is None:
            log.debug("dropped a reply nobody waits for (its call timed out)")
            return
        try:
            reply.body = kombu.serialization.loads(
                message.body, message.properties.get("content_type"),
                message.properties.get("content_encoding"), accept=ACCEPT)
        except Exception as exc:  # noqa: BLE001 - the caller sees it as a remote fault
            reply.failure = RemoteError(type(exc).__name__, f"undecodable reply: {exc}")
        reply.done = True

    def _on_return(self, exc, exchange, routing_key, message):
        reply = self._pending.pop(message.properties.get("correlation_id"), None)
        if reply is not None:  # no queue is bound to `service.*`: no such service
            reply.unroutable = True
            reply.done = True

    # ---- calls ----

    def call_async(self, service, method, args, kwargs, context, timeout):
        """Publish service.method(*args, **kwargs); returns the _Reply to wait on."""
        if self.broken:
            raise amqp.exceptions.RecoverableConnectionError("connection lost")
        correlation_id = str(uuid.uuid4())
        headers = {f"{HEADER_PREFIX}.{key}": value for key, value in context.items()
                   if value is not None}
        headers[f"{HEADER_PREFIX}.call_id_stack"] = [CALL_ID.format(correlation_id)]
        content_type, encoding, body = kombu.serialization.dumps(
            {"args": list(args), "kwargs": kwargs}, serializer="json")
        if isinstance(body, str):
            body = body.encode(encoding)
        message = amqp.Message(
            body, content_type=content_type, content_encoding=encoding,
            application_headers=headers, delivery_mode=PERSISTENT, priority=0,
            correlation_id=correlation_id, reply_to=self.routing_key)
        reply = self._pending[correlation_id] = _Reply(self, correlation_id, service, timeout)
        try:
            self._channel.basic_publish(message, exchange=self.exchange,
                                        routing_key=f"{service}.{method}", mandatory=True)
        except BaseException:
            self._pending.pop(correlation_id, None)
            self.broken = True
            raise
        return reply

    def wait(self, reply):
        """Read the connection until `reply` is answered or its deadline passes."""
        read = self._connection.blocking_read
        while not reply.done:
            if self.broken:
                raise amqp.exceptions.RecoverableConnectionError("connection lost")
            remaining = reply.deadline - time.monotonic()
            if remaining <= 0:
                # Forgotten: its reply, if it ever comes, is dropped by _on_reply.
                self._pending.pop(reply.correlation_id, None)
                raise RpcTimeout(reply.timeout)
            try:
                read(remaining)  # one frame; the callbacks fill in whichever reply it ends
            except socket.timeout:
                continue
            except BaseException:
                self.broken = True
                raise

    def alive(self):
        """False when the connection is known to be gone. Never blocks."""
        if self.broken or not self._connection.connected:
            return False
        try:
            # Usually nothing to read: one poll, the socket's mode untouched.
            if not self._poll.poll(0) and not self._connection.transport._read_buffer:
                return True
            # Late replies (dropped), or the broker's connection.close / EOF (raises).
            while True:
                self._connection.blocking_read(0)
        except socket.timeout:
            return True  # read all there was: healthy
        except Exception:  # noqa: BLE001 - any failure means: make a new one
            self.broken = True
            return False

    def close(self):
        graceful, self.broken = not self.broken, True
        connection = getattr(self, "_connection", None)
        try:
            if graceful and connection is not None and connection.connected:
                # py-amqp waits for close-ok without a timeout: a stalled broker
                # must not hold up a worker's exit.
                connection.sock.settimeout(CLOSE_TIMEOUT)
                connection.close()
        except Exception:  # noqa: BLE001 - closing a dead connection may fail; fine
            pass
        finally:
            try:
                self._kombu.collect()  # drops the socket, no handshake
            except Exception:  # noqa: BLE001
                pass


class RpcPool:
    """Per-thread RPC clients, created lazily after fork."""

    def __init__(self, amqp_uri=None, timeout=None, client_factory=AmqpRpcClient):
        self.amqp_uri = amqp_uri or config.amqp_uri()
        self.timeout = timeout if timeout is not None else config.rpc_timeout()
        self.client_factory = client_factory
        self._local = threading.local()
        self._all = weakref.WeakSet()
        self._lock = threading.Lock()

    # ---- per-thread clients ----

    def _client(self):
        local = self._local
        if getattr(local, "pid", None) != os.getpid():
            # First use in this thread, or a thread that survived a fork: the
            # parent's sockets are not ours to use or to close.
            local.pid = os.getpid()
            local.client = None
        client = local.client
        if client is not None and not client.alive():
            log.info("RPC connection lost; reconnecting")
            self._discard()
            client = None
        if client is None:
            client = self._new()
        return client

    def _new(self):
        try:
            client = self.client_factory(self.amqp_uri)
        except Exception as exc:
            if _is_connection_error(exc):
                raise BrokerUnavailable(f"{type(exc).__name__}: {exc}") from exc
            raise
        client.pid = os.getpid()
        self._local.client = client
        with self._lock:
            self._all.add(client)
        return client

    def _discard(self):
        client, self._local.client = self._local.client, None
        if client is not None:
            client.close()

    # ---- the interface the app uses ----

    def call(self, service, method, args=(), kwargs=None, context=None, timeout=None,
             idempotent=True):
        """service.method(*args, **kwargs) with `context` in the message headers."""
        timeout = self.timeout if timeout is None else timeout
        kwargs = kwargs or {}
        for attempt in (1, 2):
            client = self._client()
            context = dict(context or {})
            # Services refuse a request taken up after this (services.common.service.rpc).
            context["deadline"] = time.time() + timeout
            try:
                reply = client.call_async(service, method, args, kwargs, context, timeout)
            except Exception as exc:
                if not _is_connection_error(exc):
                    raise
                self._discard()
                if attempt == 2:
                    raise BrokerUnavailable(f"{type(exc).__name__}: {exc}") from exc
                log.warning("RPC publish failed (%s); retrying on a new connection", exc)
                continue
            try:
                return reply.result()
            except Exception as exc:
                if not _is_connection_error(exc):
                    raise
                self._discard()
                if attempt == 2 or not idempotent:
                    raise ReplyLost(f"{type(exc).__name__}: {exc}") from exc
                log.warning("RPC reply lost (%s); retrying on a new connection", exc)
        raise AssertionError("unreachable")

    def ping(self, services, timeout=2.0, context=None):
        """{service: {"status": "ok"|"timeout"|"unavailable"|"error", ...}}; the pings
        go out together, so the whole check takes about `timeout` at most."""
        results, pending = {}, {}
        try:
            client = self._client()
        except BrokerUnavailable as exc:
            return {s: {"status": "error", "error": f"broker unreachable: {exc}"} for s in services}
        context = dict(context or {})
        for service in services:
            started = time.perf_counter()
            try:
                pending[service] = (client.call_async(service, "ping", (), {}, context, timeout),
                                    started)
            except Exception as exc:  # noqa: BLE001 - report it, whatever it is
                results[service] = {"status": "error", "error": f"{type(exc).__name__}: {exc}"}
        for service, (reply, started) in pending.items():
            try:
                reply.result()
                results[service] = {"status": "ok",
                                    "ms": round((time.perf_counter() - started) * 1000, 1)}
            except UnknownService:
                results[service] = {"status": "unavailable", "error": "no instance is running"}
            except RpcTimeout:
                results[service] = {"status": "timeout", "error": f"no answer within {timeout} s"}
            except Exception as exc:  # noqa: BLE001
                results[service] = {"status": "error", "error": f"{type(exc).__name__}: {exc}"}
        if any(r["status"] == "error" for r in results.values()):
            self._discard()
        return results

    def broker_ok(self, timeout=2.0):
        """(True, None) when a fresh AMQP connection opens within `timeout`, else (False, why)."""
        try:
            with kombu.Connection(self.amqp_uri, connect_timeout=timeout) as connection:
                connection.ensure_connection(max_retries=0)  # one attempt, no sleeping
            return True, None
        except Exception as exc:  # noqa: BLE001
            return False, f"{type(exc).__name__}: {exc}"

    def close(self):
        """Close this process's clients (gunicorn worker exit)."""
        with self._lock:
            clients = [c for c in self._all if c.pid == os.getpid()]
        for client in clients:
            client.close()


# ---- what routes use ----

def get_rpc():
    return current_app.extensions["wushe.rpc"]


def call(service, method, *args, **kwargs):
    """Call `service.method(*args, **kwargs)` for the current request.

    Adds `caller=` (the authenticated caller) unless given, and the request id
    to the RPC context. Returns the service's answer; raises the service's
    DomainError unchanged, RemoteError for its other failures (502), and
    ServiceUnavailable (503) / UpstreamTimeout (504) when it cannot be reached.
    """
    if "caller" not in kwargs and g.get("caller") is not None:
        kwargs["caller"] = g.caller
    rpc = get_rpc()
    # The request id and the client's address travel to the service's logs and audit trail.
    context = {"request_id": g.get("request_id"), "client_address": request.remote_addr}
    started = time.perf_counter()
    try:
        return rpc.call(service, method, args, kwargs, context=context,
                        idempotent=request.method in ("GET", "HEAD"))
    except RpcTimeout as exc:
        metrics.RPC_ERRORS.labels(service, method, "timeout").inc()
        raise UpstreamTimeout(f"{service} did not answer in time", details={
            "service": service, "timeout_seconds": exc.args[0] if exc.args else None}) from exc
    except UnknownService as exc:
        metrics.RPC_ERRORS.labels(service, method, "unknown_service").inc()
        raise ServiceUnavailable(f"the {service} service is not running",
                                 details={"service": service}) from exc
    except BrokerUnavailable as exc:
        metrics.RPC_ERRORS.labels(service, method, "broker").inc()
        log.error("broker unavailable: %s", exc, extra={"service": service, "method": method})
        raise ServiceUnavailable("the message broker is unreachable",
                                 code="broker_unavailable") from exc
    except ReplyLost as exc:
        metrics.RPC_ERRORS.labels(service, method, "reply_lost").inc()
        log.error("RPC reply lost: %s", exc, extra={"service": service, "method": method})
        raise ServiceUnavailable(
            f"the connection to {service} broke before it answered; the change may or may "
            "not have been made: read the resource before retrying", code="reply_lost",
            details={"service": service}) from exc
    finally:
        metrics.RPC_DURATION.labels(service, method).observe(time.perf_counter() - started)
