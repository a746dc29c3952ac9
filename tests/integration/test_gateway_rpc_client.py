"""The gateway's own RPC client (gateway.rpc.AmqpRpcClient behind RpcPool) on the
real broker, against a real registry service: nameko's protocol, the errors the
app maps, timeouts, late replies and a connection the broker closes."""
import subprocess

import kombu
import pytest
from nameko.exceptions import RpcTimeout, UnknownService
from nameko.standalone.rpc import ClusterRpcProxy

from gateway.rpc import RpcPool
from services.common.errors import InvalidInput, NotFound
from tests.fixtures import PROVINCE_ADMIN, drop_platform, make_platform, wait_for


@pytest.fixture(scope="module")
def platform(mongo_uri, tmp_path_factory):
    """The registry alone, on a vhost of its own (no divisions: nothing here needs them)."""
    platform = make_platform(mongo_uri, tmp_path_factory.mktemp("gateway-rpc"))
    try:
        platform.registry = platform.start_service("registry")
        yield platform
    finally:
        drop_platform(platform)


@pytest.fixture
def pool(platform):
    pool = RpcPool(platform.amqp_uri, timeout=30)
    yield pool
    pool.close()


@pytest.fixture
def idle_queue(platform):
    """rpc-idle bound to `idle.*`: requests are routed there and nobody answers."""
    with kombu.Connection(platform.amqp_uri) as connection:
        channel = connection.channel()
        channel.queue_declare("rpc-idle", durable=False, auto_delete=False)
        channel.queue_bind("rpc-idle", "nameko-rpc", "idle.*")
        yield channel
        channel.queue_delete("rpc-idle")


def test_answers_and_domain_errors_as_nameko_gives_them(pool):
    assert pool.call("registry", "ping") == pool.call("registry", "ping")
    with pytest.raises(NotFound) as missing:
        pool.call("registry", "get_station", ("no-such-station",), {"caller": PROVINCE_ADMIN})
    assert (missing.value.status, missing.value.code) == (404, "not_found")
    with pytest.raises(InvalidInput) as invalid:
        pool.call("registry", "create_station", ({},), {"caller": PROVINCE_ADMIN},
                  idempotent=False)
    assert invalid.value.status == 400 and invalid.value.code == "invalid_input"
    assert "division_code" in invalid.value.fields


def test_unknown_service_refused_by_the_broker(pool):
    # With a 30 s timeout: it is the broker's basic.return that ends the wait.
    with pytest.raises(UnknownService):
        pool.call("nobody", "ping")
    assert pool.ping(["registry", "nobody"])["nobody"]["status"] == "unavailable"


def test_timeout_keeps_the_connection_and_drops_the_late_reply(platform, pool, idle_queue):
    pool.call("registry", "ping")
    client = pool._local.client
    with pytest.raises(RpcTimeout) as timed_out:
        pool.call("idle", "work", timeout=0.5)
    assert timed_out.value.args == (0.5,)
    # The request is in rpc-idle; answer it now, as a service would, too late.
    late = wait_for(lambda: idle_queue.basic_get("rpc-idle", no_ack=True), message="request")
    with kombu.Connection(platform.amqp_uri) as connection:
        kombu.Producer(connection.channel()).publish(
            {"result": "late", "error": None}, exchange="nameko-rpc",
            routing_key=late.properties["reply_to"],
            correlation_id=late.properties["correlation_id"])
    answers = [pool.call("registry", "ping") for _ in range(3)]
    assert "late" not in answers
    assert pool._local.client is client


def test_request_as_nameko_sends_it(platform, pool, idle_queue):
    """Same exchange, routing key, body, properties and header names as nameko 2.14."""
    context = {"request_id": "r-1", "client_address": "10.0.0.1"}
    with ClusterRpcProxy({"AMQP_URI": platform.amqp_uri}, context_data=dict(context)) as cluster:
        cluster.idle.work.call_async("a", 1, caller=PROVINCE_ADMIN)
    with pytest.raises(RpcTimeout):
        pool.call("idle", "work", ("a", 1), {"caller": PROVINCE_ADMIN}, context=context,
                  timeout=0.2)
    theirs = wait_for(lambda: idle_queue.basic_get("rpc-idle", no_ack=True), message="nameko's")
    ours = wait_for(lambda: idle_queue.basic_get("rpc-idle", no_ack=True), message="ours")
    assert ours.delivery_info["routing_key"] == theirs.delivery_info["routing_key"] == "idle.work"
    assert ours.body == theirs.body
    for name in ("content_type", "content_encoding", "delivery_mode", "priority"):
        assert ours.properties[name] == theirs.properties[name], name
    assert ours.properties["reply_to"] and ours.properties["correlation_id"]
    assert set(ours.headers) == set(theirs.headers) | {"nameko.deadline"}
    assert ours.headers["nameko.request_id"] == "r-1"
    assert len(ours.headers["nameko.call_id_stack"]) == 1


def _close_broker_connection(client):
    port = str(client._connection.sock.getsockname()[1])
    listed = subprocess.run(["rabbitmqctl", "-q", "list_connections", "pid", "peer_port"],
                            check=True, capture_output=True, text=True, timeout=60).stdout
    pid = next(line.split("\t")[0] for line in listed.splitlines()
               if line.split("\t")[-1] == port)
    subprocess.run(["rabbitmqctl", "-q", "close_connection", pid, "test: killed"],
                   check=True, capture_output=True, timeout=60)


def test_connection_closed_by_the_broker_between_calls(pool):
    pool.call("registry", "ping")
    client = pool._local.client
    _close_broker_connection(client)
    wait_for(lambda: not client.alive(), message="the close to reach the client")
    # Seen before publishing, so even a call that must not be repeated goes out once, fine.
    with pytest.raises(InvalidInput):
        pool.call("registry", "create_station", ({},), {"caller": PROVINCE_ADMIN},
                  idempotent=False)
    assert pool._local.client is not client
    assert pool.call("registry", "ping") is not None


def test_connection_lost_under_a_get_is_retried(pool):
    pool.call("registry", "ping")
    client = pool._local.client
    client._connection.sock.shutdown(2)  # the link dies with no word from the broker
    with pytest.raises(NotFound):
        pool.call("registry", "get_station", ("no-such-station",), {"caller": PROVINCE_ADMIN})
    assert pool._local.client is not client
