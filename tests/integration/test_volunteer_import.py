"""Bulk import of hour records as officers keep them: every row accepted or
rejected with its reason, good rows recorded even when others fail."""
import base64
import datetime
import io

import pytest

from services.common.errors import InvalidInput
from services.common.errors import PayloadTooLarge
from tests.integration.test_volunteer_support import ADMIN, Scene, id_number

pytestmark = pytest.mark.integration


def upload(content, content_type="text/csv; charset=utf-8", filename=None):
    return {"content": base64.b64encode(content).decode("ascii"), "content_type": content_type,
            "filename": filename}


def test_a_csv_sheet_with_good_and_bad_rows(platform, cluster, units, mongo_client):
    scene = Scene(cluster, units.township())
    activity = scene.activity["id"]
    first = scene.volunteer()["number"]
    born = datetime.date(1962, 7, 1)
    by_id = id_number(born)
    second = cluster.volunteer.register_volunteer(
        {"name": "李四", "id_number": by_id, "phone": "13800001234", "birth_date": born.isoformat(),
         "station_id": scene.station["id"]}, caller=ADMIN)["number"]
    unknown_id = id_number(datetime.date(1970, 1, 1))
    sheet = "\n".join([
        "志愿者编号,身份证号,活动编号,开始时间,结束时间,备注",
        f"{first},,{activity},2026-10-10 08:00,2026-10-10 10:00,上午",           # 2 good
        f",{by_id},{activity},2026/10/10 9:00,2026/10/10 11:30,",                  # 3 good, by ID number
        f"V34010299999999,,{activity},2026-10-10 08:00,2026-10-10 09:00,",        # 4 not registered
        f"{first},,{activity},2026-10-10 09:30,2026-10-10 11:00,重复",             # 5 overlaps row 2
        f"{first},,{activity},2026-10-10 05:00,2026-10-10 07:00,",                # 6 outside the window
        f"{first},,{activity},yesterday,2026-10-10 12:00,",                       # 7 not a time
        ",,,,,",                                                                  # 8 empty: skipped
        f"{first},,Anosuchactivity,2026-10-10 13:00,2026-10-10 14:00,",           # 9 no such activity
        f",{unknown_id},{activity},2026-10-10 13:00,2026-10-10 14:00,",           # 10 ID not registered
        f"{first},,{activity},2026-10-10T05:00:00Z,2026-10-10T06:00:00Z,",        # 11 good (13:00-14:00 China)
    ]).encode("utf-8-sig")
    report = cluster.volunteer.import_hours(upload(sheet), caller=ADMIN)

    assert (report["rows_read"], report["accepted"], report["rejected"]) == (9, 3, 6)
    rows = {r["row"]: r for r in report["rows"]}
    assert sorted(rows) == [2, 3, 4, 5, 6, 7, 9, 10, 11]
    assert {n for n, r in rows.items() if r["status"] == "accepted"} == {2, 3, 11}
    assert "not a registered volunteer" in rows[4]["fields"]["volunteer_number"]
    assert rows[5]["conflicting_record"] == rows[2]["record_id"]
    assert "window" in rows[6]["reason"]
    assert "start" in rows[7]["fields"]
    assert rows[9]["fields"] == {"activity_id": ["not found"]}
    assert rows[10]["fields"] == {"id_number": ["not registered"]}
    assert unknown_id not in str(report) and by_id not in str(report)

    db = platform.db(mongo_client, "volunteer")
    stored = {r["_id"]: r for r in db.hours.find({"activity_id": activity})}
    assert set(stored) == {rows[n]["record_id"] for n in (2, 3, 11)}
    assert stored[rows[3]["record_id"]]["volunteer_number"] == second
    assert stored[rows[2]["record_id"]]["minutes"] == 120
    assert stored[rows[2]["record_id"]]["note"] == "上午"
    assert all(r["source"] == "import" and r["status"] == "recorded" for r in stored.values())


def test_a_row_with_a_time_outside_the_years_is_rejected_and_the_others_recorded(platform, cluster, units,
                                                                               mongo_client):
    scene = Scene(cluster, units.township())
    activity = scene.activity["id"]
    volunteer = scene.volunteer()["number"]
    sheet = "\n".join([
        "volunteer_number,activity_id,start,end",
        f"{volunteer},{activity},2026-10-10 08:00,2026-10-10 09:00",                   # 2 good
        f"{volunteer},{activity},0001-01-01T06:00+08:00,2026-10-10 10:00",             # 3 year 1
        f"{volunteer},{activity},2026-10-10 10:00,9999-12-31 23:59",                   # 4 year 9999
        f"{volunteer},{activity},2026-10-10 11:00,2026-10-10 12:00",                   # 5 good
    ]).encode()
    report = cluster.volunteer.import_hours(upload(sheet), caller=ADMIN)
    assert (report["rows_read"], report["accepted"], report["rejected"]) == (4, 2, 2)
    rows = {r["row"]: r for r in report["rows"]}
    assert rows[3]["fields"] == {"start": ["must lie in the years 2000-2100"]} and "start" in rows[3]["reason"]
    assert rows[4]["fields"] == {"end": ["must lie in the years 2000-2100"]}
    db = platform.db(mongo_client, "volunteer")
    assert {r["_id"] for r in db.hours.find({"activity_id": activity})} == \
        {rows[2]["record_id"], rows[5]["record_id"]}


def test_an_excel_sheet_with_date_cells(cluster, units):
    from openpyxl import Workbook

    scene = Scene(cluster, units.township())
    volunteer = scene.volunteer()["number"]
    book = Workbook()
    sheet = book.active
    sheet.append(["volunteer_number", "activity_id", "start", "end", "note"])
    sheet.append([volunteer, scene.activity["id"], datetime.datetime(2026, 10, 10, 8, 0),
                  datetime.datetime(2026, 10, 10, 9, 15), "excel"])
    sheet.append([volunteer, scene.activity["id"], datetime.datetime(2026, 10, 10, 9, 0),
                  datetime.datetime(2026, 10, 10, 10, 0), "overlaps"])
    buffer = io.BytesIO()
    book.save(buffer)
    report = cluster.volunteer.import_hours(
        upload(buffer.getvalue(), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        caller=ADMIN)
    assert (report["accepted"], report["rejected"]) == (1, 1)
    record = cluster.volunteer.get_hours(report["rows"][0]["record_id"], caller=ADMIN)
    # Naive cells are China time.
    assert (record["start"], record["minutes"]) == ("2026-10-10T00:00:00Z", 75)


def test_a_sheet_in_gbk_as_excel_saves_it(cluster, units):
    scene = Scene(cluster, units.township())
    volunteer = scene.volunteer()["number"]
    sheet = ("志愿者编号,活动编号,开始时间,结束时间,备注\r\n"
             f"{volunteer},{scene.activity['id']},2026-10-10 08:00,2026-10-10 09:00,陪老人聊天\r\n")
    report = cluster.volunteer.import_hours(upload(sheet.encode("gbk"), "text/csv"), caller=ADMIN)
    assert report["accepted"] == 1
    assert cluster.volunteer.get_hours(report["rows"][0]["record_id"], caller=ADMIN)["note"] == "陪老人聊天"


def test_missing_columns_unreadable_files_and_too_many_rows_are_refused(cluster):
    with pytest.raises(InvalidInput) as missing:
        cluster.volunteer.import_hours(upload("志愿者编号,开始时间\nV34010200000001,2026-10-10 08:00\n"
                                              .encode("utf-8")), caller=ADMIN)
    assert missing.value.details["missing_columns"] == ["activity_id", "end"]
    assert "activity_id" in missing.value.message
    with pytest.raises(InvalidInput) as broken:
        cluster.volunteer.import_hours(upload(b"PK\x03\x04 not really a workbook",
                                              "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
                                       caller=ADMIN)
    assert "file" in broken.value.fields
    rows = ["volunteer_number,activity_id,start,end"] + \
        ["V34010200000001,A1,2026-10-10 08:00,2026-10-10 09:00"] * 5001
    with pytest.raises(PayloadTooLarge) as large:
        cluster.volunteer.import_hours(upload("\n".join(rows).encode()), caller=ADMIN)
    assert large.value.status == 413


def test_the_same_sheet_with_one_key_is_imported_once(cluster, units):
    scene = Scene(cluster, units.township())
    volunteer = scene.volunteer()["number"]
    sheet = (f"volunteer_number,activity_id,start,end\n"
             f"{volunteer},{scene.activity['id']},2026-10-10 08:00,2026-10-10 09:00\n").encode()
    first = cluster.volunteer.import_hours(upload(sheet), caller=ADMIN, idempotency_key="import-1")
    again = cluster.volunteer.import_hours(upload(sheet), caller=ADMIN, idempotency_key="import-1")
    assert first == again and first["accepted"] == 1
    # Without the key, the same rows are refused as overlapping what is recorded.
    third = cluster.volunteer.import_hours(upload(sheet), caller=ADMIN)
    assert third["rows"][0]["conflicting_record"] == first["rows"][0]["record_id"]
