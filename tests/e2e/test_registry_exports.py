"""Every list the registry answers, downloaded as CSV and Excel: masked by role, and the
station, staff and room sheets import back with every row unchanged."""
import csv
import io

import openpyxl
import pytest

pytestmark = pytest.mark.e2e

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def ok(response, status=200):
    assert response.status_code == status, response.text
    return response.json()


def station(client, unit, name, population, steps, **extra):
    created = ok(client.post("/api/v1/stations", json={
        "division_code": unit["code"], "name": name, "population_served": population,
        "planned_on": steps[0], **extra}), 201)
    for to, on in zip(("built", "operating", "suspended", "operating", "closed"), steps[1:]):
        ok(client.post(f"/api/v1/stations/{created['id']}/transitions", json={"to": to, "on": on}))
    return created["id"]


@pytest.fixture(scope="module")
def county_with_stations(api, units):
    """A county whose stations were made through the API, as officers do by hand."""
    county, townships = units.county(at_least=3)
    a, b, c = townships[:3]
    admin = api("province_admin", "34")
    first = station(admin, a, f"{a['name']}社工站", 32000,
                    ["2020-01-10", "2020-06-01", "2020-09-01", "2022-01-01", "2022-05-01"],
                    address="便民服务中心二楼",
                    operator={"name": "阳光社会工作服务中心", "credit_code": "52340100MJB123456X",
                              "contract_start": "2020-01-01", "contract_end": "2025-12-31"})
    second = station(admin, a, f"{a['name']}第二社工站", 15000, ["2021-03-01"],
                     second_station_reason="常住人口九万，设两站")
    closed = station(admin, b, f"{b['name']}社工站", 8000,
                     ["2019-05-01", "2019-10-01", "2020-01-01", "2023-02-01", "2023-08-01", "2024-01-15"])
    built = station(admin, c, f"{c['name']}社工站", 12000, ["2021-02-01", "2021-08-01"])
    for role, name, phone, cert in (("head", "王站长", "13912345678", "intermediate"),
                                    ("resident", "李社工", None, "none")):
        body = {"role": role, "name": name, "certification": cert, **({"phone": phone} if phone else {})}
        ok(admin.post(f"/api/v1/stations/{first}/staff", json=body), 201)
    villages = ok(admin.get(f"/api/v1/divisions?parent={a['code']}&per_page=2"))["items"]
    if villages:
        ok(admin.post(f"/api/v1/stations/{first}/rooms", json={
            "kind": "room", "name": "一号社工室", "village_code": villages[0]["code"],
            "address": "村委会一楼", "opened_on": "2021-01-01"}), 201)
    ok(admin.patch(f"/api/v1/stations/{first}/checklist", json={
        "premises": {"state": "met", "note": "200平方米", "attested_on": "2024-05-01"}}))
    return county, {"first": first, "second": second, "closed": closed, "built": built}


def csv_rows(response):
    assert response.status_code == 200, response.text
    assert response.content.startswith(b"\xef\xbb\xbf")   # UTF-8 with BOM
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


def test_exported_sheets_import_back_with_every_row_unchanged(api, county_with_stations):
    county, ids = county_with_stations
    officer = api("county_officer", county)
    stations_csv = officer.get(f"/api/v1/stations/export?region={county}")
    header, *rows = csv_rows(stations_csv)
    assert header[:6] == ["站点编号", "所属地市", "所属县区", "所属乡镇", "乡镇代码", "站点名称"]
    exported = {row[0]: dict(zip(header, row)) for row in rows}
    assert exported[ids["closed"]]["暂停日期"] == "2023-02-01" and exported[ids["closed"]]["状态"] == "已关闭"
    assert exported[ids["first"]]["恢复运营日期"] == "2022-05-01"
    assert exported[ids["first"]]["运营机构统一社会信用代码"] == "52340100MJB123456X"

    downloads = {}
    for kind, path in (("stations", "/stations/export"), ("staff", "/stations/staff/export"),
                       ("rooms", "/stations/rooms/export")):
        for fmt in ("csv", "xlsx"):
            response = officer.get(f"/api/v1{path}?region={county}&format={fmt}")
            assert response.status_code == 200, response.text
            downloads[kind, fmt] = (f"{kind}.{fmt}", response.content, XLSX if fmt == "xlsx" else "text/csv")
    # Every sheet as CSV, then every sheet as Excel: each set imports back unchanged.
    for fmt in ("csv", "xlsx"):
        files = [("file", downloads[kind, fmt]) for kind in ("stations", "staff", "rooms")]
        report = ok(officer.post("/api/v1/stations/import", files=files))
        assert report["by_kind"]["station"]["unchanged"] == len(rows) == 4
        assert report["by_kind"]["staff"]["unchanged"] == 2
        assert {r["status"] for r in report["rows"]} == {"unchanged"}, [
            r for r in report["rows"] if r["status"] != "unchanged"]


def test_staff_exports_are_masked_for_auditors(api, county_with_stations):
    county, _ = county_with_stations
    header, *rows = csv_rows(api("auditor", county).get(f"/api/v1/stations/staff/export?region={county}"))
    people = {row[header.index("姓名")]: row[header.index("手机号")] for row in rows}
    assert people["王*长"] == "139****5678" and "王站长" not in people
    header, *rows = csv_rows(api("county_officer", county).get(f"/api/v1/stations/staff/export?region={county}"))
    assert {row[header.index("姓名")] for row in rows} == {"王站长", "李社工"}


def test_coverage_checklists_and_staffing_gaps_export(api, county_with_stations):
    county, ids = county_with_stations
    officer = api("county_officer", county)
    response = officer.get(f"/api/v1/coverage/export?region={county}&as_of=2020-12-31&format=xlsx")
    assert response.status_code == 200 and response.headers["Content-Type"] == XLSX
    sheet = list(openpyxl.load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True))
    assert sheet[0][:5] == ("区划代码", "名称", "乡镇(街道)数", "有站点", "有运营站点")
    total = sheet[1]
    # On 2020-12-31: the first station and the one closed since were operating.
    assert (total[0], total[3], total[4], total[8]) == (county, 2, 2, "2020-12-31")

    header, *rows = csv_rows(officer.get(f"/api/v1/stations/checklists/export?region={county}"))
    first = dict(zip(header, next(r for r in rows if r[0] == ids["first"])))
    assert (first["有场所"], first["有场所核验日期"], first["有设备"], first["满足项数"]) == (
        "已满足", "2024-05-01", "未满足", "1")

    header, *rows = csv_rows(officer.get(f"/api/v1/staffing-gaps/export?region={county}"))
    gaps = {row[0]: dict(zip(header, row)) for row in rows}
    assert ids["closed"] not in gaps and ids["second"] not in gaps   # closed and planned: no gap
    assert (gaps[ids["first"]]["缺督导"], gaps[ids["first"]]["缺驻站社工"]) == ("1", "1")
