"""The township kind rule and the CSV reader, on real rows of the NBS data."""
import os

import pytest

from services.common.errors import InvalidInput
from services.registry.division_codes import make_row
from services.registry.division_files import division_files, read_division_files
from services.registry.division_kinds import kind_by_digits, township_kind


# (code, name, digits say, the rule says) -- rows copied from the 2023 data.
REAL_ROWS = [
    # digits and name agree
    ("340102001", "明光路街道", "street", "street"),
    ("340102100", "大兴镇", "town", "town"),
    ("340711200", "灰河乡", "township", "township"),
    ("340121401", "安徽省水家湖农场", "other", "other"),
    ("340405400", "妙山林场", "other", "other"),
    ("341321400", "经济开发区", "other", "other"),
    # name ends in 街道 where the digits say other: the name wins
    ("340705402", "天井湖社区街道", "other", "street"),
    ("130271450", "新华路街道", "other", "street"),
    ("150521403", "保康街道办事处", "other", "street"),
    # name ends in 镇 / 乡 where the digits say other
    ("130426400", "涉城镇", "other", "town"),
    ("632701400", "哈秀乡", "other", "township"),
    ("350122400", "马祖乡", "other", "township"),
    # 苏木 is Inner Mongolia's township level; 民族乡 / 民族苏木 too
    ("150205202", "吉忽伦图苏木", "township", "township"),
    ("150721200", "得力其尔鄂温克民族乡", "township", "township"),
    ("152222105", "好腰苏木镇", "town", "town"),
    ("410221207", "苏木乡", "township", "township"),
    # placeholders that are no unit with a government: other whatever the digits
    ("340711198", "郊区直辖村级区划", "town", "other"),
    ("341004198", "徽州区直辖村级区划", "town", "other"),
    ("220221172", "永吉经济开发区特殊乡镇", "town", "other"),
    ("370571400", "经济开发区直属乡镇", "other", "other"),
    ("411503410", "信阳国际家居产业小镇", "other", "other"),
    # ... but a town whose own name contains 乡 stays a town
    ("341302111", "大泽乡镇", "town", "town"),
    ("210381113", "中小镇", "town", "town"),
    # a trailing parenthesis does not decide
    ("420106490", "东湖风景区街道（武昌）", "other", "street"),
    ("320614416", "三星镇（叠石桥家纺产业园区）", "other", "town"),
    ("340103400", "庐阳工业区（林店街道）", "other", "other"),
    ("321084401", "城南经济新区（车逻镇）", "other", "other"),
    # names without a suffix keep the digits' kind
    ("110105021", "南磨房地区", "street", "street"),
    ("420112001", "吴家山街", "street", "street"),
    ("130273401", "庆北办事处", "other", "other"),
    # 000 is in no NBS range (the Kinmen placeholder)
    ("350527000", "金门县", "other", "other"),
]


@pytest.mark.parametrize("code,name,digits,kind", REAL_ROWS)
def test_township_kind_on_real_rows(code, name, digits, kind):
    assert kind_by_digits(code) == digits
    assert township_kind(code, name) == kind


def test_digit_ranges():
    assert kind_by_digits("340102001") == "street"
    assert kind_by_digits("340102099") == "street"
    assert kind_by_digits("340102100") == "town"
    assert kind_by_digits("340102199") == "town"
    assert kind_by_digits("340102200") == "township"
    assert kind_by_digits("340102399") == "township"
    assert kind_by_digits("340102400") == "other"
    assert kind_by_digits("340102999") == "other"
    assert kind_by_digits("340102000") == "other"


def test_development_zone_names_are_other_even_with_street_digits():
    assert township_kind("340102050", "某某经济开发区") == "other"
    assert township_kind("340102150", "某某农场") == "other"
    assert township_kind("340102250", "某某林场") == "other"


def test_township_kind_rejects_other_levels():
    with pytest.raises(InvalidInput):
        township_kind("340102", "瑶海区")


def test_make_row_per_level():
    assert make_row("34", "安徽省") == {
        "code": "34", "name": "安徽省", "level": "province", "parent": None,
        "province": "34", "city": None, "county": None}
    assert make_row("3407", "铜陵市") == {
        "code": "3407", "name": "铜陵市", "level": "city", "parent": "34",
        "province": "34", "city": "3407", "county": None}
    assert make_row("340705", "铜官区")["county"] == "340705"
    assert make_row("340705402", "天井湖社区街道") == {
        "code": "340705402", "name": "天井湖社区街道", "level": "township", "parent": "340705",
        "province": "34", "city": "3407", "county": "340705", "kind": "street"}
    village = make_row("340102001001", "填海巷社区居委会")
    assert village["level"] == "village"
    assert village["parent"] == village["township"] == "340102001"
    assert "kind" not in village


def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_files_recognised_by_header_not_name(tmp_path):
    a = _write(tmp_path, "x.csv", 'code,name,cityCode,provinceCode\n340102,"瑶海区",3401,34\n')
    b = _write(tmp_path, "y.csv", 'code,name\n34,"安徽省"\n')
    c = _write(tmp_path, "provinces.csv", 'code,name,provinceCode\n3401,"合肥市",34\n')
    rows = read_division_files([a, b, c])
    assert [(r["code"], r["level"]) for r in rows] == [
        ("34", "province"), ("3401", "city"), ("340102", "county")]


@pytest.mark.parametrize("text,line,field", [
    ('code,name,provinceCode\n3401,"合肥市",34\n340,"坏",34\n', 3, "code"),      # wrong length
    ('code,name,provinceCode\n3401,"合肥市",34\n3501,"福州市",34\n', 3, "code"),  # not under its parent
    ('code,name,provinceCode\n3401,"",34\n', 2, "name"),                          # empty name
    ('code,name,provinceCode\n3401,"合肥市",34\n3401,"合肥市",34\n', 3, "code"),   # twice
    ('code,name,cityCode,provinceCode\n340102,"瑶海区",3401,35\n', 2, "code"),    # bad province
])
def test_bad_rows_name_file_and_line(tmp_path, text, line, field):
    path = _write(tmp_path, "cities-bad.csv", text)
    with pytest.raises(InvalidInput) as info:
        read_division_files([path])
    err = info.value
    assert f"cities-bad.csv line {line}" in err.message
    assert err.details == {"file": "cities-bad.csv", "line": line}
    assert field in err.fields


def test_unknown_header(tmp_path):
    path = _write(tmp_path, "odd.csv", "id,label\n34,安徽省\n")
    with pytest.raises(InvalidInput) as info:
        read_division_files([path])
    assert "odd.csv line 1" in info.value.message


def test_shipped_anhui_files_in_any_order(divisions_dir):
    files = division_files(divisions_dir)
    assert [os.path.basename(f) for f in files] == [
        "areas.csv", "cities.csv", "provinces.csv", "streets.csv", "villages-34.csv"]
    rows = read_division_files(files)
    assert rows == read_division_files(list(reversed(files)))
    by_level = {}
    for r in rows:
        by_level[r["level"]] = by_level.get(r["level"], 0) + 1
    assert by_level == {"province": 1, "city": 16, "county": 119, "township": 1685, "village": 18334}
    kinds = {}
    for r in rows:
        if r["level"] == "township":
            kinds[r["kind"]] = kinds.get(r["kind"], 0) + 1
    # By digits alone: 160 other; the names move 18 社区街道 of Tongling to street
    # and two 直辖村级区划 (town digits) to other.
    assert kinds == {"town": 1012, "street": 303, "township": 226, "other": 144}
    assert sum(1 for r in rows if r["level"] == "township" and kind_by_digits(r["code"]) == "other") == 160
