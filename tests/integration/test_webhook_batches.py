"""The webhooks inbox in batches, against the Mongo-wire server: the batch form
(deliveries.enqueue_many, in one transaction) leaves the deliveries that
`enqueue` of each event in order leaves, in a few commands whatever the
number of events."""
import datetime
import time
import uuid

import pymongo
import pytest

from services.common.clock import rfc3339
from services.common.mongo import run_in_transaction
from services.webhooks import deliveries, hooks, subscriptions
from tests.fixtures import CommandLog

pytestmark = pytest.mark.integration

START = datetime.datetime(2026, 3, 1, 8, 0, tzinfo=datetime.timezone.utc)
OPENED = "wushe.registry.station.opened.v1"
UPDATED = "wushe.registry.station.updated.v1"
JOINED = "wushe.volunteer.volunteer.registered.v1"
HOURS = "wushe.volunteer.hours.recorded.v1"
# Compared as stored; created_at and next_attempt_at are the moment of handling.
WHEN_HANDLED = ("created_at", "next_attempt_at")


@pytest.fixture
def make_db(mongo_client):
    """Empty webhooks databases of their own, dropped after the test."""
    names = []

    def make():
        names.append(f"t_wh_{uuid.uuid4().hex[:10]}")
        db = mongo_client[names[-1]]
        hooks.ensure_indexes(db)
        deliveries.ensure_indexes(db)
        return db

    yield make
    for name in names:
        mongo_client.drop_database(name)


def subscribe(db, _id, types, status="active"):
    db.webhook_subscriptions.insert_one({"_id": _id, "types": types, "status": status,
                                         "region": "34", "url": "https://127.0.0.1/"})


def event(event_type, subject, at, source="/wushe/registry"):
    """`at`: a datetime, or text as a publisher may send it (unparseable: None)."""
    return {"specversion": "1.0", "id": str(uuid.uuid4()), "source": source, "type": event_type,
            "subject": subject, "time": rfc3339(at) if isinstance(at, datetime.datetime) else at,
            "datacontenttype": "application/json", "data": {"subject": subject}}


def ms(n):
    return START + datetime.timedelta(milliseconds=n)


def state(db):
    """Every delivery (without the moment it was handled), and each lane's order."""
    docs = {}
    for d in db.webhook_deliveries.find():
        if d["event_time"] == d["created_at"]:
            d["event_time"] = "when handled"   # an event without a time
        docs[d["_id"]] = {k: v for k, v in d.items() if k not in WHEN_HANDLED}
    lanes = {}
    for d in db.webhook_deliveries.find({}, {"subscription_id": 1, "event_id": 1},
                                        sort=deliveries.LANE_ORDER):
        lanes.setdefault(d["subscription_id"], []).append(d["event_id"])
    return docs, lanes


def scene(db):
    subscribe(db, "wh-registry", ["wushe.registry.*"])
    subscribe(db, "wh-opened", [OPENED, JOINED])
    subscribe(db, "wh-paused", ["wushe.registry.station.*"], status="paused")
    subscribe(db, "wh-volunteer", ["wushe.volunteer.*"])


def mixed_events():
    replayed = event(OPENED, "S-1", ms(0))
    same_ms = [event(UPDATED, "S-1", START + datetime.timedelta(milliseconds=5, microseconds=u))
               for u in (100, 400, 900)]   # one command's events: one stored millisecond
    return replayed, [
        replayed,                                     # already delivered before the batch
        *same_ms,
        event(UPDATED, "S-2", ms(9)),
        event(UPDATED, "S-2", ms(7)),                 # out of order: earlier time, later in batch
        event("wushe.charity.donation.received.v1", "D-1", ms(8), "/wushe/charity"),   # no one's
        event(JOINED, "V-1", ms(3), "/wushe/volunteer"),
        event(HOURS, "V-1", "not a time", "/wushe/volunteer"),
        event(HOURS, "V-1", None, "/wushe/volunteer"),
        same_ms[1],                                   # the same event twice in one list
        event(OPENED, "S-3", ms(2)),
    ]


def test_a_batch_leaves_the_deliveries_of_its_events_applied_one_by_one(make_db):
    one_by_one, batched = make_db(), make_db()
    replayed, events = mixed_events()
    for db in (one_by_one, batched):
        scene(db)
        run_in_transaction(db, lambda s, db=db: deliveries.enqueue(db, s, replayed))

    for e in events:
        time.sleep(0.002)   # each handled at a later millisecond, as one transaction each is
        run_in_transaction(one_by_one, lambda s, e=e: deliveries.enqueue(one_by_one, s, e))
    run_in_transaction(batched, lambda s: deliveries.enqueue_many(batched, s, events))

    expected, lanes = state(one_by_one)
    got, got_lanes = state(batched)
    assert sorted(got) == sorted(expected)
    for _id, doc in expected.items():
        assert got[_id] == doc
    assert got_lanes == lanes
    # What that state is: each subscription took its types, paused ones too, nothing
    # of the charity event, each event once.
    by_subscription = {}
    for doc in expected.values():
        by_subscription.setdefault(doc["subscription_id"], set()).add(doc["event_id"])
    ids = [e["id"] for e in events]
    assert by_subscription == {
        "wh-registry": {ids[0], *ids[1:4], ids[4], ids[5], ids[11]},
        "wh-opened": {ids[0], ids[7], ids[11]},
        "wh-paused": {ids[0], *ids[1:4], ids[4], ids[5], ids[11]},
        "wh-volunteer": {ids[7], ids[8], ids[9]},
    }
    assert len(expected) == 20
    # One subject's events of one millisecond stay in the order they came.
    registry_lane = [i for i in lanes["wh-registry"] if i in ids[1:4]]
    assert registry_lane == ids[1:4]
    assert lanes["wh-registry"].index(ids[5]) < lanes["wh-registry"].index(ids[4])


def test_one_subjects_events_of_one_millisecond_are_sent_in_the_order_they_came(make_db):
    db = make_db()
    subscribe(db, "wh-all", ["wushe.registry.*"])
    events = [event(UPDATED, "S-9", START + datetime.timedelta(microseconds=u))
              for u in (10, 20, 30, 40, 50)]
    run_in_transaction(db, lambda s: deliveries.enqueue_many(db, s, events))
    sent = []
    later = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=5)
    while heads := deliveries.due_heads(db, "wh-all", later, 10):
        [head] = heads   # one lane: one head at a time
        sent.append(db.webhook_deliveries.find_one({"_id": head})["event_id"])
        db.webhook_deliveries.update_one({"_id": head}, {"$set": {"status": "delivered"}})
    assert sent == [e["id"] for e in events]


def test_a_batch_of_twenty_events_costs_three_commands(make_db, mongo_uri):
    db = make_db()
    for n in range(3):
        subscribe(db, f"wh-{n}", ["wushe.registry.*"])
    events = [event(UPDATED, f"S-{n % 4}", ms(n)) for n in range(20)]   # 60 deliveries
    log = CommandLog()
    client = pymongo.MongoClient(mongo_uri, tz_aware=True, event_listeners=[log])
    try:
        listened = client[db.name]
        with client.start_session() as session:
            session.start_transaction()
            log.names.clear()
            deliveries.enqueue_many(listened, session, events)
            assert log.names == ["find", "find", "insert"]
            session.commit_transaction()
            # The one-event handler is the same three, whatever the subscriptions.
            session.start_transaction()
            log.names.clear()
            deliveries.enqueue(listened, session, event(OPENED, "S-5", ms(30)))
            assert log.names == ["find", "find", "insert"]
            session.commit_transaction()
    finally:
        client.close()
    assert db.webhook_deliveries.count_documents({}) == 63


def test_the_inbox_batch_reads_no_subscription_again(make_db, mongo_uri):
    """on_events reads the subscriptions once; the handlers it gives the inbox use them."""
    db = make_db()
    subscribe(db, "wh-all", ["wushe.registry.*", "wushe.volunteer.*"])
    events = [event(UPDATED, "S-1", ms(1)), event(JOINED, "V-1", ms(2), "/wushe/volunteer"),
              event(OPENED, "S-2", ms(3))]
    bound = subscriptions.delivering_to(hooks.subscribed(db))
    # One batch form for every type: consecutive events of different types go to it together.
    assert len({id(fn) for fn in bound.batch_handlers.values()}) == 1
    assert set(bound.batch_handlers) == set(subscriptions.SUBSCRIPTIONS.handlers)
    log = CommandLog()
    client = pymongo.MongoClient(mongo_uri, tz_aware=True, event_listeners=[log])
    try:
        listened = client[db.name]
        with client.start_session() as session:
            session.start_transaction()
            bound.batch_handlers[UPDATED](listened, session, events)
            bound.handlers[OPENED](listened, session, event(OPENED, "S-3", ms(4)))
            session.commit_transaction()
        names = list(log.names)
    finally:
        client.close()
    assert names == ["find", "insert", "find", "insert", "commitTransaction"]
    assert db.webhook_deliveries.count_documents({}) == 4
