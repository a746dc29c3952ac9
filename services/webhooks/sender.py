"""The sender: delivers what `webhook_deliveries` holds, in every replica at once.

A loop on its own green thread (a nameko DependencyProvider's managed thread)
wakes every WEBHOOKS_POLL_SECONDS, or at once when the inbox stored something
or a send finished. For each active subscription it takes the due heads of its
lanes (services.webhooks.deliveries) under a lease, as many as that
subscription's own pool of WEBHOOKS_CONCURRENCY green threads has free: a slow
or failing receiver fills only its own pool, never delays another's.

Each attempt checks the URL again (urls.check) and connects to the address
checked, never resolving again (DNS rebinding), with urllib3 (a pool pinned to
the address, TLS verified against the host name with certifi's CA bundle),
no redirects followed. 2xx is delivered; anything else is retried after
full-jitter exponential backoff until WEBHOOKS_GIVE_UP_AFTER_SECONDS after
the first attempt; then the subscription is paused with an event, and its
deliveries wait, pending, for `resume`.
A process killed mid-send leaves its lease to expire; then any replica sends
the delivery again (at least once).
"""
import datetime
import json
import logging
import threading
import time
import uuid

import certifi
import eventlet
import urllib3
from nameko.extensions import DependencyProvider

from services.common import access, config
from services.common import outbox as outbox_module
from services.common.clock import now_ms, rfc3339, utcnow
from services.common.mongo import service_db
from services.webhooks import deliveries, hooks, rules, settings, signing, urls

log = logging.getLogger(__name__)

RESPONSE_READ_LIMIT = 4096
USER_AGENT = "wushe-webhooks/1"


class Sender(DependencyProvider):

    def setup(self):
        self.service = self.container.service_name
        self.db = service_db(self.service)
        self.owner = uuid.uuid4().hex
        self.pools = {}
        self.wakeup = threading.Event()
        self.running = False
        self.timeout = settings.timeout()
        self.concurrency = settings.concurrency()
        self.poll = settings.poll_seconds()
        self.base, self.cap = settings.backoff_base(), settings.backoff_max()
        self.give_up = datetime.timedelta(seconds=settings.give_up_after())
        # Longer than any attempt can take, so a live sender never loses its lease.
        self.lease = datetime.timedelta(seconds=3 * self.timeout + 5)
        # urllib3 logs request paths at DEBUG; a path may hold a receiver's token.
        logging.getLogger("urllib3").setLevel(logging.WARNING)

    def start(self):
        self.running = True
        self.container.spawn_managed_thread(self.run_forever, identifier="webhook-sender")

    def stop(self):
        self.running = False
        self.wakeup.set()
        for pool in list(self.pools.values()):
            pool.waitall()   # bounded by WEBHOOKS_TIMEOUT_SECONDS

    def kill(self):
        self.running = False
        self.wakeup.set()

    def get_dependency(self, worker_ctx):
        return self

    def wake(self):
        self.wakeup.set()

    def run_forever(self):
        while self.running:
            self.wakeup.clear()
            try:
                self.dispatch()
            except Exception:
                log.exception("webhook sender failed; retrying", extra={"service": self.service})
            self.wakeup.wait(self.poll)

    def dispatch(self):
        now = utcnow()
        active = [d["_id"] for d in
                  self.db.webhook_subscriptions.find({"status": "active"}, {"_id": 1})]
        for subscription_id in active:
            pool = self.pools.get(subscription_id)
            if pool is None:
                pool = self.pools[subscription_id] = eventlet.GreenPool(self.concurrency)
            free = pool.free()
            if free <= 0:
                continue
            for _id in deliveries.due_heads(self.db, subscription_id, now, free):
                if deliveries.claim(self.db, _id, self.owner, now, self.lease):
                    pool.spawn_n(self.send_one, subscription_id, _id)
        for subscription_id in [s for s, p in self.pools.items()
                                if s not in active and p.running() == 0]:
            del self.pools[subscription_id]

    def send_one(self, subscription_id, _id):
        context = {"subscription_id": subscription_id, "delivery_id": _id}
        try:
            doc = deliveries.leased(self.db, _id, self.owner)
            if doc is None:
                return   # redelivery asked or deleted meanwhile
            sub = self.db.webhook_subscriptions.find_one({"_id": subscription_id})
            if sub is None or sub["status"] != "active":
                deliveries.release(self.db, _id, self.owner)
                return
            status, error = self.post(sub, doc)
            at = now_ms()
            attempt = doc["attempts"] + 1
            if status is not None and 200 <= status < 300:
                deliveries.delivered(self.db, doc, self.owner, status, at)
                log.info("webhook delivered", extra={**context, "event_type": doc["event_type"],
                                                     "attempt": attempt, "status_code": status})
            else:
                self.failure(sub, doc, status, error, at)
                log.warning("webhook delivery failed", extra={
                    **context, "event_type": doc["event_type"], "attempt": attempt,
                    "status_code": status, "error": error})
        except Exception:
            log.exception("webhook delivery broke; released", extra=context)
            deliveries.release(self.db, _id, self.owner)
            eventlet.sleep(self.poll)   # not a tight loop on a lasting fault
        finally:
            self.wake()

    def failure(self, sub, doc, status, error, at):
        first = doc.get("first_attempt_at") or at
        deadline = first + self.give_up
        if at >= deadline:
            deliveries.failed(self.db, doc, self.owner, status, error, at, at)
            self.pause_failing(sub, doc, first, error)
            return
        delay = rules.backoff(doc["attempts"] + 1, self.base, self.cap)
        next_at = min(at + datetime.timedelta(seconds=delay), deadline)
        deliveries.failed(self.db, doc, self.owner, status, error, at, next_at)

    def pause_failing(self, sub, doc, first, error):
        failure = {"failing_since": rfc3339(first), "delivery_id": doc["_id"],
                   "last_error": (error or "")[:300]}
        _, emitted = outbox_module.record(
            self.db, self.service,
            lambda tx: hooks.pause(tx, sub["_id"], access.SYSTEM, reason="failing",
                                   failure=failure))
        relay = next((e.relay for e in self.container.extensions
                      if isinstance(e, outbox_module.Outbox)), None)
        if emitted and relay is not None and config.outbox_relay_enabled():
            relay.submit(emitted)
        log.warning("webhook subscription paused: a delivery failed for too long",
                    extra={"subscription_id": sub["_id"], "delivery_id": doc["_id"]})

    def post(self, sub, doc):
        """(status code or None, error or None) of one attempt."""
        try:
            target = urls.check(sub["url"])
        except urls.Refused as refused:
            return None, f"refused: {refused.reason}"
        body = json.dumps(doc["event"], ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        headers = signing.headers(hooks.secret_of(sub), doc["event_id"] or doc["_id"],
                                  int(time.time()), body)
        default_port = 443 if target.scheme == "https" else 80
        host = f"[{target.host}]" if ":" in target.host else target.host
        headers["Host"] = host if target.port == default_port else f"{host}:{target.port}"
        headers["User-Agent"] = USER_AGENT
        timeout = urllib3.Timeout(connect=self.timeout, read=self.timeout)
        error = None
        for address in target.addresses:
            pool = self._pool(target, address)
            try:
                response = pool.urlopen("POST", target.path, body=body, headers=headers,
                                        retries=False, redirect=False, timeout=timeout,
                                        preload_content=False, assert_same_host=False)
                try:
                    response.read(RESPONSE_READ_LIMIT)
                finally:
                    response.close()
                ok = 200 <= response.status < 300
                return response.status, None if ok else f"HTTP {response.status}"
            except (urllib3.exceptions.NewConnectionError,
                    urllib3.exceptions.ConnectTimeoutError) as exc:
                error = _describe(exc, target)   # try the host's next address
            except urllib3.exceptions.HTTPError as exc:
                return None, _describe(exc, target)
            finally:
                pool.close()
        return None, error

    def _pool(self, target, address):
        if target.scheme == "https":
            return urllib3.HTTPSConnectionPool(
                str(address), target.port, maxsize=1, server_hostname=target.host,
                assert_hostname=target.host, cert_reqs="CERT_REQUIRED", ca_certs=certifi.where())
        return urllib3.HTTPConnectionPool(str(address), target.port, maxsize=1)


def _describe(exc, target):
    text = f"{type(exc).__name__}: {exc}"
    if target.path != "/":
        text = text.replace(target.path, "/…")
    return text[:300]
