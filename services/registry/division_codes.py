"""What a division code says by itself: its level, its parent, the regions it lies in.

NBS statistical division codes nest by prefix (34 > 3401 > 340102 > 340102001 >
340102001001), and a code's length names its level:

    2 province    4 city    6 county (county level)    9 township (township level)    12 village

So a division's row derives from its code and name alone (`make_row`):

* `parent` is the code's prefix of the level above (None for a province);
* `province`, `city`, `county` are the codes of the regions the unit lies in,
  the unit's own code included: a city row has `city == code`, a county row
  `county == code`; they are None above the unit's own level (a province has
  city None and county None). So `{"city": "3401"}` selects Hefei and
  everything in it;
* villages also carry `township`; only township rows carry `kind`
  (services/registry/division_kinds.py).
"""
import re

from services.registry.division_kinds import township_kind

LEVELS = {2: "province", 4: "city", 6: "county", 9: "township", 12: "village"}
LEVEL_LENGTH = {level: length for length, level in LEVELS.items()}
REGION_LEVELS = ("province", "city", "county")
_PARENT_LENGTH = dict(zip(sorted(LEVELS)[1:], sorted(LEVELS)))

_DIGITS = re.compile(r"\d+")


def level_of(code):
    """The level named by a code's length, or None when it is no division code."""
    if not isinstance(code, str) or not _DIGITS.fullmatch(code):
        return None
    return LEVELS.get(len(code))


def make_row(code, name):
    """The row of a division, everything derived from its code and name."""
    level = level_of(code)
    if level is None:
        raise ValueError(f"code {code!r} is not 2, 4, 6, 9 or 12 digits")
    name = (name or "").strip()
    if not name:
        raise ValueError("empty name")
    n = len(code)
    row = {
        "code": code,
        "name": name,
        "level": level,
        "parent": code[:_PARENT_LENGTH[n]] if n in _PARENT_LENGTH else None,
        "province": code[:2],
        "city": code[:4] if n >= 4 else None,
        "county": code[:6] if n >= 6 else None,
    }
    if level == "township":
        row["kind"] = township_kind(code, name)
    if level == "village":
        row["township"] = code[:9]
    return row
