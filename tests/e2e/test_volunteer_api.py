"""Volunteer service as officers use it: over HTTP through the gateway, against
the real services, broker and Mongo-wire server."""
import csv
import datetime
import io
import itertools

import pytest

from services.volunteer.id_numbers import id_check_character
from tests.fixtures import wait_for

pytestmark = pytest.mark.e2e

_SEQ = itertools.count(1)


def id_number(born):
    # Region 340104 is this file's own lane: integration tests use 340102.
    first17 = f"340104{born:%Y%m%d}{next(_SEQ):03d}"
    return first17 + id_check_character(first17)


def ok(response, status=200):
    assert response.status_code == status, response.text
    return response.json()


def open_station(admin, unit):
    station = ok(admin.post("/api/v1/stations", json={
        "division_code": unit["code"], "name": f"{unit['name']}社工站", "planned_on": "2025-09-01"}), 201)
    for to, on in (("built", "2025-12-01"), ("operating", "2026-03-01")):
        ok(admin.post(f"/api/v1/stations/{station['id']}/transitions", json={"to": to, "on": on}))
    return station


def create_team_when_station_known(client, station_id, name, kind="general"):
    """The volunteer service learns of the station from the registry's events."""
    def attempt():
        response = client.post("/api/v1/teams", json={"station_id": station_id, "name": name, "kind": kind})
        if response.status_code == 404:
            return None
        return ok(response, 201)

    return wait_for(attempt, timeout=20, message="the volunteer service to know the station")


def test_from_registration_to_a_publicly_verified_certificate(api, units):
    county, townships = units.county()
    unit = townships[0]
    admin = api("province_admin", "34")
    staff = api("station_staff", unit["code"])
    officer = api("county_officer", county)
    auditor = api("auditor", county[:4])
    station = open_station(admin, unit)
    team = create_team_when_station_known(staff, station["id"], "阳光志愿服务队")
    assert team["division_code"] == unit["code"]

    born = datetime.date(1958, 3, 1)
    number_id = id_number(born)
    registered = staff.post("/api/v1/volunteers", json={
        "name": "张三丰", "id_number": number_id, "phone": "13912345678", "birth_date": born.isoformat(),
        "station_id": station["id"], "skills": ["理发"], "availability": ["weekend_morning"]})
    volunteer = ok(registered, 201)
    assert registered.headers["Location"].endswith(f"/api/v1/volunteers/{volunteer['number']}")
    assert volunteer["id_number_masked"] == number_id[:6] + "********" + number_id[-4:]
    again = staff.post("/api/v1/volunteers", json={
        "name": "张三丰", "id_number": number_id, "phone": "13912345678", "birth_date": born.isoformat(),
        "station_id": station["id"]})
    assert again.status_code == 409
    assert again.json()["error"]["details"]["volunteer_number"] == volunteer["number"]

    silver = create_team_when_station_known(staff, station["id"], "银龄服务队", kind="silver_age")
    ok(staff.post(f"/api/v1/teams/{silver['id']}/members", json={"volunteer_number": volunteer["number"]}), 201)

    activity = ok(staff.post("/api/v1/activities", json={
        "team_id": team["id"], "title": "重阳节敬老", "category": "elderly", "place": "镇敬老院",
        "starts_at": "2026-10-29T08:00:00+08:00", "ends_at": "2026-10-29T17:00:00+08:00",
        "capacity": 30}), 201)

    hours = {"volunteer_number": volunteer["number"], "activity_id": activity["id"],
             "start": "2026-10-29T08:30:00+08:00", "end": "2026-10-29T11:00:00+08:00"}
    first = staff.post("/api/v1/hours", json=hours, headers={"Idempotency-Key": "e2e-row-1"})
    record = ok(first, 201)
    assert (record["minutes"], record["hours"], record["status"]) == (150, "2.50", "recorded")
    replay = staff.post("/api/v1/hours", json=hours, headers={"Idempotency-Key": "e2e-row-1"})
    assert replay.status_code == 201 and replay.json()["id"] == record["id"]
    overlap = staff.post("/api/v1/hours", json=dict(hours, start="2026-10-29T10:00:00+08:00",
                                                    end="2026-10-29T12:00:00+08:00"))
    assert overlap.status_code == 409
    assert overlap.json()["error"]["details"]["conflicting_record"] == record["id"]

    # The auditor may look but not approve; the county officer approves.
    assert auditor.post(f"/api/v1/hours/{record['id']}/approve").status_code == 403
    approved = ok(officer.post(f"/api/v1/hours/{record['id']}/approve", json={"note": "签到表核对"}))
    assert approved["status"] == "approved"

    totals = wait_for(lambda: (t := ok(officer.get(f"/api/v1/hours/totals?region={county}")))["minutes"] == 150
                      and t, message="county totals")
    assert totals["volunteers"] == 1 and totals["hours"] == "2.50"
    assert [(c["code"], c["minutes"]) for c in totals["children"]] == [(unit["code"], 150)]
    # Regions carry their names, learnt from the registry's station events.
    assert totals["name"] == unit["county_name"] and totals["children"][0]["name"] == unit["name"]
    station_totals = ok(staff.get(f"/api/v1/hours/totals?station_id={station['id']}"))
    assert station_totals["children"][0]["name"] == "阳光志愿服务队"

    issued = staff.post("/api/v1/certificates", json={"volunteer_number": volunteer["number"],
                                                      "from": "2026-10-01", "to": "2026-10-31"})
    certificate = ok(issued, 201)
    assert certificate["total_hours"] == "2.50" and certificate["name"] == "张三丰"
    assert [a["title"] for a in certificate["activities"]] == ["重阳节敬老"]

    anyone = api()
    public = ok(anyone.get(f"/api/v1/public/certificates/{certificate['number']}"))
    assert public == {"number": certificate["number"], "name": "张*丰", "from": "2026-10-01",
                      "to": "2026-10-31", "total_minutes": 150, "total_hours": "2.50",
                      "issued_at": certificate["issued_at"], "station_name": station["name"]}
    assert anyone.get("/api/v1/public/certificates/ZYZM-2026-99999999").status_code == 404
    assert anyone.get(f"/api/v1/certificates/{certificate['number']}").status_code == 401

    # Exports for an auditor: files that open, with personal data masked.
    exported = auditor.get(f"/api/v1/volunteers/export?format=csv&region={county}")
    assert exported.status_code == 200 and "attachment" in exported.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert rows[0][:4] == ["志愿者编号", "姓名", "身份证号(脱敏)", "手机号"]
    assert rows[1][:4] == [volunteer["number"], "张*丰", volunteer["id_number_masked"], "139****5678"]
    assert number_id not in exported.content.decode("utf-8-sig") and "张三丰" not in exported.text

    from openpyxl import load_workbook

    workbook = auditor.get(f"/api/v1/hours/export?format=xlsx&region={county}")
    assert workbook.status_code == 200
    sheet = load_workbook(io.BytesIO(workbook.content)).active
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    header = values[0]
    row = dict(zip(header, values[1]))
    assert len(values) == 2
    assert (row["记录编号"], row["姓名"], row["时长(分钟)"], row["状态"]) == (record["id"], "张*丰", 150, "已审核")
    assert row["开始时间(北京时间)"] == "2026-10-29 08:30"


def test_an_import_through_the_gateway_reports_each_row(api, units):
    unit = units.township()
    admin = api("province_admin", "34")
    staff = api("station_staff", unit["code"])
    station = open_station(admin, unit)
    team = create_team_when_station_known(staff, station["id"], "社区志愿服务队")
    activity = ok(staff.post("/api/v1/activities", json={
        "team_id": team["id"], "title": "垃圾分类", "category": "environment", "place": "小区广场",
        "starts_at": "2026-11-01T08:00:00+08:00", "ends_at": "2026-11-01T12:00:00+08:00",
        "capacity": 10}), 201)
    born = datetime.date(1999, 9, 9)
    volunteer = ok(staff.post("/api/v1/volunteers", json={
        "name": "王小五", "id_number": id_number(born), "phone": "13500000000",
        "birth_date": born.isoformat(), "station_id": station["id"]}), 201)["number"]
    sheet = (f"志愿者编号,活动编号,开始时间,结束时间,备注\n"
             f"{volunteer},{activity['id']},2026-11-01 08:00,2026-11-01 10:00,\n"
             f"{volunteer},{activity['id']},2026-11-01 09:00,2026-11-01 11:00,重复\n").encode("utf-8")
    report = ok(staff.post("/api/v1/hours/import", data=sheet, headers={"Content-Type": "text/csv"}))
    assert (report["accepted"], report["rejected"]) == (1, 1)
    assert report["rows"][1]["row"] == 3 and report["rows"][1]["conflicting_record"] == report["rows"][0]["record_id"]
    multipart = staff.post("/api/v1/hours/import", files={"file": ("hours.csv", b"name,start\nx,y\n", "text/csv")})
    assert multipart.status_code == 400 and "file" in multipart.json()["error"]["fields"]
    listed = ok(staff.get(f"/api/v1/hours?activity_id={activity['id']}&status=recorded"))
    assert [r["id"] for r in listed["items"]] == [report["rows"][0]["record_id"]]
    batch = ok(staff.post("/api/v1/hours/approvals", json={"ids": [report["rows"][0]["record_id"]]}))
    assert batch == {"approved": [report["rows"][0]["record_id"]], "refused": []}
