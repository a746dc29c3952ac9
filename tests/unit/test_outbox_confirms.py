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
