"""Supervision rules without storage: due times in China time, months and quarters,
the rectification lifecycle and its escalation steps, and the overall score's weights."""
import datetime

import pytest

from services.common.errors import Conflict, InvalidInput
from services.supervision import figures, rules, settings

UTC = datetime.timezone.utc


def utc(*args):
    return datetime.datetime(*args, tzinfo=UTC)


def test_a_report_is_due_on_the_25th_at_235959_china_time():
    due_at = rules.report_due_at("2026-11", 25)
    assert due_at == utc(2026, 11, 25, 15, 59, 59)
    assert not rules.is_late(utc(2026, 11, 25, 15, 59, 59), due_at)            # 23:59:59 China: on time
    assert not rules.is_late(utc(2026, 11, 25, 15, 59, 59, 999000), due_at)    # within that second
    assert rules.is_late(utc(2026, 11, 25, 16, 0, 0), due_at)                  # one second later: late
    assert not rules.has_passed(due_at, utc(2026, 11, 25, 15, 59, 59))
    assert rules.has_passed(due_at, utc(2026, 11, 25, 16, 0, 0))


def test_the_due_day_is_configurable_and_clamped_to_the_month(monkeypatch):
    assert settings.report_due_day() == 25
    monkeypatch.setenv("SUPERVISION_REPORT_DUE_DAY", "10")
    assert settings.report_due_day() == 10
    assert rules.report_due_at("2026-02", 31) == utc(2026, 2, 28, 15, 59, 59)
    monkeypatch.setenv("SUPERVISION_REPORT_DUE_DAY", "32")
    with pytest.raises(ValueError, match="SUPERVISION_REPORT_DUE_DAY"):
        settings.report_due_day()


def test_the_job_judges_only_months_whose_due_time_has_passed():
    assert rules.due_months(utc(2026, 11, 25, 15, 59, 59), 25, 2) == ["2026-09", "2026-10"]
    assert rules.due_months(utc(2026, 11, 25, 16, 0, 0), 25, 2) == ["2026-10", "2026-11"]
    # 00:30 on 1 January in China is still 31 December in UTC.
    assert rules.due_months(utc(2026, 12, 31, 16, 30), 25, 1) == ["2026-12"]


def test_months_and_quarters():
    assert rules.quarter_of("2026-11") == "2026Q4" and rules.quarter_of(datetime.date(2026, 3, 31)) == "2026Q1"
    assert rules.quarter_months("2026Q2") == ["2026-04", "2026-05", "2026-06"]
    assert rules.quarter_end("2026Q1") == datetime.date(2026, 3, 31)
    assert rules.add_months("2026-01", -1) == "2025-12"
    assert rules.china_month(utc(2026, 10, 31, 16, 0)) == "2026-11"
    with pytest.raises(InvalidInput) as bad:
        rules.parse_month("2026-13")
    assert bad.value.fields == {"month": ["not a month YYYY-MM"]}


def test_station_status_on_a_date_follows_its_dated_history():
    history = [{"status": "planned", "on": "2025-01-01"}, {"status": "built", "on": "2025-03-01"},
               {"status": "operating", "on": "2025-06-15"}]
    assert rules.status_on(history, datetime.date(2024, 12, 31)) is None
    assert rules.status_on(history, datetime.date(2025, 6, 14)) == "built"
    assert rules.operating_on(history, datetime.date(2025, 6, 15))


def test_rectification_lifecycle():
    rules.check_rectification_step("open", "in_progress", "ZG1")
    rules.check_rectification_step("submitted", "reopened", "ZG1")
    with pytest.raises(Conflict) as refused:
        rules.check_rectification_step("open", "closed", "ZG1")
    assert refused.value.details["allowed"] == ["in_progress", "submitted"]
    with pytest.raises(Conflict, match="already closed"):
        rules.check_rectification_step("closed", "closed", "ZG1")


def test_overdue_items_escalate_county_then_city_then_province():
    deadline = datetime.date(2026, 3, 10)
    steps = rules.escalation_steps(deadline, 7)
    assert steps == [("county", utc(2026, 3, 10, 16, 0)), ("city", utc(2026, 3, 17, 16, 0)),
                     ("province", utc(2026, 3, 24, 16, 0))]
    assert rules.escalations_due(deadline, 7, 0, utc(2026, 3, 10, 15, 59, 59)) == []
    assert [s for s, _ in rules.escalations_due(deadline, 7, 0, utc(2026, 3, 18))] == ["county", "city"]
    assert [s for s, _ in rules.escalations_due(deadline, 7, 2, utc(2026, 4, 1))] == ["province"]
    assert rules.next_escalation_at(deadline, 7, 3) is None


def test_overall_score_weights_are_configurable_and_missing_rates_drop_out(monkeypatch):
    rated = {"supervision": 1.0, "inspection": 0.8, "reports": 0.5, "rectification": None,
             "liuyou": 1.0, "staffing": 0.0}
    # defaults 20/25/20/15/10/10; rectification has nothing to rate, so 85 weigh.
    assert figures.overall(rated, settings.score_weights()) == round(100 * (20 + 20 + 10 + 10) / 85, 2)
    monkeypatch.setenv("SUPERVISION_SCORE_WEIGHTS", "inspection=3,reports=1")
    assert settings.score_weights()["supervision"] == 0
    assert figures.overall(rated, settings.score_weights()) == 72.5
    monkeypatch.setenv("SUPERVISION_SCORE_WEIGHTS", "volunteers=5")
    with pytest.raises(ValueError, match="unknown keys"):
        settings.score_weights()
    assert figures.overall({k: None for k in rated}, settings.DEFAULT_WEIGHTS) is None


def test_rates_of_a_summed_scorecard():
    levels = dict.fromkeys(figures.LEVELS, 0) | {"operating": 4, "liuyou_items": 18, "staffing_ok": 3,
                                                 "inspected": 2, "score_centi": 17000, "rect_open": 4,
                                                 "rect_overdue": 1}
    flows = dict.fromkeys(figures.FLOWS, 0) | {"reports_on_time": 2, "reports_late": 1,
                                               "reports_missing": 1}
    assert figures.rates(levels, flows, {"supervised": 3, "sessions": 5}) == {
        "supervision": 0.75, "inspection": 0.85, "reports": 0.5, "rectification": 0.75,
        "liuyou": 0.75, "staffing": 0.75}
