"""The gateway's operational endpoints, OpenAPI document, access log and web pages."""
import json
import logging

import pytest

from gateway.app import create_app, gateway_services
from gateway.testing import TEST_SECRET, FakeRpc, auth_header


@pytest.fixture(autouse=True)
def secrets(monkeypatch):
    monkeypatch.setenv("TOKEN_SECRET", TEST_SECRET)


@pytest.fixture
def rpc():
    fake = FakeRpc()
    fake.answer("registry", "get_station", {"id": "st-1", "checklist": {}})
    return fake


@pytest.fixture
def app(rpc):
    return create_app(rpc=rpc, services=["registry", "volunteer"], settings={"TESTING": True})


@pytest.fixture
def client(app):
    return app.test_client()


def test_healthz_does_no_io(client, rpc):
    r = client.get("/healthz")
    assert r.status_code == 200 and r.get_json() == {"status": "ok"}
    assert rpc.calls == []


def test_readyz_ready(client):
    r = client.get("/readyz")
    assert r.status_code == 200
    body = r.get_json()
    assert body["status"] == "ready"
    assert body["broker"]["status"] == "ok"
    assert set(body["services"]) == {"registry", "volunteer"}


def test_readyz_service_down(client, rpc):
    rpc.pings["volunteer"] = {"status": "timeout", "error": "no answer within 2.0 s"}
    r = client.get("/readyz")
    assert r.status_code == 503
    assert r.get_json()["services"]["volunteer"]["status"] == "timeout"
    assert r.get_json()["services"]["registry"]["status"] == "ok"


def test_readyz_broker_down(client, rpc):
    rpc.broker = (False, "ConnectionRefusedError: [Errno 111]")
    r = client.get("/readyz")
    assert r.status_code == 503
    body = r.get_json()
    assert body["broker"] == {"status": "error", "error": "ConnectionRefusedError: [Errno 111]"}
    assert body["status"] == "not_ready"


def test_gateway_services_from_env(monkeypatch):
    monkeypatch.delenv("GATEWAY_SERVICES", raising=False)
    # By default every service folder the catalog finds, registry and volunteer among them.
    assert {"registry", "volunteer"} <= set(gateway_services())
    assert gateway_services() == sorted(gateway_services())
    monkeypatch.setenv("GATEWAY_SERVICES", "registry, volunteer,charity")
    assert gateway_services() == ["registry", "volunteer", "charity"]


def test_metrics_use_the_route_not_the_path(client):
    client.get("/api/v1/stations/st-1", headers=auth_header("auditor", "34"))
    client.get("/api/v1/stations/st-1")  # 401
    r = client.get("/metrics")
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/plain")
    text = r.get_data(as_text=True)
    assert ('wushe_http_requests_total{method="GET",route="/api/v1/stations/<station_id>",'
            'status="200"}') in text
    assert 'route="/api/v1/stations/<station_id>",status="401"' in text
    assert 'wushe_http_request_duration_seconds_bucket{' in text
    assert 'wushe_rpc_client_duration_seconds_count{method="get_station",service="registry"}' in text
    assert "st-1" not in text


def test_access_log_line(client, caplog):
    with caplog.at_level(logging.INFO, logger="wushe.gateway.access"):
        client.get("/api/v1/stations/st-1",
                   headers={**auth_header("city_officer", "3401"), "X-Request-Id": "r-1"})
    [record] = [r for r in caplog.records if r.name == "wushe.gateway.access"]
    assert record.request_id == "r-1"
    assert record.route == "/api/v1/stations/<station_id>"
    assert (record.method, record.status, record.role, record.region) == (
        "GET", 200, "city_officer", "3401")
    assert record.duration_ms >= 0
    # JSON lines, and the token never appears.
    from services.common.logs import JsonFormatter

    line = json.loads(JsonFormatter().format(record))
    assert line["request_id"] == "r-1" and line["status"] == 200
    assert "Bearer" not in JsonFormatter().format(record)


# ---- OpenAPI ----

@pytest.fixture
def document(client):
    r = client.get("/api/v1/openapi.json")
    assert r.status_code == 200
    return r.get_json()


def test_openapi_document(document):
    assert document["openapi"] == "3.0.3"
    paths = document["paths"]
    expected = {
        "/api/v1/stations": {"get", "post"},
        "/api/v1/stations/{station_id}": {"get", "patch"},
        "/api/v1/stations/{station_id}/transitions": {"post"},
        "/api/v1/stations/{station_id}/checklist": {"get", "patch"},
        "/api/v1/stations/{station_id}/staff": {"get", "post"},
        "/api/v1/stations/{station_id}/staff/{staff_id}": {"patch", "delete"},
        "/api/v1/stations/{station_id}/rooms": {"get", "post"},
        "/api/v1/stations/{station_id}/rooms/{room_id}": {"delete"},
        "/api/v1/divisions": {"get"},
        "/api/v1/divisions/{code}": {"get"},
        "/api/v1/coverage": {"get"},
        "/api/v1/staffing-gaps": {"get"},
    }
    for path, methods in expected.items():
        assert set(paths[path]) == methods, path
    schemas = document["components"]["schemas"]
    for name in ("StationCreate", "StationUpdate", "Transition", "ChecklistUpdate", "StaffCreate",
                 "StaffUpdate", "RoomCreate", "Station", "Coverage", "Division", "Error"):
        assert name in schemas, name
    assert document["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http", "scheme": "bearer", "bearerFormat": "JWT",
        "description": document["components"]["securitySchemes"]["bearerAuth"]["description"]}


def test_openapi_operations_are_complete(document):
    create = document["paths"]["/api/v1/stations"]["post"]
    assert create["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/StationCreate"}
    assert create["responses"]["201"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Station"}
    for status in ("400", "401", "403", "409", "502", "503", "504"):
        assert "$ref" in create["responses"][status], status
    assert create["x-roles"] == ["province_admin", "city_officer", "county_officer"]

    listing = document["paths"]["/api/v1/stations"]["get"]
    names = {p["name"]: p for p in listing["parameters"]}
    assert set(names) == {"region", "status", "page", "per_page"}
    assert all(p["in"] == "query" for p in names.values())
    assert {"planned", "built", "operating", "suspended", "closed"} <= set(names["status"]["schema"]["enum"])
    items = listing["responses"]["200"]["content"]["application/json"]["schema"]["properties"]["items"]
    assert items == {"type": "array", "items": {"$ref": "#/components/schemas/Station"}}

    coverage = {p["name"]: p for p in document["paths"]["/api/v1/coverage"]["get"]["parameters"]}
    assert coverage["region"]["required"] is True

    staff = document["paths"]["/api/v1/stations/{station_id}/staff/{staff_id}"]["delete"]
    assert [p["name"] for p in staff["parameters"] if p["in"] == "path"] == ["station_id", "staff_id"]
    assert "204" in staff["responses"]

    error = document["components"]["responses"]["NotFound"]["content"]["application/json"]["schema"]
    assert error == {"$ref": "#/components/schemas/Error"}
    detail = document["components"]["schemas"]["ErrorDetail"]["properties"]
    assert {"code", "message", "fields", "details"} <= set(detail)


def test_openapi_every_operation_has_an_id_and_responses(document):
    ids = []
    for path, operations in document["paths"].items():
        for method, op in operations.items():
            ids.append(op["operationId"])
            assert op["summary"] and op["responses"], (method, path)
            for variable in [s[1:-1] for s in path.split("/") if s.startswith("{")]:
                assert any(p["in"] == "path" and p["name"] == variable
                           for p in op.get("parameters", [])), (method, path, variable)
    assert len(ids) == len(set(ids))


def test_openapi_validates_when_validator_available(document):
    validator = pytest.importorskip("openapi_spec_validator")
    validator.validate(document)


def test_api_docs_page(client):
    r = client.get("/api/docs")
    assert r.status_code == 200
    text = r.get_data(as_text=True)
    assert "/api/v1/stations/{station_id}/transitions" in text
    assert "<script src=" not in text


# ---- web pages ----

@pytest.mark.parametrize("path", ["/", "/ui/coverage", "/ui/stations", "/ui/stations/st-1",
                                  "/ui/staffing-gaps", "/ui/hours", "/verify"])
def test_pages_render_without_external_resources(client, path):
    r = client.get(path)
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/html")
    text = r.get_data(as_text=True)
    assert "五社联动" in text
    assert "http://" not in text and "https://" not in text  # no CDN
    assert "localStorage" in text


def test_station_page_embeds_id_safely(client):
    text = client.get('/ui/stations/x"</script><b>').get_data(as_text=True)
    assert '</script><b>' not in text


def test_static_css(client):
    r = client.get("/ui/static/style.css")
    assert r.status_code == 200 and b".bar" in r.data


def test_trailing_slash_tolerated(client, rpc):
    rpc.answer("registry", "list_stations", {"items": [], "total": 0, "page": 1, "per_page": 50})
    assert client.get("/api/v1/stations/", headers=auth_header("auditor", "34")).status_code == 200
    assert client.get("/healthz/").status_code == 200


def test_access_log_without_caller(client, caplog):
    with caplog.at_level(logging.INFO, logger="wushe.gateway.access"):
        client.get("/api/v1/stations/st-1")
    [record] = [r for r in caplog.records if r.name == "wushe.gateway.access"]
    assert record.status == 401 and not hasattr(record, "role")


# ---- the real RPC layer, with no broker to talk to ----

@pytest.fixture
def no_broker_client(monkeypatch):
    monkeypatch.setenv("AMQP_URI", "amqp://guest:guest@127.0.0.1:1/")
    return create_app(services=["registry"]).test_client()


def test_default_app_makes_no_connection_until_needed(no_broker_client):
    assert no_broker_client.get("/healthz").status_code == 200
    assert no_broker_client.get("/api/v1/openapi.json").status_code == 200


def test_readyz_without_broker_is_quick_503(no_broker_client):
    import time

    started = time.monotonic()
    r = no_broker_client.get("/readyz")
    assert r.status_code == 503
    assert r.get_json()["broker"]["status"] == "error"
    assert time.monotonic() - started < 2


def test_api_call_without_broker_is_503(no_broker_client):
    r = no_broker_client.get("/api/v1/stations/st-1", headers=auth_header("auditor", "34"))
    assert r.status_code == 503
    assert r.get_json()["error"]["code"] == "broker_unavailable"
