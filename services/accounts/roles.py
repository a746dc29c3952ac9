"""Roles, the region each carries, and who may grant or manage which account.

The one definition of "a role and its region": tokens minted by `wushe token`,
tokens of the province's identity provider and accounts all follow it
(gateway.auth.check_role_region is this function). Pure rules, no storage.

Order: province_admin > city_officer > county_officer > station_staff. An officer
manages accounts inside its own region and never grants a role above its own;
an auditor is granted only by a province_admin or a city_officer, inside its region.
"""
import re

from services.common.access import ROLES
from services.common.errors import Forbidden

PROVINCE_ADMIN, CITY_OFFICER, COUNTY_OFFICER, STATION_STAFF, AUDITOR = ROLES

# The length of the region code each role carries.
REGION_DIGITS = {
    PROVINCE_ADMIN: (2,),
    CITY_OFFICER: (4,),
    COUNTY_OFFICER: (6,),
    STATION_STAFF: (9,),
    AUDITOR: (2, 4, 6),
}
LEVEL = {2: "province", 4: "city", 6: "county", 9: "township"}

RANK = {PROVINCE_ADMIN: 4, CITY_OFFICER: 3, COUNTY_OFFICER: 2, STATION_STAFF: 1}
MANAGERS = (PROVINCE_ADMIN, CITY_OFFICER, COUNTY_OFFICER)
AUDITOR_GRANTERS = (PROVINCE_ADMIN, CITY_OFFICER)


def check_role_region(role, region):
    """ValueError unless `role` is known and `region` is a code of the right level."""
    if role not in REGION_DIGITS:
        raise ValueError(f"unknown role {role!r}; one of {', '.join(ROLES)}")
    if not isinstance(region, str) or not re.fullmatch(r"\d+", region or ""):
        raise ValueError(f"region must be a division code of digits, got {region!r}")
    allowed = REGION_DIGITS[role]
    if len(region) not in allowed:
        levels = " or ".join(f"a {LEVEL[n]} code ({n} digits)" for n in allowed)
        raise ValueError(f"a {role} token needs {levels}, got {region!r}")


def is_system(caller):
    return caller.get("role") == "system" and not caller.get("region")


def may_grant(caller, role, region):
    """None if `caller` may give an account `role` over `region`, else why not."""
    if is_system(caller):
        return None
    own_role, own_region = caller.get("role"), caller.get("region") or ""
    if own_role not in MANAGERS:
        return f"a {own_role} does not manage accounts"
    if not region.startswith(own_region):
        return f"region {region} is outside your region {own_region}"
    if role == AUDITOR:
        if own_role not in AUDITOR_GRANTERS:
            return "auditors are granted only by a province_admin or a city_officer"
        return None
    if RANK[role] > RANK[own_role]:
        return f"a {own_role} may not grant {role}, a role above its own"
    return None


def ensure_may_grant(caller, role, region, field="role"):
    why = may_grant(caller, role, region)
    if why is not None:
        on = "region" if "region" in why else field
        raise Forbidden(why, fields={on: [why]})


def ensure_may_manage(caller, account):
    """Forbidden unless `caller` could have granted this account what it has now."""
    why = may_grant(caller, account["role"], account["region"])
    if why is not None:
        raise Forbidden(f"you may not manage account {account['_id']}: {why}",
                        fields={"account_id": [why]})
