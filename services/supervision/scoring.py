"""Scores of an inspection, computed from its item scores against its checklist version.

Each item has a weight and a rule:

    points     a number from 0 to `max` (a score out of `max`)
    pass_fail  true (pass) or false (fail)
    scale      a whole number from 0 to `max` (a 0-N scale)

An item's fraction is score / max (pass = 1, fail = 0). A section's score is
100 x the weighted mean of its items' fractions; the total is 100 x the
weighted mean over every item of the checklist (weights are absolute, so a
section weighs what its items weigh). Scores are rounded to two places. A
total sent by a client is never read: the service computes it.
"""
from services.common.errors import InvalidInput

RULE_KINDS = ("points", "pass_fail", "scale")


def items_of(checklist):
    """{item key: (section key, item)} of a checklist version, in order."""
    return {item["key"]: (section["key"], item)
            for section in checklist["sections"] for item in section["items"]}


def check_score(item, value, field):
    """The value as stored for the item's rule, or InvalidInput naming `field`."""
    rule = item["rule"]
    kind = rule["kind"]
    if kind == "pass_fail":
        if not isinstance(value, bool):
            raise InvalidInput(f"{field} must be true (pass) or false (fail)",
                               fields={field: ["true or false"]})
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidInput(f"{field} must be a number", fields={field: ["not a number"]})
    if kind == "scale" and value != int(value):
        raise InvalidInput(f"{field} must be a whole number on the 0-{rule['max']} scale",
                           fields={field: [f"a whole number from 0 to {rule['max']}"]})
    if not 0 <= value <= rule["max"]:
        raise InvalidInput(f"{field} must be between 0 and {rule['max']}",
                           fields={field: [f"between 0 and {rule['max']}"]})
    return int(value) if kind == "scale" else round(float(value), 2)


def fraction(item, value):
    if item["rule"]["kind"] == "pass_fail":
        return 1.0 if value else 0.0
    return float(value) / item["rule"]["max"]


def missing_items(checklist, scores):
    return [key for key in items_of(checklist) if key not in scores]


def compute(checklist, scores):
    """{"total", "sections": {key: score}} from {item key: value}; every item must be scored."""
    missing = missing_items(checklist, scores)
    if missing:
        raise InvalidInput(f"{len(missing)} items are not scored yet",
                           fields={f"scores.{key}": ["not scored"] for key in missing})
    sections, weight_all, sum_all = {}, 0.0, 0.0
    for section in checklist["sections"]:
        weight, total = 0.0, 0.0
        for item in section["items"]:
            weight += item["weight"]
            total += item["weight"] * fraction(item, scores[item["key"]])
        sections[section["key"]] = round(100 * total / weight, 2) if weight else None
        weight_all += weight
        sum_all += total
    return {"total": round(100 * sum_all / weight_all, 2) if weight_all else 0.0,
            "sections": sections}


def check_definition(sections):
    """Refuse a checklist whose item keys repeat (they name scores), naming the field."""
    seen = {}
    problems = {}
    for s, section in enumerate(sections):
        for i, item in enumerate(section["items"]):
            field = f"sections.{s}.items.{i}.key"
            if item["key"] in seen:
                problems[field] = [f"repeats {seen[item['key']]}"]
            seen.setdefault(item["key"], field)
            rule = item["rule"]
            if rule["kind"] != "pass_fail" and not rule.get("max"):
                problems[f"sections.{s}.items.{i}.rule.max"] = ["required for points and scale"]
    if len({s["key"] for s in sections}) != len(sections):
        problems["sections"] = ["section keys must differ"]
    if problems:
        raise InvalidInput("the checklist is not consistent", fields=problems)
