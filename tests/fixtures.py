"""Fixtures that run the platform: loaded by tests/conftest.py as a plugin."""
import os

import pytest

from services.cli import import_divisions
from tests.harness import Platform, new_vhost, rabbitmqctl

DIVISIONS = os.path.join(os.path.dirname(os.path.dirname(__file__)),
                         "services", "registry", "data", "divisions")
PROVINCE_ADMIN = {"sub": "t-admin", "role": "province_admin", "region": "34"}


def division_files():
    return [os.path.join(DIVISIONS, f) for f in sorted(os.listdir(DIVISIONS)) if f.endswith(".csv")]


def make_platform(mongo_uri, workdir):
    vhost, amqp_uri = new_vhost()
    platform = Platform(mongo_uri, amqp_uri, str(workdir))
    platform.vhost = vhost
    platform.topology()
    return platform


def drop_platform(platform):
    platform.stop_all()
    rabbitmqctl("delete_vhost", platform.vhost)


@pytest.fixture(scope="session")
def platform(mongo_uri, tmp_path_factory):
    """Registry and gateway running on their own vhost, Anhui's divisions loaded."""
    platform = make_platform(mongo_uri, tmp_path_factory.mktemp("platform"))
    try:
        platform.registry = platform.start_service("registry")
        import_divisions(division_files(), out=lambda line: None, rpc=platform.rpc())
        platform.gateway = platform.start_gateway("registry")
        yield platform
    finally:
        drop_platform(platform)


@pytest.fixture
def isolated_platform(mongo_uri, tmp_path):
    """A platform of its own (vhost and databases), for tests that kill processes."""
    platform = make_platform(mongo_uri, tmp_path)
    try:
        yield platform
    finally:
        drop_platform(platform)


class UnitPool:
    """Hands out Anhui counties and townships no other test has used, so tests
    sharing one platform never count each other's stations."""

    def __init__(self):
        import csv

        with open(os.path.join(DIVISIONS, "streets.csv"), encoding="utf-8") as f:
            rows = [r for r in csv.DictReader(f) if r["provinceCode"] == "34"]
        self.by_county = {}
        for row in rows:
            self.by_county.setdefault(row["areaCode"], []).append(row)
        self.counties = iter(sorted(self.by_county))
        self.loose = []

    def county(self):
        """(county code, [township rows of kind street/town/township by name])"""
        code = next(self.counties)
        return code, [r for r in self.by_county[code]
                      if r["name"].endswith(("街道", "镇", "乡"))]

    def township(self):
        while not self.loose:
            self.loose = list(self.county()[1])
        return self.loose.pop(0)


@pytest.fixture(scope="session")
def units():
    return UnitPool()


def wait_for(predicate, timeout=15.0, interval=0.1, message="condition"):
    import time

    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message}")
        time.sleep(interval)
