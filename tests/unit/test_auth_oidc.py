"""Tokens of the province's identity provider: a local JWKS endpoint (http.server on
127.0.0.1) and tokens signed here, RS256 and ES256. Wrong audience, unknown key,
expired, `alg: none` and HS256 forged with the public key are all 401, and no
answer says which issuer, audience or key was expected. A rotated key is taken up
without a restart."""
import base64
import hashlib
import hmac
import http.server
import json
import threading
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from gateway import oidc
from gateway.app import create_app
from gateway.testing import TEST_SECRET, FakeRpc, auth_header

ISSUER = "https://idp.ah.gov.example/realms/minzheng"
AUDIENCE = "wushe-gateway"


def _b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


_PRIVATE = {}


def _private_key(owner, kid, alg):
    """Keys are made once per process (an RSA key takes a while), per owner and kid."""
    if (owner, kid) not in _PRIVATE:
        _PRIVATE[owner, kid] = rsa.generate_private_key(public_exponent=65537, key_size=2048) \
            if alg == "RS256" else ec.generate_private_key(ec.SECP256R1())
    return _PRIVATE[owner, kid]


class IdentityProvider:
    """A JWKS endpoint and the keys behind it; `token()` signs like the province's IdP."""

    def __init__(self, issuer=ISSUER, audience=AUDIENCE, owner="province"):
        self.issuer, self.audience, self.owner = issuer, audience, owner
        self.keys, self.published, self.fetches = {}, [], 0
        self.add_key("rsa-1", "RS256")
        self.add_key("ec-1", "ES256")
        provider = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                provider.fetches += 1
                body = json.dumps({"keys": [provider.keys[k][1] for k in provider.published]})
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body.encode())

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()

    @property
    def jwks_url(self):
        return f"http://127.0.0.1:{self.server.server_address[1]}/jwks.json"

    def env(self, cooldown="0"):
        return {"OIDC_ISSUER": self.issuer, "OIDC_AUDIENCE": self.audience,
                "OIDC_JWKS_URL": self.jwks_url, "OIDC_JWKS_COOLDOWN_SECONDS": cooldown}

    def add_key(self, kid, alg, publish=True):
        private = _private_key(self.owner, kid, alg)
        algorithm = jwt.algorithms.RSAAlgorithm if alg == "RS256" else jwt.algorithms.ECAlgorithm
        jwk = json.loads(algorithm.to_jwk(private.public_key()))
        jwk.update(kid=kid, use="sig", alg=alg)
        self.keys[kid] = (private, jwk, alg)
        if publish:
            self.published.append(kid)

    def claims(self, **changes):
        now = int(time.time())
        claims = {"iss": self.issuer, "aud": self.audience, "sub": "idp-user-7", "iat": now,
                  "exp": now + 300, "role": "county_officer", "region": "340102"}
        claims.update(changes)
        return {k: v for k, v in claims.items() if v is not None}

    def token(self, kid="rsa-1", **changes):
        private, _jwk, alg = self.keys[kid]
        return jwt.encode(self.claims(**changes), private, algorithm=alg, headers={"kid": kid})

    def forged_hs256(self, kid="rsa-1"):
        """HS256 'signed' with the published public key, the classic confusion attack."""
        pem = self.keys[kid][0].public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        head = _b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": kid}).encode())
        body = _b64(json.dumps(self.claims()).encode())
        signature = hmac.new(pem, f"{head}.{body}".encode(), hashlib.sha256).digest()
        return f"{head}.{body}.{_b64(signature)}"

    def unsigned(self, kid="rsa-1"):
        head = _b64(json.dumps({"alg": "none", "typ": "JWT", "kid": kid}).encode())
        return f"{head}.{_b64(json.dumps(self.claims()).encode())}."

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def idp(monkeypatch):
    provider = IdentityProvider()
    for name, value in provider.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("TOKEN_SECRET", TEST_SECRET)
    monkeypatch.setattr(oidc, "_clients", {})   # each test fetches its provider's keys
    yield provider
    provider.close()


@pytest.fixture
def rpc():
    fake = FakeRpc()
    fake.answer("registry", "get_station", {"id": "st-1"})
    return fake


@pytest.fixture
def client(rpc):
    return create_app(rpc=rpc, services=["registry"], settings={"TESTING": True}).test_client()


def get(client, token):
    return client.get("/api/v1/stations/st-1", headers={"Authorization": f"Bearer {token}"})


@pytest.mark.parametrize("kid", ["rsa-1", "ec-1"])
def test_a_token_of_the_issuer_is_accepted_with_its_role_and_region(client, rpc, idp, kid):
    r = get(client, idp.token(kid))
    assert r.status_code == 200, r.get_json()
    assert rpc.last.kwargs["caller"] == {"sub": "idp-user-7", "role": "county_officer",
                                         "region": "340102"}


def test_a_role_inside_a_list_claim_by_a_dotted_path(client, rpc, idp, monkeypatch):
    monkeypatch.setenv("OIDC_ROLE_CLAIM", "realm_access.roles")
    token = idp.token(role=None, realm_access={"roles": ["offline_access", "auditor"]}, region="34")
    assert get(client, token).status_code == 200
    assert rpc.last.kwargs["caller"]["role"] == "auditor"


@pytest.mark.parametrize("case", ["wrong audience", "unknown key", "expired", "alg none",
                                  "hs256 with the public key", "other issuer's key",
                                  "role above its region", "no sub"])
def test_refused_with_401_that_names_nothing_expected(client, rpc, idp, case):
    stranger = IdentityProvider(audience="another-app", owner="stranger")
    try:
        token = {
            "wrong audience": lambda: idp.token(aud="another-app"),
            "unknown key": lambda: (idp.add_key("rsa-9", "RS256", publish=False),
                                    idp.token("rsa-9"))[1],
            "expired": lambda: idp.token(iat=int(time.time()) - 3600, exp=int(time.time()) - 600),
            "alg none": lambda: idp.unsigned(),
            "hs256 with the public key": lambda: idp.forged_hs256(),
            # Signed by another key under a kid the issuer does publish.
            "other issuer's key": lambda: jwt.encode(idp.claims(), stranger.keys["rsa-1"][0],
                                                     algorithm="RS256", headers={"kid": "rsa-1"}),
            "role above its region": lambda: idp.token(role="province_admin", region="340102"),
            "no sub": lambda: idp.token(sub=None),
        }[case]()
        r = get(client, token)
    finally:
        stranger.close()
    assert r.status_code == 401, (case, r.get_json())
    message = r.get_json()["error"]["message"] + r.headers["WWW-Authenticate"]
    for secret in (ISSUER, AUDIENCE, "RS256", "ES256", "HS256", idp.jwks_url, "rsa-1", TEST_SECRET):
        assert secret not in message, (case, message)
    assert rpc.calls == []


def test_a_rotated_key_is_fetched_without_a_restart(client, idp):
    assert get(client, idp.token("rsa-1")).status_code == 200
    fetched = idp.fetches
    assert get(client, idp.token("rsa-1")).status_code == 200
    assert idp.fetches == fetched          # the key set is cached
    idp.add_key("rsa-2", "RS256")          # the issuer rotates: a new kid appears
    idp.published.remove("rsa-1")
    assert get(client, idp.token("rsa-2")).status_code == 200
    assert idp.fetches == fetched + 1


def test_unknown_kids_refetch_at_most_once_per_cooldown(client, idp, monkeypatch):
    monkeypatch.setenv("OIDC_JWKS_COOLDOWN_SECONDS", "30")
    assert get(client, idp.token("rsa-1")).status_code == 200
    fetched = idp.fetches
    idp.add_key("rsa-x", "RS256", publish=False)
    for _ in range(5):
        assert get(client, idp.token("rsa-x")).status_code == 401
    assert idp.fetches - fetched <= 1


def test_an_unreachable_key_endpoint_is_503_not_401(client, idp, monkeypatch):
    monkeypatch.setenv("OIDC_JWKS_URL", "http://127.0.0.1:9/jwks.json")
    r = get(client, idp.token())
    assert r.status_code == 503 and r.get_json()["error"]["code"] == "identity_provider_unavailable"


def test_our_own_tokens_still_work_beside_the_issuers(client, idp):
    assert client.get("/api/v1/stations/st-1",
                      headers=auth_header("county_officer", "340102")).status_code == 200
