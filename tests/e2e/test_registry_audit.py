"""Staff names and phones shown unmasked are in the registry's audit trail with their
reader; a masked (auditor's) read, or an answer without staff, writes no entry."""
import pytest

pytestmark = pytest.mark.e2e


def ok(response, status=200):
    assert response.status_code == status, response.text
    return response.json()


def test_an_officers_read_of_a_station_with_staff_is_audited_an_auditors_is_not(api, units):
    unit = units.township()
    county = unit["areaCode"]
    admin = api("province_admin", "34")
    station = ok(admin.post("/api/v1/stations", json={"division_code": unit["code"],
                                                      "name": f"{unit['name']}社工站"}), 201)
    head = ok(admin.post(f"/api/v1/stations/{station['id']}/staff",
                         json={"role": "head", "name": "孙站长", "phone": "13712345678"}), 201)
    officer = api("county_officer", county, sub="officer-sun")
    auditor = api("auditor", county, sub="auditor-qian")

    def reads():
        trail = ok(auditor.get(f"/api/v1/audit/registry?record={head['id']}&kind=personal_data_read"))
        return [(e["actor"]["sub"], e["action"], e["records"][0]["type"]) for e in trail["items"]][::-1]

    assert reads() == []
    masked = ok(auditor.get(f"/api/v1/stations/{station['id']}"))
    assert masked["staff"][0]["name"] == "孙*长" and reads() == []
    assert auditor.get(f"/api/v1/stations/staff/export?region={unit['code']}").status_code == 200
    ok(auditor.get(f"/api/v1/stations/{station['id']}/staff"))
    ok(auditor.get(f"/api/v1/stations?region={unit['code']}"))
    assert reads() == []

    shown = ok(officer.get(f"/api/v1/stations/{station['id']}"))
    assert shown["staff"][0]["phone"] == "13712345678"
    assert reads() == [("officer-sun", "get_station", "station_staff")]
    [entry] = ok(auditor.get(f"/api/v1/audit/registry?record={head['id']}&kind=personal_data_read"))["items"]
    assert entry["actor"] == {"sub": "officer-sun", "role": "county_officer", "region": county}
    assert unit["code"] in entry["regions"] and entry["address"] == "127.0.0.1"

    # The checklist and rooms show no one: no entry. The list, the staff and its export do.
    ok(officer.get(f"/api/v1/stations/{station['id']}/checklist"))
    ok(officer.get(f"/api/v1/stations/{station['id']}/rooms"))
    assert len(reads()) == 1
    ok(officer.get(f"/api/v1/stations?region={unit['code']}"))
    ok(officer.get(f"/api/v1/stations/{station['id']}/staff"))
    assert officer.get(f"/api/v1/stations/staff/export?region={unit['code']}").status_code == 200
    assert [action for _, action, _ in reads()] == ["get_station", "list_stations", "get_station",
                                                    "export_staff"]
