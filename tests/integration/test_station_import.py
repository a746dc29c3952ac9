"""Onboarding a province from its sheets, on the real services, broker and Mongo-wire
server: a dry run that writes nothing, a real run that writes every station with its
dated history, the same sheet again changing nothing, a corrected sheet changing only
what it changes, and what is refused."""
import base64
import csv
import io

import pytest

from services.common.errors import NotFound
from tests.fixtures import PROVINCE_ADMIN, wait_for

pytestmark = pytest.mark.integration

STATION_HEADINGS = ["站点名称", "所属县区", "所属乡镇", "乡镇代码", "服务人口", "运营机构", "设第二站原因",
                    "规划日期", "建成日期", "运营日期", "暂停日期", "恢复运营日期", "关闭日期"]


def sheet(headings, rows, name):
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(headings)
    writer.writerows([[row.get(h, "") for h in headings] for row in rows])
    return {"content": base64.b64encode(out.getvalue().encode("utf-8")).decode("ascii"),
            "content_type": "text/csv", "filename": name}


def stations_sheet(rows):
    return sheet(STATION_HEADINGS, rows, "stations.csv")


def run(cluster, files, dry_run, caller=PROVINCE_ADMIN):
    return cluster.registry.import_stations({"files": files, "dry_run": dry_run}, caller=caller)


def by_row(report):
    return {(r["kind"], r["row"]): r for r in report["rows"]}


def reasons(row):
    return " | ".join(f"{r['column']}: {r['message']}" for r in row["reasons"])


@pytest.fixture
def registry_db(platform, mongo_client):
    return platform.db(mongo_client, "registry")


def events_of(registry_db, station_id):
    found = registry_db.outbox.find({"event.subject": station_id})
    return [d["type"].split(".", 2)[2] for d in sorted(found, key=lambda d: d["event"]["data"]["version"])]


def test_a_dry_run_reports_every_row_and_the_real_run_writes_the_accepted_ones(cluster, units, registry_db):
    county, townships = units.county(at_least=5)
    a, b, c, d = townships[:4]
    rows = [
        {"站点名称": f"{a['name']}社工站", "乡镇代码": a["code"], "服务人口": "12,000", "运营机构": "阳光社工",
         "规划日期": "2020-03-01", "建成日期": "2020-09-01", "运营日期": "2021-01-05"},
        {"站点名称": f"{b['name']}社工站", "所属县区": a["county_name"], "所属乡镇": b["name"],
         "服务人口": "1.2万", "规划日期": "2021/3/1", "运营日期": "2021年6月1日",
         "暂停日期": "2022-01-01", "恢复运营日期": "2022-06-01"},
        {"站点名称": "城关镇社工站", "所属乡镇": "城关镇", "规划日期": "2021-01-01"},        # ambiguous
        {"站点名称": "无名镇社工站", "所属县区": a["county_name"], "所属乡镇": "无名镇",
         "规划日期": "2021-01-01"},                                                       # unknown
        {"站点名称": f"{c['name']}社工站", "乡镇代码": c["code"], "服务人口": "约一万",
         "规划日期": "2025-01-01", "建成日期": "2024-01-01", "运营日期": "2099-01-01"},   # 3 reasons
        {"站点名称": f"{d['name']}一站", "乡镇代码": d["code"], "规划日期": "2021-01-01"},
        {"站点名称": f"{d['name']}二站", "乡镇代码": d["code"], "规划日期": "2021-02-01",
         "设第二站原因": "人口九万，设两站"},
        {"站点名称": f"{d['name']}三站", "乡镇代码": d["code"], "规划日期": "2021-03-01",
         "设第二站原因": "还想再设一站"},                                                 # a third
    ]
    dry = run(cluster, [stations_sheet(rows)], dry_run=True)
    assert (dry["dry_run"], dry["new"], dry["refused"], dry["events"]) == (True, 4, 4, 0)
    report = by_row(dry)
    assert report[("station", 2)]["station_id"] == f"{a['code']}-01"
    assert report[("station", 3)]["notes"] == ["建成日期 blank: taken as 运营日期 2021-06-01"]
    assert "ambiguous" in reasons(report[("station", 4)]) and "所属县区" in reasons(report[("station", 4)])
    assert "no township-level unit named 无名镇" in reasons(report[("station", 5)])
    assert [r["column"] for r in report[("station", 6)]["reasons"]] == ["服务人口", "建成日期", "运营日期"]
    assert report[("station", 8)]["station_id"] == f"{d['code']}-02"
    assert "a third station" in reasons(report[("station", 9)])
    # Nothing written.
    assert cluster.registry.list_stations({"region": county}, caller=PROVINCE_ADMIN)["total"] == 0

    real = run(cluster, [stations_sheet(rows)], dry_run=False)
    assert (real["new"], real["refused"], real["events"]) == (4, 4, 4)
    station = cluster.registry.get_station(f"{b['code']}-01", caller=PROVINCE_ADMIN)
    assert [(h["status"], h["on"]) for h in station["history"]] == [
        ("planned", "2021-03-01"), ("built", "2021-06-01"), ("operating", "2021-06-01"),
        ("suspended", "2022-01-01"), ("operating", "2022-06-01")]
    assert (station["status"], station["opened_on"], station["population_served"]) == (
        "operating", "2021-06-01", 12000)
    assert events_of(registry_db, station["id"]) == ["station.imported.v1"]

    # Coverage as of past dates is right as soon as the import answers: no waiting.
    def coverage(as_of):
        got = cluster.registry.coverage({"region": county, "as_of": as_of}, caller=PROVINCE_ADMIN)
        return got["with_station"], got["operating"]

    assert coverage("2020-12-31") == (1, 0)        # a built
    assert coverage("2021-07-01") == (2, 2)        # a and b operating
    assert coverage("2022-03-01") == (2, 1)        # b suspended
    # The volunteer service learns the stations from the events.
    def known_to_volunteer():
        try:
            return cluster.volunteer.get_station(station["id"], caller=PROVINCE_ADMIN)
        except NotFound:   # its inbox has not applied the event yet: ask again
            return None

    wait_for(known_to_volunteer, message="the volunteer service to know the imported station")


def test_the_same_sheet_twice_changes_nothing_and_a_corrected_one_only_what_it_changes(
        cluster, units, registry_db):
    county, townships = units.county(at_least=3)
    a, b, c = townships[:3]
    rows = [{"站点名称": f"{t['name']}社工站", "乡镇代码": t["code"], "服务人口": "9000",
             "规划日期": "2020-03-01", "建成日期": "2020-09-01", "运营日期": "2021-01-05"}
            for t in (a, b, c)]
    run(cluster, [stations_sheet(rows)], dry_run=False)
    ids = [f"{t['code']}-01" for t in (a, b, c)]
    versions = {i: cluster.registry.get_station(i, caller=PROVINCE_ADMIN)["version"] for i in ids}

    again = run(cluster, [stations_sheet(rows)], dry_run=False)
    assert (again["unchanged"], again["new"], again["changed"], again["events"]) == (3, 0, 0, 0)
    assert {i: cluster.registry.get_station(i, caller=PROVINCE_ADMIN)["version"] for i in ids} == versions

    corrected = [dict(rows[0], 服务人口="25000", 暂停日期="2024-03-01"),
                 dict(rows[1], 站点名称=f"{b['name']}街道社工站"),     # renamed: matched by 规划日期
                 rows[2]]
    dry = run(cluster, [stations_sheet(corrected)], dry_run=True)
    report = by_row(dry)
    assert report[("station", 2)]["changes"] == ["population_served", "history: + 暂停运营 2024-03-01"]
    assert report[("station", 3)]["changes"] == ["name"] and report[("station", 4)]["status"] == "unchanged"
    real = run(cluster, [stations_sheet(corrected)], dry_run=False)
    assert real["events"] == 3
    assert events_of(registry_db, ids[0]) == ["station.imported.v1", "station.updated.v1",
                                              "station.suspended.v1"]
    assert events_of(registry_db, ids[1]) == ["station.imported.v1", "station.updated.v1"]
    assert events_of(registry_db, ids[2]) == ["station.imported.v1"]
    assert cluster.registry.get_station(ids[0], caller=PROVINCE_ADMIN)["status"] == "suspended"

    # The first sheet again would move a's history backwards (and not rename b back):
    # refused, not applied.
    behind = run(cluster, [stations_sheet(rows)], dry_run=False)
    refused = by_row(behind)[("station", 2)]
    assert refused["status"] == "refused" and "backwards" in reasons(refused)
    moved = dict(corrected[2], 建成日期="2020-10-01")
    differs = by_row(run(cluster, [stations_sheet([moved])], dry_run=True))[("station", 2)]
    assert differs["status"] == "refused" and "rewrites history" in reasons(differs)
    assert cluster.registry.get_station(ids[0], caller=PROVINCE_ADMIN)["status"] == "suspended"


STAFF_HEADINGS = ["站点名称", "乡镇代码", "姓名", "岗位", "手机号", "持证等级"]
ROOM_HEADINGS = ["站点编号", "类型", "社工室名称", "村(社区)代码", "村(社区)"]


def test_staff_and_rooms_come_with_their_station_and_follow_corrections(cluster, units, registry_db):
    unit = units.township()
    name, code = f"{unit['name']}社工站", unit["code"]
    station_rows = [{"站点名称": name, "乡镇代码": code, "服务人口": "30000", "规划日期": "2021-01-01",
                     "建成日期": "2021-05-01", "运营日期": "2021-06-01"}]
    staff = [{"站点名称": name, "乡镇代码": code, "姓名": "王站长", "岗位": "站长", "手机号": "13912345678",
              "持证等级": "社会工作师"},
             {"站点名称": name, "乡镇代码": code, "姓名": "赵督导", "岗位": "督导"},
             {"站点名称": name, "乡镇代码": code, "姓名": "李社工", "岗位": "驻站社工"},
             {"站点名称": name, "乡镇代码": code, "姓名": "钱站长", "岗位": "站长"},       # a second head
             {"站点名称": "没有的站", "乡镇代码": code, "姓名": "孙社工", "岗位": "驻站社工"}]
    villages = cluster.registry.list_divisions({"parent": code, "per_page": 2}, caller=PROVINCE_ADMIN)["items"]
    station_id = f"{code}-01"
    rooms = [{"站点编号": station_id, "类型": "社工室", "社工室名称": "一号社工室", "村(社区)": villages[0]["name"]},
             {"站点编号": station_id, "类型": "微站点", "社工室名称": "二号微站点",
              "村(社区)代码": villages[1]["code"]},
             {"站点编号": station_id, "类型": "社工室", "社工室名称": "外地社工室", "村(社区)代码": "340000000001"}]
    files = [stations_sheet(station_rows), sheet(STAFF_HEADINGS, staff, "staff.csv"),
             sheet(ROOM_HEADINGS, rooms, "rooms.csv")]
    report = run(cluster, files, dry_run=False)
    rows = by_row(report)
    assert "a second 站长" in reasons(rows[("staff", 5)])
    assert "no station named 没有的站" in reasons(rows[("staff", 6)])
    assert "not in" in reasons(rows[("room", 4)])
    assert (report["new"], report["refused"], report["events"]) == (6, 3, 1)   # one station.imported
    station = cluster.registry.get_station(station_id, caller=PROVINCE_ADMIN)
    assert sorted(m["name"] for m in station["staff"]) == ["李社工", "王站长", "赵督导"]
    # 30,000 people served: two resident workers are needed, one is there.
    assert station["staffing"]["missing"] == {"resident": 1}
    assert sorted(r["village_code"] for r in station["rooms"]) == [villages[0]["code"], villages[1]["code"]]
    snapshot = registry_db.outbox.find_one({"event.subject": station_id})["event"]["data"]
    assert "王站长" not in str(snapshot) and "13912345678" not in str(snapshot)   # no personal data

    # The corrected list: 王站长's phone changed, 李社工 left, 周社工 came: one event.
    corrected = [dict(staff[0], 手机号="13900000000"), staff[1],
                 {"站点名称": name, "乡镇代码": code, "姓名": "周社工", "岗位": "驻站社工"}]
    again = run(cluster, [sheet(STAFF_HEADINGS, corrected, "staff.csv")], dry_run=False)
    assert [(r["status"], r["changes"]) for r in again["rows"]] == [
        ("changed", ["phone"]), ("unchanged", []), ("new", [])]
    assert [(r["kind"], r["role"]) for r in again["removed"]] == [("staff", "resident")]
    assert events_of(registry_db, station_id)[-1] == "station.staffing_changed.v1"
    staff_now = {m["name"]: m["phone"] for m in
                 cluster.registry.get_station(station_id, caller=PROVINCE_ADMIN)["staff"]}
    assert staff_now == {"王站长": "13900000000", "赵督导": None, "周社工": None}


def test_rows_outside_the_callers_region_are_refused(cluster, units):
    county, townships = units.county(at_least=1)
    elsewhere = "341881" if not county.startswith("3418") else "340102"
    officer = {"sub": "t-county", "role": "county_officer", "region": elsewhere}
    report = run(cluster, [stations_sheet([{"站点名称": "越界社工站", "乡镇代码": townships[0]["code"],
                                            "规划日期": "2021-01-01"}])], dry_run=False, caller=officer)
    assert report["refused"] == 1 and "outside your region" in reasons(report["rows"][0])
    assert cluster.registry.list_stations({"region": county}, caller=PROVINCE_ADMIN)["total"] == 0


def test_an_unreadable_file_is_a_400_naming_it(cluster):
    from services.common.errors import InvalidInput

    with pytest.raises(InvalidInput) as err:
        run(cluster, [sheet(["姓名", "电话"], [{"姓名": "王"}], "people.csv")], dry_run=True)
    assert "people.csv" in str(err.value)
