"""A gateway worker's revocation feed on the real broker: it syncs once its queue is
bound, then hears each `session.revoked` event the moment it is published."""
import time

import kombu
import pytest

from gateway import revocations
from services.accounts.contract import SESSION_REVOKED
from services.common import events
from tests.fixtures import wait_for

pytestmark = pytest.mark.integration


class FakeSync:
    """The accounts service's answer to `revoked_sessions`, as the feed asks for it."""

    def __init__(self, sessions):
        self.sessions, self.calls = sessions, 0

    def call(self, service, method, *args, **kwargs):
        assert (service, method) == ("accounts", "revoked_sessions")
        self.calls += 1
        return {"sessions": self.sessions}


def publish(amqp_uri, sessions):
    event = events.cloud_event("accounts", "session.revoked", "acc-0123456789abcdef", {
        "account_id": "acc-0123456789abcdef", "role": "station_staff", "region": "340102001",
        "reason": "disabled", "sessions": sessions})
    with kombu.Connection(amqp_uri) as connection:
        kombu.Producer(connection).publish(event, exchange=events.events_exchange("accounts"),
                                           routing_key=SESSION_REVOKED.type, serializer="json",
                                           declare=[events.events_exchange("accounts")])


def test_the_feed_syncs_then_applies_each_event_as_it_comes(amqp_uri):
    later = "2999-01-01T00:00:00Z"
    sync = FakeSync([{"session_id": "a" * 32, "until": later},
                     {"session_id": "old", "until": "2001-01-01T00:00:00Z"}])
    view = revocations.RevocationView()
    feed = revocations.RevocationFeed(view, amqp_uri, rpc=sync).start()
    try:
        assert view.synced.wait(10), "no first sync"
        assert view.is_revoked("a" * 32) and not view.is_revoked("old") and len(view) == 1
        started = time.monotonic()
        publish(amqp_uri, [{"session_id": "b" * 32, "until": later}])
        wait_for(lambda: view.is_revoked("b" * 32), timeout=5, interval=0.005,
                 message="the event to reach the view")
        assert time.monotonic() - started < 1.0
        # A malformed event changes nothing and does not stop the feed.
        publish(amqp_uri, [{"session_id": "c" * 32}])
        publish(amqp_uri, [{"session_id": "d" * 32, "until": later}])
        wait_for(lambda: view.is_revoked("d" * 32), timeout=5, message="the feed to go on")
        assert not view.is_revoked("c" * 32) and sync.calls == 1
    finally:
        feed.stop()
