"""Fixtures that run the platform: loaded by tests/conftest.py as a plugin."""
import os

import pytest
from pymongo import monitoring

from services.registry.commands import import_divisions
from services.common.catalog import names as present_services
from tests.harness import Platform, new_vhost, rabbitmqctl

DIVISIONS = os.path.join(os.path.dirname(os.path.dirname(__file__)),
                         "services", "registry", "data", "divisions")
PROVINCE_ADMIN = {"sub": "t-admin", "role": "province_admin", "region": "34"}


class CommandLog(monitoring.CommandListener):
    """The names of the commands a pymongo client sends (event_listeners=[log])."""

    def __init__(self):
        self.names = []

    def started(self, event):
        self.names.append(event.command_name)

    def succeeded(self, event):
        pass

    def failed(self, event):
        pass


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
    check_events(platform)


def check_events(platform):
    """Every event the platform's services committed must match the AsyncAPI document."""
    import pymongo

    from tests.contracts import personal_data
    from tests.contracts.events import check_outboxes

    client = pymongo.MongoClient(platform.mongo_uri, tz_aware=True)
    database_of = lambda service: f"{platform.db_prefix}_{service}"  # noqa: E731
    try:
        checked, problems = check_outboxes(client, database_of)
        leaks = personal_data.scan(client, database_of, platform.workdir)
    finally:
        client.close()
    assert not problems, (f"{len(problems)} of {checked} events do not match the AsyncAPI "
                          "document:\n" + "\n".join(problems[:50]))
    assert not leaks, ("personal data left its service:\n" +
                       "\n".join(f"{where}: {what}" for where, what in leaks[:50]))


@pytest.fixture(scope="session")
def platform(mongo_uri, tmp_path_factory):
    """Every service that exists and the gateway, on their own vhost, Anhui's divisions
    loaded. `platform.registry`, `platform.volunteer`, ... are the service processes."""
    platform = make_platform(mongo_uri, tmp_path_factory.mktemp("platform"))
    try:
        services = present_services()
        for service in services:
            setattr(platform, service, platform.start_service(service, wait=False))
        for service in services:
            getattr(platform, service).wait_ready()
        import_divisions(division_files(), out=lambda line: None, rpc=platform.rpc())
        platform.gateway = platform.start_gateway(",".join(services))
        yield platform
    finally:
        drop_platform(platform)


class Api:
    """HTTP client of the gateway acting as one officer (requests, real sockets)."""

    def __init__(self, base_url, token=None):
        import requests

        self.base_url = base_url
        self.session = requests.Session()
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"

    def request(self, method, path, **kwargs):
        return self.session.request(method, self.base_url + path, timeout=60, **kwargs)

    def get(self, path, **kwargs):
        return self.request("GET", path, **kwargs)

    def post(self, path, **kwargs):
        return self.request("POST", path, **kwargs)

    def patch(self, path, **kwargs):
        return self.request("PATCH", path, **kwargs)

    def delete(self, path, **kwargs):
        return self.request("DELETE", path, **kwargs)


@pytest.fixture(scope="session")
def api(platform):
    """api(role, region) -> an Api client with a token for that officer; api() has none."""
    from gateway.auth import issue_token

    def make(role=None, region=None, sub=None):
        token = issue_token(role, region, sub=sub or f"{role}-{region}") if role else None
        return Api(platform.gateway.base_url, token)

    return make


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

        with open(os.path.join(DIVISIONS, "areas.csv"), encoding="utf-8") as f:
            county_names = {r["code"]: r["name"] for r in csv.DictReader(f)}
        with open(os.path.join(DIVISIONS, "streets.csv"), encoding="utf-8") as f:
            rows = [dict(r, county_name=county_names.get(r["areaCode"]))
                    for r in csv.DictReader(f) if r["provinceCode"] == "34"]
        self.by_county = {}
        for row in rows:
            self.by_county.setdefault(row["areaCode"], []).append(row)
        self.counties = iter(sorted(self.by_county))
        self.loose = []

    def county(self, at_least=5):
        """(county code, [township rows of kind street/town/township by name]), a county
        with at least `at_least` of them (tests take several from one county)."""
        while True:
            code = next(self.counties)
            townships = [r for r in self.by_county[code] if r["name"].endswith(("街道", "镇", "乡"))]
            if len(townships) >= at_least:
                return code, townships
            self.loose.extend(townships)

    def township(self):
        while not self.loose:
            self.loose = list(self.county(at_least=1)[1])
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
