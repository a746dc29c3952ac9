"""RPC from the gateway to the services.

`RpcPool` keeps ONE long-lived nameko `ClusterRpcProxy` per thread (gunicorn
gthread workers; see docs/stack.md: a proxy shared between threads breaks, one per
request is 6x slower). Proxies are created lazily on first use in a thread, so
never before gunicorn forks; a proxy inherited across a fork is dropped, not used.

Each proxy keeps the `context_data` dict it was given by reference: the pool
rewrites that dict before every call, so the request id reaches the service's
logs. Before a call the proxy's reply connection is checked without blocking; a
dead one (broker restarted, connection closed) is replaced. A call whose request
could not be published is retried once on a fresh proxy. A call whose reply was
lost after the request went out is retried only when `idempotent` (GET), since
the service may already have acted on it.

Routes use `call(service, method, *args, **kwargs)`: it adds `caller=` (the
authenticated caller) and the request id, times the call, and turns transport
failures into API errors (503/504). Domain errors from the service pass through
unchanged (the app maps them to their status); other remote errors become 502.

Anything with the same methods as `RpcPool` (call, ping, broker_ok, close) can
be given to `create_app(rpc=...)`; the unit tests give a fake.
"""
import logging
import os
import socket
import sys
import threading
import time
import weakref

import amqp.exceptions
import kombu
import kombu.exceptions
from flask import current_app, g, request
from nameko.exceptions import RpcTimeout, UnknownService
from nameko.standalone.rpc import ClusterRpcProxy

from gateway import metrics
from gateway.errors import ServiceUnavailable, UpstreamTimeout
from services.common import config

log = logging.getLogger("wushe.gateway.rpc")

# nameko makes a kombu.Connection for every call it publishes, and for an amqp://
# URI each one first tries `import librabbitmq`: not installed, so a failed import
# (a walk of sys.path, ~0.1 ms) per call. A None entry makes that import fail at
# once; kombu then takes py-amqp, as it does now.
sys.modules.setdefault("librabbitmq", None)

# What a broken broker connection raises somewhere in kombu/amqp/nameko.
# (socket.timeout is an OSError too; nameko turns its own reply timeout into RpcTimeout.)
CONNECTION_ERRORS = (OSError, amqp.exceptions.ConnectionError, kombu.exceptions.OperationalError)


class BrokerUnavailable(Exception):
    """The broker could not be reached, even on a fresh connection."""


class ReplyLost(Exception):
    """The request went out but the connection died before its reply came back."""


def _is_connection_error(exc):
    if isinstance(exc, CONNECTION_ERRORS):
        return True
    # nameko's ConsumeEvent.wait: "This consumer has been disconnected/stopped, and
    # can no longer be used".
    return isinstance(exc, RuntimeError) and "can no longer be used" in str(exc)


class _Proxy:
    """One started ClusterRpcProxy, its context dict, and the process it belongs to."""

    def __init__(self, factory, nameko_config, timeout):
        self.context = {}
        self.pid = os.getpid()
        self.runner = factory(nameko_config, context_data=self.context, timeout=timeout)
        self.cluster = self.runner.start()

    def alive(self):
        """False when the reply connection is known to be gone. Never blocks."""
        try:
            consumer = self.runner._reply_listener.queue_consumer
            if consumer.stopped or consumer.consumer is None:
                return False
            connection = consumer.consumer.connection
            if not connection.connected:
                return False
            # A non-blocking read: a broker that closed the connection (restart,
            # `rabbitmqctl close_connection`) shows up here as an error.
            connection.drain_events(timeout=0)
        except socket.timeout:
            return True  # nothing to read: the usual, healthy case
        except Exception:  # noqa: BLE001 - any failure means: make a new one
            return False
        return True

    def stop(self):
        try:
            self.runner.stop()
        except Exception:  # noqa: BLE001 - closing a dead connection may fail; fine
            pass


class RpcPool:
    """Per-thread nameko cluster proxies, created lazily after fork."""

    def __init__(self, amqp_uri=None, timeout=None, proxy_factory=ClusterRpcProxy):
        self.amqp_uri = amqp_uri or config.amqp_uri()
        self.timeout = timeout if timeout is not None else config.rpc_timeout()
        self.proxy_factory = proxy_factory
        self._local = threading.local()
        self._all = weakref.WeakSet()
        self._lock = threading.Lock()

    @property
    def nameko_config(self):
        return {"AMQP_URI": self.amqp_uri, "serializer": "json"}

    # ---- per-thread proxies ----

    def _proxies(self):
        local = self._local
        if getattr(local, "pid", None) != os.getpid():
            # First use in this thread, or a thread that survived a fork: the
            # parent's sockets are not ours to use or to close.
            local.pid = os.getpid()
            local.proxies = {}
        return local.proxies

    def _proxy(self, timeout):
        proxies = self._proxies()
        proxy = proxies.get(timeout)
        if proxy is not None and not proxy.alive():
            log.info("RPC connection lost; reconnecting")
            self._discard(timeout)
            proxy = None
        if proxy is None:
            proxy = self._new(timeout)
        return proxy

    def _new(self, timeout):
        try:
            proxy = _Proxy(self.proxy_factory, self.nameko_config, timeout)
        except Exception as exc:
            if _is_connection_error(exc):
                raise BrokerUnavailable(f"{type(exc).__name__}: {exc}") from exc
            raise
        self._proxies()[timeout] = proxy
        with self._lock:
            self._all.add(proxy)
        return proxy

    def _discard(self, timeout):
        proxy = self._proxies().pop(timeout, None)
        if proxy is not None:
            proxy.stop()

    # ---- the interface the app uses ----

    def call(self, service, method, args=(), kwargs=None, context=None, timeout=None,
             idempotent=True):
        """service.method(*args, **kwargs) with `context` in the message headers."""
        timeout = self.timeout if timeout is None else timeout
        kwargs = kwargs or {}
        for attempt in (1, 2):
            proxy = self._proxy(timeout)
            proxy.context.clear()
            proxy.context.update(context or {})
            # Services refuse a request taken up after this (services.common.service.rpc).
            proxy.context["deadline"] = time.time() + timeout
            try:
                reply = getattr(getattr(proxy.cluster, service), method).call_async(*args, **kwargs)
            except Exception as exc:
                if not _is_connection_error(exc):
                    raise
                self._discard(timeout)
                if attempt == 2:
                    raise BrokerUnavailable(f"{type(exc).__name__}: {exc}") from exc
                log.warning("RPC publish failed (%s); retrying on a new connection", exc)
                continue
            try:
                return reply.result()
            except Exception as exc:
                if not _is_connection_error(exc):
                    raise
                self._discard(timeout)
                if attempt == 2 or not idempotent:
                    raise ReplyLost(f"{type(exc).__name__}: {exc}") from exc
                log.warning("RPC reply lost (%s); retrying on a new connection", exc)
        raise AssertionError("unreachable")

    def ping(self, services, timeout=2.0, context=None):
        """{service: {"status": "ok"|"timeout"|"unavailable"|"error", ...}}; the pings
        go out together (call_async), so the whole check takes about `timeout` at most."""
        results, pending = {}, {}
        try:
            proxy = self._proxy(timeout)
        except BrokerUnavailable as exc:
            return {s: {"status": "error", "error": f"broker unreachable: {exc}"} for s in services}
        proxy.context.clear()
        proxy.context.update(context or {})
        for service in services:
            started = time.perf_counter()
            try:
                pending[service] = (getattr(proxy.cluster, service).ping.call_async(), started)
            except UnknownService:
                results[service] = {"status": "unavailable", "error": "no instance is running"}
            except Exception as exc:  # noqa: BLE001 - report it, whatever it is
                results[service] = {"status": "error", "error": f"{type(exc).__name__}: {exc}"}
        for service, (reply, started) in pending.items():
            try:
                reply.result()
                results[service] = {"status": "ok",
                                    "ms": round((time.perf_counter() - started) * 1000, 1)}
            except RpcTimeout:
                results[service] = {"status": "timeout", "error": f"no answer within {timeout} s"}
            except Exception as exc:  # noqa: BLE001
                results[service] = {"status": "error", "error": f"{type(exc).__name__}: {exc}"}
        if any(r["status"] == "error" for r in results.values()):
            self._discard(timeout)
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
        """Stop this process's proxies (gunicorn worker exit)."""
        with self._lock:
            proxies = [p for p in self._all if p.pid == os.getpid()]
        for proxy in proxies:
            proxy.stop()


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
