"""Bearer tokens the gateway must refuse: each answers 401 in the one Error shape,
and nothing in the answer says which secret (or its setting) was expected.

Tokens are made with PyJWT and `cryptography`, the way an attacker or a broken
client would make them, and sent over HTTP to the running gateway."""
import base64
import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from services.common import config

pytestmark = pytest.mark.e2e

PATH = "/api/v1/stations"  # any authenticated read; refusals never reach a service


def claims(**changes):
    now = int(time.time())
    base = {"sub": "token-test", "role": "county_officer", "region": "340102", "iat": now,
            "exp": now + 600, "iss": "wushe"}
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


def secret():
    return config.token_secrets()[0]


def unsigned(payload):
    """`alg: none`, built by hand: PyJWT will not sign with none and a key."""
    def part(obj):
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()
    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(payload)}."


def rsa_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


NOW = int(time.time())
REFUSED = {
    "alg none": lambda: unsigned(claims()),
    "alg none, signature kept": lambda: unsigned(claims()) + jwt.encode(claims(), secret(), "HS256").split(".")[2],
    "HS512 with the right secret": lambda: jwt.encode(claims(), secret(), algorithm="HS512"),
    "HS384 with the right secret": lambda: jwt.encode(claims(), secret(), algorithm="HS384"),
    "HS256 with another key": lambda: jwt.encode(claims(), "not-the-secret", algorithm="HS256"),
    "RS256 with a random key": lambda: jwt.encode(claims(), rsa_key(), algorithm="RS256"),
    "ES256 with a random key": lambda: jwt.encode(claims(), ec.generate_private_key(ec.SECP256R1()),
                                                  algorithm="ES256"),
    "expired": lambda: jwt.encode(claims(iat=NOW - 7200, exp=NOW - 3600), secret(), "HS256"),
    "not yet valid (nbf)": lambda: jwt.encode(claims(nbf=NOW + 3600), secret(), "HS256"),
    "issued in the future (iat)": lambda: jwt.encode(claims(iat=NOW + 3600, exp=NOW + 7200), secret(), "HS256"),
    "another issuer": lambda: jwt.encode(claims(iss="someone-else"), secret(), "HS256"),
    "no sub": lambda: jwt.encode(claims(sub=None), secret(), "HS256"),
    "no role": lambda: jwt.encode(claims(role=None), secret(), "HS256"),
    "no region": lambda: jwt.encode(claims(region=None), secret(), "HS256"),
    "no exp": lambda: jwt.encode(claims(exp=None), secret(), "HS256"),
    "no iat": lambda: jwt.encode(claims(iat=None), secret(), "HS256"),
    "no iss": lambda: jwt.encode(claims(iss=None), secret(), "HS256"),
    "empty sub": lambda: jwt.encode(claims(sub=""), secret(), "HS256"),
    "unknown role": lambda: jwt.encode(claims(role="system", region=""), secret(), "HS256"),
    "role of the wrong type": lambda: jwt.encode(claims(role=["province_admin"]), secret(), "HS256"),
    "region of the wrong level": lambda: jwt.encode(claims(region="34"), secret(), "HS256"),
    "region with a quote": lambda: jwt.encode(claims(region='34"01'), secret(), "HS256"),
    "exp not a number": lambda: jwt.encode(claims(exp="tomorrow"), secret(), "HS256"),
    "malformed session id": lambda: jwt.encode(claims(sid="x"), secret(), "HS256"),
    "not a JWT": lambda: "not.a.token",
    "garbage": lambda: "\u00e9\u00e9\u00e9",
}


@pytest.fixture(scope="module")
def gateway(api):
    return api()


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_a_bad_token_is_refused_without_naming_the_secret(gateway, case):
    token = REFUSED[case]()
    response = gateway.get(PATH, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401, (case, response.status_code, response.text)
    error = response.json()["error"]
    assert error["code"] == "unauthorized" and error["message"] and error["fields"] == {}
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith('Bearer realm="wushe", error="invalid_token"'), challenge
    assert challenge.count('"') % 2 == 0, challenge  # a well-formed quoted string
    answer = response.text + json.dumps(dict(response.headers))
    for told in config.token_secrets() + ["TOKEN_SECRET", "TOKEN_SECRET_PREVIOUS"]:
        assert told not in answer, (case, "the answer names the secret")


def test_a_missing_or_foreign_scheme_is_401_too(gateway):
    missing = gateway.get(PATH)
    assert missing.status_code == 401 and missing.headers["WWW-Authenticate"] == 'Bearer realm="wushe"'
    basic = gateway.get(PATH, headers={"Authorization": "Basic dXNlcjpwYXNz"})
    assert basic.status_code == 401 and basic.json()["error"]["code"] == "unauthorized"


def test_the_same_claims_rightly_signed_are_accepted(gateway):
    token = jwt.encode(claims(), secret(), "HS256")
    # Past authentication and the role check: whatever the service answers then.
    assert gateway.get(PATH, headers={"Authorization": f"Bearer {token}"}).status_code not in (401, 403)
