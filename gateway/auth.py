"""Bearer tokens: HS256 JWTs with the caller's role and region, and the identity
provider's tokens.

Claims: sub, role, region, iat, exp, iss="wushe". The first of
`config.token_secrets()` signs (TOKEN_SECRET); every one of them verifies, so a
secret can be rotated out through TOKEN_SECRET_PREVIOUS without logging anyone out.

Three kinds of token are accepted:

* `wushe token` (operators, tests): no `sid`; valid until it expires.
* sign-in (services/accounts, docs/accounts.md): the accounts service decides the
  claims and the expiry, the gateway signs them (`issue_session_token`). They carry
  the session id `sid`, and a token whose session has ended (signed out, account
  disabled, ...) is refused at once (gateway/revocations.py). One with
  `scope: "password_change"` may only change its password (routes that allow it
  name `SIGNED_IN`).
* the province's identity provider, when OIDC_ISSUER is set (gateway/oidc.py).

The gateway checks only the role a route needs; the caller then travels with
every RPC call as `caller={"sub", "role", "region"}` (plus `sid` for a signed-in
session) and the service enforces the region scope and masks personal data
(services/common/access.py).
"""
import re
import time
import uuid

import jwt
from flask import g, request

from gateway import oidc, revocations
from gateway.errors import Forbidden, Unauthorized
from services.accounts import roles as account_roles
from services.common import config
from services.common.access import ROLES

ISSUER = "wushe"
ALGORITHM = "HS256"
LEEWAY_SECONDS = 30  # clock skew between the issuing machine and this one
MAX_TTL_SECONDS = 31 * 24 * 3600

PROVINCE_ADMIN, CITY_OFFICER, COUNTY_OFFICER, STATION_STAFF, AUDITOR = ROLES

# Who may do what; routes name one of these.
ALL_ROLES = ROLES
OFFICERS = (PROVINCE_ADMIN, CITY_OFFICER, COUNTY_OFFICER)
STATION_WORKERS = OFFICERS + (STATION_STAFF,)

# The length of the region code each role carries, and the rule: one definition for
# tokens and accounts alike (services/accounts/roles.py).
REGION_DIGITS = account_roles.REGION_DIGITS
check_role_region = account_roles.check_role_region

PASSWORD_CHANGE_SCOPE = "password_change"
_SID = re.compile(r"^[0-9a-f]{32}$")


class RoleSet(tuple):
    """Roles of a route that also takes a token that may only change its password."""

    allows_password_change = True


# Any signed-in caller, including one whose new password is due (sign-out, password).
SIGNED_IN = RoleSet(ALL_ROLES)


def issue_token(role, region, sub=None, ttl_seconds=43200, secret=None):
    """A signed bearer token for `role` over `region` (used by `wushe token`)."""
    check_role_region(role, region)
    if not isinstance(ttl_seconds, int) or not 0 < ttl_seconds <= MAX_TTL_SECONDS:
        raise ValueError(f"ttl_seconds must be between 1 and {MAX_TTL_SECONDS}")
    now = int(time.time())
    claims = {
        "sub": sub or f"{role}-{region}-{uuid.uuid4().hex[:8]}",
        "role": role,
        "region": region,
        "iat": now,
        "exp": now + ttl_seconds,
        "iss": ISSUER,
    }
    return jwt.encode(claims, secret or config.token_secrets()[0], algorithm=ALGORITHM)


def issue_session_token(session, secret=None):
    """The access token of a signed-in session, as the accounts service granted it:
    {"sub", "role", "region", "sid", "scope", "exp"} (exp in epoch seconds)."""
    check_role_region(session["role"], session["region"])
    now = int(time.time())
    claims = {"sub": session["sub"], "role": session["role"], "region": session["region"],
              "sid": session["sid"], "iat": now, "exp": int(session["exp"]), "iss": ISSUER}
    if session.get("scope") == PASSWORD_CHANGE_SCOPE:
        claims["scope"] = PASSWORD_CHANGE_SCOPE
    return jwt.encode(claims, secret or config.token_secrets()[0], algorithm=ALGORITHM)


def verify_token(token, secrets=None):
    """The caller {"sub", "role", "region"} (+ "sid", "scope" of a signed-in session) of a
    valid token; Unauthorized otherwise."""
    provider = oidc.settings()
    if provider is not None and oidc.issuer_of(token) == provider.issuer:
        return oidc.verify(token, provider)
    secrets = secrets or config.token_secrets()
    claims = None
    for secret in secrets:
        try:
            claims = jwt.decode(
                token, secret, algorithms=[ALGORITHM], issuer=ISSUER, leeway=LEEWAY_SECONDS,
                options={"require": ["sub", "role", "region", "iat", "exp", "iss"]},
            )
            break
        except jwt.InvalidSignatureError:
            continue  # perhaps signed with the other secret
        except jwt.ExpiredSignatureError:
            raise Unauthorized("token expired")
        except jwt.MissingRequiredClaimError as exc:
            raise Unauthorized(f"token lacks the {exc.claim} claim")
        except jwt.ImmatureSignatureError:
            raise Unauthorized("token not yet valid")
        except jwt.InvalidIssuerError:
            raise Unauthorized("token not issued by wushe")
        except jwt.InvalidTokenError:
            raise Unauthorized("malformed token")
    if claims is None:
        raise Unauthorized("token signature not valid")
    # A fixed message: claim values are the sender's and would land in WWW-Authenticate.
    if not isinstance(claims["role"], str) or not isinstance(claims["region"], str):
        raise Unauthorized("token claims not valid: role and region")
    try:
        check_role_region(claims["role"], claims["region"])
    except ValueError:
        raise Unauthorized("token claims not valid: role and region")
    if not isinstance(claims["sub"], str) or not claims["sub"]:
        raise Unauthorized("token claims not valid: sub")
    caller = {"sub": claims["sub"], "role": claims["role"], "region": claims["region"]}
    if "sid" in claims:
        if not isinstance(claims["sid"], str) or not _SID.match(claims["sid"]):
            raise Unauthorized("token claims not valid: sid")
        if revocations.is_revoked(claims["sid"]):
            raise Unauthorized("this session has ended; sign in again")
        caller["sid"] = claims["sid"]
        if claims.get("scope") == PASSWORD_CHANGE_SCOPE:
            caller["scope"] = PASSWORD_CHANGE_SCOPE
    return caller


def bearer_token():
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if not header:
        raise Unauthorized("missing bearer token", error=None)
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Authorization must be 'Bearer <token>'", error="invalid_request")
    return token.strip()


def authenticate(roles):
    """Authenticate the request and require one of `roles`; the caller lands in g.caller."""
    caller = verify_token(bearer_token())
    g.caller = caller
    if caller.get("scope") == PASSWORD_CHANGE_SCOPE and \
            not getattr(roles, "allows_password_change", False):
        raise Forbidden("a new password is due: this token may only change it "
                        "(POST /api/v1/auth/password)", code="password_change_required")
    if caller["role"] not in roles:
        raise Forbidden(f"role {caller['role']} may not do this; allowed: {', '.join(roles)}",
                        details={"allowed_roles": list(roles)})
    return caller


def current_caller():
    return g.get("caller")
