"""The event guarantees, proved against the real broker and Mongo-wire server:
at-least-once publication through the outbox, exactly-once effect in consumers,
dead letters that are listed and sent back, and replay for late consumers."""
import json
import subprocess
import sys
import time

import kombu
import pymongo
import pytest

from services.registry.commands import import_divisions
from services.common.inbox import DEAD_LETTER_QUEUE, DELIVERY_LIMIT
from tests.fixtures import PROVINCE_ADMIN, division_files, wait_for
from tests.harness import ROOT, EventTap

pytestmark = pytest.mark.integration


def _station(rpc, unit, **extra):
    with rpc as cluster:
        return cluster.registry.create_station(
            {"division_code": unit["code"], "name": f"{unit['name']}社工站",
             "planned_on": "2026-01-05", **extra},
            caller=PROVINCE_ADMIN)


def test_event_survives_a_kill_between_write_and_publish(isolated_platform, mongo_client, units):
    platform = isolated_platform
    tap = EventTap(platform.amqp_uri, "registry", "wushe.registry.station.#")
    # The relay is off: the write commits with its outbox entry, nothing is published.
    registry = platform.start_service("registry", OUTBOX_RELAY="off")
    import_divisions(division_files(), out=lambda line: None, rpc=platform.rpc())
    unit = units.township()
    station = _station(platform.rpc(), unit)
    outbox = platform.db(mongo_client, "registry").outbox
    pending = list(outbox.find({"published_at": None, "type": "wushe.registry.station.created.v1"}))
    assert [p["event"]["subject"] for p in pending] == [station["id"]]
    assert tap.collect(timeout=1.5) == []

    registry.kill()   # SIGKILL: the event never left the process
    platform.start_service("registry")

    received = tap.collect(until=lambda r: len(r) >= 1, timeout=15)
    time.sleep(2)     # and nothing more arrives: once, not twice
    received = tap.collect(timeout=1)
    created = [e for e in received if e["type"] == "wushe.registry.station.created.v1"]
    assert [e["id"] for e in created] == [pending[0]["_id"]]
    assert created[0]["subject"] == station["id"]
    assert created[0]["specversion"] == "1.0" and created[0]["source"] == "/wushe/registry"
    assert outbox.find_one({"_id": pending[0]["_id"]})["published_at"] is not None
    tap.close()


def _deliver_to_inbox(amqp_uri, event, queue="registry.inbox"):
    with kombu.Connection(amqp_uri) as conn:
        kombu.Producer(conn.channel()).publish(
            event, exchange="", routing_key=queue, serializer="json", delivery_mode=2,
            type=event.get("type"))


def _coverage(platform, region):
    with platform.rpc() as cluster:
        return cluster.registry.coverage({"region": region}, caller=PROVINCE_ADMIN)


def test_the_same_event_delivered_twice_changes_the_read_model_once(platform, mongo_client, units):
    county, townships = units.county()
    unit = townships[0]
    station = _station(platform.rpc(), unit)
    with platform.rpc() as cluster:
        cluster.registry.transition_station(station["id"], {"to": "built", "on": "2026-05-01"},
                                            caller=PROVINCE_ADMIN)
    wait_for(lambda: _coverage(platform, county)["with_station"] == 1, message="coverage")

    outbox = platform.db(mongo_client, "registry").outbox
    built = outbox.find_one({"type": "wushe.registry.station.built.v1", "event.subject": station["id"]})
    processed = platform.db(mongo_client, "registry").processed_events
    before = processed.count_documents({})
    model_before = platform.db(mongo_client, "registry").coverage_units.find_one({"_id": unit["code"]})

    _deliver_to_inbox(platform.amqp_uri, built["event"])
    _deliver_to_inbox(platform.amqp_uri, built["event"])
    time.sleep(1.5)

    assert _coverage(platform, county)["with_station"] == 1
    assert processed.count_documents({}) == before
    assert platform.db(mongo_client, "registry").coverage_units.find_one({"_id": unit["code"]}) == model_before
    # The duplicates were seen and skipped, not lost in an error.
    metrics = _metrics(platform.registry)
    assert 'outcome="duplicate",service="registry",type="wushe.registry.station.built.v1"' in metrics \
        or 'service="registry",type="wushe.registry.station.built.v1",outcome="duplicate"' in metrics


def _metrics(process):
    import urllib.request

    with urllib.request.urlopen(process.base_url + "/metrics") as response:
        return response.read().decode()


def _cli(platform, *args):
    return subprocess.run([sys.executable, "-m", "services.cli", *args], env=platform.env(),
                          cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_a_failing_event_is_dead_lettered_listed_and_sent_back(isolated_platform, units):
    platform = isolated_platform
    platform.start_service("registry")
    # No divisions imported yet: the read model cannot place this station's unit.
    unit = units.township()
    event = {
        "specversion": "1.0", "id": "dead-letter-test-1", "source": "/wushe/registry",
        "type": "wushe.registry.station.built.v1", "subject": f"{unit['code']}-01",
        "time": "2026-05-01T00:00:00Z", "datacontenttype": "application/json",
        "data": {"station_id": f"{unit['code']}-01", "division_code": unit["code"], "version": 2,
                 "status": "built",
                 "status_history": [{"status": "planned", "on": "2026-04-01"},
                                    {"status": "built", "on": "2026-05-01"}]},
    }
    _deliver_to_inbox(platform.amqp_uri, event)

    def dead_letters():
        with kombu.Connection(platform.amqp_uri) as conn:
            return conn.default_channel.queue_declare(DEAD_LETTER_QUEUE, passive=True).message_count

    wait_for(lambda: dead_letters() == 1, timeout=30, message="the dead letter")

    listing = _cli(platform, "dead-letters")
    assert listing.returncode == 0, listing.stderr
    assert "dead-letter-test-1" in listing.stdout and "registry.inbox" in listing.stdout
    assert dead_letters() == 1, "listing must not consume the letters"

    # The cause is mended (the divisions arrive); retrying delivers it for good.
    import_divisions(division_files(), out=lambda line: None, rpc=platform.rpc())
    retry = _cli(platform, "dead-letters", "--retry")
    assert retry.returncode == 0, retry.stderr
    assert "1 dead letters sent back" in retry.stdout
    wait_for(lambda: _coverage(platform, unit["areaCode"])["with_station"] == 1, timeout=15,
             message="the retried event to be applied")
    assert dead_letters() == 0


def test_replay_sends_the_event_log_to_a_late_consumer(platform, units):
    unit = units.township()
    started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 1))
    station = _station(platform.rpc(), unit)
    with kombu.Connection(platform.amqp_uri) as conn:
        kombu.Queue("late-consumer", durable=True)(conn.default_channel).declare()
    result = _cli(platform, "replay", "--service", "registry", "--since", started,
                  "--queue", "late-consumer")
    assert result.returncode == 0, result.stderr
    with kombu.Connection(platform.amqp_uri) as conn:
        queue = kombu.Queue("late-consumer")(conn.default_channel)
        got = []
        while (message := queue.get(no_ack=True)) is not None:
            got.append(json.loads(message.body))
    assert station["id"] in {e["subject"] for e in got}
    assert all(e["specversion"] == "1.0" for e in got)
    # A queue that does not exist is refused, not published into the void.
    missing = _cli(platform, "replay", "--service", "registry", "--since", started, "--queue", "nope")
    assert missing.returncode != 0 and "does not exist" in (missing.stderr + missing.stdout)


def test_logs_follow_one_change_across_services(platform, units):
    from nameko.standalone.rpc import ClusterRpcProxy

    unit = units.township()
    with ClusterRpcProxy({"AMQP_URI": platform.amqp_uri},
                         context_data={"request_id": "trace-me-123"}) as cluster:
        cluster.registry.create_station({"division_code": unit["code"], "name": "追踪社工站"},
                                        caller=PROVINCE_ADMIN)

    def traced():
        return [line for line in platform.registry.log_lines()
                if line.get("correlation_id") == "trace-me-123"]

    lines = wait_for(lambda: (t := traced()) and any(l.get("event_id") for l in t) and t,
                     message="the consumer's log line carrying the request id")
    assert any(l["message"] == "event applied" for l in lines)


def test_a_request_the_caller_gave_up_on_is_not_done_later(isolated_platform, units):
    """RPC queues are durable: a request waits for a stopped service. If the caller
    has stopped waiting by the time it is taken up, it must change nothing."""
    from nameko.exceptions import RpcTimeout
    from nameko.standalone.rpc import ClusterRpcProxy

    platform = isolated_platform
    registry = platform.start_service("registry")
    import_divisions(division_files(), out=lambda line: None, rpc=platform.rpc())
    registry.stop()   # nothing consumes rpc-registry now
    unit = units.township()
    with ClusterRpcProxy({"AMQP_URI": platform.amqp_uri}, timeout=1,
                         context_data={"deadline": time.time() + 1}) as cluster:
        with pytest.raises(RpcTimeout):
            cluster.registry.create_station({"division_code": unit["code"], "name": "迟到社工站",
                                             "planned_on": "2026-01-05"}, caller=PROVINCE_ADMIN)
    time.sleep(3)     # past the deadline and the allowed clock skew
    restarted = platform.start_service("registry")
    wait_for(lambda: any("caller stopped waiting" in line.get("message", "")
                         for line in restarted.log_lines()),
             message="the queued request to be taken up and refused")
    with platform.rpc() as cluster:
        found = cluster.registry.list_stations({"region": unit["code"]}, caller=PROVINCE_ADMIN)
    assert found["total"] == 0


def test_every_platform_queue_is_a_replicated_quorum_queue(platform):
    """What the cluster relies on: RPC queues and inboxes survive a broker node,
    and dead letters are moved at least once."""
    listing = subprocess.run(
        ["rabbitmqctl", "-q", "list_queues", "-p", platform.vhost, "name", "type", "arguments",
         "--formatter", "json"], capture_output=True, text=True, check=True, timeout=60)
    queues = {q["name"]: q for q in json.loads(listing.stdout)}
    for name in ("rpc-registry", "registry.inbox", "wushe.dead-letters"):
        assert queues[name]["type"] == "quorum", queues[name]
    arguments = {name: value for name, _type, value in queues["registry.inbox"]["arguments"]}
    assert arguments["x-dead-letter-strategy"] == "at-least-once"
    assert arguments["x-overflow"] == "reject-publish"
