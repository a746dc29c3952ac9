"""The kind of a township-level unit: street, town, township, or other.

Only streets (街道), towns (镇) and townships (乡, 苏木) are units a station
covers; development zones, farms, parks and placeholders are "other", counted
apart and never in the coverage rates.

The rule: the NBS digits 7-9 of the code give 001-099 street, 100-199 town,
200-399 township, 400+ other; 000 (only the 金门县 placeholder) is in no range
and is "other". The name is the better witness where they disagree, judged on
the name without a trailing parenthesis ("东湖风景区街道（武昌）" is a street,
"庐阳工业区（林店街道）" is not):

- placeholders that are not units with a government are "other" whatever the
  digits: "...直辖村级区划" (code 198, villages directly under a district),
  "...特殊乡镇" / "...直属乡镇" (development-zone groupings), "...产业小镇" /
  "...特色小镇" (industrial "towns");
- suffix 街道 or 街道办事处 -> street; 镇 -> town; 乡 (民族乡 included) and 苏木
  (Inner Mongolia's township level, 民族苏木 included) -> township; "六苏木镇"
  ends in 镇 and is a town, "苏木乡" a township;
- a name with none of these suffixes keeps the digits' kind, except that a
  name ending in a development-zone, farm, park, prison... word (开发区, 农场,
  林场, 园区, 管委会, 监狱, see OTHER_ENDINGS) is "other" even where the digits
  say street/town/township. Beijing's "...地区" (area offices, street digits)
  and "吴家山街" stay streets.

Over the whole country (41,352 rows) the name overrides the digits for 154
rows: 122 of other digits become streets, 10 towns, 5 townships, and 17
placeholders of town digits become other. Anhui: 18 "...社区街道" of 铜官区
(digits 402-419) are streets, 2 "...直辖村级区划" are other.
"""
import re

from services.common.errors import InvalidInput

KINDS = ("street", "town", "township", "other")
UNIT_KINDS = ("street", "town", "township")

PLACEHOLDER_MARKERS = ("直辖村级区划", "特殊乡镇", "直属乡镇", "产业小镇", "特色小镇")
OTHER_ENDINGS = (
    "开发区", "经济区", "工业区", "产业区", "集中区", "合作区", "新区", "高新区", "保税区",
    "试验区", "示范区", "实验区", "管理区", "托管区", "风景区", "名胜区", "旅游区", "度假区",
    "园区", "工业园", "产业园", "科技园", "示范园", "创业园", "化工园", "加工园",
    "管委会", "管理委员会", "农场", "林场", "牧场", "渔场", "茶场", "苗圃", "垦区", "盐场",
    "监狱", "煤矿", "矿区",
)
# The kind named by the end of the (parenthesis-free) name, longest first.
NAME_SUFFIXES = (
    ("街道办事处", "street"),
    ("街道", "street"),
    ("苏木", "township"),
    ("乡", "township"),
    ("镇", "town"),
)

_TOWNSHIP_CODE = re.compile(r"\d{9}")
_TRAILING_PAREN = re.compile(r"\s*[（(][^（）()]*[）)]\s*$")


def is_unit(kind):
    """Whether a unit of this kind counts in coverage (street, town, township)."""
    return kind in UNIT_KINDS


def kind_by_digits(code):
    """The NBS kind from digits 7-9 of a 9-digit township-level code."""
    n = int(code[6:9])
    if 1 <= n <= 99:
        return "street"
    if 100 <= n <= 199:
        return "town"
    if 200 <= n <= 399:
        return "township"
    return "other"  # 400 and up, and 000 (in no range)


def _main_name(name):
    name = (name or "").strip()
    while True:
        stripped = _TRAILING_PAREN.sub("", name)
        if stripped == name or not stripped:
            return name
        name = stripped


def kind_by_name(name):
    """The kind the name states, or None where the name says nothing."""
    main = _main_name(name)
    if any(marker in main for marker in PLACEHOLDER_MARKERS):
        return "other"
    for suffix, kind in NAME_SUFFIXES:
        if main.endswith(suffix):
            return kind
    if main.endswith(OTHER_ENDINGS):
        return "other"
    return None


def township_kind(code, name):
    """"street" | "town" | "township" | "other" for a township-level unit:
    the digits' kind, unless the name says otherwise."""
    if not isinstance(code, str) or not _TOWNSHIP_CODE.fullmatch(code):
        raise InvalidInput(f"not a township-level code: {code!r}",
                           fields={"code": ["must be 9 digits"]})
    return kind_by_name(name) or kind_by_digits(code)
