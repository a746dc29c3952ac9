"""Benchmarks of the volunteer service.

    python bench/volunteer.py [--quick] [--threads N]

Starts its own platform like the test harness (a Mongo-wire server in memory
with a 6 GiB cache,
a fresh RabbitMQ vhost, the topology and the volunteer service as `wushe serve
volunteer` runs it) and prints:
  1. hour records recorded per second and approved per second, through RPC from
     N threads, each with its own ClusterRpcProxy (docs/stack.md: never share one);
     then how long the totals read model took to count every approval (the
     event path: outbox -> broker -> the service's own inbox);
  2. the time to answer a region's totals (`hours_totals` over RPC, median of
     several calls) with 100,000 and with 1,000,000 approved records.

For 2 the records and the read model are seeded with insert_many straight into
the service's database (a synthetic province 35: 9 cities, 72 counties, 720
townships with a station and two teams each, 30,000 volunteers): pushing a
million records through RPC and events would take hours on this machine, and
the event path is measured in 1 (and in the registry's bench/run.py). The
answer reads one totals document and its children, so it should not grow with
the records; the seeded model is checked against the seeded records. The
`hours` collection's secondary indexes are dropped before seeding (inserts run
8x faster without them here: ~18,000 against ~2,200 documents/s) and not built
again: the totals answer never reads `hours`.

Stations are seeded into the service's stations view directly too (the
registry is not started): what the registry's events would have put there.
About 4 minutes on a 2-core machine (--quick: about 1).
"""
import argparse
import datetime
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import services  # noqa: E402,F401  (first: quiets eventlet's import banner)
import pymongo  # noqa: E402
from nameko.standalone.rpc import ClusterRpcProxy  # noqa: E402

from services.common import clock, localmongo  # noqa: E402
from services.volunteer import id_numbers, totals  # noqa: E402
from tests.harness import Platform, new_vhost, rabbitmqctl  # noqa: E402

SYSTEM = {"sub": "bench", "role": "system", "region": ""}
CACHE = "6G"
CHINA = clock.CHINA


def table(title, rows):
    print(f"\n{title}", flush=True)
    width = max(len(r[0]) for r in rows)
    for name, value in rows:
        print(f"  {name.ljust(width)}  {value}", flush=True)


def id_number(county, born, seq):
    first17 = f"{county}{born:%Y%m%d}{seq:03d}"
    return first17 + id_numbers.id_check_character(first17)


# ---- 1. recording and approving through RPC ---------------------------------

def seed_stations(db, count):
    stations = []
    for i in range(count):
        code = f"340102{i + 1:03d}"
        stations.append({"_id": f"{code}-01", "division_code": code, "county": "340102", "city": "3401",
                         "province": "34", "name": f"基准{i + 1}号社工站", "status": "operating",
                         "version": 3})
    db.stations.insert_many(stations)
    return stations


def run_threads(threads, work):
    """work(i, cluster) in `threads` threads, each with its own proxy; seconds taken."""
    barrier = threading.Barrier(threads + 1)
    errors = []

    def run(i):
        with ClusterRpcProxy({"AMQP_URI": AMQP_URI}, timeout=120) as cluster:
            barrier.wait()
            try:
                work(i, cluster)
            except Exception as exc:  # noqa: BLE001 - reported below
                errors.append(exc)
            barrier.wait()

    pool = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for t in pool:
        t.start()
    barrier.wait()
    started = time.perf_counter()
    barrier.wait()
    elapsed = time.perf_counter() - started
    for t in pool:
        t.join()
    if errors:
        raise errors[0]
    return elapsed


def record_and_approve(platform, db, threads, per_thread, volunteers_per_thread):
    stations = seed_stations(db, threads)
    plan = []
    with platform.rpc() as cluster:
        for i, station in enumerate(stations):
            team = cluster.volunteer.create_team({"station_id": station["_id"], "name": f"基准队{i}"},
                                                 caller=SYSTEM)
            activity = cluster.volunteer.create_activity({
                "team_id": team["id"], "title": "基准活动", "category": "community_governance",
                "place": "社区", "starts_at": "2026-01-01T00:00:00+08:00",
                "ends_at": "2026-11-01T00:00:00+08:00", "capacity": 100_000}, caller=SYSTEM)
            numbers = []
            for j in range(volunteers_per_thread):
                born = datetime.date(1960, 1, 1) + datetime.timedelta(days=j * 97 + i)
                numbers.append(cluster.volunteer.register_volunteer({
                    "name": "基准志愿者", "id_number": id_number("340102", born, i),
                    "phone": "13800000000", "birth_date": born.isoformat(),
                    "station_id": station["_id"]}, caller=SYSTEM)["number"])
            plan.append((activity["id"], numbers))

    recorded = [[] for _ in range(threads)]

    def record(i, cluster):
        activity_id, numbers = plan[i]
        base = datetime.datetime(2026, 1, 1, 8, 0, tzinfo=CHINA)
        for k in range(per_thread):
            start = base + datetime.timedelta(hours=k // len(numbers))   # distinct per volunteer
            record_ = cluster.volunteer.record_hours({
                "volunteer_number": numbers[k % len(numbers)], "activity_id": activity_id,
                "start": start.isoformat(), "end": (start + datetime.timedelta(minutes=45)).isoformat()},
                caller=SYSTEM)
            recorded[i].append(record_["id"])

    record_seconds = run_threads(threads, record)

    def approve(i, cluster):
        for record_id in recorded[i]:
            cluster.volunteer.approve_hours(record_id, {}, caller=SYSTEM)

    approve_started = time.perf_counter()
    approve_seconds = run_threads(threads, approve)
    total = threads * per_thread
    expected = total * 45
    with platform.rpc() as cluster:
        while cluster.volunteer.hours_totals({"region": "34"}, caller=SYSTEM)["minutes"] < expected:
            time.sleep(0.05)
    counted_after = time.perf_counter() - approve_started
    return total, record_seconds, approve_seconds, counted_after


# ---- 2. totals with 100,000 and 1,000,000 records ---------------------------

class Province:
    """The synthetic province 35 the totals are seeded for."""

    def __init__(self, volunteers=30_000, seed=7):
        self.random = random.Random(seed)
        self.townships = []
        for city in range(1, 10):
            for county in range(1, 9):
                for township in range(1, 11):
                    self.townships.append(f"35{city:02d}{county:02d}{township:03d}")
        self.volunteers = []   # (number, team, station, township)
        for n in range(volunteers):
            township = self.townships[n % len(self.townships)]
            station = f"{township}-01"
            team = f"TB{township}{n % 2}"
            self.volunteers.append((f"V{township[:6]}{n + 1:08d}", team, station, township))
        self.minutes = {}      # volunteer index -> approved minutes
        self.records = {}
        self.count = 0

    def records_batch(self, size):
        base = datetime.datetime(2025, 1, 1, tzinfo=datetime.timezone.utc)
        docs = []
        for _ in range(size):
            index = self.random.randrange(len(self.volunteers))
            number, team, station, township = self.volunteers[index]
            minutes = self.random.randrange(30, 241)
            start = base + datetime.timedelta(minutes=30 * self.count)
            self.count += 1
            self.minutes[index] = self.minutes.get(index, 0) + minutes
            self.records[index] = self.records.get(index, 0) + 1
            service_date = clock.china_date(start).isoformat()
            docs.append({
                "_id": f"HB{self.count:010d}", "kind": "record", "volunteer_number": number,
                "activity_id": f"AB{township}", "team_id": team, "station_id": station,
                "division_code": township, "county": township[:6], "city": township[:4],
                "province": "35", "start": start, "end": start + datetime.timedelta(minutes=minutes),
                "minutes": minutes, "delta_minutes": minutes, "service_date": service_date,
                "counted_on": service_date, "status": "approved", "source": "import",
                "recorded_at": start, "recorded_by": "bench", "decided_at": start, "decided_by": "bench"})
        return docs

    def read_model(self):
        """The totals and membership documents the events would have built."""
        sums, members = {}, []
        for index, minutes in self.minutes.items():
            number, team, station, township = self.volunteers[index]
            data = {"volunteer_number": number, "team_id": team, "station_id": station,
                    "division_code": township, "county": township[:6], "city": township[:4],
                    "province": "35"}
            places = {}
            for key, level, code, parent in totals.totals_keys(data):
                doc = sums.setdefault(key, {"_id": key, "level": level, "code": code, "parent": parent,
                                            "minutes": 0, "volunteers": 0, "records": 0})
                doc["minutes"] += minutes
                doc["records"] += self.records[index]
                doc["volunteers"] += 1
                places[key] = minutes
            members.append({"_id": number, "places": places})
        return list(sums.values()), members


def insert(collection, docs, chunk=10_000):
    for first in range(0, len(docs), chunk):
        collection.insert_many(docs[first:first + chunk], ordered=False)


def seed_model(db, province):
    db.totals.drop()
    db.totals_members.drop()
    totals.ensure_indexes(db)
    sums, members = province.read_model()
    insert(db.totals, sums)
    insert(db.totals_members, members)
    return len(sums) + len(members)


def time_totals(calls=25, settle=5.0):
    """Median time of `calls` answers per region, after the server has settled
    from the bulk inserts (checkpoints) and a few warm-up calls."""
    answers = {}
    time.sleep(settle)
    with ClusterRpcProxy({"AMQP_URI": AMQP_URI}, timeout=120) as cluster:
        for _ in range(5):
            cluster.volunteer.hours_totals({"region": "35"}, caller=SYSTEM)
        for region in ("35", "3501", "350101"):
            took = []
            for _ in range(calls):
                started = time.perf_counter()
                answer = cluster.volunteer.hours_totals({"region": region}, caller=SYSTEM)
                took.append(time.perf_counter() - started)
            answers[region] = (statistics.median(took), answer)
    return answers


def seed_records(db, province, target):
    if province.count == 0:
        db.hours.drop_indexes()   # see the module docstring
    started = time.perf_counter()
    while province.count < target:
        db.hours.insert_many(province.records_batch(min(20_000, target - province.count)), ordered=False)
    return time.perf_counter() - started


def main():
    global AMQP_URI
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="smaller counts (10,000 and 100,000 records)")
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()
    threads = args.threads
    per_thread = 60 if args.quick else 250
    sizes = (10_000, 100_000) if args.quick else (100_000, 1_000_000)

    workdir = tempfile.mkdtemp(prefix="wushe-bench-volunteer-")
    port = localmongo.free_port()
    mongo_log = open(os.path.join(workdir, "mongo.log"), "wb")
    # In memory, with a WiredTiger cache big enough for a million records (the
    # default 1G overflows: WT_CACHE_FULL).
    mongo = subprocess.Popen(localmongo.server_command(port, ":memory:") + ["--cache-size", CACHE],
                             stdout=mongo_log, stderr=subprocess.STDOUT, start_new_session=True)
    mongo_uri = localmongo.local_uri(port)
    localmongo.wait_until_up(mongo_uri)
    vhost, AMQP_URI = new_vhost()
    platform = Platform(mongo_uri, AMQP_URI, workdir)
    try:
        platform.topology()
        platform.volunteer = platform.start_service("volunteer")
        client = pymongo.MongoClient(mongo_uri, tz_aware=True)
        db = platform.db(client, "volunteer")
        print(f"wushe volunteer bench: {os.cpu_count()} cores, {threads} threads", flush=True)

        total, rec_s, app_s, counted = record_and_approve(platform, db, threads, per_thread, 50)
        table(f"1. hour records through RPC, {threads} threads, one proxy each ({total} records)", [
            ("recorded", f"{total / rec_s:.0f} records/s ({rec_s:.1f} s)"),
            ("approved", f"{total / app_s:.0f} approvals/s ({app_s:.1f} s)"),
            ("totals counted every approval", f"{counted:.1f} s after approving began "
                                              f"({total / counted:.0f} events/s through the inbox)"),
        ])

        province = Province()
        rows = []
        for size in sizes:
            seeded = seed_records(db, province, size)
            started = time.perf_counter()
            model_docs = seed_model(db, province)
            model_s = time.perf_counter() - started
            answers = time_totals()
            expected = sum(province.minutes.values())
            got = answers["35"][1]
            assert got["minutes"] == expected, (got["minutes"], expected)
            assert got["volunteers"] == len(province.minutes)
            assert sum(c["minutes"] for c in got["children"]) == expected
            rows.append((size, seeded, model_docs, model_s, answers))
            print(f"  ({size:,} records seeded in {seeded:.0f} s; {model_docs:,} read-model documents "
                  f"in {model_s:.0f} s)", flush=True)
        header = [("", "  ".join(f"{size:>12,} records" for size, *_ in rows))]
        lines = []
        for region, label in (("35", "province (9 cities)"), ("3501", "city (8 counties)"),
                              ("350101", "county (10 townships)")):
            lines.append((f"totals of a {label}, median",
                          "  ".join(f"{r[4][region][0] * 1000:>17.1f} ms" for r in rows)))
        first, last = rows[0][4]["35"][0], rows[-1][4]["35"][0]
        lines.append(("province: last / first", f"{last / first:.2f}x for {sizes[-1] // sizes[0]}x the records"))
        table("2. a region's totals (hours_totals over RPC, 25 calls each)", header + lines)
    finally:
        platform.stop_all()
        rabbitmqctl("delete_vhost", vhost)
        mongo.terminate()
        mongo.wait(30)


AMQP_URI = None

if __name__ == "__main__":
    main()
