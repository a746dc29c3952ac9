"""gateway.rpc.RpcPool with a stand-in for nameko's ClusterRpcProxy: one proxy per
thread, made lazily, context passed by reference, dead connections replaced."""
import socket
import threading
import time

import pytest
from nameko.exceptions import RemoteError, RpcTimeout, UnknownService

from gateway import rpc as rpc_module
from gateway.rpc import BrokerUnavailable, ReplyLost, RpcPool
from services.common.errors import NotFound


class FakeConnection:
    def __init__(self):
        self.connected = True
        self.closed_by_broker = False

    def drain_events(self, timeout=None):
        if self.closed_by_broker:
            raise ConnectionResetError("connection reset by peer")
        raise socket.timeout()


class FakeReply:
    def __init__(self, outcome):
        self.outcome = outcome

    def result(self):
        if isinstance(self.outcome, BaseException):
            raise self.outcome
        return self.outcome


class FakeCluster:
    def __init__(self, runner):
        self._runner = runner

    def __getattr__(self, service):
        runner = self._runner

        class Service:
            def __getattr__(self, method):
                class Method:
                    def call_async(self, *args, **kwargs):
                        return runner.world.handle(runner, service, method, args, kwargs)
                return Method()
        return Service()


class FakeRunner:
    """Stands for ClusterRpcProxy(config, context_data=..., timeout=...)."""

    def __init__(self, world, config, context_data=None, timeout=None):
        if world.broker_down:
            raise ConnectionRefusedError(111, "Connection refused")
        self.world = world
        self.config = config
        self.context = context_data  # kept by reference, like nameko's WorkerContext
        self.timeout = timeout
        self.thread = threading.get_ident()
        self.connection = FakeConnection()
        self.stopped = False
        consumer = type("Consumer", (), {"connection": self.connection})()
        queue_consumer = type("QC", (), {"stopped": False, "consumer": consumer})()
        self._reply_listener = type("RL", (), {"queue_consumer": queue_consumer})()
        world.runners.append(self)

    def start(self):
        return FakeCluster(self)

    def stop(self):
        self.stopped = True


class World:
    """The broker and services as the fake proxies see them."""

    def __init__(self):
        self.runners = []
        self.sent = []          # (runner, service, method, args, kwargs, context copy)
        self.broker_down = False
        self.publish_failures = 0
        self.reply_failures = 0
        self.answers = {}

    def factory(self, config, context_data=None, timeout=None):
        return FakeRunner(self, config, context_data=context_data, timeout=timeout)

    def handle(self, runner, service, method, args, kwargs):
        if self.publish_failures:
            self.publish_failures -= 1
            raise ConnectionResetError("broken pipe")
        if service == "nobody":
            raise UnknownService(service)
        self.sent.append((runner, service, method, args, kwargs, dict(runner.context)))
        if self.reply_failures:
            self.reply_failures -= 1
            return FakeReply(RuntimeError("This consumer has been disconnected, and can no "
                                          "longer be used"))
        return FakeReply(self.answers.get((service, method), {"ok": True}))


@pytest.fixture
def world():
    return World()


@pytest.fixture
def pool(world):
    return RpcPool(amqp_uri="amqp://guest:guest@127.0.0.1:1/", timeout=7, proxy_factory=world.factory)


def test_proxy_is_lazy_and_reused_in_a_thread(world, pool):
    assert world.runners == []  # nothing before the first call (so nothing before a fork)
    assert pool.call("registry", "get_station", ("s1",), {"caller": {"role": "auditor"}},
                     context={"request_id": "a"}) == {"ok": True}
    pool.call("registry", "get_station", ("s2",), {}, context={"request_id": "b"})
    assert len(world.runners) == 1
    runner = world.runners[0]
    assert runner.config == {"AMQP_URI": "amqp://guest:guest@127.0.0.1:1/", "serializer": "json"}
    assert runner.timeout == 7
    # The context dict the proxy holds is rewritten for each call, with the
    # deadline after which services refuse the request (the proxy's timeout).
    contexts = [s[5] for s in world.sent]
    assert [c["request_id"] for c in contexts] == ["a", "b"]
    assert all(0 < c["deadline"] - time.time() <= 7 for c in contexts)
    assert world.sent[0][2:5] == ("get_station", ("s1",), {"caller": {"role": "auditor"}})


def test_one_proxy_per_thread(world, pool):
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
    assert len(world.runners) == 4
    assert len({r.thread for r in world.runners}) == 4
    # Each call went out through the proxy of the thread that made it, with its own id.
    for runner, *_rest, context in world.sent:
        assert context["request_id"].startswith("t")
    by_runner = {}
    for runner, *_rest, context in world.sent:
        by_runner.setdefault(id(runner), set()).add(context["request_id"].split("-")[0])
    assert all(len(prefixes) == 1 for prefixes in by_runner.values())


def test_dead_connection_replaced_before_the_call(world, pool):
    pool.call("registry", "ping", (), {})
    first = world.runners[0]
    first.connection.closed_by_broker = True  # e.g. the broker restarted
    pool.call("registry", "create_station", ({"name": "x"},), {}, idempotent=False)
    assert len(world.runners) == 2 and first.stopped
    assert world.sent[-1][0] is world.runners[1]
    assert len([s for s in world.sent if s[2] == "create_station"]) == 1


def test_publish_failure_retried_once_on_a_new_proxy(world, pool):
    pool.call("registry", "ping", (), {})
    world.publish_failures = 1
    assert pool.call("registry", "create_station", ({},), {}, idempotent=False) == {"ok": True}
    assert len(world.runners) == 2
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


def test_service_errors_pass_through_and_keep_the_proxy(world, pool):
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
    assert len(world.runners) == 1


def test_proxy_from_before_a_fork_is_dropped_not_used(world, pool, monkeypatch):
    pool.call("registry", "ping", (), {})
    parent = world.runners[0]
    monkeypatch.setattr(rpc_module.os, "getpid", lambda: 999_999)
    pool.call("registry", "ping", (), {})
    assert len(world.runners) == 2
    assert world.sent[-1][0] is world.runners[1]
    assert not parent.stopped  # the parent's socket is not the child's to close
    pool.close()
    assert world.runners[1].stopped and not parent.stopped


def test_ping_pipelined_with_its_own_timeout(world, pool):
    world.answers[("volunteer", "ping")] = RpcTimeout(2.0)
    results = pool.ping(["registry", "volunteer", "nobody"], timeout=2.0,
                        context={"request_id": "ready"})
    assert results["registry"]["status"] == "ok"
    assert results["volunteer"]["status"] == "timeout"
    assert results["nobody"]["status"] == "unavailable"
    assert world.runners[0].timeout == 2.0  # not the pool's RPC timeout
    pool.call("registry", "get_station", ("s1",), {})
    assert world.runners[-1].timeout == 7


def test_broker_ok_reports_refusal():
    ok, why = RpcPool(amqp_uri="amqp://guest:guest@127.0.0.1:1/").broker_ok(timeout=1)
    assert ok is False and why
