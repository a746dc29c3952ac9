"""The gateway's JSON API with a fake RPC layer: auth, validation, error mapping, routes."""
import time

import jwt
import pytest
from nameko.exceptions import MethodNotFound, RemoteError, RpcTimeout, UnknownService

from gateway.app import create_app
from gateway.auth import issue_token, verify_token
from gateway.errors import Unauthorized
from gateway.rpc import BrokerUnavailable, ReplyLost
from gateway.testing import TEST_SECRET, TEST_SECRET_PREVIOUS, FakeRpc, auth_header
from services.common.errors import Conflict, Forbidden, InvalidInput, NotFound

STATION = {
    "id": "st-1", "division_code": "340102001", "division_name": "明光路街道", "name": "明光路街道社工站",
    "status": "planned", "allowed_transitions": ["built", "closed"], "history": [],
    "checklist": {"premises": {"state": "met", "note": None, "attested_on": "2024-03-01"}},
    "staff": [{"id": "p1", "role": "head", "name": "张三", "phone": "139****0000"}],
    "staffing": {"required": {"head": 1}, "have": {"head": 1}, "missing": {}, "meets_rule": False},
    "rooms": [{"id": "r1", "kind": "room", "name": "个案室", "village_code": "340102001001"}],
}
NEW_STATION = {"division_code": "340102001", "name": "明光路街道社工站", "population_served": 30000,
               "operator": {"name": "合肥市阳光社工服务中心", "contract_start": "2024-01-01"}}

COUNTY = ("county_officer", "340102")


@pytest.fixture(autouse=True)
def secrets(monkeypatch):
    monkeypatch.setenv("TOKEN_SECRET", TEST_SECRET)
    monkeypatch.delenv("TOKEN_SECRET_PREVIOUS", raising=False)


@pytest.fixture
def rpc():
    fake = FakeRpc()
    fake.answer("registry", "get_station", STATION)
    fake.answer("registry", "create_station", lambda data, caller: dict(STATION, **data))
    fake.answer("registry", "add_staff", lambda station_id, data, caller: dict(data, id="p9"))
    fake.answer("registry", "update_checklist", lambda station_id, data, caller: STATION)
    fake.answer("registry", "add_room", lambda station_id, data, caller: dict(data, id="r9"))
    return fake


@pytest.fixture
def client(rpc):
    return create_app(rpc=rpc, services=["registry"], settings={"TESTING": True}).test_client()


def h(role="county_officer", region="340102", **kwargs):
    return auth_header(role, region, **kwargs)


def error_of(response):
    body = response.get_json()
    assert set(body) == {"error"}, body
    assert {"code", "message", "fields"} <= set(body["error"]), body
    return body["error"]


# ---- authentication ----

def test_no_token_is_401_with_challenge(client, rpc):
    r = client.get("/api/v1/stations/st-1")
    assert r.status_code == 401
    assert r.headers["WWW-Authenticate"].startswith("Bearer")
    assert error_of(r)["code"] == "unauthorized"
    assert rpc.calls == []


@pytest.mark.parametrize("header", [
    "Bearer not-a-jwt",
    "Basic dXNlcjpwYXNz",
    "Bearer ",
    "Bearer " + issue_token("county_officer", "340102", secret="some-other-secret-0123456789abcdef"),
])
def test_bad_token_is_401(client, rpc, header):
    r = client.get("/api/v1/stations/st-1", headers={"Authorization": header})
    assert r.status_code == 401
    assert "Bearer" in r.headers["WWW-Authenticate"]
    assert rpc.calls == []


def test_expired_token_is_401(client):
    now = int(time.time())
    token = jwt.encode({"sub": "u", "role": "county_officer", "region": "340102", "iss": "wushe",
                        "iat": now - 7200, "exp": now - 3600}, TEST_SECRET, algorithm="HS256")
    r = client.get("/api/v1/stations/st-1", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401
    assert "expired" in error_of(r)["message"]
    assert 'error="invalid_token"' in r.headers["WWW-Authenticate"]


@pytest.mark.parametrize("claims", [
    {"role": "county_officer", "region": "340102", "iss": "someone-else"},
    {"role": "mayor", "region": "340102", "iss": "wushe"},
    {"role": "county_officer", "region": "34", "iss": "wushe"},
    {"role": "county_officer", "iss": "wushe"},
])
def test_token_with_bad_claims_is_401(client, claims):
    now = int(time.time())
    token = jwt.encode(dict({"sub": "u", "iat": now, "exp": now + 600}, **claims), TEST_SECRET,
                       algorithm="HS256")
    r = client.get("/api/v1/stations/st-1", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401


def test_token_signed_with_previous_secret_still_accepted(client, rpc, monkeypatch):
    old = h(secret=TEST_SECRET_PREVIOUS)
    assert client.get("/api/v1/stations/st-1", headers=old).status_code == 401
    monkeypatch.setenv("TOKEN_SECRET_PREVIOUS", TEST_SECRET_PREVIOUS)
    assert client.get("/api/v1/stations/st-1", headers=old).status_code == 200
    # ...and new tokens are signed with the current secret.
    assert verify_token(issue_token("auditor", "34"), secrets=[TEST_SECRET])["role"] == "auditor"


def test_issue_token_validates_role_and_region():
    claims = jwt.decode(issue_token("station_staff", "340102001", sub="li"), TEST_SECRET,
                        algorithms=["HS256"], issuer="wushe")
    assert {k: claims[k] for k in ("sub", "role", "region", "iss")} == {
        "sub": "li", "role": "station_staff", "region": "340102001", "iss": "wushe"}
    assert claims["exp"] - claims["iat"] == 43200
    for role, region in [("mayor", "34"), ("province_admin", "3401"), ("city_officer", "34"),
                         ("county_officer", "34010"), ("station_staff", "340102"),
                         ("auditor", "34x"), ("auditor", "340102001")]:
        with pytest.raises(ValueError):
            issue_token(role, region)
    with pytest.raises(ValueError):
        issue_token("auditor", "34", ttl_seconds=0)


def test_verify_token_rejects_garbage():
    with pytest.raises(Unauthorized):
        verify_token("a.b.c")


# ---- roles ----

@pytest.mark.parametrize("method,path,body", [
    ("post", "/api/v1/stations", NEW_STATION),
    ("patch", "/api/v1/stations/st-1", {"name": "新名称社工站"}),
    ("post", "/api/v1/stations/st-1/transitions", {"to": "built", "on": "2024-05-01"}),
    ("patch", "/api/v1/stations/st-1/checklist",
     {"premises": {"state": "met", "attested_on": "2024-05-01"}}),
    ("post", "/api/v1/stations/st-1/staff", {"role": "head", "name": "张三"}),
    ("patch", "/api/v1/stations/st-1/staff/p1", {"name": "张三丰"}),
    ("delete", "/api/v1/stations/st-1/staff/p1", None),
    ("post", "/api/v1/stations/st-1/rooms",
     {"kind": "room", "name": "个案室", "village_code": "340102001001"}),
    ("delete", "/api/v1/stations/st-1/rooms/r1", None),
])
def test_auditor_may_not_write(client, rpc, method, path, body):
    r = getattr(client, method)(path, json=body, headers=h("auditor", "34"))
    assert r.status_code == 403
    assert error_of(r)["code"] == "forbidden"
    assert rpc.calls == []


def test_station_staff_may_not_create_or_move_stations(client, rpc):
    staff = h("station_staff", "340102001")
    assert client.post("/api/v1/stations", json=NEW_STATION, headers=staff).status_code == 403
    assert client.post("/api/v1/stations/st-1/transitions", json={"to": "built", "on": "2024-05-01"},
                       headers=staff).status_code == 403
    assert rpc.calls == []
    # ...but may keep their station's staff list and checklist.
    r = client.post("/api/v1/stations/st-1/staff", json={"role": "resident", "name": "李四"},
                    headers=staff)
    assert r.status_code == 201
    r = client.patch("/api/v1/stations/st-1/checklist",
                     json={"staff": {"state": "partial", "attested_on": "2024-05-01"}}, headers=staff)
    assert r.status_code == 200


@pytest.mark.parametrize("role,region", [("province_admin", "34"), ("city_officer", "3401"),
                                         ("county_officer", "340102"),
                                         ("station_staff", "340102001"), ("auditor", "3401")])
def test_every_role_reads(client, role, region):
    assert client.get("/api/v1/stations/st-1", headers=h(role, region)).status_code == 200


# ---- the caller and the request id travel with the call ----

def test_caller_and_request_id_sent_over_rpc(client, rpc):
    r = client.get("/api/v1/stations/st-1", headers={**h(sub="wang"), "X-Request-Id": "req-42"})
    assert r.status_code == 200
    assert r.get_json() == STATION
    assert r.headers["X-Request-Id"] == "req-42"
    call = rpc.last
    assert (call.service, call.method, call.args) == ("registry", "get_station", ("st-1",))
    assert call.kwargs == {"caller": {"sub": "wang", "role": "county_officer", "region": "340102"}}
    # The request id and the client address travel for the service's logs and audit trail.
    assert call.context == {"request_id": "req-42", "client_address": "127.0.0.1"}
    assert call.idempotent is True


def test_request_id_made_when_missing_or_unsafe(client, rpc):
    r = client.get("/api/v1/stations/st-1", headers=h())
    made = r.headers["X-Request-Id"]
    assert len(made) == 32 and rpc.last.context["request_id"] == made
    for unsafe in ("has spaces and \"quotes\"", "x" * 200, "<script>"):
        r = client.get("/api/v1/stations/st-1", headers={**h(), "X-Request-Id": unsafe})
        assert len(r.headers["X-Request-Id"]) == 32, unsafe
    # Errors carry it too.
    assert client.get("/api/v1/nowhere", headers={"X-Request-Id": "abc"}).headers["X-Request-Id"] == "abc"


# ---- routes map to RPC ----

def test_create_station_sends_original_json_and_answers_201(client, rpc):
    r = client.post("/api/v1/stations", json=NEW_STATION, headers=h())
    assert r.status_code == 201
    assert r.headers["Location"].endswith("/api/v1/stations/st-1")
    call = rpc.last
    assert call.method == "create_station"
    assert call.args == (NEW_STATION,)  # the JSON as sent: dates still strings, no defaults added
    assert call.idempotent is False


def test_list_stations_passes_loaded_query(client, rpc):
    rpc.answer("registry", "list_stations",
               lambda query, caller: {"items": [STATION], "total": 51, "page": query["page"],
                                      "per_page": query["per_page"]})
    r = client.get("/api/v1/stations?region=3401&status=operating&page=3&per_page=25", headers=h())
    assert r.status_code == 200
    assert r.get_json()["page"] == 3
    assert rpc.last.args == ({"region": "3401", "status": "operating", "page": 3, "per_page": 25},)
    client.get("/api/v1/stations", headers=h())
    assert rpc.last.args == ({"region": None, "status": None, "page": 1, "per_page": 50},)
    # An empty parameter (a plain HTML form) counts as absent.
    client.get("/api/v1/stations?status=&region=", headers=h())
    assert rpc.last.args[0]["status"] is None


def test_coverage_sends_dates_as_iso_strings(client, rpc):
    rpc.answer("registry", "coverage", {"region": "3401", "children": []})
    r = client.get("/api/v1/coverage?region=3401&as_of=2024-06-30", headers=h("city_officer", "3401"))
    assert r.status_code == 200
    assert rpc.last.method == "coverage"
    assert rpc.last.args == ({"region": "3401", "as_of": "2024-06-30"},)


def test_divisions_and_staffing_gaps(client, rpc):
    client.get("/api/v1/divisions?parent=3401&page=2&per_page=10", headers=h())
    assert (rpc.last.method, rpc.last.args) == (
        "list_divisions", ({"parent": "3401", "page": 2, "per_page": 10},))
    client.get("/api/v1/divisions/340102", headers=h())
    assert (rpc.last.method, rpc.last.args) == ("get_division", ("340102",))
    client.get("/api/v1/staffing-gaps?region=340102&per_page=5", headers=h())
    assert (rpc.last.method, rpc.last.args) == (
        "staffing_gaps", ({"region": "340102", "page": 1, "per_page": 5},))


def test_station_subresources(client, rpc):
    assert client.get("/api/v1/stations/st-1/checklist", headers=h()).get_json() == STATION["checklist"]
    assert client.get("/api/v1/stations/st-1/staff", headers=h()).get_json() == {
        "items": STATION["staff"], "staffing": STATION["staffing"]}
    assert client.get("/api/v1/stations/st-1/rooms", headers=h()).get_json() == STATION["rooms"]

    rpc.answer("registry", "update_checklist", STATION)
    body = {"premises": {"state": "met", "attested_on": "2024-03-01"}}
    r = client.patch("/api/v1/stations/st-1/checklist", json=body, headers=h())
    assert r.get_json() == STATION["checklist"]
    assert (rpc.last.method, rpc.last.args) == ("update_checklist", ("st-1", body))

    rpc.answer("registry", "add_staff", {"id": "p2", "role": "supervisor", "name": "王五"})
    r = client.post("/api/v1/stations/st-1/staff", json={"role": "supervisor", "name": "王五"},
                    headers=h())
    assert r.status_code == 201 and r.get_json()["id"] == "p2"

    client.patch("/api/v1/stations/st-1/staff/p1", json={"certification": "junior"}, headers=h())
    assert (rpc.last.method, rpc.last.args) == ("update_staff", ("st-1", "p1", {"certification": "junior"}))

    r = client.delete("/api/v1/stations/st-1/staff/p1", headers=h())
    assert r.status_code == 204 and r.data == b""
    assert (rpc.last.method, rpc.last.args) == ("remove_staff", ("st-1", "p1"))

    room = {"kind": "micro_site", "name": "和平村微站点", "village_code": "340102001002"}
    assert client.post("/api/v1/stations/st-1/rooms", json=room, headers=h()).status_code == 201
    assert (rpc.last.method, rpc.last.args) == ("add_room", ("st-1", room))
    assert client.delete("/api/v1/stations/st-1/rooms/r1", headers=h()).status_code == 204
    assert (rpc.last.method, rpc.last.args) == ("remove_room", ("st-1", "r1"))


def test_transition_and_update(client, rpc):
    rpc.answer("registry", "transition_station", dict(STATION, status="built"))
    body = {"to": "built", "on": "2024-05-01", "note": "验收通过"}
    r = client.post("/api/v1/stations/st-1/transitions", json=body, headers=h())
    assert r.status_code == 200 and r.get_json()["status"] == "built"
    assert (rpc.last.method, rpc.last.args) == ("transition_station", ("st-1", body))
    rpc.answer("registry", "update_station", STATION)
    assert client.patch("/api/v1/stations/st-1", json={"population_served": 12000},
                        headers=h()).status_code == 200
    assert (rpc.last.method, rpc.last.args) == ("update_station", ("st-1", {"population_served": 12000}))


# ---- bad input: 400 naming the field, never 500, and no RPC call ----

@pytest.mark.parametrize("body,field", [
    ({"name": "明光路街道社工站"}, "division_code"),
    (dict(NEW_STATION, division_code="3401"), "division_code"),
    (dict(NEW_STATION, population_served="many"), "population_served"),
    (dict(NEW_STATION, colour="red"), "colour"),
    (dict(NEW_STATION, operator={"name": "x"}), "operator"),
])
def test_invalid_body_names_field(client, rpc, body, field):
    r = client.post("/api/v1/stations", json=body, headers=h())
    assert r.status_code == 400
    err = error_of(r)
    assert err["code"] == "invalid_input"
    assert field in err["fields"], err
    assert rpc.calls == []


@pytest.mark.parametrize("data,code", [
    (b"{not json", "invalid_json"),
    (b"[" * 100_000 + b"]" * 100_000, "invalid_json"),   # nested too deep for the parser
    (b"[1, 2]", "invalid_input"),
    (b'"text"', "invalid_input"),
    (b"", "invalid_input"),
])
def test_body_not_a_json_object(client, rpc, data, code):
    r = client.post("/api/v1/stations", data=data, content_type="application/json", headers=h())
    assert r.status_code == 400
    err = error_of(r)
    assert err["code"] == code
    assert "_schema" in err["fields"]
    assert rpc.calls == []


def test_transition_date_checked(client, rpc):
    r = client.post("/api/v1/stations/st-1/transitions", json={"to": "open", "on": "yesterday"},
                    headers=h())
    assert r.status_code == 400
    assert {"to", "on"} <= set(error_of(r)["fields"])


def test_empty_patch_is_400(client, rpc):
    r = client.patch("/api/v1/stations/st-1", json={}, headers=h())
    assert r.status_code == 400
    assert "_schema" in error_of(r)["fields"]


@pytest.mark.parametrize("query,field", [
    ("page=0", "page"), ("page=two", "page"), ("per_page=501", "per_page"),
    ("page=100000000000000000", "page"),
    ("status=open", "status"), ("region=3", "region"), ("sort=name", "sort"),
    ("page=1&page=2", "page"),
])
def test_invalid_query_names_field(client, rpc, query, field):
    r = client.get(f"/api/v1/stations?{query}", headers=h())
    assert r.status_code == 400
    assert field in error_of(r)["fields"]
    assert rpc.calls == []


def test_required_query_and_path_checks(client, rpc):
    r = client.get("/api/v1/coverage", headers=h())
    assert r.status_code == 400 and "region" in error_of(r)["fields"]
    r = client.get("/api/v1/coverage?region=3401&as_of=2024-13-01", headers=h())
    assert r.status_code == 400 and "as_of" in error_of(r)["fields"]
    r = client.get("/api/v1/divisions/34x", headers=h())
    assert r.status_code == 400 and "code" in error_of(r)["fields"]
    assert rpc.calls == []


# ---- what the services answer ----

def test_not_found_from_service(client, rpc):
    rpc.answer("registry", "get_station", NotFound("no station st-9"))
    r = client.get("/api/v1/stations/st-9", headers=h())
    assert r.status_code == 404
    assert error_of(r) == {"code": "not_found", "message": "no station st-9", "fields": {}}


def test_conflict_names_allowed_transitions(client, rpc):
    rpc.answer("registry", "transition_station", Conflict(
        "cannot go from planned to operating; allowed: built, closed",
        fields={"to": ["not allowed from planned"]}, details={"allowed": ["built", "closed"]}))
    r = client.post("/api/v1/stations/st-1/transitions", json={"to": "operating", "on": "2024-05-01"},
                    headers=h())
    assert r.status_code == 409
    err = error_of(r)
    assert err["code"] == "conflict"
    assert err["details"] == {"allowed": ["built", "closed"]}
    assert err["fields"] == {"to": ["not allowed from planned"]}


def test_forbidden_and_invalid_input_from_service(client, rpc):
    rpc.answer("registry", "get_station", Forbidden("outside your region", fields={"region": ["x"]}))
    assert client.get("/api/v1/stations/st-1", headers=h()).status_code == 403
    rpc.answer("registry", "create_station", InvalidInput("bad", fields={"second_station_reason": ["required"]}))
    r = client.post("/api/v1/stations", json=NEW_STATION, headers=h())
    assert r.status_code == 400 and "second_station_reason" in error_of(r)["fields"]


@pytest.mark.parametrize("exc,status,code", [
    (RemoteError("KeyError", "'division'"), 502, "upstream_error"),
    (MethodNotFound("get_station"), 502, "upstream_error"),
    (RpcTimeout(30), 504, "upstream_timeout"),
    (UnknownService("registry"), 503, "service_unavailable"),
    (BrokerUnavailable("ConnectionRefusedError"), 503, "broker_unavailable"),
    (ReplyLost("connection reset"), 503, "reply_lost"),
    (ValueError("a bug in the gateway"), 500, "internal_error"),
])
def test_upstream_failures(client, rpc, exc, status, code):
    rpc.answer("registry", "get_station", exc)
    r = client.get("/api/v1/stations/st-1", headers={**h(), "X-Request-Id": "trace-me"})
    assert r.status_code == status
    assert error_of(r)["code"] == code
    assert r.headers["X-Request-Id"] == "trace-me"
    if status in (500, 502):
        assert "trace-me" in error_of(r)["message"]


def test_remote_error_is_logged_with_request_id(client, rpc, caplog):
    rpc.answer("registry", "get_station", RemoteError("KeyError", "'division'"))
    with caplog.at_level("ERROR", logger="wushe.gateway"):
        client.get("/api/v1/stations/st-1", headers={**h(), "X-Request-Id": "trace-me"})
    records = [r for r in caplog.records if getattr(r, "remote_exc_type", None) == "KeyError"]
    assert records and records[0].request_id == "trace-me"


# ---- routing errors keep the JSON shape ----

def test_unknown_route_and_wrong_method(client):
    r = client.get("/api/v1/nowhere")
    assert r.status_code == 404 and error_of(r)["code"] == "not_found"
    r = client.put("/api/v1/stations/st-1", json={}, headers=h())
    assert r.status_code == 405 and error_of(r)["code"] == "method_not_allowed"
    assert "PATCH" in r.headers["Allow"]
    r = client.delete("/api/v1/stations", headers=h())
    assert r.status_code == 405


def test_empty_answer_from_service_is_502(client, rpc):
    rpc.answer("registry", "get_station", None)
    r = client.get("/api/v1/stations/st-1", headers=h())
    assert r.status_code == 502 and error_of(r)["code"] == "upstream_error"


def test_body_too_large(client):
    r = client.post("/api/v1/stations", data=b"{" + b" " * (1024 * 1024 + 10) + b"}",
                    content_type="application/json", headers=h())
    assert r.status_code == 413 and error_of(r)["code"] == "payload_too_large"
