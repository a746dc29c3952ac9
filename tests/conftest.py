"""Shared fixtures: a Mongo-wire server and a RabbitMQ vhost for this test run.

The Mongo-wire server (SecantusDB) is started as its own process, in memory, on a
free port; each test run gets its own RabbitMQ vhost so it never meets the
events of a platform started with `make up` on the same broker.
"""
import os
import subprocess
import uuid

import pymongo
import pytest

from services.common import localmongo


@pytest.fixture(scope="session")
def mongo_uri(tmp_path_factory):
    port = localmongo.free_port()
    log = open(tmp_path_factory.mktemp("mongo") / "server.log", "wb")
    proc = localmongo.start(port, ":memory:", log)
    yield localmongo.local_uri(port)
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


@pytest.fixture(scope="session")
def mongo_client(mongo_uri):
    client = pymongo.MongoClient(mongo_uri, tz_aware=True)
    yield client
    client.close()


@pytest.fixture
def fresh_db(mongo_client):
    """An empty database of its own for one test."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    yield mongo_client[name]
    mongo_client.drop_database(name)


def _rabbitmqctl(*args):
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=60)


@pytest.fixture(scope="session")
def amqp_uri():
    """A fresh vhost on the local broker, removed after the run."""
    vhost = f"wushe-test-{uuid.uuid4().hex[:8]}"
    _rabbitmqctl("add_vhost", vhost)
    _rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
    yield f"amqp://guest:guest@127.0.0.1:5672/{vhost}"
    _rabbitmqctl("delete_vhost", vhost)


@pytest.fixture(scope="session")
def divisions_dir():
    """The real division codes shipped in the repo (Anhui, 34; see its README)."""
    here = os.path.dirname(__file__)
    return os.path.abspath(os.path.join(here, "..", "services", "registry", "data", "divisions"))


from tests.fixtures import *  # noqa: E402,F401,F403  (platform fixtures)


def pytest_collection_modifyitems(items):
    """The soak restarts the machine's RabbitMQ server: it runs last, so no other test's
    platform has to ride out that restart (tests/integration/test_soak.py)."""
    items.sort(key=lambda item: item.nodeid.startswith("tests/integration/test_soak.py"))
