"""The gateway's view of ended sessions: an access token whose `sid` is in it is refused.

Signing out, disabling an account, changing its role or region, resetting or
changing its password and reusing a refresh token end sessions at once, while
their access tokens would stay valid for minutes. The accounts service says so
in one event, `wushe.accounts.session.revoked.v1`, listing each session and
until when its tokens must be refused. Every gateway worker process (every
gunicorn worker of every replica) keeps its own view of those:

* a consumer thread with its own broker connection and an exclusive,
  auto-delete queue bound to `accounts.events` for that one type: the queue
  lives and dies with the worker, and each worker hears every revocation;
* a full sync over RPC (`accounts.revoked_sessions`) once the queue is bound,
  so nothing revoked before falls through, again after every reconnection,
  and every REVOCATION_SYNC_SECONDS (default 60) as a safety net.

The feed starts in a worker when it first meets a token with a `sid`, so only
after gunicorn's fork (never in the master, nor in tests with a fake RPC).
That request waits for the first sync, at most REVOCATION_FIRST_SYNC_SECONDS
(default 5); until one has succeeded, tokens with a `sid` are answered 503:
an ended session is never let through for want of the view. Tokens of `wushe
token` and of the identity provider carry no sid and never wait.
"""
import logging
import os
import socket
import threading
import time
import uuid

import kombu

from gateway.errors import ServiceUnavailable
from services.common import config, events
from services.common.clock import parse_instant

log = logging.getLogger("wushe.gateway.revocations")

PUBLISHER = "accounts"


def sync_seconds():
    return float(config.env("REVOCATION_SYNC_SECONDS", "60"))


def first_sync_seconds():
    return float(config.env("REVOCATION_FIRST_SYNC_SECONDS", "5"))


class RevocationView:
    """Session ids and until when (epoch seconds) their tokens are refused. Thread-safe."""

    def __init__(self):
        self._until = {}
        self._lock = threading.Lock()
        self.synced = threading.Event()     # one full sync has succeeded
        self.attempted = threading.Event()  # one has been tried (it may have failed)

    def add(self, entries):
        """entries: [{"session_id", "until": RFC 3339}]; returns how many were new."""
        now, new = time.time(), 0
        with self._lock:
            for entry in entries:
                moment = parse_instant(entry.get("until"))
                sid = entry.get("session_id")
                if not sid or moment is None or moment.timestamp() <= now:
                    continue
                if sid not in self._until:
                    new += 1
                self._until[sid] = max(moment.timestamp(), self._until.get(sid, 0))
            for sid in [s for s, until in self._until.items() if until <= now]:
                del self._until[sid]
        return new

    def is_revoked(self, sid):
        with self._lock:
            until = self._until.get(sid)
        return until is not None and until > time.time()

    def __len__(self):
        with self._lock:
            return len(self._until)


class RevocationFeed:
    """The consumer thread of one worker process, and its periodic sync."""

    def __init__(self, view, amqp_uri=None, rpc=None):
        from services.accounts.contract import SESSION_REVOKED

        self.view = view
        self.amqp_uri = amqp_uri or config.amqp_uri()
        self.spec = SESSION_REVOKED
        self._rpc = rpc
        self._stopping = threading.Event()
        self.thread = threading.Thread(target=self.run, name="revocation-feed", daemon=True)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self._stopping.set()

    @property
    def rpc(self):
        if self._rpc is None:
            from gateway.rpc import RpcPool

            self._rpc = RpcPool(self.amqp_uri, timeout=first_sync_seconds())
        return self._rpc

    def sync(self):
        """Take in every revocation the accounts service still keeps; False if it failed."""
        try:
            answer = self.rpc.call(PUBLISHER, "revoked_sessions")
            new = self.view.add(answer.get("sessions") or [])
        except Exception as exc:  # noqa: BLE001 - any failure: try again soon
            log.warning("revocation sync failed: %s: %s", type(exc).__name__, exc,
                        extra={"pid": os.getpid()})
            self.view.attempted.set()
            return False
        self.view.synced.set()
        self.view.attempted.set()  # after `synced`: a waiting request then sees both
        log.info("revocation view synced", extra={"pid": os.getpid(), "revoked": len(self.view),
                                                  "new": new})
        return True

    def on_message(self, body, message):
        try:
            data = self.spec.read(body)
        except Exception:  # noqa: BLE001 - a malformed event changes nothing
            log.warning("ignored a malformed %s", self.spec.type, extra={"pid": os.getpid()})
            return
        new = self.view.add(data["sessions"])
        log.info("sessions revoked", extra={"pid": os.getpid(), "source": "event",
                                            "reason": data["reason"], "sessions": len(data["sessions"]),
                                            "new": new, "event_id": body.get("id")})

    def run(self):
        backoff = 1.0
        while not self._stopping.is_set():
            try:
                self._consume()
                backoff = 1.0
            except Exception as exc:  # noqa: BLE001 - reconnect, whatever broke
                log.warning("revocation feed disconnected (%s: %s); reconnecting in %.0f s",
                            type(exc).__name__, exc, backoff, extra={"pid": os.getpid()})
                self.view.attempted.set()
                self._stopping.wait(backoff)
                backoff = min(backoff * 2, 30.0)

    def _consume(self):
        exchange = events.events_exchange(PUBLISHER)
        queue = kombu.Queue(
            f"wushe.gateway.revocations.{socket.gethostname()}.{os.getpid()}.{uuid.uuid4().hex[:6]}",
            exchange=exchange, routing_key=self.spec.type,
            durable=False, exclusive=True, auto_delete=True)
        with kombu.Connection(self.amqp_uri, heartbeat=30, connect_timeout=5) as connection:
            channel = connection.channel()
            exchange(channel).declare()  # as the topology step declares it: accepted
            with kombu.Consumer(channel, [queue], callbacks=[self.on_message], accept=["json"],
                                no_ack=True):
                log.info("revocation feed listening", extra={"pid": os.getpid(), "queue": queue.name})
                # Bound first, then synced: a revocation is in one or the other.
                synced = self.sync()
                next_sync = time.monotonic() + (sync_seconds() if synced else 2.0)
                while not self._stopping.is_set():
                    try:
                        connection.drain_events(timeout=1.0)
                    except socket.timeout:
                        connection.heartbeat_check()
                    if time.monotonic() >= next_sync:
                        synced = self.sync()
                        next_sync = time.monotonic() + (sync_seconds() if synced else 2.0)


_lock = threading.Lock()
_feeds = {}   # pid -> feed: a feed inherited across a fork is not this process's


def feed():
    """This process's feed, started on first use."""
    pid = os.getpid()
    with _lock:
        running = _feeds.get(pid)
        if running is None:
            running = _feeds[pid] = RevocationFeed(RevocationView()).start()
            log.info("revocation feed started", extra={"pid": pid})
        return running


def use(view):
    """Tests: answer from `view` in this process instead of a feed."""
    with _lock:
        _feeds[os.getpid()] = type("Given", (), {"view": view})()


def is_revoked(sid):
    """True if the session has ended; 503 while this worker's view cannot be trusted yet."""
    view = feed().view
    if not view.synced.is_set():
        view.attempted.wait(first_sync_seconds())
        if not view.synced.is_set():
            raise ServiceUnavailable("signed-in sessions cannot be checked right now; try again "
                                     "in a moment", code="revocations_unavailable")
    return view.is_revoked(sid)
