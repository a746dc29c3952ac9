"""Free text: names, titles, places, notes, reasons and skills hold no control
characters (no one types them, and an Excel export cannot hold most of them);
descriptions may break lines."""
import re

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")                           # every control character
_CONTROL_BUT_LINES = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")   # all but tab, LF, CR


def text_problem(value, lines=False):
    """Why free text is refused, or None; `lines`: tabs and line breaks allowed."""
    if (_CONTROL_BUT_LINES if lines else _CONTROL).search(value):
        return "must not contain control characters"
    return None
