"""gateway.rpc.RpcPool with a stand-in for its per-thread AmqpRpcClient: one client
per thread, made lazily, context in every call, dead connections replaced.
(The client itself, on the real broker: tests/integration/test_gateway_rpc_client.py.)"""
import threading
import time

import pytest
from nameko.exceptions import RemoteError, RpcTimeout, UnknownService

from gateway import rpc as rpc_module
from gateway.rpc import BrokerUnavailable, ReplyLost, RpcPool
from services.common.errors import NotFound


class FakeReply:
    def __init__(self, outcome):
        self.outcome = outcome

    def result(self):
        if isinstance(self.outcome, BaseException):
            raise self.outcome
        return self.outcome


class FakeClient:
    """Stands for AmqpRpcClient(amqp_uri): alive(), call_async(...), close()."""

    def __init__(self, world, amqp_uri):
        if world.broker_down:
            raise ConnectionRefusedError(111, "Connection refused")
        self.world = world
        self.amqp_uri = amqp_uri
        self.thread = threading.get_ident()
        self.closed_by_broker = False
        self.stopped = False
        world.clients.append(self)

    def alive(self):
        return not self.closed_by_broker

    def call_async(self, service, method, args, kwargs, context, timeout):
        return self.world.handle(self, service, method, args, kwargs, context, timeout)

    def close(self):
        self.stopped = True


class World:
    """The broker and services as the fake clients see them."""

    def __init__(self):
        self.clients = []
        self.sent = []          # (client, service, method, args, kwargs, context copy, timeout)
        self.broker_down = False
        self.publish_failures = 0
        self.reply_failures = 0
        self.answers = {}

    def factory(self, amqp_uri):
        return FakeClient(self, amqp_uri)

    def handle(self, client, service, method, args, kwargs, context, timeout):
        if self.publish_failures:
            self.publish_failures -= 1
            raise ConnectionResetError("broken pipe")
        self.sent.append((client, service, method, args, kwargs, dict(context), timeout))
        if service == "nobody":  # the broker returns the request: no queue is bound
            return FakeReply(UnknownService(service))
        if self.reply_failures:
            self.reply_failures -= 1
            return FakeReply(ConnectionResetError("connection reset by peer"))
        return FakeReply(self.answers.get((service, method), {"ok": True}))


@pytest.fixture
def world():
    return World()


@pytest.fixture
def pool(world):
    return RpcPool(amqp_uri="amqp://guest:guest@127.0.0.1:1/", timeout=7,
                   client_factory=world.factory)


def test_client_is_lazy_and_reused_in_a_thread(world, pool):
    assert world.clients == []  # nothing before the first call (so nothing before a fork)
    assert pool.call("registry", "get_station", ("s1",), {"caller": {"role": "auditor"}},
                     context={"request_id": "a"}) == {"ok": True}
    pool.call("registry", "get_station", ("s2",), {}, context={"request_id": "b"})
    assert len(world.clients) == 1
    assert world.clients[0].amqp_uri == "amqp://guest:guest@127.0.0.1:1/"
    # Each call carries its own context, with the deadline after which services
    # refuse the request (the call's timeout), and waits that long for its reply.
    contexts = [s[5] for s in world.sent]
    assert [c["request_id"] for c in contexts] == ["a", "b"]
    assert all(0 < c["deadline"] - time.time() <= 7 for c in contexts)
    assert [s[6] for s in world.sent] == [7, 7]
    assert world.sent[0][2:5] == ("get_station", ("s1",), {"caller": {"role": "auditor"}})


def test_the_callers_context_is_not_changed(world, pool):
    context = {"request_id": "a"}
    pool.call("registry", "ping", (), {}, context=context)
    assert context == {"request_id": "a"}


def test_one_client_per_thread(world, pool):
    barrier = threading.Barrier(4)
    errors = []

    def work(n):
        try:
            barrier.wait()
            for i in range(5):
                pool.call("registry", "ping", (), {}, context={"request_id": f"t{n}-{i}"})
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(world.clients) == 4
    assert len({c.thread for c in world.clients}) == 4
    # Each call went out through the client of the thread that made it, with its own id.
    by_client = {}
    for client, *_rest, context, _timeout in world.sent:
        by_client.setdefault(id(client), set()).add(context["request_id"].split("-")[0])
    assert all(len(prefixes) == 1 for prefixes in by_client.values())


def test_dead_connection_replaced_before_the_call(world, pool):
    pool.call("registry", "ping", (), {})
    first = world.clients[0]
    first.closed_by_broker = True  # e.g. the broker restarted
    pool.call("registry", "create_station", ({"name": "x"},), {}, idempotent=False)
    assert len(world.clients) == 2 and first.stopped
    assert world.sent[-1][0] is world.clients[1]
    assert len([s for s in world.sent if s[2] == "create_station"]) == 1


def test_publish_failure_retried_once_on_a_new_client(world, pool):
    pool.call("registry", "ping", (), {})
    world.publish_failures = 1
    assert pool.call("registry", "create_station", ({},), {}, idempotent=False) == {"ok": True}
    assert len(world.clients) == 2 and world.clients[0].stopped
    world.publish_failures = 2
    with pytest.raises(BrokerUnavailable):
        pool.call("registry", "get_station", ("s1",), {})


def test_lost_reply_retried_only_when_idempotent(world, pool):
    world.reply_failures = 1
    assert pool.call("registry", "get_station", ("s1",), {}, idempotent=True) == {"ok": True}
    assert len([s for s in world.sent if s[2] == "get_station"]) == 2
    world.reply_failures = 1
    with pytest.raises(ReplyLost):
        pool.call("registry", "create_station", ({},), {}, idempotent=False)
    assert len([s for s in world.sent if s[2] == "create_station"]) == 1


def test_broker_down_when_creating(world, pool):
    world.broker_down = True
    with pytest.raises(BrokerUnavailable):
        pool.call("registry", "ping", (), {})


def test_service_errors_pass_through_and_keep_the_client(world, pool):
    world.answers[("registry", "get_station")] = NotFound("no station")
    with pytest.raises(NotFound):
        pool.call("registry", "get_station", ("s1",), {})
    world.answers[("registry", "get_station")] = RemoteError("KeyError", "x")
    with pytest.raises(RemoteError):
        pool.call("registry", "get_station", ("s1",), {})
    world.answers[("registry", "get_station")] = RpcTimeout(7)
    with pytest.raises(RpcTimeout):
        pool.call("registry", "get_station", ("s1",), {})
    with pytest.raises(UnknownService):
        pool.call("nobody", "ping", (), {})
    assert len(world.clients) == 1


def test_client_from_before_a_fork_is_dropped_not_used(world, pool, monkeypatch):
    pool.call("registry", "ping", (), {})
    parent = world.clients[0]
    monkeypatch.setattr(rpc_module.os, "getpid", lambda: 999_999)
    pool.call("registry", "ping", (), {})
    assert len(world.clients) == 2
    assert world.sent[-1][0] is world.clients[1]
    assert not parent.stopped  # the parent's socket is not the child's to close
    pool.close()
    assert world.clients[1].stopped and not parent.stopped


def test_ping_pipelined_with_its_own_timeout(world, pool):
    world.answers[("volunteer", "ping")] = RpcTimeout(2.0)
    results = pool.ping(["registry", "volunteer", "nobody"], timeout=2.0,
                        context={"request_id": "ready"})
    assert results["registry"]["status"] == "ok"
    assert results["volunteer"]["status"] == "timeout"
    assert results["nobody"]["status"] == "unavailable"
    # All three went out before any answer was read, each with the ping's timeout.
    assert [(s[1], s[6]) for s in world.sent] == [
        ("registry", 2.0), ("volunteer", 2.0), ("nobody", 2.0)]
    pool.call("registry", "get_station", ("s1",), {})
    assert world.sent[-1][6] == 7
    assert len(world.clients) == 1  # one client serves every timeout


def test_ping_reports_a_broken_link_and_drops_the_client(world, pool):
    pool.call("registry", "ping", (), {})
    world.reply_failures = 1
    results = pool.ping(["registry"], timeout=2.0)
    assert results["registry"]["status"] == "error"
    assert world.clients[0].stopped
    pool.call("registry", "ping", (), {})
    assert len(world.clients) == 2


def test_broker_ok_reports_refusal():
    ok, why = RpcPool(amqp_uri="amqp://guest:guest@127.0.0.1:1/").broker_ok(timeout=1)
    assert ok is False and why


def test_broker_unreachable_for_a_real_client():
    pool = RpcPool(amqp_uri="amqp://guest:guest@127.0.0.1:1/", timeout=1)
    with pytest.raises(BrokerUnavailable):
        pool.call("registry", "ping")
