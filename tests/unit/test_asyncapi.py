"""The AsyncAPI document: valid by the specification's own schema, complete, served,
and a fair judge of events (it refuses what the contracts refuse)."""
import copy
import hashlib
import json
import subprocess
import sys

import pytest

from gateway.app import create_app
from gateway.testing import FakeRpc
from services.common import asyncapi, catalog
from tests.contracts.events import SPEC_SCHEMA, event_problems, specification_validator

PINNED_SHA256 = "abe96881dbfaad495ccbb6bd8d3fb43ca18a13b9d7564849ccb66f39d5e5b20f"


@pytest.fixture(scope="module")
def document():
    return asyncapi.build()


def station_event(**data_changes):
    data = {
        "station_id": "340102001-01", "division_code": "340102001", "county": "340102",
        "city": "3401", "province": "34", "name": "明光路街道社工站", "division_name": "明光路街道",
        "county_name": "瑶海区", "city_name": "合肥市", "province_name": "安徽省",
        "status": "operating", "status_on": "2026-04-15",
        "status_history": [{"status": "planned", "on": "2026-01-10"},
                           {"status": "built", "on": "2026-03-15"},
                           {"status": "operating", "on": "2026-04-15"}],
        "opened_on": "2026-04-15", "population_served": 32000, "operator_name": "阳光社工",
        "staffing": {"required": {"head": 1, "supervisor": 1, "resident": 2},
                     "have": {"head": 1, "supervisor": 0, "resident": 1}, "meets_rule": False},
        "checklist_met": 1, "rooms": 0, "version": 4, "from_status": "built"}
    data.update(data_changes)
    return {"specversion": "1.0", "id": "3f0c6f5e-0000-4000-8000-000000000001",
            "source": "/wushe/registry", "type": "wushe.registry.station.opened.v1",
            "time": "2026-11-22T08:30:00.123000Z", "subject": "340102001-01",
            "datacontenttype": "application/json", "correlationid": "a1b2", "data": data}


def test_the_vendored_specification_schema_is_the_pinned_one():
    with open(SPEC_SCHEMA, "rb") as f:
        assert hashlib.sha256(f.read()).hexdigest() == PINNED_SHA256


def test_the_document_is_valid_asyncapi_3(document):
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
              for e in specification_validator().iter_errors(document)]
    assert errors == []
    assert document["asyncapi"] == "3.0.0"


def test_every_declared_event_has_a_message_an_operation_and_its_routing_key(document):
    declared = {spec.type for contract in catalog.contracts() for spec in contract.specs}
    assert {"wushe.registry.station.opened.v1", "wushe.volunteer.hours.approved.v1"} <= declared
    messages = {m["name"] for m in document["components"]["messages"].values()}
    assert messages == declared
    routing_keys = {key for op in document["operations"].values()
                    for key in op["bindings"]["amqp"]["cc"]}
    assert routing_keys == declared
    for contract in catalog.contracts():
        channel = document["channels"][f"{contract.service}Events"]
        assert channel["address"] == f"{contract.service}.events"
        assert channel["bindings"]["amqp"]["exchange"]["type"] == "topic"


def test_a_true_event_validates_and_wrong_ones_are_named(document):
    assert event_problems(document, station_event()) == []
    wrong_version = station_event(version="four")
    assert any("data/version" in p for p in event_problems(document, wrong_version))
    missing = station_event()
    del missing["data"]["division_code"]
    assert any("division_code" in p for p in event_problems(document, missing))
    undeclared = dict(station_event(), type="wushe.registry.station.teleported.v1")
    assert event_problems(document, undeclared) == [
        "wushe.registry.station.teleported.v1 3f0c6f5e-0000-4000-8000-000000000001: "
        "a type the document does not declare"]


def test_readers_accept_an_added_field_the_publisher_may_not_send_undeclared():
    """The versioning rule: adding a field is not breaking for a v1 reader; the
    publisher itself must declare it first (its check is strict)."""
    from services.common.contract import EventContractError
    from services.registry.contract import CONTRACT

    spec = CONTRACT["station.opened"]
    newer = station_event(floor_area_m2=420)
    assert spec.read(newer)["station_id"] == "340102001-01"
    with pytest.raises(EventContractError, match="floor_area_m2"):
        spec.check(copy.deepcopy(newer["data"]))


def test_the_gateway_serves_the_document_without_a_token(document):
    client = create_app(rpc=FakeRpc(), services=[], settings={"TESTING": True}).test_client()
    response = client.get("/api/v1/asyncapi.json")
    assert response.status_code == 200
    assert response.get_json() == json.loads(json.dumps(document))


def test_wushe_asyncapi_prints_the_document(document):
    out = subprocess.run([sys.executable, "-m", "services.cli", "asyncapi"], capture_output=True,
                         check=True, timeout=60).stdout
    assert json.loads(out) == json.loads(json.dumps(document))
