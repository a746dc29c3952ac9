"""Bearer tokens: HS256 JWTs with the caller's role and region.

Claims: sub, role, region, iat, exp, iss="wushe". The first of
`config.token_secrets()` signs (TOKEN_SECRET); every one of them verifies, so a
secret can be rotated out through TOKEN_SECRET_PREVIOUS without logging anyone out.

The gateway checks only the role a route needs; the caller then travels with
every RPC call as `caller={"sub", "role", "region"}` and the service enforces the
region scope and masks personal data (services/common/access.py).
"""
import re
import time
import uuid

import jwt
from flask import g, request

from gateway.errors import Forbidden, Unauthorized
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

# The length of the region code each role carries.
REGION_DIGITS = {
    PROVINCE_ADMIN: (2,),
    CITY_OFFICER: (4,),
    COUNTY_OFFICER: (6,),
    STATION_STAFF: (9,),
    AUDITOR: (2, 4, 6),
}
_LEVEL = {2: "province", 4: "city", 6: "county", 9: "township"}


def check_role_region(role, region):
    """ValueError unless `role` is known and `region` is a code of the right level."""
    if role not in REGION_DIGITS:
        raise ValueError(f"unknown role {role!r}; one of {', '.join(ROLES)}")
    if not isinstance(region, str) or not re.fullmatch(r"\d+", region or ""):
        raise ValueError(f"region must be a division code of digits, got {region!r}")
    allowed = REGION_DIGITS[role]
    if len(region) not in allowed:
        levels = " or ".join(f"a {_LEVEL[n]} code ({n} digits)" for n in allowed)
        raise ValueError(f"a {role} token needs {levels}, got {region!r}")


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


def verify_token(token, secrets=None):
    """The caller {"sub", "role", "region"} of a valid token; Unauthorized otherwise."""
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
    try:
        check_role_region(claims["role"], claims["region"])
    except ValueError as exc:
        raise Unauthorized(f"token claims not valid: {exc}")
    if not isinstance(claims["sub"], str) or not claims["sub"]:
        raise Unauthorized("token claims not valid: sub")
    return {"sub": claims["sub"], "role": claims["role"], "region": claims["region"]}


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
    if caller["role"] not in roles:
        raise Forbidden(f"role {caller['role']} may not do this; allowed: {', '.join(roles)}",
                        details={"allowed_roles": list(roles)})
    return caller


def current_caller():
    return g.get("caller")
