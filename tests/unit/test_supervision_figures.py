"""What a station adds to each month of the scorecard, as step changes: the sum of the
changes up to a month is the station's state at that month's end."""
from services.supervision import figures

HISTORY = [{"status": "planned", "on": "2025-09-01"}, {"status": "built", "on": "2025-12-01"},
           {"status": "operating", "on": "2026-03-01"}]


def station(history=HISTORY, known=None):
    return {"status_history": history,
            "known": known if known is not None else [{"month": "2026-11", "checklist_met": 4,
                                                       "meets_rule": True}]}


def running(steps, month):
    total = {}
    for m, change in steps.items():
        if m <= month:
            for k, v in change.items():
                total[k] = total.get(k, 0) + v
    return {k: v for k, v in total.items() if v}


def test_levels_follow_the_dated_history_and_the_reported_checklist():
    steps = figures.station_steps(station())
    assert running(steps, "2025-11") == {}
    assert running(steps, "2025-12") == {"live": 1}
    # The 六有 count reported in November counts back to the opening: what is known.
    assert running(steps, "2026-03") == {"live": 1, "operating": 1, "liuyou_items": 4, "staffing_ok": 1}


def test_a_change_of_snapshot_moves_only_its_difference():
    before = station()
    after = station(HISTORY + [{"status": "suspended", "on": "2026-12-05"}],
                    known=before["known"] + [{"month": "2026-12", "checklist_met": 6, "meets_rule": True}])
    change = figures.difference(figures.station_steps(before), figures.station_steps(after))
    assert change == {"2026-12": {"operating": -1, "liuyou_items": -4, "staffing_ok": -1}}
    total = figures.difference({}, figures.station_steps(before))
    for month, values in change.items():
        for k, v in values.items():
            total.setdefault(month, {})[k] = total.get(month, {}).get(k, 0) + v
    assert running(total, "2026-12") == running(figures.station_steps(after), "2026-12") == {"live": 1}


def test_the_latest_inspection_score_counts_from_its_month_on():
    points = [{"month": "2026-05", "at": "2026-05-20T02:00:00Z", "score_centi": 8000}]
    later = points + [{"month": "2026-09", "at": "2026-09-03T02:00:00Z", "score_centi": 9150}]
    assert running(figures.score_steps(later), "2026-04") == {}
    assert running(figures.score_steps(later), "2026-08") == {"inspected": 1, "score_centi": 8000}
    assert running(figures.score_steps(later), "2026-09") == {"inspected": 1, "score_centi": 9150}
    # An older inspection heard late changes only the months before the newer one.
    late = later + [{"month": "2026-02", "at": "2026-02-01T02:00:00Z", "score_centi": 7000}]
    assert figures.difference(figures.score_steps(later), figures.score_steps(late)) == {
        "2026-02": {"inspected": 1, "score_centi": 7000}, "2026-05": {"inspected": -1, "score_centi": -7000}}
