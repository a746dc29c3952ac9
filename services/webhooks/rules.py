"""Webhook rules without storage: which types a subscription names, and when to retry."""
import random

from services.common.errors import InvalidInput

MAX_TYPES = 100


def matches(entry, event_type):
    """An entry is an event type (`wushe.registry.station.opened.v1`) or a prefix
    pattern ending in `.*` (`wushe.registry.*`, `wushe.registry.station.*`)."""
    if entry.endswith(".*"):
        return event_type.startswith(entry[:-1])
    return entry == event_type


def matches_any(entries, event_type):
    return any(matches(entry, event_type) for entry in entries)


def check_types(entries, known):
    """The entries, deduplicated in order, each naming at least one known type; else 400."""
    problems, kept = [], []
    for entry in entries:
        if not isinstance(entry, str) or not entry.startswith("wushe.") or "*" in entry[:-1]:
            problems.append(f"{entry!r}: an event type or a pattern like wushe.registry.*")
        elif not any(matches(entry, t) for t in known):
            problems.append(f"{entry!r} names no event type this platform publishes")
        elif entry not in kept:
            kept.append(entry)
    if problems:
        raise InvalidInput("types: " + "; ".join(problems), fields={"types": problems})
    if not kept or len(kept) > MAX_TYPES:
        raise InvalidInput("types: give 1 to 100", fields={"types": [f"1 to {MAX_TYPES} entries"]})
    return kept


def backoff(attempts, base, cap, rng=random):
    """Seconds to wait after the `attempts`-th failure: full jitter
    (uniform between 0 and min(cap, base * 2 ** (attempts - 1)))."""
    ceiling = min(cap, base * 2 ** max(attempts - 1, 0))
    return rng.uniform(0, ceiling)
