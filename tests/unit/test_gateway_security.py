"""What every answer tells a browser, and the public endpoints' rate limit."""
import pytest

from gateway.app import create_app
from gateway.ratelimit import limiter
from gateway.testing import TEST_SECRET, FakeRpc, auth_header


@pytest.fixture(autouse=True)
def secrets(monkeypatch):
    monkeypatch.setenv("TOKEN_SECRET", TEST_SECRET)
    monkeypatch.setenv("PUBLIC_RATE_LIMIT", "5 per minute")


@pytest.fixture
def rpc():
    fake = FakeRpc()
    fake.answer("registry", "get_station", {"id": "340102001-01", "checklist": {}})
    fake.answer("volunteer", "verify_certificate", {"number": "ZYZM-2026-00000001", "name": "张*丰"})
    return fake


@pytest.fixture
def client(rpc):
    app = create_app(rpc=rpc, services=["registry", "volunteer"], settings={"TESTING": True})
    limiter.reset()
    return app.test_client()


def test_pages_allow_only_this_origin_and_carry_a_nonce_on_their_scripts(client):
    page = client.get("/ui/coverage")
    policy = page.headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert "object-src 'none'" in policy and "https:" not in policy and "*" not in policy
    nonce = policy.split("'nonce-")[1].split("'")[0]
    assert f'<script nonce="{nonce}">' in page.get_data(as_text=True)
    assert page.headers["X-Frame-Options"] == "DENY"
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    # A new nonce every time: a script copied from one answer does not run in the next.
    assert client.get("/ui/coverage").headers["Content-Security-Policy"] != policy


def test_api_answers_are_no_document_and_grant_no_other_origin(client):
    answer = client.get("/api/v1/stations/340102001-01", headers={
        **auth_header("county_officer", "340102"), "Origin": "https://evil.example"})
    assert answer.status_code == 200
    assert answer.headers["Content-Security-Policy"] == "default-src 'none'; frame-ancestors 'none'"
    assert "Access-Control-Allow-Origin" not in answer.headers
    preflight = client.options("/api/v1/stations/340102001-01", headers={
        "Origin": "https://evil.example", "Access-Control-Request-Method": "PATCH"})
    assert "Access-Control-Allow-Origin" not in preflight.headers


def test_public_endpoints_share_a_budget_per_address_with_retry_after(client):
    for _ in range(5):
        assert client.get("/api/v1/public/certificates/ZYZM-2026-00000001").status_code == 200
    refused = client.get("/api/v1/public/certificates/ZYZM-2026-00000001")
    assert refused.status_code == 429
    assert refused.get_json()["error"]["code"] == "too_many_requests"
    assert 0 < int(refused.headers["Retry-After"]) <= 60
    # Another address has its own budget; signed-in endpoints are not limited so.
    other = client.get("/api/v1/public/certificates/ZYZM-2026-00000001",
                       environ_base={"REMOTE_ADDR": "10.9.8.7"})
    assert other.status_code == 200
    for _ in range(8):
        assert client.get("/api/v1/stations/340102001-01",
                          headers=auth_header("county_officer", "340102")).status_code == 200


def test_the_document_lists_429_for_public_endpoints(client):
    document = client.get("/api/v1/openapi.json").get_json()
    public = document["paths"]["/api/v1/public/certificates/{number}"]["get"]["responses"]
    assert "429" in public
    assert "429" not in document["paths"]["/api/v1/stations/{station_id}"]["get"]["responses"]
