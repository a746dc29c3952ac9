"""Other government systems' own queues and users (`wushe consumers`), on the real broker.

Each test works in a vhost of its own with the platform's topology declared
(no services needed), except the replay test, which needs the publishers. The
broker's management API must answer (port 15672): the `management_api`
fixture enables the plugin when it is off, as `make test` does.
"""
import json
import subprocess
import sys
import time
import uuid

import amqp
import amqp.exceptions
import kombu
import pytest
import requests

from services.common import broker_admin, events, inbox
from tests.fixtures import wait_for
from tests.harness import ROOT, Platform, new_vhost, rabbitmqctl

MGMT = broker_admin.management_url()


def _management_answers():
    try:
        return requests.get(MGMT + "/api/overview", auth=("guest", "guest"), timeout=5).ok
    except requests.ConnectionError:
        return False


@pytest.fixture(scope="session")
def management_api():
    if not _management_answers():
        subprocess.run(["rabbitmq-plugins", "-q", "enable", "rabbitmq_management"],
                       check=True, capture_output=True, timeout=120)
        wait_for(_management_answers, timeout=60, message="the management API on :15672")
    return MGMT


@pytest.fixture
def broker(management_api, tmp_path):
    """A vhost of its own with the topology of registry and volunteer declared."""
    vhost, amqp_uri = new_vhost()
    platform = Platform("mongodb://unused", amqp_uri, str(tmp_path))
    platform.vhost = vhost
    env = platform.env(WUSHE_SERVICES="registry,volunteer")
    subprocess.run([sys.executable, "-m", "services.cli", "topology"], env=env, cwd=ROOT,
                   check=True, capture_output=True, timeout=60)
    platform.cli_env = env
    made = []
    platform.made = made
    try:
        yield platform
    finally:
        admin = broker_admin.BrokerAdmin(amqp_uri)
        for name in made:
            admin.delete_user(f"ext.{name}")
        rabbitmqctl("delete_vhost", vhost)


def _name():
    return f"t{uuid.uuid4().hex[:8]}-bureau"


def cli(platform, *args, env=None):
    return subprocess.run([sys.executable, "-m", "services.cli", "consumers", *args],
                          env=env or platform.cli_env, cwd=ROOT, capture_output=True,
                          text=True, timeout=120)


def add(platform, name, *types):
    platform.made.append(name)
    result = cli(platform, "add", name, "--types", *types, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def publish(amqp_uri, service, event_type, n=1):
    with kombu.Connection(amqp_uri, transport_options={"confirm_publish": True}) as connection:
        producer = kombu.Producer(connection)
        for i in range(n):
            producer.publish(events.cloud_event(service, "x", f"s-{i}", {}) | {"type": event_type},
                             exchange=events.events_exchange(service), routing_key=event_type,
                             serializer="json", delivery_mode=2)


def user_connection(platform, made):
    vhost = kombu.Connection(platform.amqp_uri).virtual_host
    return amqp.Connection("127.0.0.1:5672", userid=made["user"], password=made["password"],
                           virtual_host=vhost)


def refused(connection, action):
    """True if the broker refuses `action(channel)` with ACCESS_REFUSED (403)."""
    channel = connection.channel()
    try:
        action(channel)
        # publish is asynchronous: a round trip makes a refusal arrive
        channel.basic_qos(0, 1, False)
    except amqp.exceptions.AccessRefused:
        return True
    return False


def test_add_prints_the_connection_details_and_makes_only_what_it_says(broker):
    name = _name()
    result = cli(broker, "add", name, "--types", "wushe.registry.station.#", "wushe.*.hours.#",
                 "--gateway-url", "https://wushe.example.gov.cn")
    broker.made.append(name)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    password = out.split("password", 1)[1].split()[0]
    assert len(password) >= 24
    assert f"user      ext.{name}" in out and f"queue     ext.{name}" in out
    assert f"amqp://ext.{name}@127.0.0.1:5672/{broker.vhost}" in out
    assert password not in out.split("amqp url", 1)[1]  # not inline in the URL
    assert "https://wushe.example.gov.cn/api/v1/asyncapi.json" in out

    admin = broker_admin.BrokerAdmin(broker.amqp_uri)
    user = admin.user(f"ext.{name}")
    assert user["tags"] in ([], "")  # no management access at all
    assert admin.user_permissions(f"ext.{name}") == [{
        "user": f"ext.{name}", "vhost": broker.vhost,
        "configure": "^$", "write": "^$", "read": rf"^ext\.{name}$"}]
    topic = {t["exchange"]: (t["write"], t["read"]) for t in admin.topic_permissions(f"ext.{name}")}
    assert topic == {"registry.events": ("^$", "^$"), "volunteer.events": ("^$", "^$")}  # bound ones
    queue = admin.queue(f"ext.{name}")
    assert queue["type"] == "quorum" and queue["durable"]
    assert queue["arguments"] == inbox.INBOX_ARGUMENTS
    bound = {(b["source"], b["routing_key"]) for b in admin.queue_bindings(f"ext.{name}") if b["source"]}
    # `wushe.*.hours.#` only matches volunteer types, so only that exchange is bound.
    assert bound == {("registry.events", "wushe.registry.station.#"),
                     ("volunteer.events", "wushe.*.hours.#")}


def test_bad_input_is_refused_naming_it_and_makes_nothing(broker):
    admin = broker_admin.BrokerAdmin(broker.amqp_uri)
    name = _name()
    for args, expect in ((["Bad_Name", "--types", "wushe.registry.#"], "name"),
                         ([name, "--types", "wushe.registry.stat1on.#"], "matches no event type"),
                         ([name, "--types", "wushe.registry..x"], "not an event type")):
        result = cli(broker, "add", *args)
        assert result.returncode != 0 and expect in result.stderr, result.stderr
        assert "Traceback" not in result.stderr
    assert admin.user(f"ext.{name}") is None and admin.queue(f"ext.{name}") is None
    add(broker, name, "wushe.registry.#")
    again = cli(broker, "add", name, "--types", "wushe.volunteer.#")
    assert again.returncode != 0 and "exists already" in again.stderr
    bound = {b["source"] for b in admin.queue_bindings(f"ext.{name}") if b["source"]}
    assert bound == {"registry.events"}  # the refused second add changed nothing


def test_the_consumer_reads_its_queue_and_can_do_nothing_else(broker):
    made = add(broker, _name(), "wushe.registry.#")
    other = add(broker, _name(), "wushe.volunteer.#")
    publish(broker.amqp_uri, "registry", "wushe.registry.station.opened.v1", n=2)
    connection = user_connection(broker, made)
    connection.connect()
    try:
        channel = connection.channel()
        # Its own queue: the backlog (passive declare), get, consume, ack.
        assert wait_for(lambda: channel.queue_declare(made["queue"], passive=True).message_count == 2)
        message = channel.basic_get(made["queue"], no_ack=False)
        assert json.loads(message.body)["type"] == "wushe.registry.station.opened.v1"
        channel.basic_ack(message.delivery_tag)
        got = []
        channel.basic_consume(made["queue"], callback=got.append)
        connection.drain_events(timeout=10)
        got[0].channel.basic_ack(got[0].delivery_tag)

        assert refused(connection, lambda ch: ch.basic_publish(
            amqp.Message("{}"), "registry.events", "wushe.registry.station.opened.v1"))
        assert refused(connection, lambda ch: ch.basic_publish(amqp.Message("{}"), "", made["queue"]))
        assert refused(connection, lambda ch: ch.basic_get(other["queue"]))
        assert refused(connection, lambda ch: ch.basic_get("registry.inbox"))
        assert refused(connection, lambda ch: ch.basic_consume(inbox.DEAD_LETTER_QUEUE))
        assert refused(connection, lambda ch: ch.queue_declare(f"{made['queue']}-2", durable=True))
        assert refused(connection, lambda ch: ch.queue_declare(
            made["queue"], durable=True, arguments=inbox.INBOX_ARGUMENTS))
        assert refused(connection, lambda ch: ch.queue_bind(made["queue"], "volunteer.events", "#"))
        assert refused(connection, lambda ch: ch.queue_bind(made["queue"], "registry.events", "#"))
        assert refused(connection, lambda ch: ch.exchange_declare("mine", "topic"))
        assert refused(connection, lambda ch: ch.queue_delete(made["queue"]))
    finally:
        connection.collect()
    # Nothing reached the other consumer's queue or the inbox by its hand.
    with kombu.Connection(broker.amqp_uri) as c:
        assert c.default_channel.queue_declare(other["queue"], passive=True).message_count == 0

    # The management API refuses it outright, even for its own queue.
    vhost = requests.utils.quote(broker.vhost, safe="")
    auth = (made["user"], made["password"])
    for path in ("overview", f"queues/{vhost}", f"queues/{vhost}/{made['queue']}", "whoami"):
        assert requests.get(f"{MGMT}/api/{path}", auth=auth, timeout=10).status_code == 401, path


def test_list_shows_bindings_and_backlog(broker):
    made = add(broker, _name(), "wushe.registry.station.#")
    publish(broker.amqp_uri, "registry", "wushe.registry.station.opened.v1", n=3)
    publish(broker.amqp_uri, "registry", "wushe.registry.divisions.imported.v1", n=1)  # not bound
    connection = user_connection(broker, made)
    connection.connect()
    try:
        channel = connection.channel()
        channel.basic_qos(0, 1, False)  # one delivered and held unacknowledged, two ready
        held = []
        channel.basic_consume(made["queue"], callback=held.append)
        connection.drain_events(timeout=10)

        def listed():
            result = cli(broker, "list", "--json")
            assert result.returncode == 0, result.stderr
            mine = [c for c in json.loads(result.stdout) if c["name"] == made["name"]]
            return mine[0] if mine and mine[0]["unacknowledged"] == 1 else None

        # unacknowledged comes from the management API's samples (every 5 s).
        entry = wait_for(listed, timeout=30, interval=1, message="a sample with the held message")
        assert entry["ready"] == 2 and entry["consumers"] == 1
        assert entry["user"] == made["user"] and entry["queue"] == made["queue"]
        assert entry["bindings"] == [{"exchange": "registry.events",
                                      "routing_key": "wushe.registry.station.#"}]
        text = cli(broker, "list").stdout
        assert f"{made['name']}: user {made['user']}" in text and "2 ready, 1 unacknowledged" in text
        channel.basic_ack(held[0].delivery_tag)
    finally:
        connection.collect()


def test_remove_deletes_user_and_queue_and_closes_its_connections(broker):
    made = add(broker, _name(), "wushe.registry.#")
    publish(broker.amqp_uri, "registry", "wushe.registry.station.opened.v1", n=2)
    connection = user_connection(broker, made)
    connection.connect()
    admin = broker_admin.BrokerAdmin(broker.amqp_uri)
    wait_for(lambda: admin.connections_of(made["user"]), message="the consumer's connection listed")
    result = cli(broker, "remove", made["name"])
    assert result.returncode == 0, result.stderr
    assert "user deleted, queue deleted (2 messages dropped)" in result.stdout
    assert admin.user(made["user"]) is None and admin.queue(made["queue"]) is None
    wait_for(lambda: not admin.connections_of(made["user"]), message="its connection closed")
    with pytest.raises((amqp.exceptions.ConnectionForced, amqp.exceptions.RecoverableConnectionError,
                        OSError)):
        connection.channel().queue_declare(made["queue"], passive=True)
    with pytest.raises(amqp.exceptions.AccessRefused):
        user_connection(broker, made).connect()
    again = cli(broker, "remove", made["name"])
    assert again.returncode != 0 and "no consumer" in again.stderr


def test_replay_sends_history_of_its_types_to_a_late_joiner(platform, management_api, units):
    """`wushe consumers replay` (and `wushe replay --queue ext.NAME`) re-send the outbox."""
    from tests.integration.test_volunteer_support import open_station

    started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 1))
    with platform.rpc() as cluster:
        station = open_station(cluster, units.township())
    env = platform.env()
    name = _name()
    try:
        made = json.loads(subprocess.run(
            [sys.executable, "-m", "services.cli", "consumers", "add", name, "--types",
             "wushe.registry.station.opened.v1", "--json"],
            env=env, cwd=ROOT, capture_output=True, text=True, timeout=120, check=True).stdout)
        replay = subprocess.run([sys.executable, "-m", "services.cli", "consumers", "replay", name,
                                 "--since", started], env=env, cwd=ROOT, capture_output=True,
                                text=True, timeout=120)
        assert replay.returncode == 0, replay.stderr
        plain = subprocess.run([sys.executable, "-m", "services.cli", "replay", "--service",
                                "registry", "--since", started, "--queue", made["queue"],
                                "--type", "wushe.registry.station.opened.v1"],
                               env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert plain.returncode == 0, plain.stderr
        connection = user_connection(platform, made)
        connection.connect()
        try:
            channel = connection.channel()
            got = []
            while (message := channel.basic_get(made["queue"], no_ack=True)) is not None:
                got.append(json.loads(message.body))
        finally:
            connection.collect()
        mine = [e for e in got if e["subject"] == station["id"]]
        # Only the bound type, sent twice (once per replay): the consumer drops the copy.
        assert {e["type"] for e in got} == {"wushe.registry.station.opened.v1"}
        assert len(mine) == 2 and mine[0]["id"] == mine[1]["id"]
    finally:
        subprocess.run([sys.executable, "-m", "services.cli", "consumers", "remove", name],
                       env=env, cwd=ROOT, capture_output=True, timeout=120)
        broker_admin.BrokerAdmin(platform.amqp_uri).delete_user(f"ext.{name}")


def test_the_cli_says_how_to_enable_a_missing_management_api(broker):
    env = dict(broker.cli_env, RABBITMQ_MANAGEMENT_URL="http://127.0.0.1:1")
    result = cli(broker, "add", _name(), "--types", "wushe.registry.#", env=env)
    assert result.returncode != 0
    assert "rabbitmq-plugins enable rabbitmq_management" in result.stderr
    assert "Traceback" not in result.stderr
