"""Station sheets as officers write them: headings, cells, dated histories, files."""
import base64
import datetime
import io

import pytest

from services.common.errors import InvalidInput, PayloadTooLarge
from services.registry import sheet_files, sheet_format, sheet_history, sheet_rows

TODAY = datetime.date(2026, 11, 22)
D = datetime.date


def station(**cells):
    base = {"name": "明光路街道社工站", "division_code": "340102001"}
    return sheet_rows.station_row({**base, **cells}, TODAY)


# ---- which sheet is which ----

def test_sheets_are_recognised_by_their_headings_in_any_order_and_spelling():
    kind, columns = sheet_format.recognise(["运营日期", "站点名称 *", "所属乡镇（街道）", "所属县(市、区)"])
    assert kind == "station" and set(columns) == {"opened_on", "name", "township", "county"}
    assert sheet_format.recognise(["乡镇代码", "站点名称", "姓名", "岗位", "手机号码"])[0] == "staff"
    assert sheet_format.recognise(["站点编号", "类型", "社工室名称", "村(社区)代码"])[0] == "room"
    # A station sheet with a 类型 column of its own is still a station sheet.
    assert sheet_format.recognise(["站点名称", "乡镇代码", "类型"])[0] == "station"
    assert sheet_format.recognise(["姓名", "电话"]) is None
    assert sheet_format.recognise(["name", "division_code", "built_on"])[0] == "station"


def test_a_staff_sheet_that_cannot_name_its_station_says_which_columns_it_lacks():
    _, columns = sheet_format.recognise(["姓名", "岗位"])
    missing = sheet_format.missing_columns("staff", columns)
    assert missing and "站点编号" in missing[0]


# ---- cells ----

@pytest.mark.parametrize("cell,expected", [
    ("2021-05-01", D(2021, 5, 1)), ("2021/5/1", D(2021, 5, 1)), ("2021.5.1", D(2021, 5, 1)),
    ("2021年5月1日", D(2021, 5, 1)), ("20210501", D(2021, 5, 1)), (20210501, D(2021, 5, 1)),
    (datetime.datetime(2021, 5, 1), D(2021, 5, 1)), (44317, D(2021, 5, 1)),
    ("2021-05-01 00:00:00", D(2021, 5, 1)),
])
def test_dates_as_officers_write_them(cell, expected):
    assert sheet_rows.parse_date(cell) == expected


@pytest.mark.parametrize("cell", ["2021-02-30", "五月一日", "2021-13-01", "soon"])
def test_a_cell_that_is_no_date_says_so(cell):
    with pytest.raises(ValueError):
        sheet_rows.parse_date(cell)


@pytest.mark.parametrize("cell,expected", [(12000, 12000), ("12,000", 12000), ("12000人", 12000),
                                           ("1.2万", 12000), (12000.0, 12000), ("0", 0)])
def test_populations_as_officers_write_them(cell, expected):
    assert sheet_rows.parse_population(cell) == expected


def test_a_malformed_population_refuses_the_row_naming_the_column():
    _, problems, _ = station(population_served="约一万", planned_on="2021-01-01")
    assert "population_served" in problems and "malformed population" in problems["population_served"][0]
    _, problems, _ = station(population_served="12.5", planned_on="2021-01-01")
    assert "population_served" in problems


def test_codes_and_phones_typed_as_numbers_are_read_as_their_digits():
    item, problems, _ = station(division_code=340102001.0, planned_on="2021-01-01")
    assert not problems and item["division_code"] == "340102001"
    item, problems, _ = sheet_rows.staff_row({"station_id": "340102001-01", "person_name": "王站长",
                                              "role": "站长", "phone": 13912345678}, TODAY)
    assert not problems and item["phone"] == "13912345678" and item["role"] == "head"


def test_every_reason_of_a_bad_row_is_given():
    _, problems, _ = station(population_served="很多", planned_on="2025-01-01", built_on="2024-01-01",
                             opened_on="2099-01-01")
    assert set(problems) == {"population_served", "built_on", "opened_on"}
    assert "before 规划日期" in problems["built_on"][0] and "future" in problems["opened_on"][0]


def test_words_for_roles_certifications_and_rooms():
    item, problems, _ = sheet_rows.staff_row({"station_id": "340102001-01", "person_name": "李社工",
                                              "role": "驻站社工", "certification": "助理社会工作师"}, TODAY)
    assert not problems and (item["role"], item["certification"]) == ("resident", "junior")
    _, problems, _ = sheet_rows.staff_row({"station_id": "340102001-01", "person_name": "李社工",
                                           "role": "局长"}, TODAY)
    assert "站长" in problems["role"][0]   # the message lists the words accepted
    item, problems, _ = sheet_rows.room_row({"station_id": "340102001-01", "room_kind": "微站点",
                                             "room_name": "和平村微站点", "village": "和平村"}, TODAY)
    assert not problems and item["room_kind"] == "micro_site"


# ---- dated histories ----

def steps(**dates):
    dates = {f: dates.get(f) for f in sheet_history.DATE_FIELDS}
    for f in sheet_history.LIST_FIELDS:
        dates[f] = dates[f] or []
    return sheet_history.steps_from_dates(dates, None, TODAY)


def test_dates_make_the_lifecycle_path_with_suspensions_in_turn():
    found, problems, notes = steps(planned_on=D(2020, 3, 1), built_on=D(2020, 9, 1), opened_on=D(2021, 1, 5),
                                   suspended_on=[D(2023, 1, 1), D(2022, 1, 1)], resumed_on=[D(2022, 6, 1)],
                                   closed_on=D(2024, 1, 1))
    assert not problems and not notes
    assert found == [("planned", "2020-03-01"), ("built", "2020-09-01"), ("operating", "2021-01-05"),
                     ("suspended", "2022-01-01"), ("operating", "2022-06-01"),
                     ("suspended", "2023-01-01"), ("closed", "2024-01-01")]


def test_blank_planned_and_built_dates_are_inferred_and_noted():
    found, problems, notes = steps(opened_on=D(2021, 6, 1))
    assert not problems
    assert found == [("planned", "2021-06-01"), ("built", "2021-06-01"), ("operating", "2021-06-01")]
    assert len(notes) == 2 and "建成日期 blank" in notes[0]


def test_a_history_out_of_order_in_the_future_or_without_dates_is_refused():
    assert "planned_on" in steps()[1]
    assert "closed_on" in steps(planned_on=D(2021, 1, 1), closed_on=D(2020, 1, 1))[1]
    assert "future" in steps(planned_on=D(2026, 11, 23))[1]["planned_on"][0]
    assert "suspended_on" in steps(planned_on=D(2021, 1, 1), suspended_on=[D(2022, 1, 1)])[1]
    assert "resumed_on" in steps(planned_on=D(2021, 1, 1), opened_on=D(2021, 2, 1),
                                 resumed_on=[D(2022, 1, 1)])[1]


def test_the_status_column_must_be_where_the_dates_end():
    _, problems, _ = station(planned_on="2021-01-01", built_on="2021-05-01", status="运营中")
    assert "built" not in problems["status"][0] and "已建成" in problems["status"][0]
    item, problems, _ = station(planned_on="2021-01-01", built_on="2021-05-01", status="已建成")
    assert not problems and item["steps"][-1] == ("built", "2021-05-01")


def test_a_history_round_trips_through_its_dates():
    history = [{"status": s, "on": on} for s, on in [
        ("planned", "2020-03-01"), ("built", "2020-09-01"), ("operating", "2021-01-05"),
        ("suspended", "2022-01-01"), ("operating", "2022-06-01"), ("suspended", "2023-01-01")]]
    dates = {k: (D.fromisoformat(v) if isinstance(v, str) else [D.fromisoformat(x) for x in v]
                 if v else ([] if k in sheet_history.LIST_FIELDS else None))
             for k, v in sheet_history.dates_of(history).items()}
    found, problems, notes = sheet_history.steps_from_dates(dates, "suspended", TODAY)
    assert not problems and not notes and found == [(h["status"], h["on"]) for h in history]


def test_a_sheet_history_extends_lies_behind_or_differs_from_the_registrys():
    stored = [{"status": "planned", "on": "2020-03-01"}, {"status": "built", "on": "2020-09-01"}]
    sheet = [("planned", "2020-03-01"), ("built", "2020-09-01")]
    assert sheet_history.compare(stored, sheet) == (sheet_history.SAME, None)
    assert sheet_history.compare(stored, sheet + [("operating", "2021-01-01")]) == (sheet_history.EXTENDS, 2)
    verdict, at = sheet_history.compare(stored, sheet[:1])
    assert verdict == sheet_history.BEHIND
    assert "backwards" in sheet_history.refusal(verdict, at, stored, sheet[:1])
    moved = [("planned", "2020-03-01"), ("built", "2020-08-01")]
    verdict, at = sheet_history.compare(stored, moved)
    assert verdict == sheet_history.DIFFERS and "2020-08-01" in sheet_history.refusal(verdict, at, stored, moved)


# ---- files ----

def upload(content, name=None, content_type=None):
    if isinstance(content, str):
        content = content.encode("utf-8")
    return {"content": base64.b64encode(content).decode("ascii"), "filename": name,
            "content_type": content_type}


def workbook(**sheets):
    from openpyxl import Workbook

    book = Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_a_workbook_has_its_sheets_found_by_headings_a_title_row_and_a_notes_page_aside():
    content = workbook(
        说明=[["填表说明：每行一个站点"]],
        人员=[["站点编号", "姓名", "岗位"], ["340102001-01", "王站长", "站长"]],
        合肥市社工站台账=[["合肥市社工站台账（2024年）"], [], ["站点名称", "乡镇代码", "建成日期"],
                          ["明光路街道社工站", 340102001, datetime.datetime(2021, 5, 1)]])
    sheets, ignored = sheet_files.read([upload(content, "合肥.xlsx")])
    assert [(s.kind, s.label) for s in sheets] == [("staff", "合肥.xlsx / 人员"),
                                                   ("station", "合肥.xlsx / 合肥市社工站台账")]
    stations_sheet = sheets[1]
    assert stations_sheet.rows == [(4, {"name": "明光路街道社工站", "division_code": 340102001,
                                        "built_on": datetime.datetime(2021, 5, 1)})]
    assert ignored == [{"sheet": "合肥.xlsx / 说明", "reason": "no station, staff or room headings"}]


def test_csv_files_in_utf8_or_gbk_and_what_is_refused():
    text = "站点名称,乡镇代码\n明光路街道社工站,340102001\n"
    for encoded in (("\ufeff" + text).encode("utf-8"), text.encode("gb18030")):
        sheets, _ = sheet_files.read([upload(encoded, "s.csv", "text/csv")])
        assert sheets[0].rows[0][1]["name"] == "明光路街道社工站"
    with pytest.raises(InvalidInput) as err:
        sheet_files.read([upload("姓名,电话\n王,1\n", "people.csv")])
    assert "people.csv" in err.value.message and "file" in err.value.fields
    with pytest.raises(InvalidInput) as err:
        sheet_files.read([upload("姓名,岗位\n王,站长\n", "staff.csv")])
    assert err.value.details["missing_columns"]
    with pytest.raises(InvalidInput):
        sheet_files.read([upload(b"PK\x03\x04broken", "x.xlsx")])
    with pytest.raises(InvalidInput):
        sheet_files.read([])


def test_too_many_rows_is_a_413(monkeypatch):
    monkeypatch.setattr(sheet_files, "MAX_ROWS", 3)
    rows = "".join(f"站{i}号,340102001\n" for i in range(4))
    with pytest.raises(PayloadTooLarge):
        sheet_files.read([upload("站点名称,乡镇代码\n" + rows, "s.csv")])


def test_docs_list_every_heading_and_word_the_import_accepts():
    import os

    path = os.path.join(os.path.dirname(__file__), "..", "..", "docs", "station-sheets.md")
    with open(path, encoding="utf-8") as fh:
        docs = fh.read()
    for kind in sheet_format.KINDS:
        for column in sheet_format.COLUMNS[kind]:
            for heading in column.headings:
                assert heading in docs, (kind, heading)
    for words in (sheet_format.STATUS_WORDS, sheet_format.ROLE_WORDS, sheet_format.CERTIFICATION_WORDS,
                  sheet_format.ROOM_KIND_WORDS):
        for names in words.values():
            assert all(name in docs for name in names), names
