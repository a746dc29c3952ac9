"""Who may do what with money (the region is checked where the record is loaded).

* Auditors read everything in their region and change nothing.
* Station staff may record donations and request disbursements, never approve.
* Approving, paying, rejecting, reversing, freezing, deciding rounds and
  accepting milestones needs province_admin, city_officer or county_officer
  within the fund's region (or the system caller).
"""
from services.common import access
from services.common.errors import Forbidden
from services.charity.rules import APPROVER_ROLES


def ensure_writer(caller):
    access.caller_region(caller)
    if caller.get("role") == "auditor":
        raise Forbidden("auditors read and change nothing", fields={"role": ["auditor: read only"]})


def ensure_approver(caller, what="approve"):
    ensure_writer(caller)
    if caller.get("role") not in APPROVER_ROLES + ("system",):
        raise Forbidden(f"a {caller.get('role')} may not {what}; it needs "
                        f"{', '.join(APPROVER_ROLES)} within the fund's region",
                        fields={"role": [f"may not {what}"]})


def same_person(caller, who):
    """True when `who` ({"sub", "role"} as stored) is the caller."""
    return bool(who) and who.get("sub") == caller.get("sub")


def who(caller):
    return {"sub": caller.get("sub"), "role": caller.get("role")}
