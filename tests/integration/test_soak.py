"""The soak's promise on every change: a few hundred operations through the gateway
while one kill of each kind happens: a process (a service or the gateway, another one
each day) SIGKILLed and restarted, the RabbitMQ server restarted, the Mongo-wire
server SIGKILLed and restarted on its data; then
every acknowledged operation exists exactly once, every read model agrees with its
source, every outbox is drained and every event was applied once by every consumer.

The same code as `make soak` (bench/soak.py), with small numbers. It restarts the
machine's RabbitMQ server: the only test that does (WUSHE_SOAK_BROKER=0 skips that
fault where the broker is shared with other work).
"""
import os
import sys

import pytest

BENCH = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "bench")

pytestmark = pytest.mark.integration


def test_the_platform_keeps_its_promises_while_processes_die(tmp_path, capsys):
    sys.path.append(BENCH)
    try:
        import soak
    finally:
        sys.path.remove(BENCH)

    lines = []
    result = soak.run(operations=240, clients=3, minutes=6, workdir=str(tmp_path), short=True,
                      broker=os.environ.get("WUSHE_SOAK_BROKER", "1") != "0", out=lines.append)
    with capsys.disabled():
        print("\n" + "\n".join(lines))
    failed = [f"{name}: {detail}" for name, passed, detail in result["checks"] if not passed]
    assert not failed, "the soak found broken promises:\n" + "\n".join(failed)
    assert all(f.started for f in result["faults"]), "every fault was injected"


def test_a_reply_lost_with_the_broker_does_not_stop_the_service(monkeypatch):
    """What the soak found first: nameko let an unsendable RPC reply kill the whole
    service container (the process stayed up, consuming nothing, until restarted)."""
    import kombu.exceptions
    from nameko import rpc as nameko_rpc

    from services.common.service import QuorumRpcConsumer

    def broker_gone(self, result, exc_info):
        raise kombu.exceptions.OperationalError("[Errno 111] ECONNREFUSED")

    monkeypatch.setattr(nameko_rpc.Responder, "send_response", broker_gone)

    class Container:
        config = {"AMQP_URI": "amqp://guest:guest@127.0.0.1:5672/"}

    class Message:
        delivery_info = {"routing_key": "volunteer.record_hours"}
        acked = False

    consumer = QuorumRpcConsumer()
    consumer.container = Container()
    message = Message()
    assert consumer.handle_result(message, {"id": "H1"}, None) == ({"id": "H1"}, None)
