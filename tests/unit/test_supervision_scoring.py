"""Inspection scores computed by the service from item scores, never taken from a client."""
import pytest

from services.common import access
from services.common.errors import InvalidInput
from services.supervision import schemas, scoring

CHECKLIST = {"sections": [
    {"key": "liuyou", "items": [
        {"key": "premises", "weight": 2, "rule": {"kind": "pass_fail"}},
        {"key": "staff", "weight": 2, "rule": {"kind": "pass_fail"}}]},
    {"key": "delivery", "items": [
        {"key": "casework", "weight": 4, "rule": {"kind": "points", "max": 10}},
        {"key": "satisfaction", "weight": 2, "rule": {"kind": "scale", "max": 5}}]}]}


def test_total_and_sections_are_weighted_means_of_item_fractions():
    result = scoring.compute(CHECKLIST, {"premises": True, "staff": False, "casework": 7.5,
                                         "satisfaction": 4})
    # (2*1 + 2*0 + 4*0.75 + 2*0.8) / 10 = 0.66
    assert result == {"total": 66.0, "sections": {"liuyou": 50.0, "delivery": 76.67}}


def test_every_item_must_be_scored_and_each_score_fits_its_rule():
    with pytest.raises(InvalidInput) as missing:
        scoring.compute(CHECKLIST, {"premises": True})
    assert set(missing.value.fields) == {"scores.staff", "scores.casework", "scores.satisfaction"}
    item = scoring.items_of(CHECKLIST)
    assert scoring.check_score(item["casework"][1], 9.456, "scores.casework.value") == 9.46
    for key, value, problem in (("casework", 11, "between 0 and 10"), ("satisfaction", 2.5, "whole number"),
                                ("premises", 1, "true or false"), ("casework", "9", "not a number")):
        with pytest.raises(InvalidInput) as bad:
            scoring.check_score(item[key][1], value, f"scores.{key}.value")
        assert problem in bad.value.fields[f"scores.{key}.value"][0]


def test_a_total_sent_by_a_client_is_accepted_and_never_used():
    data = access.load(schemas.InspectionScoresSchema,
                       {"scores": {"premises": {"value": True}}, "total": 100})
    assert data["scores"]["premises"]["value"] is True   # what the service reads; `total` is unused


def test_a_checklist_whose_item_keys_repeat_is_refused_naming_the_field():
    sections = [{"key": "a", "items": [{"key": "x", "rule": {"kind": "pass_fail"}}]},
                {"key": "b", "items": [{"key": "x", "rule": {"kind": "points", "max": None}}]}]
    with pytest.raises(InvalidInput) as bad:
        scoring.check_definition(sections)
    assert set(bad.value.fields) == {"sections.1.items.0.key", "sections.1.items.0.rule.max"}
