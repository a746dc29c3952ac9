"""Accounts and sign-in as officers and station staff use them: over HTTP through the
gateway under gunicorn, against the real accounts service, broker and Mongo-wire
server. A second gateway process (two workers too) stands for another replica, and
trusts a local identity provider besides its own tokens."""
import io
import json
import time
import uuid

import openpyxl
import pytest
import requests

from services.common import catalog
from tests.fixtures import Api, wait_for

pytestmark = pytest.mark.e2e

NEW_PASSWORD = "Zhan-Wu-She-2026"
TYPED = set()   # every password this module typed or was given: none may show up anywhere


@pytest.fixture(scope="module")
def admin(api):
    return api("province_admin", "34", sub="e2e-province-admin")


@pytest.fixture(scope="module")
def idp():
    from tests.unit.test_auth_oidc import IdentityProvider

    provider = IdentityProvider()
    yield provider
    provider.close()


@pytest.fixture(scope="module")
def second_gateway(platform, idp):
    """Another gateway replica: its own processes, feeds and identity-provider settings. Its
    periodic sync is off for the test's length: what it refuses, it heard as an event. This
    module signs in dozens of times a minute from one address: past the gateway's budget
    for public endpoints (gateway/ratelimit.py), which is not what is tested here."""
    return platform.start_gateway(",".join(catalog.names()), REVOCATION_SYNC_SECONDS="3600",
                                  PUBLIC_RATE_LIMIT="600 per minute", **idp.env())


@pytest.fixture(scope="module")
def base(second_gateway):
    """Where this module's many sign-ins go."""
    return second_gateway.base_url


def call(base_url, method, path, token=None, fresh=False, **kwargs):
    headers = dict(kwargs.pop("headers", {}))
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if fresh:  # a new connection: gunicorn hands it to whichever worker accepts first
        headers["Connection"] = "close"
    return requests.request(method, base_url + path, headers=headers, timeout=30, **kwargs)


def login_for(role):
    return f"{role.split('_')[0]}-{uuid.uuid4().hex[:8]}"


def create(admin, role, region, **extra):
    response = admin.post("/api/v1/accounts", json={
        "login": login_for(role), "display_name": "测试人员", "role": role, "region": region,
        **extra})
    assert response.status_code == 201, response.text
    account = response.json()
    TYPED.add(account["temporary_password"])
    return account


def sign_in(base_url, login, password, **kwargs):
    TYPED.add(password)
    return call(base_url, "POST", "/api/v1/auth/sign-in", json={"login": login, "password": password},
                **kwargs)


def holder(base, admin, role, region):
    """A new account whose holder signed in and chose NEW_PASSWORD: (account, tokens)."""
    account = create(admin, role, region)
    first = sign_in(base, account["login"], account["temporary_password"])
    assert first.status_code == 200, first.text
    changed = call(base, "POST", "/api/v1/auth/password", first.json()["access_token"], json={
        "current_password": account["temporary_password"], "new_password": NEW_PASSWORD})
    assert changed.status_code == 200, changed.text
    return account, changed.json()


def stations(base_url, token, region, fresh=False):
    return call(base_url, "GET", f"/api/v1/stations?region={region}", token, fresh=fresh)


def feed_pids(process, message):
    return {line.get("pid") for line in process.log_lines() if line.get("message") == message}


# ---- granting ----

def test_an_officer_cannot_create_an_account_above_its_role_or_outside_its_region(api, units):
    unit = units.township()
    county = unit["areaCode"]
    officer = api("county_officer", county, sub=f"e2e-county-{county}")
    refused = [
        ({"role": "city_officer", "region": county[:4]}, "region"),        # above, and wider
        ({"role": "county_officer", "region": "341881" if county != "341881" else "340102"},
         "region"),                                                         # another county
        ({"role": "auditor", "region": county}, "role"),                    # auditors: not by it
    ]
    for body, field in refused:
        r = officer.post("/api/v1/accounts", json={"login": login_for(body["role"]),
                                                   "display_name": "越权", **body})
        assert r.status_code == 403, (body, r.text)
        assert field in r.json()["error"]["fields"], r.json()
    made = officer.post("/api/v1/accounts", json={"login": login_for("station"), "display_name": "王五",
                                                  "role": "station_staff", "region": unit["code"]})
    assert made.status_code == 201, made.text
    account = made.json()
    TYPED.add(account["temporary_password"])
    assert made.headers["Location"].endswith(f"/api/v1/accounts/{account['id']}")
    assert account["must_change_password"] and "password" not in json.dumps(
        {k: v for k, v in account.items() if k not in ("temporary_password",
                                                         "temporary_password_expires_at",
                                                         "must_change_password")})
    # It manages what it made, but does not raise it above its own role.
    assert officer.patch(f"/api/v1/accounts/{account['id']}",
                         json={"display_name": "王五五"}).status_code == 200
    above = officer.patch(f"/api/v1/accounts/{account['id']}",
                          json={"role": "city_officer", "region": county[:4]})
    assert above.status_code == 403
    again = officer.post("/api/v1/accounts", json={"login": account["login"].upper(),
                                                   "display_name": "重名", "role": "station_staff",
                                                   "region": unit["code"]})
    assert again.status_code == 409 and "login" in again.json()["error"]["fields"]
    mismatched = officer.post("/api/v1/accounts", json={"login": login_for("station"),
                                                        "display_name": "错区划",
                                                        "role": "station_staff", "region": county})
    assert mismatched.status_code == 400 and "region" in mismatched.json()["error"]["fields"]
    # A city officer grants auditors in its city.
    city = api("city_officer", county[:4])
    assert city.post("/api/v1/accounts", json={"login": login_for("auditor"), "display_name": "审计",
                                               "role": "auditor", "region": county}).status_code == 201
    # The refused attempts are in the trail, with who tried.
    trail = api("auditor", "34").get(f"/api/v1/accounts/audit?actor=e2e-county-{county}"
                                     "&outcome=refused").json()
    assert trail["total"] == 4 and {e["action"] for e in trail["items"]} == \
        {"create_account", "update_account"}


def test_the_first_sign_in_may_only_set_a_new_password(base, admin, units):
    township = units.township()["code"]
    account = create(admin, "station_staff", township)
    first = sign_in(base, account["login"].upper(), account["temporary_password"])
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["password_change_required"] and body["refresh_token"] is None
    restricted = body["access_token"]
    blocked = stations(base, restricted, township)
    assert blocked.status_code == 403 and blocked.json()["error"]["code"] == "password_change_required"
    weak = call(base, "POST", "/api/v1/auth/password", restricted, json={
        "current_password": account["temporary_password"], "new_password": account["login"] + "A1!"})
    assert weak.status_code == 400 and "new_password" in weak.json()["error"]["fields"]
    TYPED.add(account["login"] + "A1!")
    changed = call(base, "POST", "/api/v1/auth/password", restricted, json={
        "current_password": account["temporary_password"], "new_password": NEW_PASSWORD})
    assert changed.status_code == 200, changed.text
    tokens = changed.json()
    assert tokens["scope"] == "full" and tokens["refresh_token"]
    assert stations(base, tokens["access_token"], township).status_code == 200
    # The restricted token's session ended with the change.
    wait_for(lambda: stations(base, restricted, township).status_code == 401, timeout=2,
             message="the old session to end")
    assert sign_in(base, account["login"], account["temporary_password"]).status_code == 401
    assert sign_in(base, account["login"], NEW_PASSWORD).status_code == 200


def test_a_reused_refresh_token_ends_its_whole_family(base, admin, units):
    township = units.township()["code"]
    _account, first = holder(base, admin, "station_staff", township)
    second = call(base, "POST", "/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert second.status_code == 200, second.text
    second = second.json()
    assert second["refresh_token"] != first["refresh_token"]
    third = call(base, "POST", "/api/v1/auth/refresh", json={"refresh_token": second["refresh_token"]})
    assert third.status_code == 200
    third = third.json()
    assert stations(base, third["access_token"], township).status_code == 200
    # The first refresh token again (stolen, replayed): the whole session ends.
    replayed = call(base, "POST", "/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert replayed.status_code == 401 and "used before" in replayed.json()["error"]["message"]
    wait_for(lambda: stations(base, third["access_token"], township).status_code == 401,
             timeout=2, message="the family's access token to be refused")
    assert call(base, "POST", "/api/v1/auth/refresh",
                json={"refresh_token": third["refresh_token"]}).status_code == 401


def test_failures_slow_down_then_lock_until_an_administrator_resets(base, platform, admin, units,
                                                                  mongo_client):
    account, _tokens = holder(base, admin, "station_staff", units.township()["code"])
    login, wrong = account["login"], "Wrong-Guess-2026"
    for _ in range(3):
        r = sign_in(base, login, wrong)
        assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_credentials"
    delayed = sign_in(base, login, wrong)
    assert delayed.status_code == 429 and delayed.json()["error"]["code"] == "sign_in_delayed"
    wait = int(delayed.headers["Retry-After"])
    assert wait == 1
    time.sleep(wait)
    assert sign_in(base, login, wrong).status_code == 401            # the 4th failure
    delayed = sign_in(base, login, NEW_PASSWORD)                      # too soon: not even checked
    assert delayed.status_code == 429 and int(delayed.headers["Retry-After"]) == 2
    time.sleep(2)
    locked = sign_in(base, login, wrong)                              # the 5th: locked
    assert locked.status_code == 429 and locked.json()["error"]["code"] == "account_locked"
    assert 850 < int(locked.headers["Retry-After"]) <= 900
    right = sign_in(base, login, NEW_PASSWORD)
    assert right.status_code == 429 and right.json()["error"]["code"] == "account_locked"
    assert admin.get(f"/api/v1/accounts/{account['id']}").json()["locked_until"].endswith("Z")
    # An event says so, with the account's id, role and region only.
    outbox = platform.db(mongo_client, "accounts").outbox
    [event] = [e["event"] for e in outbox.find({"type": "wushe.accounts.account.locked.v1",
                                                "event.subject": account["id"]})]
    assert set(event["data"]) == {"account_id", "role", "region", "until", "failures"}
    reset = admin.post(f"/api/v1/accounts/{account['id']}/password-reset")
    assert reset.status_code == 200, reset.text
    temporary = reset.json()["temporary_password"]
    TYPED.add(temporary)
    assert sign_in(base, login, NEW_PASSWORD).status_code == 401      # the old one is gone
    again = sign_in(base, login, temporary)
    assert again.status_code == 200 and again.json()["password_change_required"]


# ---- revocation on every worker of every replica ----

def test_a_disabled_accounts_token_is_refused_at_once_by_every_worker_of_both_gateways(
        platform, admin, api, units, second_gateway, base):
    gateways = [platform.gateway, second_gateway]
    township = units.township()["code"]
    account, tokens = holder(base, admin, "station_staff", township)
    access = tokens["access_token"]
    # Use the token on each worker of each gateway first, so every worker's feed runs.
    for gateway in gateways:
        for _ in range(80):
            assert stations(gateway.base_url, access, township, fresh=True).status_code == 200
            if len(feed_pids(gateway, "revocation feed listening")) >= 2:
                break
        assert len(feed_pids(gateway, "revocation feed listening")) >= 2, gateway.tail()
    disabled = admin.patch(f"/api/v1/accounts/{account['id']}", json={"enabled": False})
    assert disabled.status_code == 200 and disabled.json()["enabled"] is False
    started = time.monotonic()
    for gateway in gateways:
        wait_for(lambda: stations(gateway.base_url, access, township, fresh=True).status_code == 401,
                 timeout=1.0, interval=0.01, message=f"{gateway.base_url} to refuse the token")
    assert time.monotonic() - started < 1.0
    for gateway in gateways:
        for _ in range(12):
            refused = stations(gateway.base_url, access, township, fresh=True)
            assert refused.status_code == 401, refused.text
        # Every worker heard it as an event (the second gateway does not sync meanwhile).
        heard = {line["pid"] for line in gateway.log_lines()
                 if line.get("message") == "sessions revoked" and line.get("reason") == "disabled"}
        assert feed_pids(gateway, "revocation feed listening") <= heard
    assert call(platform.gateway.base_url, "POST", "/api/v1/auth/refresh",
                json={"refresh_token": tokens["refresh_token"]}).status_code == 401
    assert sign_in(second_gateway.base_url, account["login"], NEW_PASSWORD).status_code == 403
    # `wushe token` tokens have no session: an operator's token is not affected.
    operator = api("station_staff", township).session.headers["Authorization"].split()[1]
    assert stations(second_gateway.base_url, operator, township).status_code == 200


def test_sign_out_ends_the_session_on_both_gateways(platform, admin, units, second_gateway, base):
    township = units.township()["code"]
    _account, tokens = holder(base, admin, "station_staff", township)
    access = tokens["access_token"]
    assert stations(second_gateway.base_url, access, township).status_code == 200
    assert call(second_gateway.base_url, "POST", "/api/v1/auth/sign-out", access).status_code == 204
    for gateway in (platform.gateway, second_gateway):
        wait_for(lambda: stations(gateway.base_url, access, township).status_code == 401,
                 timeout=1.0, interval=0.01, message="the signed-out token to be refused")
    assert call(platform.gateway.base_url, "POST", "/api/v1/auth/refresh",
                json={"refresh_token": tokens["refresh_token"]}).status_code == 401
    operator = Api(platform.gateway.base_url).post("/api/v1/auth/sign-out")
    assert operator.status_code == 401


# ---- the province's identity provider ----

def test_the_identity_providers_tokens_are_checked_by_signature_audience_and_expiry(
        platform, second_gateway, idp, units):
    base = second_gateway.base_url
    unit = units.township()
    county = unit["areaCode"]
    ok = stations(base, idp.token("rsa-1", region=county), county)
    assert ok.status_code == 200, ok.text
    assert stations(base, idp.token("ec-1", region=county), county).status_code == 200
    idp.add_key("rsa-unpublished", "RS256", publish=False)
    refused = {
        "wrong audience": idp.token(region=county, aud="another-app"),
        "unknown key": idp.token("rsa-unpublished", region=county),
        "expired": idp.token(region=county, iat=int(time.time()) - 3600,
                             exp=int(time.time()) - 600),
        "forged with the public key": idp.forged_hs256(),
        "alg none": idp.unsigned(),
    }
    for case, token in refused.items():
        r = stations(base, token, county)
        assert r.status_code == 401, (case, r.text)
        assert idp.audience not in r.text and idp.issuer not in r.text, case
    # The issuer rotates its key: accepted without a restart, on every worker.
    idp.add_key("rsa-2", "RS256")
    for _ in range(6):
        assert stations(base, idp.token("rsa-2", region=county), county, fresh=True).status_code == 200
    # The platform's first gateway is not configured for this issuer: it refuses them all.
    assert stations(platform.gateway.base_url, idp.token(region=county), county).status_code == 401


# ---- the audit trail ----

def test_the_audit_lists_sign_ins_and_failures_with_address_and_request_id(base, admin, api, units):
    unit = units.township()
    account = create(admin, "station_staff", unit["code"])
    assert sign_in(base, account["login"], "Not-The-One-99",
                   headers={"X-Request-Id": f"e2e-fail-{account['id']}"}).status_code == 401
    assert sign_in(base, account["login"], account["temporary_password"],
                   headers={"X-Request-Id": f"e2e-ok-{account['id']}"}).status_code == 200
    stranger = f"nobody-{uuid.uuid4().hex[:6]}"
    assert sign_in(base, stranger, "Typed-In-Login-1").status_code == 401
    auditor = api("auditor", unit["areaCode"][:4])
    trail = auditor.get(f"/api/v1/accounts/audit?account={account['id']}")
    assert trail.status_code == 200, trail.text
    entries = {(e["action"], e["outcome"], e.get("reason")): e for e in trail.json()["items"]}
    failed = entries[("sign_in", "failure", "wrong_password")]
    assert failed["request_id"] == f"e2e-fail-{account['id']}" and failed["address"] == "127.0.0.1"
    assert failed["login"] == account["login"] and failed["at"].endswith("Z")
    assert failed["actor"] == {"sub": None, "role": None, "region": None}
    succeeded = entries[("sign_in", "success", "password_change_required")]
    assert succeeded["request_id"] == f"e2e-ok-{account['id']}"
    assert succeeded["actor"]["sub"] == account["id"]
    created = entries[("create_account", "success", None)]
    assert created["actor"]["sub"] == "e2e-province-admin" and created["kind"] == "change"
    # Only failures, by outcome; another city's auditor sees none of it.
    failures = auditor.get(f"/api/v1/accounts/audit?account={account['id']}&outcome=failure").json()
    assert [e["reason"] for e in failures["items"]] == ["wrong_password"]
    successes = auditor.get(f"/api/v1/accounts/audit?account={account['id']}&outcome=success")
    assert {e["action"] for e in successes.json()["items"]} == {"create_account", "sign_in"}
    other = api("auditor", "3402" if not unit["areaCode"].startswith("3402") else "3403")
    assert other.get(f"/api/v1/accounts/audit?account={account['id']}").json()["total"] == 0
    # A login no account has lies in no region: the province sees it, masked.
    province = api("auditor", "34").get("/api/v1/accounts/audit?reason=unknown_login").json()
    assert stranger[:2] + "***" in {e["login"] for e in province["items"]}
    assert stranger not in json.dumps(province)
    assert api("county_officer", unit["areaCode"]).get("/api/v1/accounts/audit").status_code == 403
    export = auditor.get(f"/api/v1/accounts/audit/export?account={account['id']}&format=xlsx")
    assert export.status_code == 200
    rows = list(openpyxl.load_workbook(io.BytesIO(export.content)).active.iter_rows(values_only=True))
    assert rows[0][0] == "时间 (UTC)" and len(rows) == 1 + trail.json()["total"]
    assert any(row[9] == f"e2e-fail-{account['id']}" for row in rows[1:])


# ---- last: nothing it typed shows up anywhere ----

def test_no_password_in_any_log_line_event_or_audit_entry(base, platform, admin, units,
                                                         mongo_client):
    _account, tokens = holder(base, admin, "station_staff", units.township()["code"])
    sign_in(base, "someone.else", "Some-Password-77")
    TYPED.add(NEW_PASSWORD)
    time.sleep(0.5)  # let the processes write their last lines
    found = []
    for process in platform.processes:
        with open(process.log_path, "rb") as f:
            text = f.read().decode("utf-8", "replace")
        found += [(process.name, p) for p in TYPED if p in text]
        assert "$argon2" not in text, process.name
        assert tokens["refresh_token"] not in text, process.name
    for service in catalog.names():
        database = platform.db(mongo_client, service)
        for collection in ("outbox", "audit"):
            stored = json.dumps(list(database[collection].find({}, {"_id": 0})), default=str)
            found += [(f"{service}.{collection}", p) for p in TYPED if p in stored]
            assert "$argon2" not in stored
    assert not found, found
    assert len(TYPED) > 3
