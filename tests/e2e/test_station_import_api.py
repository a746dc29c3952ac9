"""An officer brings a county's stations in from a workbook over HTTP: template, dry
run, real run, and what a bad file answers."""
import io

import openpyxl
import pytest

pytestmark = pytest.mark.e2e

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def ok(response, status=200):
    assert response.status_code == status, response.text
    return response.json()


def workbook(sheets):
    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_the_template_lists_the_headings_the_import_reads(api):
    officer = api("city_officer", "3401")
    response = officer.get("/api/v1/stations/import/template")
    assert response.status_code == 200 and response.headers["Content-Type"] == XLSX
    header = next(openpyxl.load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True))
    assert {"站点名称", "所属县区", "所属乡镇", "乡镇代码", "建成日期", "运营日期"} <= set(header)
    staff = officer.get("/api/v1/stations/import/template?sheet=staff&format=csv")
    assert staff.status_code == 200 and staff.content.startswith("\ufeff站点编号".encode())
    assert "姓名" in staff.content.decode("utf-8-sig").splitlines()[0]


def test_a_county_officer_imports_a_workbook_dry_run_first(api, units):
    county, townships = units.county(at_least=2)
    a, b = townships[:2]
    officer = api("county_officer", county, sub="officer-import")
    content = workbook({
        "说明": [["本表为示例"]],
        "站点": [["县区社工站台账"],
                 ["站点名称", "所属县区", "所属乡镇", "服务人口", "规划日期", "建成日期", "运营日期", "状态"],
                 [f"{a['name']}社工站", a["county_name"], a["name"], 15000, "2020-05-01", "2020-11-01",
                  "2021-03-01", "运营中"],
                 [f"{b['name']}社工站", a["county_name"], b["name"], 8000, "2021-05-01", None, None, "运营中"]],
        "人员": [["站点名称", "所属乡镇", "姓名", "岗位", "手机号"],
                 [f"{a['name']}社工站", a["name"], "陈站长", "站长", 13812345678]],
    })
    files = {"file": ("县区台账.xlsx", content, XLSX)}
    dry = ok(officer.post("/api/v1/stations/import", files=files))
    assert dry["dry_run"] is True and (dry["new"], dry["refused"]) == (2, 1)
    [refused] = [r for r in dry["rows"] if r["status"] == "refused"]
    assert refused["sheet"] == "县区台账.xlsx / 站点" and refused["row"] == 4
    assert refused["reasons"][0]["column"] == "状态"
    assert dry["ignored_sheets"] == [{"sheet": "县区台账.xlsx / 说明", "reason": "no station, staff or room headings"}]
    assert ok(officer.get(f"/api/v1/stations?region={county}"))["total"] == 0

    real = ok(officer.post("/api/v1/stations/import?dry_run=false", files=files))
    assert (real["dry_run"], real["new"], real["events"]) == (False, 2, 1)
    station = ok(officer.get(f"/api/v1/stations/{a['code']}-01"))
    assert [h["status"] for h in station["history"]] == ["planned", "built", "operating"]
    assert station["staff"][0]["name"] == "陈站长" and station["staff"][0]["phone"] == "13812345678"
    again = ok(officer.post("/api/v1/stations/import?dry_run=false", files=files))
    assert (again["unchanged"], again["new"], again["changed"], again["events"]) == (2, 0, 0, 0)

    # A CSV sheet as the request body works as well.
    body = f"站点名称,乡镇代码,规划日期\n{b['name']}社工站,{b['code']},2021-05-01\n".encode("utf-8")
    csv_report = ok(officer.post("/api/v1/stations/import?dry_run=false", data=body,
                                 headers={"Content-Type": "text/csv"}))
    assert csv_report["new"] == 1 and csv_report["rows"][0]["station_id"] == f"{b['code']}-01"


def test_bad_files_are_400s_naming_the_file_and_auditors_cannot_import(api):
    officer = api("province_admin", "34")
    response = officer.post("/api/v1/stations/import", files={"file": ("人员.csv", "姓名,电话\n王,1\n".encode())})
    assert response.status_code == 400
    error = response.json()["error"]
    assert "file" in error["fields"] and "人员.csv" in error["message"]
    response = officer.post("/api/v1/stations/import", files={"file": ("x.xlsx", b"PK\x03\x04junk", XLSX)})
    assert response.status_code == 400
    assert officer.post("/api/v1/stations/import").status_code == 400
    assert api("auditor", "34").post("/api/v1/stations/import", data=b"a,b\n",
                                     headers={"Content-Type": "text/csv"}).status_code == 403
