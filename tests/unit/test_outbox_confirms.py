"""The relay's publisher counts the broker's confirms itself (one wait per batch):
acks and nacks may cover one delivery tag or every tag up to one (multiple)."""
from services.common.outbox import EventPublisher


def _publisher(unconfirmed):
    publisher = EventPublisher("amqp://unused")
    publisher.unconfirmed, publisher.nacked = set(unconfirmed), set()
    return publisher


def test_a_multiple_ack_settles_every_tag_up_to_it():
    publisher = _publisher(range(1, 6))
    publisher._on_ack(3, True)
    assert publisher.unconfirmed == {4, 5}
    publisher._on_ack(5, False)
    assert publisher.unconfirmed == {4}
    publisher._on_ack(5, True)
    assert publisher.unconfirmed == set() and publisher.nacked == set()


def test_nacked_tags_are_remembered_and_settled():
    publisher = _publisher(range(1, 5))
    publisher._on_nack(2, True)
    publisher._on_ack(4, False)
    assert publisher.nacked == {1, 2}
    assert publisher.unconfirmed == {3}


class _Outbox:
    """Records the relay's marking writes."""

    def __init__(self):
        self.marked = []

    def update_many(self, selector, update):
        self.marked.append(list(selector["_id"]["$in"]))


class _Db:
    def __init__(self):
        self.outbox = _Outbox()


class _Publisher:
    def __init__(self, refused=()):
        self.refused = set(refused)

    def publish_batch(self, messages):
        return [event["id"] for event, _exchange, _key in messages if event["id"] not in self.refused]


def _relay(publisher):
    from services.common.outbox import OutboxRelay

    relay = OutboxRelay.__new__(OutboxRelay)
    relay.db, relay.service, relay.exchange = _Db(), "registry", None
    relay.publisher, relay.unmarked, relay.mark_due = publisher, [], None
    return relay


def test_batches_confirmed_close_together_are_marked_in_one_write_and_refused_ones_never():
    relay = _relay(_Publisher(refused={"c"}))
    relay._publish([{"id": "a", "type": "t"}, {"id": "b", "type": "t"}])
    relay._publish([{"id": "c", "type": "t"}, {"id": "d", "type": "t"}])
    assert relay.db.outbox.marked == []          # nothing written per batch
    relay.mark_published()
    assert relay.db.outbox.marked == [["a", "b", "d"]]
    relay.mark_published()
    assert relay.db.outbox.marked == [["a", "b", "d"]]   # and once


def test_marking_writes_at_most_a_batch_of_ids_each():
    from services.common.outbox import BATCH_SIZE

    relay = _relay(_Publisher())
    relay._publish([{"id": str(i), "type": "t"} for i in range(BATCH_SIZE + 5)])
    relay.mark_published()
    assert [len(ids) for ids in relay.db.outbox.marked] == [BATCH_SIZE, 5]
