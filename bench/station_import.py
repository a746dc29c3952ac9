"""Benchmark: onboarding Anhui from its sheets, beside making the same stations by hand.

    python bench/station_import.py [--by-hand N] [--seed S]

Starts its own platform like the test harness (a Mongo-wire server in memory, a
fresh RabbitMQ vhost, the topology, the registry and volunteer services as
`wushe serve` runs them, Anhui's division codes imported) and generates the
province's sheets from the real division codes in services/registry/data/
divisions: 1,473 stations in 1,473 of Anhui's 1,541 township units (streets,
towns, townships), one workbook per city (16) with a station sheet (half the
rows name their township by code, half by name within the county), a staff
sheet (a head, most with a supervisor, one or two resident workers) and a room
sheet (one to three rooms in the township's real villages); every station has
a dated history from 2019 on (most operating, some suspended and resumed, a
few closed, some only planned or built).

It prints:
  1. the import through RPC (`wushe import-stations`, the 16 workbooks in one
     call): the dry run, the real run, the same sheets again (all unchanged);
     coverage as of two past dates checked right after the real run answered
     (no waiting: it is applied in the import's transactions), and how long the
     volunteer service took to learn every station from the events;
  2. the same stations made one by one through RPC as officers do today
     (create_station with planned_on, one transition_station per step,
     add_staff, add_room), on a second platform of its own: all of them, or
     the first N (--by-hand N) timed and the whole province extrapolated;
  3. the ratio.
About 6 minutes on a 2-core machine with every station made by hand.
"""
import argparse
import csv
import datetime
import os
import random
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
# The platform this bench needs: the registry and its consumer (README "Configuration").
os.environ.setdefault("WUSHE_SERVICES", "registry,volunteer")

import services  # noqa: E402,F401  (first: quiets eventlet's import banner)
import pymongo  # noqa: E402
from nameko.standalone.rpc import ClusterRpcProxy  # noqa: E402

from services.common import localmongo  # noqa: E402
from services.registry import coverage as coverage_rules  # noqa: E402
from services.registry import division_kinds  # noqa: E402
from services.registry.commands import import_divisions, import_stations  # noqa: E402
from tests.fixtures import DIVISIONS, PROVINCE_ADMIN, division_files  # noqa: E402
from tests.harness import Platform, new_vhost, rabbitmqctl  # noqa: E402

STATIONS = 1_473
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红娥建国志文"
ROLE_WORD = {"head": "站长", "supervisor": "督导", "resident": "驻站社工"}
STATUS_WORD = {"planned": "规划中", "built": "已建成", "operating": "运营中", "suspended": "暂停运营",
               "closed": "已关闭"}


def table(title, rows):
    print(f"\n{title}", flush=True)
    width = max(len(r[0]) for r in rows)
    for name, value in rows:
        print(f"  {name.ljust(width)}  {value}", flush=True)


def _csv(name):
    with open(os.path.join(DIVISIONS, name), encoding="utf-8-sig") as fh:
        return list(csv.DictReader(fh))


# ---- the province's sheets ---------------------------------------------------

class Province:
    """Anhui's stations as its sheets would hold them, generated from the real codes."""

    def __init__(self, seed):
        rng = random.Random(seed)
        self.cities = {r["code"]: r["name"] for r in _csv("cities.csv")}
        counties = {r["code"]: r["name"] for r in _csv("areas.csv")}
        units = [r for r in _csv("streets.csv")
                 if division_kinds.is_unit(division_kinds.township_kind(r["code"], r["name"]))]
        villages = {}
        for row in _csv("villages-34.csv"):
            villages.setdefault(row["streetCode"], []).append(row)
        self.stations = []
        phone = 13900000000
        for n, unit in enumerate(sorted(rng.sample(units, STATIONS), key=lambda r: r["code"])):
            planned = datetime.date(2019, 1, 1) + datetime.timedelta(days=rng.randrange(0, 1300))
            steps = [("planned", planned)]
            fate = rng.random()
            if fate > 0.05:
                steps.append(("built", planned + datetime.timedelta(days=rng.randrange(60, 240))))
            if fate > 0.12:
                steps.append(("operating", steps[-1][1] + datetime.timedelta(days=rng.randrange(20, 120))))
                if fate > 0.85:
                    steps.append(("suspended", steps[-1][1] + datetime.timedelta(days=rng.randrange(200, 600))))
                    if fate > 0.91:
                        steps.append(("operating", steps[-1][1] + datetime.timedelta(days=rng.randrange(60, 200))))
            if 0.12 < fate < 0.15:
                steps.append(("closed", steps[-1][1] + datetime.timedelta(days=rng.randrange(200, 500))))
            staff = [("head", 1)] + ([("supervisor", 1)] if rng.random() < 0.8 else []) + [
                ("resident", 1)] * rng.choice((1, 1, 2))
            people = []
            for role, _ in staff:
                phone += 1
                people.append({"role": role, "name": rng.choice(SURNAMES) + "".join(rng.sample(GIVEN, 2)),
                               "phone": str(phone), "certification": rng.choice(
                                   ("无", "助理社会工作师", "社会工作师", "高级社会工作师"))})
            rooms = [{"kind": "社工室" if i == 0 else rng.choice(("社工室", "微站点")),
                      "name": f"{v['name']}{'社工室' if i == 0 else '服务点'}", "village_code": v["code"]}
                     for i, v in enumerate(rng.sample(villages.get(unit["code"], []),
                                                      min(rng.randint(1, 3),
                                                          len(villages.get(unit["code"], [])))))]
            self.stations.append({
                "code": unit["code"], "township": unit["name"], "county": counties[unit["areaCode"]],
                "city": unit["cityCode"], "by_code": n % 2 == 0,
                "name": f"{unit['name']}社工站", "address": f"{unit['name']}便民服务中心二楼",
                "population": rng.randrange(5_000, 60_000),
                "operator": f"{counties[unit['areaCode']]}{rng.choice(('阳光', '同心', '益民', '和谐'))}社会工作服务中心",
                "steps": steps, "staff": people, "rooms": rooms})

    def counts(self):
        return (len(self.stations), sum(len(s["staff"]) for s in self.stations),
                sum(len(s["rooms"]) for s in self.stations),
                sum(len(s["steps"]) for s in self.stations))

    def coverage_on(self, on):
        """(units with a station, with an operating one) on date `on`, as expected."""
        with_station = operating = 0
        for station in self.stations:
            history = [{"status": s, "on": d.isoformat()} for s, d in station["steps"]]
            status = coverage_rules.status_on(history, on)
            with_station += status in coverage_rules.WITH_STATION
            operating += status in coverage_rules.OPERATING
        return with_station, operating

    def workbooks(self, directory):
        from openpyxl import Workbook

        paths = []
        for city, name in sorted(self.cities.items()):
            mine = [s for s in self.stations if s["city"] == city]
            book = Workbook()
            sheet = book.active
            sheet.title = "站点"
            sheet.append([f"{name}乡镇（街道）社工站台账"])
            sheet.append(["站点名称", "所属县区", "所属乡镇", "乡镇代码", "地址", "服务人口", "运营机构",
                          "规划日期", "建成日期", "运营日期", "暂停日期", "恢复运营日期", "关闭日期", "状态"])
            for s in mine:
                dates = {"planned": None, "built": None, "operating": None, "closed": None}
                suspended, resumed, opened = [], [], False
                for status, on in s["steps"]:
                    if status == "operating" and opened:
                        resumed.append(on.isoformat())
                    elif status == "suspended":
                        suspended.append(on.isoformat())
                    else:
                        dates[status] = on
                        opened = opened or status == "operating"
                sheet.append([s["name"], s["county"], s["township"], s["code"] if s["by_code"] else None,
                              s["address"], s["population"], s["operator"], dates["planned"],
                              dates["built"], dates["operating"], "、".join(suspended) or None,
                              "、".join(resumed) or None, dates["closed"],
                              STATUS_WORD[s["steps"][-1][0]]])
            people = book.create_sheet("人员")
            people.append(["站点名称", "所属县区", "所属乡镇", "姓名", "岗位", "手机号", "持证等级"])
            for s in mine:
                for p in s["staff"]:
                    people.append([s["name"], s["county"], s["township"], p["name"], ROLE_WORD[p["role"]],
                                   p["phone"], p["certification"]])
            rooms = book.create_sheet("社工室")
            rooms.append(["站点名称", "乡镇代码", "类型", "社工室名称", "村(社区)代码"])
            for s in mine:
                for r in s["rooms"]:
                    rooms.append([s["name"], s["code"], r["kind"], r["name"], r["village_code"]])
            path = os.path.join(directory, f"{city}{name}社工站台账.xlsx")
            book.save(path)
            paths.append(path)
        return paths


# ---- the platform ------------------------------------------------------------

def start_platform(mongo_uri, workdir):
    os.makedirs(workdir, exist_ok=True)
    vhost, amqp_uri = new_vhost()
    platform = Platform(mongo_uri, amqp_uri, workdir)
    platform.vhost = vhost
    platform.topology()
    platform.registry = platform.start_service("registry", wait=False)
    platform.volunteer = platform.start_service("volunteer", wait=False)
    platform.registry.wait_ready()
    platform.volunteer.wait_ready()
    import_divisions(division_files(), out=lambda line: None, rpc=platform.rpc())
    return platform


def stop_platform(platform):
    platform.stop_all()
    rabbitmqctl("delete_vhost", platform.vhost)


def timed(fn):
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


def by_import(platform, paths, province):
    quiet = lambda line: None  # noqa: E731
    with ClusterRpcProxy({"AMQP_URI": platform.amqp_uri}, timeout=600) as cluster:
        dry_s, dry = timed(lambda: import_stations(paths, cluster, apply=False, out=quiet,
                                                   caller=PROVINCE_ADMIN))
        real_s, real = timed(lambda: import_stations(paths, cluster, apply=True, out=quiet,
                                                     caller=PROVINCE_ADMIN))
        answered = time.perf_counter()
        checks = []
        for on in ("2020-06-30", "2022-12-31"):
            got = cluster.registry.coverage({"region": "34", "as_of": on}, caller=PROVINCE_ADMIN)
            checks.append((on, (got["with_station"], got["operating"]), province.coverage_on(on)))
        # The volunteer service's stations view, read where it is kept (as bench/volunteer.py does).
        client = pymongo.MongoClient(platform.mongo_uri, tz_aware=True)
        try:
            known = platform.db(client, "volunteer").stations
            while known.count_documents({}) < len(province.stations):
                time.sleep(0.2)
        finally:
            client.close()
        volunteer_s = time.perf_counter() - answered
        again_s, again = timed(lambda: import_stations(paths, cluster, apply=True, out=quiet,
                                                       caller=PROVINCE_ADMIN))
    return dry_s, dry, real_s, real, checks, volunteer_s, again_s, again


def by_hand(platform, province, count):
    """The first `count` stations made one call per step, as officers do today."""
    calls = 0
    with ClusterRpcProxy({"AMQP_URI": platform.amqp_uri}, timeout=120) as cluster:
        registry = cluster.registry
        started = time.perf_counter()
        for s in province.stations[:count]:
            station = registry.create_station({
                "division_code": s["code"], "name": s["name"], "address": s["address"],
                "population_served": s["population"], "operator": {"name": s["operator"]},
                "planned_on": s["steps"][0][1].isoformat()}, caller=PROVINCE_ADMIN)
            calls += 1
            for status, on in s["steps"][1:]:
                registry.transition_station(station["id"], {"to": status, "on": on.isoformat()},
                                            caller=PROVINCE_ADMIN)
                calls += 1
            for p in s["staff"]:
                registry.add_staff(station["id"], {"role": p["role"], "name": p["name"],
                                                   "phone": p["phone"]}, caller=PROVINCE_ADMIN)
                calls += 1
            for r in s["rooms"]:
                registry.add_room(station["id"], {"kind": "room" if r["kind"] == "社工室" else "micro_site",
                                                  "name": r["name"], "village_code": r["village_code"]},
                                  caller=PROVINCE_ADMIN)
                calls += 1
        return time.perf_counter() - started, calls


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--by-hand", type=int, default=STATIONS,
                        help=f"stations made one by one (default all {STATIONS}); the rest extrapolated")
    parser.add_argument("--seed", type=int, default=34)
    args = parser.parse_args()
    count = max(1, min(args.by_hand, STATIONS))

    workdir = tempfile.mkdtemp(prefix="wushe-bench-stations-")
    port = localmongo.free_port()
    mongo_log = open(os.path.join(workdir, "mongo.log"), "wb")
    mongo = subprocess.Popen(localmongo.server_command(port, ":memory:") + ["--cache-size", "2G"],
                             stdout=mongo_log, stderr=subprocess.STDOUT, start_new_session=True)
    mongo_uri = localmongo.local_uri(port)
    localmongo.wait_until_up(mongo_uri)
    try:
        province = Province(args.seed)
        stations, staff, rooms, steps = province.counts()
        paths = province.workbooks(workdir)
        size = sum(os.path.getsize(p) for p in paths)
        print(f"wushe station import bench: {os.cpu_count()} cores; Anhui: {stations:,} stations "
              f"({steps:,} dated steps), {staff:,} staff, {rooms:,} rooms in {len(paths)} city "
              f"workbooks ({size / 1024:.0f} KiB)", flush=True)

        platform = start_platform(mongo_uri, os.path.join(workdir, "import"))
        try:
            dry_s, dry, real_s, real, checks, volunteer_s, again_s, again = by_import(
                platform, paths, province)
        finally:
            stop_platform(platform)
        assert dry["refused"] == 0 and real["refused"] == 0, [
            r for r in real["rows"] if r["status"] == "refused"][:5]
        assert real["new"] == stations + staff + rooms and again["unchanged"] == real["new"]
        assert all(got == expected for _, got, expected in checks), checks
        table("1. the import through RPC (16 workbooks, one call each)", [
            ("dry run (nothing written)", f"{dry_s:.1f} s for {dry['rows_read']:,} rows"),
            ("real run", f"{real_s:.1f} s: {real['new']:,} rows new, {real['events']:,} events "
                         f"({stations / real_s:.0f} stations/s)"),
            ("the same sheets again", f"{again_s:.1f} s, {again['unchanged']:,} rows unchanged, "
                                      f"{again['events']} events"),
            *[(f"coverage of 34 as of {on}", f"{got[0]} with a station, {got[1]} operating "
                                             f"(expected {exp[0]} / {exp[1]}), right when the import answered")
              for on, got, exp in checks],
            ("volunteer service knew every station", f"{volunteer_s:.1f} s after the import answered"),
        ])

        platform = start_platform(mongo_uri, os.path.join(workdir, "by-hand"))
        try:
            hand_s, calls = by_hand(platform, province, count)
        finally:
            stop_platform(platform)
        per_station = hand_s / count
        whole = per_station * stations
        measured = "all" if count == stations else f"the first {count:,}, extrapolated"
        table("2. the same stations one call per step through RPC (create, transitions, staff, rooms)", [
            ("made", f"{count:,} stations with {calls:,} calls in {hand_s:.1f} s "
                     f"({calls / hand_s:.0f} calls/s, {per_station * 1000:.0f} ms a station)"),
            (f"the whole province ({measured})", f"{whole:.0f} s"),
        ])
        table("3. ratio", [("one by one / import (real run)", f"{whole / real_s:.1f}x")])
    finally:
        mongo.terminate()
        mongo.wait(30)


if __name__ == "__main__":
    main()
