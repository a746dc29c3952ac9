"""Benchmarks of the supervision service.

    python bench/supervision.py [--quick]

Starts its own platform like the test harness (a Mongo-wire server in memory,
a fresh RabbitMQ vhost, the topology and the supervision service as `wushe
serve supervision` runs it) and prints, each beside its raw baseline:

  1. the scorecard of the province (16 cities) and of one city (its counties),
     `scorecard` over RPC, median of 25 calls, with Anhui's 1,541 township
     stations and two years of monthly reports (36,984), then with ten times
     the reports (15,410 stations, ten per township, over the same two years:
     369,840). The raw baseline is one pymongo `find` of the same documents.
     The answer reads the province's (or city's) documents and its children's
     for the months up to the asked one, so it should not grow with the reports.
  2. events handled per second into the scorecard model: `report.submitted`
     events published straight onto the service's inbox queue, until every one
     is applied (the service's /metrics count them; inbox transaction:
     processed-event marker + one bulk_write of three $inc upserts: station,
     county, city), beside a raw pymongo bulk_write of the same three upserts
     per event, one event at a time, no transaction, no marker.
  3. the supervision process's resident memory (VmRSS) after the run.

For 1 the stations view, the reports and the scorecard model are seeded with
insert_many straight into the service's database (pushing 370,000 reports
through RPC and events would take hours on this machine; the event path is
measured in 2). The model is what the events would have built: it is computed
here with the service's own functions (figures.station_steps, scorecard.places)
and the answer is checked against the seeded counts. --quick: 2 months of
reports and a tenth of the events.
"""
import argparse
import collections
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import services  # noqa: E402,F401  (first: quiets eventlet's import banner)
import kombu  # noqa: E402
import pymongo  # noqa: E402
from nameko.standalone.rpc import ClusterRpcProxy  # noqa: E402
from pymongo import UpdateOne  # noqa: E402

from services.common import events as cloudevents, localmongo  # noqa: E402
from services.common.clock import rfc3339  # noqa: E402
from services.supervision import figures, rules, scorecard  # noqa: E402
from tests.fixtures import DIVISIONS  # noqa: E402
from tests.harness import Platform, new_vhost, rabbitmqctl  # noqa: E402

SYSTEM = {"sub": "bench", "role": "system", "region": ""}
CACHE = "4G"
LAST_MONTH = "2026-10"


def table(title, rows):
    print(f"\n{title}", flush=True)
    width = max(len(r[0]) for r in rows)
    for name, value in rows:
        print(f"  {name.ljust(width)}  {value}", flush=True)


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


# ---- 1. the scorecard with 1,541 stations and two years of reports ------------------------

def townships():
    import csv

    with open(os.path.join(DIVISIONS, "areas.csv"), encoding="utf-8") as f:
        county_names = {r["code"]: r["name"] for r in csv.DictReader(f)}
    with open(os.path.join(DIVISIONS, "cities.csv"), encoding="utf-8") as f:
        city_names = {r["code"]: r["name"] for r in csv.DictReader(f)}
    with open(os.path.join(DIVISIONS, "streets.csv"), encoding="utf-8") as f:
        return [dict(r, county_name=county_names.get(r["areaCode"]), city_name=city_names.get(r["cityCode"]))
                for r in csv.DictReader(f)
                if r["provinceCode"] == "34" and r["name"].endswith(("街道", "镇", "乡"))]


class Model:
    """The stations, reports and scorecard documents that two years of events would make."""

    def __init__(self, months, seed=5):
        self.months = months
        self.random = random.Random(seed)
        self.docs = {}
        self.expected = collections.Counter()

    def _add(self, regions, month, levels=None, flows=None):
        for level, code, parent, province in scorecard.places(regions):
            doc = self.docs.setdefault(f"{level}:{code}:{month}", {
                "_id": f"{level}:{code}:{month}", "level": level, "code": code, "parent": parent,
                "province": province, "month": month, "d": {}, "f": {}})
            for part, values in (("d", levels or {}), ("f", flows or {})):
                for k, v in values.items():
                    doc[part][k] = doc[part].get(k, 0) + v

    def station(self, unit, number):
        opened = f"{self.months[0][:4]}-01-05" if number == 1 else f"{self.months[0]}-20"
        station = {"_id": f"{unit['code']}-{number:02d}", "division_code": unit["code"],
                   "county": unit["areaCode"], "city": unit["cityCode"], "province": "34",
                   "name": f"{unit['name']}社工站", "division_name": unit["name"],
                   "county_name": unit["county_name"], "city_name": unit["city_name"],
                   "province_name": "安徽省", "status": "operating",
                   "status_history": [{"status": "planned", "on": "2023-06-01"},
                                      {"status": "built", "on": "2023-09-01"},
                                      {"status": "operating", "on": opened}],
                   "opened_on": opened, "operator_name": f"{unit['county_name']}社工服务中心",
                   "staffing": {"meets_rule": number % 3 != 0}, "staff": [],
                   "checklist_met": 4 + number % 3, "version": 3,
                   "known": [{"month": self.months[0], "checklist_met": 4 + number % 3,
                              "meets_rule": number % 3 != 0}]}
        regions = {"station_id": station["_id"], **{k: station[k] for k in ("county", "city", "province")}}
        for month, change in figures.station_steps(station).items():
            self._add(regions, month, levels=change)
        reports = []
        for month in self.months:
            draw = self.random.random()
            outcome = "reports_on_time" if draw < 0.8 else "reports_late" if draw < 0.95 else "reports_missing"
            flows = {outcome: 1, "volunteer_minutes": self.random.randrange(0, 600),
                     "volunteers_active": self.random.randrange(0, 8),
                     "raised_fen": self.random.randrange(0, 100_000)}
            if outcome == "reports_missing":
                flows["reports_overdue"] = 1
            if month[5:] in ("01", "04", "07", "10") or self.random.random() < 0.3:
                flows.update(sessions=1, supervised=1 if month[5:] in ("01", "04", "07", "10") else 0)
            self._add(regions, month, flows=flows)
            if month == LAST_MONTH:
                self.expected.update({k: v for k, v in flows.items() if k.startswith("reports")})
            reports.append({"_id": f"{station['_id']}:{month}", **{k: station[k] for k in (
                "division_code", "county", "city", "province")}, "station_id": station["_id"],
                "station_name": station["name"], "month": month,
                "due_at": rules.report_due_at(month, 25),
                "status": "overdue" if outcome == "reports_missing" else "submitted",
                "late": None if outcome == "reports_missing" else outcome == "reports_late",
                "overdue": outcome == "reports_missing", "revision": 1, "casework": 3, "group_work": 1,
                "community_activities": 2, "served": {"elderly": 10, "children": 4, "disabled": 1,
                                                      "others": 2},
                "narrative": "本月服务情况", "returned": [], "revisions": []})
        self.expected["operating"] += 1
        return station, reports


def insert(collection, docs, chunk=10_000):
    for first in range(0, len(docs), chunk):
        collection.insert_many(docs[first:first + chunk], ordered=False)


def region_names(units):
    names = {"34": ("province", "安徽省")}
    for unit in units:
        names[unit["areaCode"]] = ("county", unit["county_name"])
        names[unit["cityCode"]] = ("city", unit["city_name"])
    return [{"_id": code, "level": level, "name": name} for code, (level, name) in names.items()]


def seed(db, units, per_township, months):
    for name in ("stations", "reports", "scorecard", "region_names"):
        db[name].drop()
    db.region_names.insert_many(region_names(units))
    db.reports.create_index([("county", 1), ("month", -1)])
    scorecard.ensure_indexes(db)
    model = Model(months)
    stations, reports = [], []
    started = time.perf_counter()
    for unit in units:
        for number in range(1, per_township + 1):
            station, station_reports = model.station(unit, number)
            stations.append(station)
            reports.extend(station_reports)
    insert(db.stations, stations)
    insert(db.reports, reports)
    insert(db.scorecard, list(model.docs.values()))
    return len(stations), len(reports), len(model.docs), time.perf_counter() - started, model.expected


def time_scorecards(amqp_uri, db, city, calls=25):
    out = {}
    time.sleep(3)   # let the server settle after the bulk inserts
    with ClusterRpcProxy({"AMQP_URI": amqp_uri}, timeout=120) as cluster:
        for _ in range(3):
            cluster.supervision.scorecard({"region": "34", "month": LAST_MONTH}, caller=SYSTEM)
        for region in ("34", city):
            took, answer = [], None
            for _ in range(calls):
                started = time.perf_counter()
                answer = cluster.supervision.scorecard({"region": region, "month": LAST_MONTH}, caller=SYSTEM)
                took.append(time.perf_counter() - started)
            raw = []
            level = {2: "province", 4: "city"}[len(region)]
            child = scorecard.CHILD[level]
            for _ in range(calls):
                started = time.perf_counter()
                list(db.scorecard.find({"level": level, "code": region, "month": {"$lte": LAST_MONTH}}))
                list(db.scorecard.find({"parent": region, "level": child, "month": {"$lte": LAST_MONTH}}))
                raw.append(time.perf_counter() - started)
            out[region] = (statistics.median(took), statistics.median(raw), answer)
    return out


# ---- 2. events into the scorecard model ------------------------------------------------------

def report_events(count, stations):
    out = []
    for i in range(count):
        station = stations[i % len(stations)]
        month = rules.add_months("2020-01", i // len(stations))
        data = {"station_id": station["_id"], **{k: station[k] for k in ("division_code", "county", "city",
                                                                          "province")},
                "report_id": f"{station['_id']}:{month}", "month": month,
                "due_at": rfc3339(rules.report_due_at(month, 25)),
                "revision": 1, "late": i % 5 == 0, "was_overdue": False,
                "submitted_at": "2026-11-20T02:00:00Z", "casework": 1, "group_work": 1,
                "community_activities": 1, "served": {"elderly": 1, "children": 1, "disabled": 0, "others": 0}}
        out.append(cloudevents.cloud_event("supervision", "report.submitted", data["report_id"], data))
    return out


def applied(platform):
    """Events the service's inbox applied, from its /metrics."""
    with urllib.request.urlopen(platform.supervision.base_url + "/metrics", timeout=5) as response:
        return sum(float(line.rsplit(" ", 1)[1]) for line in response.read().decode().splitlines()
                   if line.startswith("wushe_events_handled_total{") and 'outcome="applied"' in line)


def events_per_second(platform, db, stations, count):
    queue = "supervision.inbox"
    batch = report_events(count, stations)
    before = applied(platform)
    with kombu.Connection(platform.amqp_uri, transport_options={"confirm_publish": True}) as conn:
        producer = kombu.Producer(conn)
        started = time.perf_counter()
        for event in batch:
            producer.publish(event, exchange="", routing_key=queue, serializer="json", delivery_mode=2,
                             message_id=event["id"], type=event["type"])
    while applied(platform) < before + count:
        time.sleep(0.05)
    platform_seconds = time.perf_counter() - started

    raw = db["bench_raw_scorecard"]
    raw.drop()
    started = time.perf_counter()
    for event in batch:
        data = event["data"]
        inc = {"f.reports_late" if data["late"] else "f.reports_on_time": 1}
        raw.bulk_write([UpdateOne({"_id": f"{level}:{code}:{data['month']}"},
                                  {"$inc": inc, "$setOnInsert": {"level": level, "code": code, "parent": parent,
                                                                 "province": province, "month": data["month"]}},
                                  upsert=True)
                        for level, code, parent, province in scorecard.places(data)], ordered=False)
    raw_seconds = time.perf_counter() - started
    marked = db["bench_raw_marks"]
    marked.drop()
    started = time.perf_counter()
    for event in batch:   # the same, with the inbox's marker, still no transaction
        data = event["data"]
        marked.insert_one({"_id": f"{event['source']}#{event['id']}"})
        raw.bulk_write([UpdateOne({"_id": f"m:{level}:{code}:{data['month']}"}, {"$inc": {"f.n": 1}},
                                  upsert=True) for level, code, _parent, _province in scorecard.places(data)],
                       ordered=False)
    marked_seconds = time.perf_counter() - started
    return count / platform_seconds, count / raw_seconds, count / marked_seconds


# ---- main ----------------------------------------------------------------------------------------

def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="2 months of reports, 200 events")
    args = parser.parse_args()
    months = rules.months_between("2026-09", LAST_MONTH) if args.quick else \
        rules.months_between(rules.add_months(LAST_MONTH, -23), LAST_MONTH)
    count = 200 if args.quick else 2000

    workdir = tempfile.mkdtemp(prefix="wushe-bench-supervision-")
    port = localmongo.free_port()
    mongo_log = open(os.path.join(workdir, "mongo.log"), "wb")
    mongo = subprocess.Popen(localmongo.server_command(port, ":memory:") + ["--cache-size", CACHE],
                             stdout=mongo_log, stderr=subprocess.STDOUT, start_new_session=True)
    mongo_uri = localmongo.local_uri(port)
    localmongo.wait_until_up(mongo_uri)
    vhost, amqp_uri = new_vhost()
    platform = Platform(mongo_uri, amqp_uri, workdir)
    try:
        platform.topology()
        # The scheduled job would mark the seeded stations' missing reports while they are
        # seeded: it waits a day here.
        platform.supervision = platform.start_service("supervision", SUPERVISION_DUE_CHECK_SECONDS=86400)
        client = pymongo.MongoClient(mongo_uri, tz_aware=True)
        db = platform.db(client, "supervision")
        units = townships()
        print(f"wushe supervision bench: {os.cpu_count()} cores, {len(units)} stations, "
              f"{len(months)} months of reports", flush=True)

        rows = []
        city = "3412"   # 阜阳市, the city with the most townships
        for per_township in (1, 10):
            stations, reports_n, model_n, seconds, expected = seed(db, units, per_township, months)
            answers = time_scorecards(amqp_uri, db, city)
            got = answers["34"][2]["figures"]
            assert got["operating"] == expected["operating"] == stations, (got["operating"], stations)
            for figure in ("reports_on_time", "reports_late", "reports_missing"):
                assert got[figure] == expected[figure], (figure, got[figure], expected[figure])
            assert len(answers["34"][2]["children"]) == 16
            rows.append((stations, reports_n, model_n, seconds, answers))
            print(f"  ({stations:,} stations, {reports_n:,} reports and {model_n:,} scorecard documents "
                  f"seeded in {seconds:.0f} s)", flush=True)
        lines = [("", "  ".join(f"{r[1]:>10,} reports" for r in rows) + "   raw find of the same documents")]
        for region, label in (("34", "province (16 cities)"), (city, "one city (阜阳市, its counties)")):
            lines.append((f"scorecard of the {label}, median",
                          "  ".join(f"{r[4][region][0] * 1000:>13.1f} ms" for r in rows) +
                          "   " + " / ".join(f"{r[4][region][1] * 1000:.1f} ms" for r in rows)))
        for region in ("34", city):
            first, last = rows[0][4][region][0], rows[-1][4][region][0]
            lines.append((f"{region}: ten times the reports", f"{last / first:.2f}x the time"))
        table("1. a scorecard (`scorecard` over RPC, 25 calls each) beside a raw pymongo find", lines)

        stations = list(db.stations.find({}, {"division_code": 1, "county": 1, "city": 1, "province": 1})
                        .limit(1541))
        platform_rate, raw_rate, marked_rate = events_per_second(platform, db, stations, count)
        table(f"2. events into the scorecard model ({count} report.submitted events)", [
            ("through the inbox (marker + bulk_write, one transaction)", f"{platform_rate:.0f} events/s"),
            ("raw pymongo bulk_write of the same three $inc upserts", f"{raw_rate:.0f} writes/s"),
            ("ratio platform / raw", f"{platform_rate / raw_rate:.2f}"),
            ("raw marker insert + the same bulk_write (no transaction)", f"{marked_rate:.0f} writes/s "
                                                                         f"(ratio {platform_rate / marked_rate:.2f})"),
        ])
        table("3. the supervision process", [
            ("resident memory after the run", f"{rss_mib(platform.supervision.proc.pid):.0f} MiB")])
    finally:
        platform.stop_all()
        rabbitmqctl("delete_vhost", vhost)
        mongo.terminate()
        mongo.wait(30)


if __name__ == "__main__":
    main()
