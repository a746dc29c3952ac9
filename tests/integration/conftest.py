"""Fixtures the integration tests share (the platform itself is in tests/fixtures.py)."""
import pytest

from tests.integration.test_volunteer_support import Scene


@pytest.fixture
def cluster(platform):
    """An RPC client of the session's platform."""
    with platform.rpc() as cluster:
        yield cluster


@pytest.fixture
def scene(cluster, units):
    """A station of its own, known to the volunteer service, to build a test on."""
    return Scene(cluster, units.township())
