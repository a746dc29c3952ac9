"""The registry's domain rules, free of storage so they are easy to test and read."""

from services.common.errors import Conflict, InvalidInput

# planned -> built -> operating -> suspended / closed; a suspended station may reopen.
TRANSITIONS = {
    "planned": ("built", "closed"),
    "built": ("operating", "closed"),
    "operating": ("suspended", "closed"),
    "suspended": ("operating", "closed"),
    "closed": (),
}

# The event each transition publishes: wushe.registry.station.<name>.v1
TRANSITION_EVENTS = {
    ("planned", "built"): "station.built",
    ("built", "operating"): "station.opened",
    ("operating", "suspended"): "station.suspended",
    ("suspended", "operating"): "station.resumed",
}

# Statuses in which a station counts for coverage, and in which it is a live
# station of its unit (counts toward the two-station limit).
COVERING = ("built", "operating", "suspended")
LIVE = ("planned", "built", "operating", "suspended")

# One station per township-level unit; a large township may run a second one
# (大团镇两站) when the officer records why. Closed stations do not count.
MAX_LIVE_STATIONS_PER_UNIT = 2

# 1+1+X: one head, one supervisor and X resident social workers.
LARGE_POPULATION = 20_000
SINGLE_ROLES = ("head", "supervisor")


def transition_event(current, to):
    return TRANSITION_EVENTS.get((current, to), "station.closed" if to == "closed" else None)


def check_transition(current, to, on, history, today):
    """Raise unless `current -> to` dated `on` is allowed after `history`."""
    allowed = TRANSITIONS[current]
    if to not in allowed:
        names = ", ".join(allowed) or "none (closed is final)"
        raise Conflict(
            f"a {current} station cannot become {to}; allowed: {names}",
            fields={"to": [f"allowed from {current}: {names}"]},
            details={"status": current, "allowed": list(allowed)},
        )
    last_on = history[-1]["on"] if history else None
    if last_on and on.isoformat() < last_on:
        raise InvalidInput(f"on must not be before the last change ({last_on})",
                           fields={"on": [f"before the last change on {last_on}"]})
    if on > today:
        raise InvalidInput("on must not be in the future", fields={"on": ["in the future"]})


def check_new_station(live_stations, second_station_reason):
    if len(live_stations) >= MAX_LIVE_STATIONS_PER_UNIT:
        raise Conflict(
            f"this unit already has {len(live_stations)} live stations; "
            f"at most {MAX_LIVE_STATIONS_PER_UNIT}",
            fields={"division_code": ["unit already has its stations"]},
            details={"stations": [s["_id"] for s in live_stations]},
        )
    if live_stations and not second_station_reason:
        raise Conflict(
            "this unit already has a station; a second one needs second_station_reason",
            fields={"second_station_reason": ["required for a unit's second station"]},
            details={"stations": [s["_id"] for s in live_stations]},
        )


def check_role_free(staff, role):
    """A station has one head and one supervisor: refuse a second."""
    if role in SINGLE_ROLES and any(member["role"] == role for member in staff):
        raise Conflict(f"the station already has a {role}; change or remove that one first",
                       fields={"role": [f"station already has a {role}"]})


def required_staff(population_served):
    residents = 2 if (population_served or 0) > LARGE_POPULATION else 1
    return {"head": 1, "supervisor": 1, "resident": residents}


def staffing(staff, population_served):
    required = required_staff(population_served)
    have = {role: sum(1 for member in staff if member["role"] == role) for role in required}
    missing = {role: required[role] - have[role] for role in required if have[role] < required[role]}
    by_level = {}
    for member in staff:
        by_level[member.get("certification", "none")] = by_level.get(member.get("certification", "none"), 0) + 1
    return {"required": required, "have": have, "missing": missing,
            "meets_rule": not missing, "certification": by_level}
