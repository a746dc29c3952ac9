"""Who may see what: region scope and personal data, enforced inside services.

The gateway authenticates and checks the role for a route; the caller then
travels with each RPC call as {"sub", "role", "region"}. Division codes nest by
prefix (34 > 3401 > 340102 > 340102001), so "within the caller's region" is a
prefix test. Internal callers (the `wushe` command) use the system caller.
"""
from marshmallow import ValidationError

from services.common.errors import Forbidden, InvalidInput, from_validation_error

ROLES = ("province_admin", "city_officer", "county_officer", "station_staff", "auditor")
SYSTEM = {"sub": "system", "role": "system", "region": ""}

# Roles whose work needs phone and ID numbers in full; auditors see them masked.
PERSONAL_DATA_ROLES = {"system", "province_admin", "city_officer", "county_officer", "station_staff"}


def caller_region(caller):
    if not isinstance(caller, dict) or caller.get("role") not in ROLES + ("system",):
        raise Forbidden("no valid caller given")
    return caller.get("region") or ""


def ensure_system(caller, what="do this"):
    """Forbidden unless the caller is the system caller (the `wushe` command's)."""
    if caller_region(caller) != "" or caller.get("role") != "system":
        raise Forbidden(f"only the system caller may {what}")


def within(caller, code):
    return (code or "").startswith(caller_region(caller))


def ensure_within(caller, code, field="region"):
    """Forbidden unless `code` lies inside the caller's region."""
    if not within(caller, code):
        raise Forbidden(f"{field} {code} is outside your region {caller_region(caller)}",
                        fields={field: ["outside your region"]})


def narrow(caller, region):
    """The region a list query covers: the one asked for, or the caller's own."""
    own = caller_region(caller)
    if not region:
        return own
    if region.startswith(own):
        return region
    if own.startswith(region):
        # Asking for a wider region than one's own: answer for one's own part.
        return own
    raise Forbidden(f"region {region} is outside your region {own}",
                    fields={"region": ["outside your region"]})


def sees_personal_data(caller):
    return caller.get("role") in PERSONAL_DATA_ROLES


def actor(caller):
    return f"{caller.get('role')}:{caller.get('sub') or '-'}"


def mask_name(name):
    """张三丰 -> 张*丰, 李四 -> 李*, 欧阳小明 -> 欧**明."""
    name = (name or "").strip()
    if len(name) <= 1:
        return "*" * len(name)
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def mask_phone(phone):
    if not phone:
        return phone
    digits = phone.strip()
    return digits[:3] + "*" * max(len(digits) - 7, 0) + digits[-4:] if len(digits) > 7 else "****"


def load(schema_class, data, partial=False):
    """Validate RPC input with the same schema the gateway used."""
    if not isinstance(data, dict):
        raise InvalidInput("body must be a JSON object", fields={"_schema": ["not an object"]})
    try:
        return schema_class().load(data, partial=partial)
    except ValidationError as exc:
        raise from_validation_error(exc)
