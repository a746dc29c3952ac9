"""The registry as officers use it: over HTTP through the gateway, against the
real services, broker and Mongo-wire server."""
import pytest

from tests.fixtures import wait_for

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def admin(api):
    return api("province_admin", "34")


def _open_station(client, unit, population=12_000, planned_on="2025-09-01", built_on="2025-12-01",
                  opened_on="2026-03-01", **extra):
    created = client.post("/api/v1/stations", json={
        "division_code": unit["code"], "name": f"{unit['name']}社工站",
        "population_served": population, "planned_on": planned_on, **extra})
    assert created.status_code == 201, created.text
    station = created.json()
    for to, on in (("built", built_on), ("operating", opened_on)):
        if on is None:
            break
        moved = client.post(f"/api/v1/stations/{station['id']}/transitions", json={"to": to, "on": on})
        assert moved.status_code == 200, moved.text
        station = moved.json()
    return station


def test_station_lifecycle_and_coverage_through_the_gateway(admin, units):
    county, townships = units.county()
    a, b, c = townships[:3]
    created = admin.post("/api/v1/stations", json={"division_code": a["code"], "name": "甲社工站"})
    assert created.status_code == 201
    body = created.json()
    assert body["status"] == "planned" and body["id"]
    assert created.headers["Location"].endswith(f"/api/v1/stations/{body['id']}")

    # planned -> operating skips a step: 409 naming what is allowed.
    wrong = admin.post(f"/api/v1/stations/{body['id']}/transitions", json={"to": "operating", "on": "2026-01-05"})
    assert wrong.status_code == 409
    error = wrong.json()["error"]
    assert error["code"] == "conflict" and "built" in error["message"] and "closed" in error["message"]

    _open_station(admin, b, built_on="2026-02-01", opened_on="2026-04-01")
    built_only = _open_station(admin, c, built_on="2026-02-10", opened_on=None)
    assert built_only["status"] == "built"

    def figures(as_of=None):
        query = f"/api/v1/coverage?region={county}" + (f"&as_of={as_of}" if as_of else "")
        response = admin.get(query)
        assert response.status_code == 200, response.text
        return response.json()

    now = wait_for(lambda: (f := figures())["with_station"] == 2 and f, message="coverage to follow")
    assert now["operating"] == 1
    assert now["units"] >= 3 and now["coverage_rate"] == round(2 / now["units"], 4)
    assert {child["region"] for child in now["children"]} >= {a["code"], b["code"], c["code"]}
    # As of a past date, the station opened in April was only built.
    march = figures("2026-03-01")
    assert (march["with_station"], march["operating"]) == (2, 0)
    assert figures("2025-12-31")["with_station"] == 0
    # The city and province roll up the same units.
    city = admin.get(f"/api/v1/coverage?region={county[:4]}").json()
    assert any(child["region"] == county and child["with_station"] == 2 for child in city["children"])


def test_bad_input_is_a_400_naming_the_field(admin):
    response = admin.post("/api/v1/stations", json={"division_code": "12", "name": ""})
    assert response.status_code == 400
    fields = response.json()["error"]["fields"]
    assert "division_code" in fields and "name" in fields
    response = admin.post("/api/v1/stations", data="{not json", headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    response = admin.get("/api/v1/coverage?region=34&as_of=yesterday")
    assert response.status_code == 400 and "as_of" in response.json()["error"]["fields"]
    response = admin.post("/api/v1/stations", json={"division_code": "349999001", "name": "不存在的乡镇站"})
    assert response.status_code == 404


def test_officers_see_and_change_only_their_region(api, admin, units):
    county, townships = units.county()
    station = _open_station(admin, townships[0])
    own = api("county_officer", county)
    other = api("county_officer", "341881" if not county.startswith("3418") else "340102")

    assert own.get(f"/api/v1/stations/{station['id']}").status_code == 200
    assert other.get(f"/api/v1/stations/{station['id']}").status_code == 403
    assert other.post(f"/api/v1/stations/{station['id']}/transitions",
                      json={"to": "suspended", "on": "2026-06-01"}).status_code == 403
    assert other.get(f"/api/v1/coverage?region={county}").status_code == 403
    listed = other.get("/api/v1/stations?per_page=500").json()
    assert station["id"] not in {s["id"] for s in listed["items"]}

    auditor = api("auditor", "34")
    assert auditor.get(f"/api/v1/stations/{station['id']}").status_code == 200
    assert auditor.patch(f"/api/v1/stations/{station['id']}", json={"name": "改名"}).status_code == 403
    assert api().get("/api/v1/stations").status_code == 401


def test_staff_rule_checklist_rooms_and_masking(api, admin, units):
    unit = units.township()
    station = _open_station(admin, unit, population=25_000)
    sid = station["id"]
    staff = api("station_staff", unit["code"])
    head = staff.post(f"/api/v1/stations/{sid}/staff",
                      json={"role": "head", "name": "王站长", "phone": "13912345678",
                            "certification": "intermediate"})
    assert head.status_code == 201, head.text
    assert staff.post(f"/api/v1/stations/{sid}/staff",
                      json={"role": "head", "name": "第二个站长"}).status_code == 409

    gaps = admin.get(f"/api/v1/staffing-gaps?region={unit['areaCode']}").json()
    gap = next(g for g in gaps["items"] if g["station_id"] == sid)
    # 25,000 people served: a supervisor and two resident workers are still missing.
    assert gap["staffing"]["missing"] == {"supervisor": 1, "resident": 2}

    for role, name in (("supervisor", "赵督导"), ("resident", "李社工"), ("resident", "钱社工")):
        assert staff.post(f"/api/v1/stations/{sid}/staff", json={"role": role, "name": name}).status_code == 201
    gaps = admin.get(f"/api/v1/staffing-gaps?region={unit['areaCode']}").json()
    assert sid not in {g["station_id"] for g in gaps["items"]}

    checklist = staff.patch(f"/api/v1/stations/{sid}/checklist",
                            json={"premises": {"state": "met", "note": "200平方米", "attested_on": "2026-05-01"}})
    assert checklist.status_code == 200, checklist.text
    assert admin.get(f"/api/v1/stations/{sid}/checklist").json()["premises"]["state"] == "met"

    village = unit["code"] + "001"
    room = staff.post(f"/api/v1/stations/{sid}/rooms",
                      json={"kind": "room", "name": "一村社工室", "village_code": village})
    assert room.status_code in (201, 400), room.text   # 400 only if that village code does not exist
    wrong_village = staff.post(f"/api/v1/stations/{sid}/rooms",
                               json={"kind": "room", "name": "外村社工室", "village_code": "340000000001"})
    assert wrong_village.status_code == 400 and "village_code" in wrong_village.json()["error"]["fields"]

    phones = {m["name"]: m["phone"] for m in admin.get(f"/api/v1/stations/{sid}").json()["staff"]}
    assert phones["王站长"] == "13912345678"
    masked = {m["name"]: m["phone"] for m in api("auditor", "34").get(f"/api/v1/stations/{sid}").json()["staff"]}
    assert masked["王*长"] == "139****5678"   # auditors see names and phones masked


def test_second_station_needs_a_reason(admin, units):
    unit = units.township()
    _open_station(admin, unit)
    again = admin.post("/api/v1/stations", json={"division_code": unit["code"], "name": "二站"})
    assert again.status_code == 409
    assert "second_station_reason" in again.json()["error"]["fields"]
    second = admin.post("/api/v1/stations", json={"division_code": unit["code"], "name": "二站",
                                                  "second_station_reason": "大团镇两站：常住人口九万"})
    assert second.status_code == 201 and second.json()["id"].endswith("-02")


def test_divisions_pagination_and_openapi(admin, platform):
    province = admin.get("/api/v1/divisions/34").json()
    assert province["name"] == "安徽省" and province["level"] == "province"
    cities = admin.get("/api/v1/divisions?parent=34&per_page=5&page=2").json()
    assert cities["page"] == 2 and len(cities["items"]) == 5 and cities["total"] == 16
    assert all(c["code"].startswith("34") and len(c["code"]) == 4 for c in cities["items"])

    document = admin.get("/api/v1/openapi.json").json()
    assert document["openapi"].startswith("3.")
    for path in ("/api/v1/stations", "/api/v1/stations/{station_id}/transitions", "/api/v1/coverage",
                 "/api/v1/staffing-gaps", "/api/v1/divisions/{code}"):
        assert path in document["paths"], path
    body = document["paths"]["/api/v1/stations"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body  # generated from StationCreateSchema


def test_health_and_metrics(api, platform):
    anonymous = api()
    assert anonymous.get("/healthz").status_code == 200
    ready = anonymous.get("/readyz")
    assert ready.status_code == 200, ready.text
    metrics = anonymous.get("/metrics").text
    assert "wushe_http_requests_total" in metrics
    import urllib.request

    with urllib.request.urlopen(platform.registry.base_url + "/metrics") as response:
        text = response.read().decode()
    assert "wushe_events_published_total" in text and "wushe_outbox_lag_seconds" in text
