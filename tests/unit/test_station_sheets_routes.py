"""The station sheet routes with a fake RPC layer: uploads, dry run, template, exports."""
import base64
import io

import pytest

from gateway.app import create_app
from gateway.testing import TEST_SECRET, FakeRpc, auth_header

REPORT = {"dry_run": True, "rows_read": 1, "accepted": 1, "refused": 0, "new": 1, "changed": 0,
          "unchanged": 0, "by_kind": {}, "sheets": [], "ignored_sheets": [], "removed": [],
          "events": 0, "rows": []}
SHEET = {"name": "stations", "columns": [{"key": "station_id", "title": "站点编号"},
                                         {"key": "name", "title": "站点名称"}],
         "rows": [["340102001-01", "明光路街道社工站"]]}


@pytest.fixture(autouse=True)
def secrets(monkeypatch):
    monkeypatch.setenv("TOKEN_SECRET", TEST_SECRET)


@pytest.fixture
def rpc():
    fake = FakeRpc()
    fake.answer("registry", "import_stations", lambda request, caller: dict(REPORT, dry_run=request["dry_run"]))
    for method in ("station_sheet_template", "export_stations", "export_staff", "export_rooms",
                   "export_checklists", "export_staffing_gaps", "export_coverage"):
        fake.answer("registry", method, SHEET)
    fake.answer("registry", "get_station", {"id": "st-1", "checklist": {"premises": {}}, "rooms": []})
    return fake


@pytest.fixture
def client(rpc):
    return create_app(rpc=rpc, services=["registry"], settings={"TESTING": True}).test_client()


def h(role="city_officer", region="3401"):
    return auth_header(role, region)


def test_an_import_is_a_dry_run_unless_asked_and_sends_every_file(client, rpc):
    r = client.post("/api/v1/stations/import", data="站点名称,乡镇代码\n甲,340102001\n".encode(),
                    headers={**h(), "Content-Type": "text/csv"})
    assert r.status_code == 200 and r.get_json()["dry_run"] is True
    [sent] = rpc.last.args[0]["files"]
    assert base64.b64decode(sent["content"]).decode() == "站点名称,乡镇代码\n甲,340102001\n"
    assert sent["content_type"] == "text/csv" and rpc.last.args[0]["dry_run"] is True

    r = client.post("/api/v1/stations/import?dry_run=false", headers=h(),
                    data={"file": [(io.BytesIO(b"PK\x03\x04a"), "hefei.xlsx"),
                                   (io.BytesIO(b"a,b\n"), "staff.csv")]},
                    content_type="multipart/form-data")
    assert r.status_code == 200 and r.get_json()["dry_run"] is False
    assert [f["filename"] for f in rpc.last.args[0]["files"]] == ["hefei.xlsx", "staff.csv"]


def test_an_import_without_a_file_or_with_a_bad_flag_is_a_400_and_auditors_cannot_import(client, rpc):
    r = client.post("/api/v1/stations/import", headers=h(), data=b"")
    assert r.status_code == 400 and "file" in r.get_json()["error"]["fields"]
    r = client.post("/api/v1/stations/import?dry_run=maybe", headers=h(), data=b"a")
    assert r.status_code == 400 and "dry_run" in r.get_json()["error"]["fields"]
    r = client.post("/api/v1/stations/import", headers=h("auditor", "34"), data=b"a")
    assert r.status_code == 403
    assert rpc.calls == []


def test_the_template_and_the_exports_are_file_downloads(client, rpc):
    r = client.get("/api/v1/stations/import/template?sheet=staff", headers=h())
    assert r.status_code == 200 and r.mimetype.endswith("spreadsheetml.sheet")
    assert rpc.last.args == ({"sheet": "staff", "format": "xlsx"},)
    from openpyxl import load_workbook

    header = next(load_workbook(io.BytesIO(r.data)).active.iter_rows(values_only=True))
    assert header == ("站点编号", "站点名称")

    r = client.get("/api/v1/stations/export?region=3401&status=operating", headers=h("auditor", "34"))
    assert r.status_code == 200 and r.data.startswith("\ufeff站点编号,站点名称".encode())
    assert rpc.last.args == ({"region": "3401", "status": "operating", "format": "csv"},)
    for path, method in (("/stations/staff/export", "export_staff"),
                         ("/stations/rooms/export", "export_rooms"),
                         ("/stations/checklists/export", "export_checklists"),
                         ("/staffing-gaps/export?region=3401", "export_staffing_gaps"),
                         ("/coverage/export?region=3401&as_of=2021-06-30&format=xlsx", "export_coverage")):
        r = client.get("/api/v1" + path, headers=h())
        assert r.status_code == 200 and rpc.last.method == method, path
        assert "attachment" in r.headers["Content-Disposition"]
    assert rpc.last.args[0]["as_of"] == "2021-06-30"
    assert client.get("/api/v1/staffing-gaps/export", headers=h()).status_code == 400


def test_checklist_and_rooms_answers_ask_for_the_station_without_its_staff(client, rpc):
    client.get("/api/v1/stations/st-1/checklist", headers=h())
    assert rpc.last.kwargs["with_staff"] is False
    client.get("/api/v1/stations/st-1/rooms", headers=h())
    assert rpc.last.kwargs["with_staff"] is False
    client.get("/api/v1/stations/st-1/staff", headers=h())
    assert "with_staff" not in rpc.last.kwargs


def test_the_sheet_routes_are_documented(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert "multipart/form-data" in paths["/api/v1/stations/import"]["post"]["requestBody"]["content"]
    for path in ("/api/v1/stations/import/template", "/api/v1/stations/export",
                 "/api/v1/stations/staff/export", "/api/v1/coverage/export"):
        assert "get" in paths[path], path
