"""The inbox takes what is waiting in batches, each applied in one transaction
with its markers and acknowledged after the commit; a failing event is retried
alone, so it neither holds back nor dead-letters the events batched with it."""
import json

import kombu
import pytest

from services.registry.commands import import_divisions
from services.common.inbox import DEAD_LETTER_QUEUE
from tests.fixtures import PROVINCE_ADMIN, division_files, wait_for

pytestmark = pytest.mark.integration


def _events_waiting_in_the_outbox(platform, mongo_client, units, count):
    """`count` stations created with the relay off: their events stay in the outbox."""
    registry = platform.start_service("registry", OUTBOX_RELAY="off")
    import_divisions(division_files(), out=lambda line: None, rpc=platform.rpc())
    townships = [units.township() for _ in range(count)]
    with platform.rpc() as cluster:
        replies = [cluster.registry.create_station.call_async(
            {"division_code": t["code"], "name": f"{t['name']}社工站", "planned_on": "2026-01-05"},
            caller=PROVINCE_ADMIN) for t in townships]
        stations = [reply.result() for reply in replies]
    outbox = platform.db(mongo_client, "registry").outbox
    events = [outbox.find_one({"type": "wushe.registry.station.created.v1",
                               "event.subject": s["id"]})["event"] for s in stations]
    registry.stop()   # the inbox fills while nothing consumes it
    return stations, events


def _deliver(amqp_uri, events):
    with kombu.Connection(amqp_uri) as conn:
        producer = kombu.Producer(conn.channel())
        for event in events:
            producer.publish(event, exchange="", routing_key="registry.inbox", serializer="json",
                             delivery_mode=2, type=event.get("type"))


def _queue_depth(amqp_uri, queue):
    with kombu.Connection(amqp_uri) as conn:
        return conn.default_channel.queue_declare(queue, passive=True).message_count


def _in_coverage(db, stations):
    found = {s["station_id"] for doc in db.coverage_units.find(
        {"stations.station_id": {"$in": [s["id"] for s in stations]}}) for s in doc["stations"]}
    return found == {s["id"] for s in stations}


def _applied(process):
    return [line for line in process.log_lines() if line.get("message") == "event applied"]


def test_waiting_events_are_applied_in_batches_once_each(isolated_platform, mongo_client, units):
    platform = isolated_platform
    stations, events = _events_waiting_in_the_outbox(platform, mongo_client, units, 30)
    _deliver(platform.amqp_uri, events[:10] + [events[3]] + events[10:])   # one comes twice

    registry = platform.start_service("registry", OUTBOX_RELAY="off")
    db = platform.db(mongo_client, "registry")
    wait_for(lambda: _in_coverage(db, stations), timeout=60, message="every station in coverage")
    wait_for(lambda: _queue_depth(platform.amqp_uri, "registry.inbox") == 0, message="an empty inbox")

    applied = wait_for(lambda: len(a := _applied(registry)) >= 30 and a, message="the log lines")
    assert sorted(line["event_id"] for line in applied) == sorted(e["id"] for e in events)
    assert max(line.get("batch", 1) for line in applied) > 1, "nothing was batched"
    assert db.processed_events.count_documents({}) == 30
    assert any(line.get("message") == "event duplicate" and line.get("event_id") == events[3]["id"]
               for line in registry.log_lines())


def test_a_failing_event_is_retried_alone_and_dead_lettered_alone(isolated_platform, mongo_client,
                                                                   units):
    platform = isolated_platform
    stations, events = _events_waiting_in_the_outbox(platform, mongo_client, units, 12)
    bad = {**events[0], "id": "batch-bad-1", "subject": "349999999-01",
           "data": {**events[0]["data"], "station_id": "349999999-01",
                    "division_code": "349999999"}}   # no such township: fails every time
    _deliver(platform.amqp_uri, events[:6] + [bad] + events[6:])

    registry = platform.start_service("registry", OUTBOX_RELAY="off")
    db = platform.db(mongo_client, "registry")
    wait_for(lambda: _in_coverage(db, stations), timeout=60, message="the good events applied")
    wait_for(lambda: _queue_depth(platform.amqp_uri, DEAD_LETTER_QUEUE) == 1, timeout=60,
             message="the bad event dead-lettered")

    with kombu.Connection(platform.amqp_uri) as conn:
        letter = conn.default_channel.basic_get(DEAD_LETTER_QUEUE, no_ack=False)
        assert json.loads(letter.body)["id"] == "batch-bad-1"
    assert _queue_depth(platform.amqp_uri, "registry.inbox") == 0
    lines = registry.log_lines()
    assert any("inbox batch of" in line.get("message", "") for line in lines), \
        "the bad event was never in a batch"
    assert sorted(line["event_id"] for line in _applied(registry)) == sorted(e["id"] for e in events)
    assert db.processed_events.count_documents({}) == 12


def test_a_batch_delivered_again_is_skipped_whole_not_aborted(isolated_platform, mongo_client,
                                                               units):
    """After a crash the broker delivers again what was applied but not acknowledged:
    the batch finds its markers first, changes nothing and never falls back to
    one transaction per event."""
    platform = isolated_platform
    stations, events = _events_waiting_in_the_outbox(platform, mongo_client, units, 16)
    _deliver(platform.amqp_uri, events)
    registry = platform.start_service("registry", OUTBOX_RELAY="off")
    db = platform.db(mongo_client, "registry")
    wait_for(lambda: _in_coverage(db, stations), timeout=60, message="every station in coverage")
    wait_for(lambda: len(_applied(registry)) >= 16, message="the first deliveries applied")
    registry.stop()
    revs = {doc["_id"]: doc["rev"] for doc in db.coverage_units.find(
        {"stations.station_id": {"$in": [s["id"] for s in stations]}})}

    _deliver(platform.amqp_uri, events)   # the same events again, waiting together
    registry = platform.start_service("registry", OUTBOX_RELAY="off")
    duplicates = wait_for(
        lambda: len(d := [line for line in registry.log_lines()
                          if line.get("message") == "event duplicate"]) >= 16 and d,
        timeout=60, message="every event seen again as a duplicate")
    wait_for(lambda: _queue_depth(platform.amqp_uri, "registry.inbox") == 0, message="an empty inbox")
    assert sorted(line["event_id"] for line in duplicates) == sorted(e["id"] for e in events)
    assert max(line.get("batch", 1) for line in duplicates) > 1, "the second delivery was not batched"
    lines = registry.log_lines()
    assert not any("inbox batch of" in line.get("message", "") for line in lines), \
        "a batch of duplicates was aborted and redone one by one"
    assert not _applied(registry)
    assert db.processed_events.count_documents({}) == 16
    assert {doc["_id"]: doc["rev"] for doc in db.coverage_units.find(
        {"stations.station_id": {"$in": [s["id"] for s in stations]}})} == revs
