"""The audit trail as auditors read it: every change with who, from where and which
request, kept by the service that owns the data, scoped to the reader's region."""
import openpyxl
import io

import pytest

pytestmark = pytest.mark.e2e


def test_a_change_is_in_its_services_audit_trail_with_who_where_and_which_request(api, units):
    unit = units.township()
    county = unit["areaCode"]
    officer = api("county_officer", county, sub="officer-zhang")
    created = officer.post("/api/v1/stations", json={"division_code": unit["code"],
                                                     "name": f"{unit['name']}社工站"},
                           headers={"X-Request-Id": "audit-req-1"})
    assert created.status_code == 201, created.text
    station_id = created.json()["id"]

    auditor = api("auditor", county)
    trail = auditor.get(f"/api/v1/audit/registry?record={station_id}")
    assert trail.status_code == 200, trail.text
    [entry] = trail.json()["items"]
    assert entry["kind"] == "change" and entry["action"] == "create_station"
    assert entry["actor"] == {"sub": "officer-zhang", "role": "county_officer", "region": county}
    assert entry["request_id"] == "audit-req-1" and entry["address"] == "127.0.0.1"
    assert entry["records"] == [{"type": "wushe.registry.station.created.v1", "id": station_id}]
    assert county in entry["regions"] and entry["at"].endswith("Z")

    # The same question from another county's auditor finds nothing of it.
    other = api("auditor", "341881" if not county.startswith("3418") else "340102")
    assert other.get(f"/api/v1/audit/registry?record={station_id}").json()["total"] == 0
    # Officers change things; they do not read the trail.
    assert officer.get("/api/v1/audit/registry").status_code == 403

    export = auditor.get(f"/api/v1/audit/registry/export?record={station_id}&format=xlsx")
    assert export.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(export.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "时间 (UTC)" and len(rows) == 2 and rows[1][4] == "officer-zhang"


def test_an_unknown_service_is_a_400_naming_it(api):
    response = api("province_admin", "34").get("/api/v1/audit/nosuch")
    assert response.status_code == 400 and "service" in response.json()["error"]["fields"]


def test_an_unmasked_read_of_a_volunteer_is_audited_with_its_reader_a_masked_one_is_not(api, units):
    from tests.e2e.test_volunteer_api import id_number, ok, open_station
    from tests.fixtures import wait_for
    import datetime

    unit = units.township()
    county = unit["areaCode"]
    admin = api("province_admin", "34")
    station = open_station(admin, unit)
    officer = api("county_officer", county, sub="officer-li")

    def register():
        response = officer.post("/api/v1/volunteers", json={
            "name": "赵敏", "id_number": id_number(datetime.date(1991, 2, 3)),
            "phone": "13700001111", "birth_date": "1991-02-03", "station_id": station["id"]})
        return None if response.status_code == 404 else ok(response, 201)

    number = wait_for(register, timeout=20, message="the volunteer service to know the station")["number"]
    auditor = api("auditor", county)

    def reads():
        trail = ok(auditor.get(f"/api/v1/audit/volunteer?record={number}&kind=personal_data_read"))
        return [(e["actor"]["sub"], e["action"]) for e in trail["items"]]

    assert reads() == []                      # registering showed nothing unmasked to anyone yet
    seen = ok(auditor.get(f"/api/v1/volunteers/{number}"))
    assert seen["name"] == "赵*" and reads() == []   # the auditor's read is masked: no entry
    shown = ok(officer.get(f"/api/v1/volunteers/{number}"))
    assert shown["name"] == "赵敏"
    assert reads() == [("officer-li", "get_volunteer")]
