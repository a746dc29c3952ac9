import pytest
from marshmallow import Schema, fields

from services.common import access, events
from services.common.errors import Forbidden, InvalidInput

COUNTY = {"sub": "u1", "role": "county_officer", "region": "340102"}


def test_region_scope_is_a_code_prefix():
    access.ensure_within(COUNTY, "340102001")
    with pytest.raises(Forbidden) as err:
        access.ensure_within(COUNTY, "340103001", "division_code")
    assert err.value.status == 403 and "division_code" in err.value.fields


def test_list_queries_narrow_to_the_callers_region():
    assert access.narrow(COUNTY, None) == "340102"
    assert access.narrow(COUNTY, "340102001") == "340102001"
    assert access.narrow(COUNTY, "34") == "340102"   # wider: only one's own part
    with pytest.raises(Forbidden):
        access.narrow(COUNTY, "3402")


def test_unknown_caller_is_refused():
    with pytest.raises(Forbidden):
        access.caller_region({"role": "hacker", "region": ""})
    with pytest.raises(Forbidden):
        access.caller_region(None)


def test_auditors_see_phones_masked():
    assert not access.sees_personal_data({"role": "auditor", "region": "34"})
    assert access.sees_personal_data(COUNTY)
    assert access.mask_phone("13812345678") == "138****5678"


def test_load_names_each_bad_field():
    class S(Schema):
        a = fields.Integer(required=True)

    with pytest.raises(InvalidInput) as err:
        access.load(S, {"a": "x", "b": 1})
    assert set(err.value.fields) == {"a", "b"}
    with pytest.raises(InvalidInput):
        access.load(S, ["not", "an", "object"])


def test_cloud_event_envelope():
    event = events.cloud_event("registry", "station.opened", "340102001-01", {"x": 1}, "req-1")
    assert event["specversion"] == "1.0"
    assert event["type"] == "wushe.registry.station.opened.v1"
    assert event["source"] == "/wushe/registry"
    assert event["subject"] == "340102001-01"
    assert event["time"].endswith("Z")
    assert event["correlationid"] == "req-1"
    assert events.idempotency_key(event) == f"/wushe/registry#{event['id']}"


def test_domain_errors_keep_field_and_detail_types_across_rpc():
    from nameko.exceptions import deserialize, serialize

    from services.common.errors import Conflict

    original = Conflict("full", fields={"capacity": ["full"]},
                        details={"capacity": 30, "record": None, "allowed": ["a"]})
    back = deserialize(serialize(original))
    assert isinstance(back, Conflict)
    assert back.details == {"capacity": 30, "record": None, "allowed": ["a"]}
    assert back.fields == {"capacity": ["full"]} and back.message == "full" and str(back) == "full"
