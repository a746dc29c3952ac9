"""Webhooks, service level: the webhooks process on the real broker and the Mongo-wire
server, events published on `registry.events` as the registry publishes them, and a
local receiving server (http.server in a thread) on loopback, allowed by
WEBHOOKS_ALLOWED_NETWORKS=127.0.0.0/8 as only tests do."""
import hashlib
import hmac
import http.server
import ipaddress
import json
import threading
import time
import uuid

import kombu
import pytest

from services.common.events import events_exchange
from services.common.errors import DomainError
from services.webhooks import urls
from tests.fixtures import PROVINCE_ADMIN, drop_platform, make_platform, wait_for
from tests.harness import EventTap

pytestmark = pytest.mark.integration

FAST = {"WEBHOOKS_ALLOWED_NETWORKS": "127.0.0.0/8", "WEBHOOKS_BACKOFF_BASE_SECONDS": "0.2",
        "WEBHOOKS_BACKOFF_MAX_SECONDS": "1", "WEBHOOKS_POLL_SECONDS": "0.2",
        "WEBHOOKS_TIMEOUT_SECONDS": "2", "WEBHOOKS_GIVE_UP_AFTER_SECONDS": "4"}
TYPE = "wushe.registry.station.updated.v1"
TOLERANCE = 300   # what a receiver accepts: 5 minutes either way


class Receiver:
    """An HTTP receiver; each path behaves as told: `fail(path, n)` answers 500 n times
    first, `close(path)` answers 503 until `open(path)`, `hang(path)` blocks until released."""

    def __init__(self):
        self.received = []
        self.failures = {}
        self.closed = set()
        self.hanging = {}
        self.lock = threading.Lock()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                path = self.path
                gate = receiver.hanging.get(path)
                if gate is not None:
                    receiver.record(path, self.headers, body, None)
                    gate.wait(30)
                with receiver.lock:
                    left = receiver.failures.get(path, 0)
                    if left:
                        receiver.failures[path] = left - 1
                status = 500 if left else 503 if path in receiver.closed else 200
                receiver.record(path, self.headers, body, status)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        # Stopping never waits for a handler (one may still hang on a gate or a dead client).
        self.server.daemon_threads = True
        self.server.block_on_close = False
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def record(self, path, headers, body, status):
        with self.lock:
            self.received.append({"path": path, "headers": dict(headers), "body": body,
                                  "status": status, "at": time.time()})

    def url(self, path):
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def at(self, path, status=200):
        with self.lock:
            return [r for r in self.received if r["path"] == path
                    and (status is None or r["status"] == status)]

    def fail(self, path, times):
        self.failures[path] = times

    def stop(self):
        for gate in self.hanging.values():
            gate.set()
        # shutdown() waits for serve_forever's loop: asked from a thread of its own, so a
        # teardown can never hang on it; the daemon threads end with the test process.
        threading.Thread(target=self.server.shutdown, daemon=True).start()
        self.server.server_close()


def verify(secret, headers, body, now=None, tolerance=TOLERANCE):
    """What a receiver does (docs/webhooks.md), written here independently."""
    parts = dict(item.split("=", 1) for item in headers["Webhook-Signature"].split(","))
    stamp = int(parts["t"])
    if stamp != int(headers["Webhook-Timestamp"]):
        return False
    if abs((now or time.time()) - stamp) > tolerance:
        return False   # too old (or from the future): a replay
    expected = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts["v1"])


def publish(amqp_uri, subject, data=None, event_type=TYPE):
    """An event on registry.events, as the registry's outbox relay publishes it."""
    event = {"specversion": "1.0", "id": str(uuid.uuid4()), "source": "/wushe/registry",
             "type": event_type, "subject": subject,
             "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + f".{time.time_ns() % 10**9 // 1000:06d}Z",
             "datacontenttype": "application/json", "data": data or {"station_id": subject}}
    with kombu.Connection(amqp_uri) as conn:
        kombu.Producer(conn.channel()).publish(
            event, exchange=events_exchange("registry"), routing_key=event_type,
            serializer="json", delivery_mode=2, type=event_type, message_id=event["id"])
    return event


@pytest.fixture(scope="module")
def hooks_platform(mongo_uri, tmp_path_factory):
    platform = make_platform(mongo_uri, tmp_path_factory.mktemp("webhooks"))
    try:
        platform.webhooks = platform.start_service("webhooks", **FAST)
        yield platform
    finally:
        drop_platform(platform)


@pytest.fixture(scope="module")
def receiver():
    receiver = Receiver()
    yield receiver
    receiver.stop()


@pytest.fixture
def rpc(hooks_platform):
    with hooks_platform.rpc() as cluster:
        yield cluster.webhooks


def subscribe(rpc, receiver, path, types=("wushe.registry.*",)):
    return rpc.create_webhook({"url": receiver.url(path), "types": list(types)},
                              caller=PROVINCE_ADMIN)


def deliveries_of(rpc, webhook):
    return rpc.list_deliveries(webhook["id"], {}, caller=PROVINCE_ADMIN)["items"]


def test_a_delivery_is_a_signed_cloudevent(hooks_platform, receiver, rpc):
    webhook = subscribe(rpc, receiver, "/signed")
    assert webhook["secret"].startswith("whsec_") and webhook["status"] == "active"
    assert "secret" not in rpc.get_webhook(webhook["id"], caller=PROVINCE_ADMIN)
    event = publish(hooks_platform.amqp_uri, "S-signed")
    [got] = wait_for(lambda: receiver.at("/signed"), message="the delivery")
    headers, body = got["headers"], got["body"]
    assert headers["Content-Type"].startswith("application/cloudevents+json")
    assert json.loads(body) == event   # structured mode: the event as published
    assert headers["Webhook-Id"] == event["id"]
    assert verify(webhook["secret"], headers, body)
    # The timestamp is signed: a replay cannot freshen it, and an old one is refused.
    stamp = int(headers["Webhook-Timestamp"])
    forged = dict(headers, **{"Webhook-Timestamp": str(stamp + 600)})
    forged["Webhook-Signature"] = forged["Webhook-Signature"].replace(f"t={stamp}", f"t={stamp + 600}")
    assert not verify(webhook["secret"], forged, body, now=stamp + 600)
    assert not verify(webhook["secret"], headers, body, now=stamp + TOLERANCE + 1)
    assert not verify(webhook["secret"], headers, body + b" ")
    assert not verify("whsec_other", headers, body)
    [log] = deliveries_of(rpc, webhook)
    assert log["status"] == "delivered" and log["attempts"] == 1 and log["event_id"] == event["id"]


def test_failing_three_times_then_succeeding_gets_it_once_more(hooks_platform, receiver, rpc):
    receiver.fail("/flaky", 3)
    webhook = subscribe(rpc, receiver, "/flaky")
    event = publish(hooks_platform.amqp_uri, "S-flaky")
    wait_for(lambda: receiver.at("/flaky"), message="the fourth attempt")
    wait_for(lambda: deliveries_of(rpc, webhook)[0]["status"] == "delivered", message="logged")
    time.sleep(1.5)   # nothing more comes: delivered is done
    assert [r["status"] for r in receiver.at("/flaky", None)] == [500, 500, 500, 200]
    assert [json.loads(r["body"])["id"] for r in receiver.at("/flaky")] == [event["id"]]
    [log] = deliveries_of(rpc, webhook)
    assert log["attempts"] == 4 and log["last_status_code"] == 200 and log["last_error"] is None


def test_redelivery_sends_again(hooks_platform, receiver, rpc):
    webhook = subscribe(rpc, receiver, "/again")
    event = publish(hooks_platform.amqp_uri, "S-again")
    wait_for(lambda: receiver.at("/again"), message="the delivery")
    wait_for(lambda: deliveries_of(rpc, webhook)[0]["status"] == "delivered", message="logged")
    [log] = deliveries_of(rpc, webhook)
    again = rpc.redeliver(webhook["id"], log["id"], caller=PROVINCE_ADMIN)
    assert again["status"] == "pending" and again["redeliveries"] == 1
    second = wait_for(lambda: len(receiver.at("/again")) == 2 and receiver.at("/again"),
                      message="the redelivery")
    assert [r["headers"]["Webhook-Id"] for r in second] == [event["id"], event["id"]]
    assert verify(webhook["secret"], second[1]["headers"], second[1]["body"])
    with pytest.raises(DomainError) as refused:
        rpc.redeliver(webhook["id"], "0" * 32, caller=PROVINCE_ADMIN)
    assert refused.value.status == 404 and "delivery_id" in refused.value.fields


def test_a_paused_subscription_gets_nothing_and_resume_sends_what_accumulated_in_order(
        hooks_platform, receiver, rpc):
    paused = subscribe(rpc, receiver, "/paused")
    control = subscribe(rpc, receiver, "/control")
    assert rpc.pause_webhook(paused["id"], caller=PROVINCE_ADMIN)["status"] == "paused"
    sent = [publish(hooks_platform.amqp_uri, "S-order", {"n": n}) for n in range(3)]
    wait_for(lambda: len(receiver.at("/control")) == 3, message="the control's three")
    time.sleep(1)
    assert receiver.at("/paused", None) == []
    logs = deliveries_of(rpc, paused)
    assert len(logs) == 3 and {d["status"] for d in logs} == {"pending"}
    assert {d["attempts"] for d in logs} == {0}

    assert rpc.resume_webhook(paused["id"], caller=PROVINCE_ADMIN)["status"] == "active"
    got = wait_for(lambda: len(receiver.at("/paused")) == 3 and receiver.at("/paused"),
                   message="what accumulated")
    assert [json.loads(r["body"])["id"] for r in got] == [e["id"] for e in sent]
    assert [json.loads(r["body"])["id"] for r in receiver.at("/control")] == [e["id"] for e in sent]


def test_one_hanging_receiver_does_not_delay_another(hooks_platform, receiver, rpc):
    gate = receiver.hanging["/hangs"] = threading.Event()
    slow = subscribe(rpc, receiver, "/hangs")
    fast = subscribe(rpc, receiver, "/fast")
    try:
        event = publish(hooks_platform.amqp_uri, "S-hang")
        wait_for(lambda: receiver.at("/hangs", None), message="the hanging request")
        wait_for(lambda: receiver.at("/fast"), message="the other receiver's delivery")
        assert not gate.is_set()   # while the first receiver still holds its request
        assert json.loads(receiver.at("/fast")[0]["body"])["id"] == event["id"]
    finally:
        gate.set()
    rpc.delete_webhook(slow["id"], caller=PROVINCE_ADMIN)
    rpc.delete_webhook(fast["id"], caller=PROVINCE_ADMIN)


def test_failing_past_the_give_up_time_pauses_with_an_event(hooks_platform, receiver, rpc):
    tap = EventTap(hooks_platform.amqp_uri, "webhooks", "wushe.webhooks.subscription.paused.v1")
    receiver.closed.add("/down")
    webhook = subscribe(rpc, receiver, "/down")
    publish(hooks_platform.amqp_uri, "S-down")
    wait_for(lambda: rpc.get_webhook(webhook["id"], caller=PROVINCE_ADMIN)["status"] == "paused",
             timeout=30, message="the pause (WEBHOOKS_GIVE_UP_AFTER_SECONDS=4)")
    assert rpc.get_webhook(webhook["id"], caller=PROVINCE_ADMIN)["paused_reason"] == "failing"
    [paused] = [e for e in tap.collect(until=lambda r: r, timeout=15)
                if e["subject"] == webhook["id"]]
    assert paused["data"]["reason"] == "failing" and paused["data"]["host"] == "127.0.0.1"
    assert "secret" not in json.dumps(paused) and "/down" not in json.dumps(paused)
    [log] = deliveries_of(rpc, webhook)
    assert log["status"] == "pending" and log["attempts"] >= 2 and log["last_error"] == "HTTP 503"
    tap.close()
    # Mended and resumed: it is delivered.
    receiver.closed.discard("/down")
    rpc.resume_webhook(webhook["id"], caller=PROVINCE_ADMIN)
    wait_for(lambda: receiver.at("/down"), message="the delivery after resume")


def test_urls_are_checked_when_a_subscription_is_made(hooks_platform, rpc):
    for url in ("https://10.1.2.3/hook", "https://169.254.169.254/latest", "https://[fe80::1]/",
                "ftp://127.0.0.1/", "https://user:pw@127.0.0.1/", "not a url"):
        with pytest.raises(DomainError) as refused:
            rpc.create_webhook({"url": url, "types": ["wushe.registry.*"]}, caller=PROVINCE_ADMIN)
        assert refused.value.fields and "url" in refused.value.fields, url
    with pytest.raises(DomainError) as refused:
        rpc.create_webhook({"url": "https://127.0.0.1/", "types": ["wushe.nothing.*"]},
                           caller=PROVINCE_ADMIN)
    assert "types" in refused.value.fields
    with pytest.raises(DomainError) as refused:
        rpc.create_webhook({"url": "https://127.0.0.1/", "types": ["wushe.registry.*"]},
                           caller={"sub": "c", "role": "city_officer", "region": "3401"})
    assert refused.value.status == 403


@pytest.mark.parametrize("url", [
    "https://127.0.0.1/", "https://[::1]/", "https://10.0.0.1/", "https://172.16.5.4/",
    "https://192.168.1.1/", "https://169.254.169.254/", "https://100.64.0.1/",
    "https://0.0.0.0/", "https://224.0.0.1/", "https://240.0.0.1/", "https://[fc00::1]/",
    "https://[::ffff:127.0.0.1]/", "http://8.8.8.8/",
])
def test_url_check_refuses_non_public_and_plain_http_by_default(url):
    with pytest.raises(urls.Refused):
        urls.check(url, allowed=[])


def test_url_check_allows_configured_networks_and_public_https():
    assert urls.check("https://8.8.8.8/hook?x=1", allowed=[]).path == "/hook?x=1"
    loopback = [ipaddress.ip_network("127.0.0.0/8")]
    assert urls.check("http://127.0.0.1:9/x", allowed=loopback).addresses == [
        ipaddress.ip_address("127.0.0.1")]
    with pytest.raises(urls.Refused):
        urls.check("https://10.0.0.1/", allowed=loopback)


def test_a_restart_mid_retry_still_delivers_once(isolated_platform, receiver):
    platform = isolated_platform
    slow = dict(FAST, WEBHOOKS_TIMEOUT_SECONDS="1", WEBHOOKS_GIVE_UP_AFTER_SECONDS="120")
    first = platform.start_service("webhooks", **slow)
    receiver.closed.add("/restart")
    with platform.rpc() as cluster:
        webhook = subscribe(cluster.webhooks, receiver, "/restart")
        event = publish(platform.amqp_uri, "S-restart")
        wait_for(lambda: len(receiver.at("/restart", None)) >= 2, message="failed attempts")
        first.kill()   # SIGKILL: whatever it held in memory is gone
        receiver.closed.discard("/restart")
        platform.start_service("webhooks", **slow)
        wait_for(lambda: receiver.at("/restart"), timeout=30, message="the delivery after restart")
        wait_for(lambda: deliveries_of(cluster.webhooks, webhook)[0]["status"] == "delivered",
                 message="logged")
        time.sleep(1)
        assert [json.loads(r["body"])["id"] for r in receiver.at("/restart")] == [event["id"]]
