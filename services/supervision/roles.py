"""Who may act, beyond the region scope (services.common.access checks that).

* officers (province_admin, city_officer, county_officer) act in their region;
* station_staff (a 9-digit township region) file their own station's reports
  and work on its rectification items;
* auditors read and change nothing;
* inspectors are supervisors with an account: a caller whose `sub` is the
  `account_sub` of an inspector named on an inspection may read and score it,
  whatever the caller's region or role (inspections.access).
"""
from services.common import access
from services.common.errors import Forbidden

OFFICERS = ("province_admin", "city_officer", "county_officer")


def is_officer(caller):
    return caller.get("role") in OFFICERS + ("system",)


def ensure_officer(caller, what="do this"):
    access.caller_region(caller)
    if not is_officer(caller):
        raise Forbidden(f"role {caller.get('role')} may not {what}",
                        details={"allowed_roles": list(OFFICERS)})


def ensure_station_worker(caller, what="do this"):
    """Officers and a station's own staff (the region check says whose station)."""
    access.caller_region(caller)
    if not (is_officer(caller) or caller.get("role") == "station_staff"):
        raise Forbidden(f"role {caller.get('role')} may not {what}",
                        details={"allowed_roles": list(OFFICERS) + ["station_staff"]})


def ensure_system(caller):
    access.ensure_system(caller)


def who(caller):
    """The identity compared between submitter and verifier: the token's subject."""
    return f"{caller.get('sub') or '-'}"
