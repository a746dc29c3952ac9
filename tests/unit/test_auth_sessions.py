"""Signed-in sessions at the gateway, with a fake RPC layer: the access token it signs
from the accounts service's grant, refusal of an ended session, the token that may
only change its password, Retry-After on throttled sign-ins, and the account routes."""
import io
import re
import time

import jwt
import openpyxl
import pytest

from gateway import revocations
from gateway.app import create_app
from gateway.testing import TEST_SECRET, FakeRpc, auth_header
from services.common.errors import DomainError

SID = "0123456789abcdef0123456789abcdef"
ACCOUNT = {"id": "acc-0123456789abcdef", "login": "li.si", "display_name": "李四",
           "role": "station_staff", "region": "340102001", "enabled": True}


def grant(scope="full", sid=SID, ttl=900):
    return {"session": {"sid": sid, "sub": ACCOUNT["id"], "role": "station_staff",
                        "region": "340102001", "scope": scope, "exp": int(time.time()) + ttl},
            "refresh_token": None if scope != "full" else "r" * 43,
            "refresh_expires_at": None if scope != "full" else "2026-11-22T20:30:00.000000Z",
            "account": ACCOUNT}


@pytest.fixture(autouse=True)
def secrets(monkeypatch):
    monkeypatch.setenv("TOKEN_SECRET", TEST_SECRET)
    monkeypatch.delenv("TOKEN_SECRET_PREVIOUS", raising=False)
    monkeypatch.delenv("OIDC_ISSUER", raising=False)


@pytest.fixture
def view(monkeypatch):
    """A synced revocation view in place of this process's broker feed."""
    monkeypatch.setattr(revocations, "_feeds", {})
    ended = revocations.RevocationView()
    ended.synced.set()
    ended.attempted.set()
    revocations.use(ended)
    return ended


@pytest.fixture
def rpc():
    fake = FakeRpc()
    fake.answer("accounts", "sign_in", lambda credentials: grant())
    fake.answer("accounts", "change_password", lambda data, caller: grant())
    fake.answer("registry", "get_station", {"id": "st-1"})
    return fake


@pytest.fixture
def client(rpc):
    return create_app(rpc=rpc, services=["accounts"], settings={"TESTING": True}).test_client()


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def sign_in(client, **body):
    return client.post("/api/v1/auth/sign-in",
                       json=body or {"login": "li.si", "password": "Correct-Horse-42"})


def test_sign_in_answers_an_access_token_signed_here_with_the_session_id(client, rpc, view):
    r = sign_in(client)
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    claims = jwt.decode(body["access_token"], TEST_SECRET, algorithms=["HS256"], issuer="wushe")
    assert (claims["sub"], claims["role"], claims["region"], claims["sid"]) == \
        (ACCOUNT["id"], "station_staff", "340102001", SID)
    assert "scope" not in claims and 890 <= body["expires_in"] <= 900
    assert body["expires_at"].endswith("Z") and body["refresh_token"] == "r" * 43
    assert (body["token_type"], body["scope"], body["password_change_required"]) == \
        ("Bearer", "full", False)
    # The password went to the service, which alone judges it; no caller yet.
    assert rpc.last.args == ({"login": "li.si", "password": "Correct-Horse-42"},)
    assert "caller" not in rpc.last.kwargs


def test_the_session_token_works_until_its_session_ends(client, rpc, view):
    token = sign_in(client).get_json()["access_token"]
    assert client.get("/api/v1/stations/st-1", headers=bearer(token)).status_code == 200
    assert rpc.last.kwargs["caller"] == {"sub": ACCOUNT["id"], "role": "station_staff",
                                         "region": "340102001", "sid": SID}
    view.add([{"session_id": SID, "until": "2999-01-01T00:00:00Z"}])
    r = client.get("/api/v1/stations/st-1", headers=bearer(token))
    assert r.status_code == 401 and "ended" in r.get_json()["error"]["message"]


def test_an_unsynced_view_refuses_session_tokens_with_503_but_not_others(client, monkeypatch):
    monkeypatch.setattr(revocations, "_feeds", {})
    unknown = revocations.RevocationView()
    unknown.attempted.set()   # the first sync was tried and failed
    revocations.use(unknown)
    token = sign_in(client).get_json()["access_token"]
    r = client.get("/api/v1/stations/st-1", headers=bearer(token))
    assert r.status_code == 503 and r.get_json()["error"]["code"] == "revocations_unavailable"
    # `wushe token` tokens have no session: never checked, never waiting.
    assert client.get("/api/v1/stations/st-1",
                      headers=auth_header("county_officer", "340102")).status_code == 200


def test_a_token_of_a_due_password_change_may_only_change_it(client, rpc, view):
    rpc.answer("accounts", "sign_in", lambda credentials: grant("password_change"))
    body = sign_in(client).get_json()
    assert body["password_change_required"] and body["refresh_token"] is None
    token = body["access_token"]
    for method, path in (("get", "/api/v1/stations/st-1"), ("get", "/api/v1/accounts"),
                         ("get", f"/api/v1/accounts/{ACCOUNT['id']}")):
        r = getattr(client, method)(path, headers=bearer(token))
        assert r.status_code == 403 and r.get_json()["error"]["code"] == "password_change_required"
    calls = len(rpc.calls)
    r = client.post("/api/v1/auth/password", headers=bearer(token),
                    json={"current_password": "Tmp-Passw0rd-x", "new_password": "Correct-Horse-42"})
    assert r.status_code == 200 and not r.get_json()["password_change_required"]
    assert len(rpc.calls) == calls + 1 and rpc.last.kwargs["caller"]["sid"] == SID


def test_a_throttled_sign_in_is_429_with_retry_after(client, rpc, view):
    rpc.answer("accounts", "sign_in", DomainError(
        "too many failed sign-ins: try again in 4 s", details={"retry_after": 4}, status=429,
        code="sign_in_delayed"))
    r = sign_in(client)
    assert r.status_code == 429 and r.headers["Retry-After"] == "4"
    assert r.get_json()["error"]["code"] == "sign_in_delayed"


def test_bad_sign_in_input_names_the_field_and_never_repeats_the_password(client, rpc, view):
    r = client.post("/api/v1/auth/sign-in", json={"login": "li.si"})
    assert r.status_code == 400 and "password" in r.get_json()["error"]["fields"]
    long = "S3cret-" + "x" * 200
    r = client.post("/api/v1/auth/sign-in", json={"login": "li.si", "password": long})
    assert r.status_code == 400 and long not in r.get_data(as_text=True)
    assert rpc.calls == []


def test_sign_out_needs_a_token_and_forwards_its_session(client, rpc, view):
    assert client.post("/api/v1/auth/sign-out").status_code == 401
    token = sign_in(client).get_json()["access_token"]
    assert client.post("/api/v1/auth/sign-out", headers=bearer(token)).status_code == 204
    assert (rpc.last.method, rpc.last.kwargs["caller"]["sid"]) == ("sign_out", SID)


def test_who_may_reach_the_account_routes(client, rpc):
    staff, auditor = auth_header("station_staff", "340102001"), auth_header("auditor", "3401")
    county = auth_header("county_officer", "340102")
    body = {"login": "wang.wu", "display_name": "王五", "role": "station_staff",
            "region": "340102001"}
    assert client.post("/api/v1/accounts", json=body, headers=staff).status_code == 403
    assert client.post("/api/v1/accounts", json=body, headers=auditor).status_code == 403
    assert client.get("/api/v1/accounts/audit", headers=county).status_code == 403
    assert rpc.calls == []
    rpc.answer("accounts", "account_audit", {"items": [], "total": 0, "page": 1, "per_page": 50})
    assert client.get("/api/v1/accounts/audit?outcome=failure", headers=auditor).status_code == 200
    assert rpc.last.method == "account_audit"     # not taken for an account id
    bad = client.get("/api/v1/accounts/not-an-id", headers=county)
    assert bad.status_code == 400 and "account_id" in bad.get_json()["error"]["fields"]
    wrong = client.post("/api/v1/accounts", headers=county, json=dict(body, region="340102"))
    assert wrong.status_code == 400 and "region" in wrong.get_json()["error"]["fields"]


def test_the_audit_export_is_an_excel_sheet(client, rpc):
    rpc.answer("accounts", "export_account_audit", lambda query, caller: {
        "name": "accounts-audit", "columns": [{"key": "at", "title": "时间 (UTC)"},
                                              {"key": "login", "title": "登录名"}],
        "rows": [["2026-11-22T08:30:00.000000Z", "=cmd|' /C calc'!A0"]]})
    r = client.get("/api/v1/accounts/audit/export?format=xlsx", headers=auth_header("auditor", "34"))
    assert r.status_code == 200 and r.headers["Content-Disposition"].startswith("attachment")
    rows = list(openpyxl.load_workbook(io.BytesIO(r.data)).active.iter_rows(values_only=True))
    assert rows[0] == ("时间 (UTC)", "登录名") and rows[1][1].startswith("=cmd")
    assert "format" not in rpc.last.args[0]


def test_the_sign_in_page_posts_to_the_api_and_its_scripts_may_run(client):
    r = client.get("/signin")
    assert r.status_code == 200
    page = r.get_data(as_text=True)
    assert 'id="signin"' in page and "/auth/sign-in" in page and "/auth/password" in page
    # Every inline script carries the request's nonce, or the browser would not run it
    # (a script loaded from this origin by src needs none).
    scripts = [tag for tag in re.findall(r"<script[^>]*>", page) if "src=" not in tag]
    nonce = re.search(r"'nonce-([^']+)'", r.headers.get("Content-Security-Policy", ""))
    assert scripts and all(f'nonce="{nonce[1] if nonce else ""}"' in tag for tag in scripts)
