"""The volunteer routes of the gateway with a fake RPC layer: roles, 400s naming
fields, the Idempotency-Key and the sheet reaching the service, exports as files,
and the public certificate check without a token."""
import base64
import csv
import io

import pytest

from gateway.app import create_app
from gateway.exports import safe_cell, to_csv, to_xlsx
from gateway.testing import TEST_SECRET, FakeRpc, auth_header
from services.common.errors import Conflict, NotFound

RECORD = {"id": "H1", "kind": "record", "volunteer_number": "V34010200000001", "minutes": 120,
          "status": "recorded"}
EXPORT = {"name": "volunteers", "columns": [{"key": "number", "title": "志愿者编号"},
                                            {"key": "name", "title": "姓名"},
                                            {"key": "phone", "title": "手机号"},
                                            {"key": "minutes", "title": "时长(分钟)"}],
          "rows": [["V34010200000001", "张*丰", "139****5678", 120],
                   ["V34010200000002", "=HYPERLINK(\"x\")", None, -30]]}
HOURS = {"volunteer_number": "V34010200000001", "activity_id": "A1",
         "start": "2026-10-10T08:00:00+08:00", "end": "2026-10-10T10:00:00+08:00"}
VOLUNTEER = {"name": "张三", "id_number": "11010519491231002X", "phone": "13912345678",
             "birth_date": "1949-12-31", "station_id": "340102001-01"}


@pytest.fixture(autouse=True)
def secrets(monkeypatch):
    monkeypatch.setenv("TOKEN_SECRET", TEST_SECRET)
    monkeypatch.delenv("TOKEN_SECRET_PREVIOUS", raising=False)


@pytest.fixture
def rpc():
    fake = FakeRpc()
    fake.answer("volunteer", "record_hours", lambda data, caller, idempotency_key=None: RECORD)
    fake.answer("volunteer", "register_volunteer", lambda data, caller: {"number": "V34010200000001"})
    fake.answer("volunteer", "import_hours", lambda upload, caller, idempotency_key=None:
                {"rows_read": 1, "accepted": 1, "rejected": 0, "rows": []})
    fake.answer("volunteer", "export_volunteers", lambda query, caller: EXPORT)
    fake.answer("volunteer", "export_hours", lambda query, caller: EXPORT)
    fake.answer("volunteer", "verify_certificate", lambda number: {"number": number, "name": "李*明"})
    fake.answer("volunteer", "approve_hours", lambda record_id, data, caller: dict(RECORD, status="approved"))
    return fake


@pytest.fixture
def client(rpc):
    return create_app(rpc=rpc, services=["volunteer"], settings={"TESTING": True}).test_client()


def h(role="county_officer", region="340102", **kwargs):
    return auth_header(role, region, **kwargs)


def test_bad_bodies_are_400_naming_each_field_and_never_reach_the_service(client, rpc):
    r = client.post("/api/v1/volunteers", json=dict(VOLUNTEER, id_number="110105194912310021",
                                                   phone="call me", birth_date="1949-12-30"),
                    headers=h())
    assert r.status_code == 400
    fields = r.get_json()["error"]["fields"]
    assert {"id_number", "phone"} <= set(fields)
    r = client.post("/api/v1/hours", json=dict(HOURS, start="2026-10-10T08:00:00", volunteer_number="7"),
                    headers=h())
    assert r.status_code == 400
    assert {"start", "volunteer_number"} <= set(r.get_json()["error"]["fields"])
    r = client.get("/api/v1/hours/totals?region=34&team_id=T1", headers=h())
    assert r.status_code == 400 and "region" in r.get_json()["error"]["fields"]
    r = client.get("/api/v1/volunteers/12345", headers=h())
    assert r.status_code == 400 and "number" in r.get_json()["error"]["fields"]
    assert rpc.calls == []


@pytest.mark.parametrize("method,path,body", [
    ("post", "/api/v1/volunteers", VOLUNTEER),
    ("post", "/api/v1/volunteers/lookup", {"id_number": "11010519491231002X"}),
    ("patch", "/api/v1/volunteers/V34010200000001", {"phone": "13800000000"}),
    ("post", "/api/v1/teams", {"station_id": "340102001-01", "name": "志愿服务队"}),
    ("post", "/api/v1/teams/T1/members", {"volunteer_number": "V34010200000001"}),
    ("delete", "/api/v1/teams/T1/members/V34010200000001", None),
    ("post", "/api/v1/activities", {"team_id": "T1", "title": "陪伴", "category": "elderly", "place": "敬老院",
                                    "starts_at": "2026-10-10T08:00:00+08:00",
                                    "ends_at": "2026-10-10T16:00:00+08:00", "capacity": 10}),
    ("post", "/api/v1/hours", HOURS),
    ("post", "/api/v1/hours/import", None),
    ("post", "/api/v1/hours/H1/approve", None),
    ("post", "/api/v1/hours/approvals", {"ids": ["H1"]}),
    ("post", "/api/v1/hours/H1/reject", {"reason": "未到场"}),
    ("post", "/api/v1/hours/H1/correct", {"reason": "误录", "cancel": True}),
    ("post", "/api/v1/certificates", {"volunteer_number": "V34010200000001", "from": "2026-01-01",
                                      "to": "2026-10-31"}),
])
def test_an_auditor_reads_but_never_writes(client, rpc, method, path, body):
    r = getattr(client, method)(path, json=body, headers=h("auditor", "34"))
    assert r.status_code == 403
    assert rpc.calls == []


def test_every_role_reads_lists(client, rpc):
    rpc.answer("volunteer", "list_volunteers", {"items": [], "total": 0, "page": 1, "per_page": 50})
    for role, region in [("province_admin", "34"), ("city_officer", "3401"), ("county_officer", "340102"),
                         ("station_staff", "340102001"), ("auditor", "3401")]:
        assert client.get("/api/v1/volunteers?region=3401", headers=h(role, region)).status_code == 200
    assert rpc.last.kwargs["caller"]["role"] == "auditor"
    assert rpc.last.args == ({"page": 1, "per_page": 50, "region": "3401", "skill": None},)


def test_an_id_number_is_looked_up_in_a_body_never_in_a_url(client, rpc):
    rpc.answer("volunteer", "lookup_volunteer", lambda data, caller: {"volunteer_number": "V34010200000001"})
    r = client.post("/api/v1/volunteers/lookup", json={"id_number": "11010519491231002X"}, headers=h())
    assert r.status_code == 200 and r.get_json() == {"volunteer_number": "V34010200000001"}
    assert rpc.last.args == ({"id_number": "11010519491231002X"},)
    assert client.post("/api/v1/volunteers/lookup", json={"id_number": "110105194912310021"},
                       headers=h()).status_code == 400
    assert client.get("/api/v1/volunteers?id_number=11010519491231002X", headers=h()).status_code == 400


def test_the_idempotency_key_travels_with_the_submission(client, rpc):
    r = client.post("/api/v1/hours", json=HOURS, headers={**h("station_staff", "340102001"),
                                                          "Idempotency-Key": "row-42"})
    assert r.status_code == 201
    assert r.headers["Location"].endswith("/api/v1/hours/H1")
    call = rpc.last
    assert (call.method, call.args, call.kwargs["idempotency_key"]) == ("record_hours", (HOURS,), "row-42")
    assert call.idempotent is False
    client.post("/api/v1/hours", json=HOURS, headers=h())
    assert rpc.last.kwargs["idempotency_key"] is None


def test_a_reused_key_conflict_names_the_header(client, rpc):
    rpc.answer("volunteer", "record_hours", Conflict(
        "this Idempotency-Key was used for a different request",
        fields={"Idempotency-Key": ["already used with a different request"]}))
    r = client.post("/api/v1/hours", json=HOURS, headers={**h(), "Idempotency-Key": "k"})
    assert r.status_code == 409
    assert "Idempotency-Key" in r.get_json()["error"]["fields"]


def test_a_refused_record_is_a_409_naming_the_conflicting_record(client, rpc):
    rpc.answer("volunteer", "record_hours", Conflict(
        "volunteer V34010200000001 already has record H9", fields={"start": ["overlaps record H9"]},
        details={"conflicting_record": "H9"}))
    r = client.post("/api/v1/hours", json=HOURS, headers=h())
    assert r.status_code == 409
    assert r.get_json()["error"]["details"]["conflicting_record"] == "H9"


def test_the_sheet_reaches_the_service_as_body_or_multipart(client, rpc):
    sheet = "志愿者编号,活动编号,开始时间,结束时间\n".encode("utf-8")
    r = client.post("/api/v1/hours/import", data=sheet, headers={**h(), "Content-Type": "text/csv",
                                                                 "Idempotency-Key": "sheet-1"})
    assert r.status_code == 200 and r.get_json()["accepted"] == 1
    upload = rpc.last.args[0]
    assert base64.b64decode(upload["content"]) == sheet and upload["content_type"] == "text/csv"
    assert rpc.last.kwargs["idempotency_key"] == "sheet-1"
    r = client.post("/api/v1/hours/import", headers=h(),
                    data={"file": (io.BytesIO(b"PK\x03\x04xlsx"), "hours.xlsx")},
                    content_type="multipart/form-data")
    assert r.status_code == 200
    assert rpc.last.args[0]["filename"] == "hours.xlsx"
    assert base64.b64decode(rpc.last.args[0]["content"]) == b"PK\x03\x04xlsx"
    calls = len(rpc.calls)
    r = client.post("/api/v1/hours/import", headers=h(), data=b"")
    assert r.status_code == 400 and "file" in r.get_json()["error"]["fields"]
    r = client.post("/api/v1/hours/import", headers=h(), data={"other": "x"},
                    content_type="multipart/form-data")
    assert r.status_code == 400 and "file" in r.get_json()["error"]["fields"]
    assert len(rpc.calls) == calls


def test_approve_takes_an_optional_body(client, rpc):
    assert client.post("/api/v1/hours/H1/approve", headers=h()).status_code == 200
    assert rpc.last.args == ("H1", {})
    assert client.post("/api/v1/hours/H1/approve", json={"note": "核对无误"}, headers=h()).status_code == 200
    assert rpc.last.args == ("H1", {"note": "核对无误"})
    assert client.post("/api/v1/hours/H1/approve", json={"nope": 1}, headers=h()).status_code == 400


def test_csv_export_opens_in_excel_and_keeps_formulas_out(client, rpc):
    r = client.get("/api/v1/volunteers/export?format=csv&region=340102", headers=h("auditor", "34"))
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/csv")
    assert "attachment" in r.headers["Content-Disposition"] and ".csv" in r.headers["Content-Disposition"]
    assert r.data.startswith("\ufeff".encode("utf-8"))
    rows = list(csv.reader(io.StringIO(r.data.decode("utf-8-sig"))))
    assert rows[0] == ["志愿者编号", "姓名", "手机号", "时长(分钟)"]
    assert rows[1] == ["V34010200000001", "张*丰", "139****5678", "120"]
    assert rows[2][1] == "'=HYPERLINK(\"x\")" and rows[2][3] == "-30"
    assert rpc.last.args == ({"format": "csv", "region": "340102", "skill": None},)


def test_xlsx_export_is_a_workbook(client, rpc):
    from openpyxl import load_workbook

    r = client.get("/api/v1/hours/export?format=xlsx", headers=h())
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    sheet = load_workbook(io.BytesIO(r.data)).active
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[0] == ["志愿者编号", "姓名", "手机号", "时长(分钟)"]
    assert values[1] == ["V34010200000001", "张*丰", "139****5678", 120]
    assert values[2][1] == "=HYPERLINK(\"x\")" and sheet.cell(3, 2).data_type == "s"
    assert client.get("/api/v1/hours/export?format=pdf", headers=h()).status_code == 400


def test_the_public_certificate_check_needs_no_token(client, rpc):
    r = client.get("/api/v1/public/certificates/ZYZM-2026-00000001")
    assert r.status_code == 200 and r.get_json() == {"number": "ZYZM-2026-00000001", "name": "李*明"}
    assert rpc.last.kwargs == {} and rpc.last.args == ("ZYZM-2026-00000001",)
    rpc.answer("volunteer", "verify_certificate", NotFound("no certificate", fields={"number": ["not found"]}))
    assert client.get("/api/v1/public/certificates/ZYZM-2026-00000002").status_code == 404
    assert client.get("/api/v1/public/certificates/robert'); DROP").status_code == 400
    # The scoped one needs a token.
    assert client.get("/api/v1/certificates/ZYZM-2026-00000001").status_code == 401


def test_the_openapi_document_has_the_volunteer_api(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    for path in ("/api/v1/volunteers", "/api/v1/teams", "/api/v1/activities", "/api/v1/hours",
                 "/api/v1/hours/{record_id}/approve", "/api/v1/hours/{record_id}/reject",
                 "/api/v1/hours/{record_id}/correct", "/api/v1/hours/totals", "/api/v1/hours/import",
                 "/api/v1/certificates", "/api/v1/public/certificates/{number}",
                 "/api/v1/volunteers/export", "/api/v1/hours/export"):
        assert path in doc["paths"], path
    assert doc["paths"]["/api/v1/public/certificates/{number}"]["get"]["security"] == []
    assert "Idempotency-Key" in doc["paths"]["/api/v1/hours"]["post"]["description"]
    assert doc["paths"]["/api/v1/hours"]["post"]["x-roles"] == [
        "province_admin", "city_officer", "county_officer", "station_staff"]


def test_safe_cells():
    assert safe_cell("@SUM(A1)") == "'@SUM(A1)" and safe_cell(-5) == -5 and safe_cell("张三") == "张三"
    assert to_csv({"columns": [{"title": "a"}, {"title": "b"}], "rows": [[None, 1]]}) == "\ufeffa,b\r\n,1\r\n"


def test_a_sheet_too_large_is_a_413(client, rpc):
    from services.common.errors import PayloadTooLarge

    rpc.answer("volunteer", "import_hours", PayloadTooLarge(
        "the sheet has more than 5000 rows; split it", fields={"file": ["more than 5000 rows"]}))
    r = client.post("/api/v1/hours/import", data=b"a,b\n", headers={**h(), "Content-Type": "text/csv"})
    assert r.status_code == 413
    assert r.get_json()["error"]["code"] == "payload_too_large"
    assert "file" in r.get_json()["error"]["fields"]


def test_openapi_shows_idempotency_header_sheet_uploads_and_downloads(client):
    document = client.get("/api/v1/openapi.json").get_json()
    record = document["paths"]["/api/v1/hours"]["post"]
    assert {"in": "header", "name": "Idempotency-Key"}.items() <= next(
        p for p in record["parameters"] if p.get("name") == "Idempotency-Key").items()
    upload = document["paths"]["/api/v1/hours/import"]["post"]["requestBody"]["content"]
    assert {"text/csv", "multipart/form-data",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"} <= set(upload)
    download = document["paths"]["/api/v1/hours/export"]["get"]["responses"]["200"]["content"]
    assert "text/csv" in download


def test_times_outside_the_service_years_are_400s_naming_the_field(client, rpc):
    for field, value in (("start", "0001-01-01T00:00:00Z"), ("end", "9999-12-31T23:59:00+08:00")):
        r = client.post("/api/v1/hours", json=dict(HOURS, **{field: value}), headers=h())
        assert r.status_code == 400
        assert r.get_json()["error"]["fields"] == {field: ["must lie in the years 2000-2100"]}
    r = client.post("/api/v1/activities", headers=h(), json={
        "team_id": "T1", "title": "敬老院陪伴", "category": "elderly", "place": "镇敬老院",
        "starts_at": "0001-01-01T06:00:00+08:00", "ends_at": "2026-10-10T16:00:00+08:00", "capacity": 5})
    assert r.status_code == 400 and "starts_at" in r.get_json()["error"]["fields"]
    assert rpc.calls == []


def test_control_characters_in_free_text_are_400s_naming_the_field(client, rpc):
    r = client.post("/api/v1/volunteers", json=dict(VOLUNTEER, name="张\x01三"), headers=h())
    assert r.status_code == 400
    assert r.get_json()["error"]["fields"] == {"name": ["must not contain control characters"]}
    assert rpc.calls == []


def test_xlsx_export_drops_characters_a_workbook_cannot_hold(client, rpc):
    from openpyxl import load_workbook

    rows = [["V34010200000001", "张\x01三", "139\x00****5678", 120], ["V34010200000002", "=\x1bA1", "行\t一\n", 1]]
    sheet = load_workbook(io.BytesIO(to_xlsx(dict(EXPORT, rows=rows)))).active
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[1] == ["V34010200000001", "张三", "139****5678", 120]
    assert values[2][1:3] == ["=A1", "行\t一\n"] and sheet.cell(3, 2).data_type == "s"
    # The whole download works: one volunteer's name no longer breaks the region's export.
    rpc.answer("volunteer", "export_volunteers", lambda query, caller: dict(EXPORT, rows=rows))
    r = client.get("/api/v1/volunteers/export?format=xlsx&region=340102", headers=h())
    assert r.status_code == 200
    assert load_workbook(io.BytesIO(r.data)).active.cell(2, 2).value == "张三"
