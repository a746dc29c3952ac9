import datetime

import pytest

from services.common.errors import Conflict, InvalidInput
from services.registry import rules

TODAY = datetime.date(2026, 11, 22)


@pytest.mark.parametrize("current,to", [
    ("planned", "built"), ("built", "operating"), ("operating", "suspended"),
    ("suspended", "operating"), ("planned", "closed"), ("operating", "closed"),
])
def test_lifecycle_allows_the_documented_steps(current, to):
    rules.check_transition(current, to, datetime.date(2026, 5, 1), [], TODAY)


def test_invalid_transition_is_a_conflict_naming_the_allowed_ones():
    with pytest.raises(Conflict) as err:
        rules.check_transition("planned", "operating", datetime.date(2026, 5, 1), [], TODAY)
    assert err.value.status == 409
    assert err.value.details["allowed"] == ["built", "closed"]
    assert "built, closed" in err.value.message


def test_closed_is_final():
    with pytest.raises(Conflict) as err:
        rules.check_transition("closed", "operating", datetime.date(2026, 5, 1), [], TODAY)
    assert err.value.details["allowed"] == []


def test_a_change_cannot_be_dated_before_the_previous_one():
    history = [{"status": "planned", "on": "2026-03-01"}, {"status": "built", "on": "2026-06-01"}]
    with pytest.raises(InvalidInput) as err:
        rules.check_transition("built", "operating", datetime.date(2026, 5, 31), history, TODAY)
    assert "on" in err.value.fields


def test_a_change_cannot_be_dated_in_the_future():
    for days in (1, 10):
        with pytest.raises(InvalidInput) as err:
            rules.check_transition("planned", "built", TODAY + datetime.timedelta(days=days), [], TODAY)
        assert "on" in err.value.fields
    rules.check_transition("planned", "built", TODAY, [], TODAY)


def test_transition_events_are_named_for_what_happened():
    assert rules.transition_event("built", "operating") == "station.opened"
    assert rules.transition_event("suspended", "operating") == "station.resumed"
    assert rules.transition_event("planned", "closed") == "station.closed"


@pytest.mark.parametrize("population,residents", [(0, 1), (20_000, 1), (20_001, 2), (80_000, 2)])
def test_one_plus_one_plus_x(population, residents):
    assert rules.required_staff(population) == {"head": 1, "supervisor": 1, "resident": residents}


def test_staffing_reports_what_is_missing():
    staff = [{"role": "head", "certification": "senior"}, {"role": "resident", "certification": "none"}]
    result = rules.staffing(staff, 30_000)
    assert result["missing"] == {"supervisor": 1, "resident": 1}
    assert not result["meets_rule"]
    staff += [{"role": "supervisor"}, {"role": "resident"}]
    assert rules.staffing(staff, 30_000)["meets_rule"]


def test_second_station_needs_a_reason_and_a_third_is_refused():
    rules.check_new_station([], None)
    with pytest.raises(Conflict) as err:
        rules.check_new_station([{"_id": "340102001-01"}], None)
    assert "second_station_reason" in err.value.fields
    rules.check_new_station([{"_id": "340102001-01"}], "大团镇两站：人口超过八万")
    with pytest.raises(Conflict):
        rules.check_new_station([{"_id": "a"}, {"_id": "b"}], "还要第三个")
