"""Tokens of the province's own identity provider (OpenID Connect).

With OIDC_ISSUER, OIDC_AUDIENCE and OIDC_JWKS_URL set, the gateway accepts,
beside its own HS256 tokens, a JWT whose `iss` is OIDC_ISSUER when:

* its signature verifies with the issuer's key of its `kid`, by RS256 or
  ES256 only (the key's own algorithm: `alg: none`, HS256 "signed" with the
  public key, or an RSA key used as EC are refused);
* `aud` holds OIDC_AUDIENCE, `exp` has not passed (30 s leeway, as for our own
  tokens), and `sub`, `iat` are present;
* the role claim (OIDC_ROLE_CLAIM, default `role`; a dotted path such as
  `realm_access.roles` reaches inside, and of a list exactly one entry must be
  a wushe role) and the region claim (OIDC_REGION_CLAIM, default `region`)
  follow the same rule as every token (services/accounts/roles.py).

Keys come from OIDC_JWKS_URL through PyJWT's PyJWKClient, which caches the
key set for OIDC_JWKS_LIFESPAN_SECONDS (300) and, for a `kid` it does not know
(the issuer rotated its keys), fetches the set again at most once per
OIDC_JWKS_COOLDOWN_SECONDS (30): rotation needs no restart, and a flood of
made-up kids cannot hammer the issuer. Its per-key cache stays off, since that
one never forgets a key the issuer withdrew.

Refusals are 401 naming what is wrong with the token (expired, not for this
audience, signature) but never the issuer, audience or key that was expected;
an unreachable key endpoint is a 503. These tokens carry no `sid`: the
identity provider ends them, and they expire by themselves.
"""
import threading
from collections import namedtuple

import jwt

from gateway.errors import ServiceUnavailable, Unauthorized
from services.accounts.roles import check_role_region
from services.common import config
from services.common.access import ROLES

ALGORITHMS = ("RS256", "ES256")
LEEWAY_SECONDS = 30

Settings = namedtuple("Settings", "issuer audience jwks_url role_claim region_claim "
                                  "lifespan cooldown")

_clients = {}
_lock = threading.Lock()


def settings():
    """The configured issuer, or None when the gateway accepts only its own tokens."""
    issuer = config.env("OIDC_ISSUER")
    if not issuer:
        return None
    audience, jwks_url = config.env("OIDC_AUDIENCE"), config.env("OIDC_JWKS_URL")
    if not audience or not jwks_url:
        raise ServiceUnavailable("sign-in through the identity provider is not configured "
                                 "completely (OIDC_AUDIENCE, OIDC_JWKS_URL)",
                                 code="identity_provider_misconfigured")
    return Settings(issuer, audience, jwks_url, config.env("OIDC_ROLE_CLAIM", "role"),
                    config.env("OIDC_REGION_CLAIM", "region"),
                    float(config.env("OIDC_JWKS_LIFESPAN_SECONDS", "300")),
                    float(config.env("OIDC_JWKS_COOLDOWN_SECONDS", "30")))


def issuer_of(token):
    """The token's `iss`, read without verifying (to choose how to verify it), or None."""
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.InvalidTokenError:
        return None
    issuer = claims.get("iss") if isinstance(claims, dict) else None
    return issuer if isinstance(issuer, str) else None


def _client(conf):
    key = (conf.jwks_url, conf.lifespan, conf.cooldown)
    with _lock:
        client = _clients.get(key)
        if client is None:
            client = _clients[key] = jwt.PyJWKClient(
                conf.jwks_url, cache_jwk_set=True, lifespan=conf.lifespan,
                cooldown_duration=conf.cooldown, timeout=5)
        return client


def _claim(claims, path):
    value = claims
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _role(value):
    if isinstance(value, list):
        found = [v for v in value if v in ROLES]
        return found[0] if len(found) == 1 else None
    return value


def verify(token, conf):
    """The caller {"sub", "role", "region"} of a valid token of the issuer; 401 otherwise."""
    try:
        key = _client(conf).get_signing_key_from_jwt(token)
    except jwt.PyJWKClientConnectionError:
        raise ServiceUnavailable("the identity provider's keys cannot be fetched right now",
                                 code="identity_provider_unavailable")
    except jwt.PyJWTError:  # an unknown kid, a key set without usable keys, a bad header
        raise Unauthorized("token signature not valid")
    try:
        claims = jwt.decode(token, key, algorithms=list(ALGORITHMS), audience=conf.audience,
                            issuer=conf.issuer, leeway=LEEWAY_SECONDS,
                            options={"require": ["sub", "iat", "exp", "iss", "aud"]})
    except jwt.ExpiredSignatureError:
        raise Unauthorized("token expired")
    except jwt.InvalidAudienceError:
        raise Unauthorized("token not meant for this service")
    except jwt.ImmatureSignatureError:
        raise Unauthorized("token not yet valid")
    except jwt.MissingRequiredClaimError as exc:
        raise Unauthorized(f"token lacks the {exc.claim} claim")
    except jwt.PyJWTError:  # signature, algorithm, key
        raise Unauthorized("token signature not valid")
    role, region = _role(_claim(claims, conf.role_claim)), _claim(claims, conf.region_claim)
    try:
        check_role_region(role, region)
    except ValueError:
        raise Unauthorized("token claims not valid: role and region")
    if not isinstance(claims["sub"], str) or not claims["sub"]:
        raise Unauthorized("token claims not valid: sub")
    return {"sub": claims["sub"], "role": role, "region": region}
