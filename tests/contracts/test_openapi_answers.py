"""Answers are shaped by their documented response schema (gateway.api.shape_answer)."""
import pytest
from marshmallow import Schema, fields, validate

from gateway.api import list_of, page_of, shape_answer
from gateway.errors import ApiError


class Item(Schema):
    id = fields.String()
    count = fields.Integer(allow_none=True)
    on = fields.Date()
    kind = fields.String(validate=validate.OneOf(("a", "b")))
    tags = fields.List(fields.String())


class Outer(Schema):
    item = fields.Nested(Item)
    items = fields.List(fields.Nested(Item))
    totals = fields.Dict(keys=fields.String(), values=fields.Integer())


def test_only_declared_fields_are_answered_outside_tests(monkeypatch):
    monkeypatch.setenv("GATEWAY_STRICT_ANSWERS", "0")
    answer = {"item": {"id": "x", "secret": 1}, "items": [{"id": "y", "extra": 2}],
              "totals": {"a": 1}, "internal": True}
    assert shape_answer(Outer, answer, "op") == {
        "item": {"id": "x"}, "items": [{"id": "y"}], "totals": {"a": 1}}
    page = {"items": [{"id": "z", "more": 0}], "total": 1, "page": 1, "per_page": 50, "x": 1}
    assert shape_answer(page_of(Item), page, "op") == {
        "items": [{"id": "z"}], "total": 1, "page": 1, "per_page": 50}
    assert shape_answer(list_of(Item), [{"id": "q", "w": 1}], "op") == [{"id": "q"}]


@pytest.mark.parametrize("answer, where", [
    ({"item": {"id": "x", "secret": 1}}, "$.item.secret"),
    ({"items": [{"id": 3}]}, "$.items[0].id"),
    ({"item": {"count": True}}, "$.item.count"),
    ({"item": {"on": "2026-12-01T00:00:00Z"}}, "$.item.on"),
    ({"item": {"kind": "c"}}, "$.item.kind"),
    ({"item": {"tags": None}}, "$.item.tags"),
    ({"totals": {"a": "1"}}, "$.totals.a"),
])
def test_drift_is_a_500_naming_the_operation_and_field_under_tests(monkeypatch, answer, where):
    monkeypatch.setenv("GATEWAY_STRICT_ANSWERS", "1")
    with pytest.raises(ApiError) as raised:
        shape_answer(Outer, answer, "registry.get_thing")
    assert raised.value.status == 500
    assert "registry.get_thing" in raised.value.message and where in raised.value.message


def test_conforming_answers_pass_unchanged_under_tests(monkeypatch):
    monkeypatch.setenv("GATEWAY_STRICT_ANSWERS", "1")
    answer = {"item": {"id": "x", "count": None, "on": "2026-12-01", "kind": "a", "tags": []},
              "items": [], "totals": {}}
    assert shape_answer(Outer, answer, "op") == answer
