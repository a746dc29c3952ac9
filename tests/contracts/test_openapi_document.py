"""The generated OpenAPI document is valid OpenAPI 3 and tells every status a view answers."""
import re

import pytest

from gateway.app import create_app
from gateway.openapi import build
from gateway.testing import FakeRpc

PATH_VARIABLE = re.compile(r"<(?:[^<>:]+:)?([^<>]+)>")


@pytest.fixture(scope="module")
def app():
    return create_app(rpc=FakeRpc(), services=[], settings={"TESTING": True})


@pytest.fixture(scope="module")
def document(app):
    return build(app)


def endpoints(app):
    for rule in app.url_map.iter_rules():
        meta = getattr(app.view_functions.get(rule.endpoint), "openapi", None)
        if meta is not None:
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                yield rule, method.lower(), meta


def test_the_document_is_valid_openapi_3(document):
    from openapi_spec_validator import validate

    validate(document)


def test_every_route_lists_every_status_its_view_can_answer(app, document):
    for rule, method, meta in endpoints(app):
        path = PATH_VARIABLE.sub(r"{\1}", rule.rule)
        statuses = set(document["paths"][path][method]["responses"])
        expected = {str(meta.status), "414", "502", "503", "504"} | {str(s) for s in meta.errors}
        expected |= {"401", "403"} if meta.roles is not None else {"429"}
        if PATH_VARIABLE.search(rule.rule):
            expected |= {"400", "404"}  # a malformed or unknown id
        if meta.body is not None or meta.body_content:
            expected |= {"400", "413"}
        if meta.query is not None:
            expected.add("400")
        assert expected <= statuses, f"{method.upper()} {path} lacks {sorted(expected - statuses)}"


def test_creates_link_to_the_operations_that_take_their_id(document):
    create_station = document["paths"]["/api/v1/stations"]["post"]["responses"]["201"]
    links = create_station["links"]
    assert links["registry_get_station"] == {
        "operationId": "registry_get_station",
        "parameters": {"station_id": "$response.body#/id"}}
    staff = document["paths"]["/api/v1/stations/{station_id}/staff"]["post"]["responses"]["201"]
    assert staff["links"]["registry_update_staff"]["parameters"] == {
        "station_id": "$request.path.station_id", "staff_id": "$response.body#/id"}
    operation_ids = {op["operationId"] for ops in document["paths"].values() for op in ops.values()}
    for ops in document["paths"].values():
        for op in ops.values():
            for link in op["responses"].get("201", {}).get("links", {}).values():
                assert link["operationId"] in operation_ids


def test_optional_query_parameters_may_be_sent_empty(document):
    # gateway.api.load_query takes `?status=` as absent, and the document says so.
    for path, ops in document["paths"].items():
        for op in ops.values():
            for parameter in op.get("parameters", []):
                if parameter["in"] == "query" and not parameter.get("required"):
                    assert parameter.get("allowEmptyValue") is True, (path, parameter["name"])


def test_validators_apispec_cannot_see_are_in_the_document(document):
    schemas = document["components"]["schemas"]
    assert schemas["StationUpdate"]["minProperties"] == 1        # "give at least one of ..."
    hours = document["paths"]["/api/v1/hours"]["get"]["parameters"]
    date_from = next(p for p in hours if p["name"] == "date_from")
    assert date_from["schema"]["pattern"] == r"^(20\d{2}|2100)-"  # years 2000-2100


def test_a_too_long_url_is_a_json_414(app):
    response = app.test_client().get("/api/v1/stations?region=" + "3" * 5000)
    assert response.status_code == 414
    assert response.get_json()["error"]["code"] == "uri_too_long"


def test_a_nullable_nested_object_is_null_or_that_object(document):
    # apispec's anyOf [{type: object, nullable}, $ref] admitted any object as the operator.
    operator = document["components"]["schemas"]["StationUpdate"]["properties"]["operator"]
    assert {"type": "object", "nullable": True, "enum": [None]} in operator["anyOf"]
    assert {"$ref": "#/components/schemas/Operator"} in operator["anyOf"]
