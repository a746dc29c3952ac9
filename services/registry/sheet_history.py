"""A station's dated history as a sheet tells it, and how it compares with the registry's.

A sheet gives dates, not steps: 规划日期 (planned), 建成日期 (built), 运营日期
(operating), 暂停日期 (suspended), 恢复运营日期 (operating again), 关闭日期
(closed). A station suspended more than once lists each date in 暂停日期 and
恢复运营日期 ("2023-01-05、2024-03-01"); they alternate after the opening.
The steps are always a path the lifecycle allows (rules.TRANSITIONS):

    planned -> built -> operating (-> suspended -> operating)* [-> suspended] [-> closed]

* A blank 规划日期 is taken as the first date given, a blank 建成日期 as the
  运营日期 (older sheets often kept only when a station opened); each such
  inference is noted in the report. A row without any date is refused.
* Dates must not run backwards (a date before the previous step's) nor lie in
  the future (China's today); a suspension needs the opening, a resumption its
  suspension.
* 状态, when given, must be where the dates end.

Compared with the registry's history, a sheet's is the same, extends it (adds
steps after the last one: applied, each step its event), lies behind it (the
registry knows later steps: the row would move the history backwards) or
differs (a step dated otherwise): the last two are refused, never applied.
"""
from services.registry import sheet_format

DATE_FIELDS = ("planned_on", "built_on", "opened_on", "suspended_on", "resumed_on", "closed_on")
LIST_FIELDS = ("suspended_on", "resumed_on")
STEP_FIELD = {"planned": "planned_on", "built": "built_on", "closed": "closed_on"}
EARLIEST_YEAR = 1990


def _heading(field):
    return sheet_format.heading(sheet_format.STATION, field)


def steps_from_dates(dates, status, today):
    """(steps [(status, "YYYY-MM-DD")], problems {field: [message]}, notes [message]).

    dates: {field: date or None, suspended_on / resumed_on: [dates]}; status: the
    sheet's 状态 as a stored value, or None."""
    problems, notes = {}, []
    planned, built, opened, closed = (dates.get(f) for f in ("planned_on", "built_on", "opened_on",
                                                             "closed_on"))
    suspended, resumed = sorted(dates.get("suspended_on") or []), sorted(dates.get("resumed_on") or [])
    given = [d for d in (planned, built, opened, *suspended, *resumed, closed) if d is not None]
    if not given:
        return [], {"planned_on": [f"no date: give at least {_heading('planned_on')}"]}, notes
    built_field = "built_on"
    if built is None and opened is not None:
        built, built_field = opened, "opened_on"
        notes.append(f"{_heading('built_on')} blank: taken as {_heading('opened_on')} {opened.isoformat()}")
    if planned is None:
        planned = min(given)
        notes.append(f"{_heading('planned_on')} blank: taken as the first date, {planned.isoformat()}")
    if suspended and opened is None:
        problems["suspended_on"] = [f"a suspension needs {_heading('opened_on')}"]
    if len(resumed) > len(suspended):
        problems["resumed_on"] = [f"more {_heading('resumed_on')} than {_heading('suspended_on')}"]
    elif len(resumed) < len(suspended) - 1:
        problems["resumed_on"] = [f"every {_heading('suspended_on')} but the last needs its "
                                  f"{_heading('resumed_on')}"]
    if problems:
        return [], problems, notes

    steps = [("planned", planned, "planned_on")]
    if built is not None:
        steps.append(("built", built, built_field))
    if opened is not None:
        steps.append(("operating", opened, "opened_on"))
        for i, on in enumerate(suspended):
            steps.append(("suspended", on, "suspended_on"))
            if i < len(resumed):
                steps.append(("operating", resumed[i], "resumed_on"))
    if closed is not None:
        steps.append(("closed", closed, "closed_on"))

    for (_, before, before_field), (_, on, field) in zip(steps, steps[1:]):
        if on < before:
            problems.setdefault(field, []).append(
                f"{on.isoformat()} is before {_heading(before_field)} {before.isoformat()}")
    for _, on, field in steps:
        if on > today:
            problems.setdefault(field, []).append(f"{on.isoformat()} is in the future")
        elif on.year < EARLIEST_YEAR:
            problems.setdefault(field, []).append(f"{on.isoformat()} is before {EARLIEST_YEAR}")
    if status is not None and not problems and status != steps[-1][0]:
        problems["status"] = [
            f"says {sheet_format.word_of(sheet_format.STATUS_WORDS, status)}, but the dates end "
            f"{sheet_format.word_of(sheet_format.STATUS_WORDS, steps[-1][0])} "
            f"({_heading(steps[-1][2])} {steps[-1][1].isoformat()})"]
    if problems:
        return [], problems, notes
    return [(s, on.isoformat()) for s, on, _ in steps], {}, notes


def dates_of(history):
    """The sheet's dates of a stored history (what an export writes): ISO strings,
    the suspensions and resumptions as lists."""
    dates = {field: None for field in DATE_FIELDS}
    dates["suspended_on"], dates["resumed_on"] = [], []
    seen_operating = False
    for entry in history:
        status, on = entry["status"], entry["on"]
        if status == "operating":
            if seen_operating:
                dates["resumed_on"].append(on)
            else:
                dates["opened_on"] = on
                seen_operating = True
        elif status == "suspended":
            dates["suspended_on"].append(on)
        elif dates[STEP_FIELD[status]] is None:
            dates[STEP_FIELD[status]] = on
    return dates


SAME, EXTENDS, BEHIND, DIFFERS = "same", "extends", "behind", "differs"


def compare(stored, sheet):
    """(SAME | EXTENDS | BEHIND | DIFFERS, the first step where they part or None).

    stored: the registry's history [{status, on}]; sheet: [(status, on)]."""
    mine = [(h["status"], h["on"]) for h in stored]
    if mine == sheet:
        return SAME, None
    common = min(len(mine), len(sheet))
    at = next((i for i in range(common) if mine[i] != sheet[i]), None)
    if at is None:
        return (EXTENDS, common) if len(sheet) > len(mine) else (BEHIND, common)
    return DIFFERS, at


def refusal(verdict, at, stored, sheet):
    """Why a row whose history is BEHIND or DIFFERS is refused, in an officer's words."""
    words = sheet_format.STATUS_WORDS
    if verdict == BEHIND:
        status, on = stored[at]["status"], stored[at]["on"]
        return (f"the registry's history goes further ({sheet_format.word_of(words, status)} on "
                f"{on}, not in the sheet): an import never moves a station's history backwards")
    mine = stored[at]
    status, on = sheet[at]
    return (f"the sheet's history differs from the registry's: the registry has "
            f"{sheet_format.word_of(words, mine['status'])} on {mine['on']}, the sheet "
            f"{sheet_format.word_of(words, status)} on {on}; an import never rewrites history")
