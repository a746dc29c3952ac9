"""The event path, measured beside raw kombu + pymongo on the same broker and server.

Used by bench/run.py (section 1). For one platform it measures, from one run:
latency (sequential changes) and throughput (pipelined changes) from the RPC
command until the registry's coverage read model shows it; the same shapes
done raw (kombu publish with confirms -> kombu consumer -> pymongo marker
insert + update); the database round trips per change (pymongo command
monitoring: the services count theirs in `wushe_mongo_commands_total`, the
raw path with a CommandListener here), CPU seconds and syscall bytes per
change of every process; resident memory after each of two runs; and the
throughput with a second registry replica on the same inbox.
"""
import json
import os
import re
import statistics
import threading
import time
import urllib.request
import uuid

import kombu
import pymongo
from pymongo import monitoring
from nameko.standalone.rpc import ClusterRpcProxy

from tests.fixtures import PROVINCE_ADMIN

_TICK = os.sysconf("SC_CLK_TCK")


def pct(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def table(title, rows):
    print(f"\n{title}")
    width = max(len(r[0]) for r in rows)
    for name, value in rows:
        print(f"  {name.ljust(width)}  {value}")


# ---- what each process spends ---------------------------------------------

def rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None


def cpu_seconds(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / _TICK
    except (OSError, ValueError, IndexError):
        return 0.0


_COMMANDS = re.compile(r'^wushe_mongo_commands_total\{(.*)\} ([0-9.e+]+)$')


def mongo_commands(process):
    """{command: count} this service process sent (its /metrics)."""
    try:
        with urllib.request.urlopen(process.base_url + "/metrics", timeout=10) as response:
            text = response.read().decode()
    except OSError:
        return {}
    counts = {}
    for line in text.splitlines():
        found = _COMMANDS.match(line)
        if found:
            labels = dict(re.findall(r'(\w+)="([^"]*)"', found.group(1)))
            counts[labels["command"]] = counts.get(labels["command"], 0) + float(found.group(2))
    return counts


class Snapshot:
    """CPU, syscall bytes and (services) Mongo commands of every process, at one moment."""

    def __init__(self, platform, mongo_pid):
        self.services = [p for p in platform.processes if p.name != "gateway" and p.proc.poll() is None]
        self.pids = {"mongo-wire server": mongo_pid,
                     **{f"{p.name}#{i}": p.proc.pid for i, p in enumerate(self.services)}}
        self.cpu = {name: cpu_seconds(pid) for name, pid in self.pids.items()}
        self.commands = {f"{p.name}#{i}": mongo_commands(p) for i, p in enumerate(self.services)}

    def per_change(self, later, n):
        cpu = {k: (later.cpu[k] - self.cpu.get(k, 0.0)) / n for k in later.cpu}
        commands = {}
        for name, counts in later.commands.items():
            before = self.commands.get(name, {})
            commands[name] = {c: (v - before.get(c, 0)) / n for c, v in counts.items()
                              if v - before.get(c, 0) > 0}
        return cpu, commands


# ---- the platform ------------------------------------------------------------

def _create(cluster, unit):
    return cluster.registry.create_station(
        {"division_code": unit["code"], "name": "基准社工站", "planned_on": "2026-01-01"},
        caller=PROVINCE_ADMIN)


class LogTail:
    """New JSON lines of a process's log, read as they are written."""

    def __init__(self, path):
        self.file = open(path, "rb")
        self.file.seek(0, os.SEEK_END)
        self.rest = b""

    def lines(self):
        chunk = self.file.read()
        if not chunk:
            return []
        complete, _, self.rest = (self.rest + chunk).rpartition(b"\n")
        out = []
        for raw in complete.split(b"\n"):
            try:
                out.append(json.loads(raw))
            except ValueError:
                pass
        return out

    def close(self):
        self.file.close()


def platform_latency(platform, db, units, n):
    """Sequential changes: from the RPC call until the registry's inbox has
    committed the station into its read model, seen from the "event applied"
    line it logs after the commit (with the request id the call carried).
    Watching its log rather than polling the read model keeps the watcher off
    the one-core Mongo-wire server (a poll every 2 ms was ~500 queries/s)."""
    coverage = db.coverage_units
    registry = next(p for p in platform.processes if p.name == "registry" and p.proc.poll() is None)
    tail = LogTail(registry.log_path)
    latencies, commands = [], []
    try:
        for _ in range(n):
            unit = units.township()
            request_id = f"bench-{uuid.uuid4().hex[:12]}"
            with ClusterRpcProxy({"AMQP_URI": platform.amqp_uri},
                                 context_data={"request_id": request_id}) as cluster:
                tail.lines()
                started = time.perf_counter()
                station = _create(cluster, unit)
                commands.append(time.perf_counter() - started)
                while not any(line.get("message") == "event applied"
                              and line.get("correlation_id") == request_id
                              for line in tail.lines()):
                    time.sleep(0.0005)
                latencies.append(time.perf_counter() - started)
            assert coverage.find_one({"_id": unit["code"], "stations.station_id": station["id"]},
                                     {"_id": 1}) is not None
    finally:
        tail.close()
    return latencies, commands


def platform_throughput(platform, db, units, n):
    """n changes sent at once (call_async); changes/s until the read model shows all.

    The read model is polled one unit at a time, in order, so that watching
    costs the one-core Mongo-wire server little (a long `$in` costs it the
    square of its length: docs/mongo-wire-server.md)."""
    coverage = db.coverage_units
    batch = [units.township() for _ in range(n)]
    with ClusterRpcProxy({"AMQP_URI": platform.amqp_uri}) as cluster:
        started = time.perf_counter()
        replies = [cluster.registry.create_station.call_async(
            {"division_code": u["code"], "name": "基准社工站", "planned_on": "2026-01-01"},
            caller=PROVINCE_ADMIN) for u in batch]
        for reply in replies:
            reply.result()
        waiting = [u["code"] for u in batch]
        while waiting:
            while waiting and coverage.find_one({"_id": waiting[0]}, {"_id": 1}) is not None:
                waiting.pop(0)
            if waiting:
                time.sleep(0.01)
        return n / (time.perf_counter() - started)


# ---- raw -----------------------------------------------------------------------

class _Count(monitoring.CommandListener):
    def __init__(self):
        self.count = 0

    def started(self, event):
        self.count += 1

    def succeeded(self, event):
        pass

    def failed(self, event):
        pass


def raw_event_path(amqp_uri, mongo_uri, n, consumers=1):
    """kombu publish with confirms -> kombu consumer -> pymongo marker + update.
    Returns latencies, throughput and Mongo round trips per message.

    consumers > 1: the message goes through a fanout exchange to that many
    queues, each with its own consumer doing the same two writes (the
    platform's event reaches five inboxes); latency and throughput are still
    those of the first consumer, as the platform's are the registry's."""
    counter = _Count()
    client = pymongo.MongoClient(mongo_uri, event_listeners=[counter])
    db = client[f"bench_raw_{uuid.uuid4().hex[:6]}"]
    tag = uuid.uuid4().hex[:6]
    exchange = kombu.Exchange(f"bench-raw-{tag}", type="fanout", durable=False, auto_delete=True)
    queues = [kombu.Queue(f"bench-raw-{tag}-{i}", exchange=exchange, durable=True,
                          queue_arguments={"x-queue-type": "quorum"}) for i in range(consumers)]
    for i in range(consumers):
        db[f"model{i}"].insert_one({"_id": "counter", "n": 0})
    done = {}
    cond = threading.Condition()
    stop = threading.Event()

    def consume(i):
        with kombu.Connection(amqp_uri) as conn:
            def on_message(body, message):
                db[f"processed{i}"].insert_one({"_id": body["id"]})
                db[f"model{i}"].update_one({"_id": "counter"}, {"$inc": {"n": 1}})
                message.ack()
                if i == 0:
                    with cond:
                        done[body["id"]] = time.perf_counter()
                        cond.notify_all()
            with kombu.Consumer(conn, [queues[i]], callbacks=[on_message], accept=["json"]):
                while not stop.is_set():
                    try:
                        conn.drain_events(timeout=0.2)
                    except (TimeoutError, OSError):
                        pass

    with kombu.Connection(amqp_uri, transport_options={"confirm_publish": True}) as conn:
        for queue in queues:
            queue(conn.default_channel).declare()
        threads = [threading.Thread(target=consume, args=(i,), daemon=True) for i in range(consumers)]
        for thread in threads:
            thread.start()
        time.sleep(0.5)
        producer = kombu.Producer(conn.default_channel)

        def publish():
            ident = uuid.uuid4().hex
            producer.publish({"id": ident, "data": {"x": 1}}, exchange=exchange,
                             routing_key="bench", serializer="json", delivery_mode=2)
            return ident

        latencies = []
        for _ in range(n):
            started = time.perf_counter()
            ident = publish()
            with cond:
                cond.wait_for(lambda: ident in done, timeout=10)
            latencies.append(done[ident] - started)
            time.sleep(0.02)   # the other consumers finish too: each change at low load
        before = counter.count
        started = time.perf_counter()
        idents = [publish() for _ in range(n)]
        with cond:
            cond.wait_for(lambda: all(i in done for i in idents), timeout=60)
        throughput = n / (time.perf_counter() - started)
        time.sleep(0.5)
        round_trips = (counter.count - before) / n
        stop.set()
        for thread in threads:
            thread.join(5)
        for queue in queues:
            queue(conn.default_channel).delete()
    client.drop_database(db.name)
    client.close()
    return latencies, throughput, round_trips


# ---- the section ---------------------------------------------------------------

def memory_rows(platform, mongo_pid):
    rows = [("mongo-wire server", rss_kib(mongo_pid))]
    for i, proc in enumerate(platform.processes):
        if proc.proc.poll() is None:
            rows.append((f"{proc.name}#{i}", rss_kib(proc.proc.pid)))
    return rows


def one_run(platform, db, units, n, mongo_pid):
    lat, commands = platform_latency(platform, db, units, n)
    before = Snapshot(platform, mongo_pid)
    thr = platform_throughput(platform, db, units, n)
    time.sleep(1.5)   # let the other services' inboxes finish their share of the n changes
    cpu, rtt = before.per_change(Snapshot(platform, mongo_pid), n)
    return {"lat": lat, "commands": commands, "thr": thr, "cpu": cpu, "rtt": rtt}


STATION_CREATED = "wushe.registry.station.created.v1"


def inboxes_taking(event_type):
    """How many services' inboxes consume `event_type`."""
    from services.common import catalog

    return sum(1 for name in catalog.names()
               if (subs := catalog.subscriptions(name)) is not None and event_type in subs.handlers)


def bytes_of_a_change(platform, db):
    """Sizes of what one station.created moves: its AMQP body, its outbox entry,
    and the markers of the inboxes that applied it (one per consuming service)."""
    import bson

    from services.common.catalog import names

    entry = db.outbox.find_one({"type": "wushe.registry.station.created.v1"},
                               sort=[("recorded_at", -1)])
    key = f"{entry['event']['source']}#{entry['_id']}"
    markers = [m for service in names()
               if (m := platform.db(db.client, service).processed_events.find_one({"_id": key}))]
    body = len(json.dumps(entry["event"], ensure_ascii=False).encode())
    return body, len(bson.encode(entry)), len(markers), \
        (len(bson.encode(markers[0])) if markers else 0)


def run(platform, registry_db, units, n, mongo_pid, amqp_uri, mongo_uri):
    """Section 1 of bench/run.py: prints its tables, returns nothing."""
    first = one_run(platform, registry_db, units, n, mongo_pid)
    memory_first = memory_rows(platform, mongo_pid)
    raw_lat, raw_thr, raw_rtt = raw_event_path(amqp_uri, mongo_uri, n)
    fan_out = inboxes_taking(STATION_CREATED)
    fan_lat, fan_thr, _ = raw_event_path(amqp_uri, mongo_uri, n, consumers=fan_out)
    lat, thr = first["lat"], first["thr"]
    table("1. event path: state change -> consumer's read model", [
        ("platform latency p50 / p95", f"{statistics.median(lat)*1000:.1f} / {pct(lat, .95)*1000:.1f} ms"),
        ("  of which the RPC command p50", f"{statistics.median(first['commands'])*1000:.1f} ms"),
        ("raw kombu+pymongo p50 / p95", f"{statistics.median(raw_lat)*1000:.1f} / {pct(raw_lat, .95)*1000:.1f} ms"),
        ("latency ratio (platform / raw)", f"{statistics.median(lat) / statistics.median(raw_lat):.1f}x"),
        ("platform throughput", f"{thr:.0f} changes/s (RPC, pipelined)"),
        ("raw throughput", f"{raw_thr:.0f} messages/s"),
        ("throughput ratio (platform / raw)", f"{thr / raw_thr:.2f}"),
        (f"raw fanned out to {fan_out} consumers, p50 / throughput",
         f"{statistics.median(fan_lat)*1000:.1f} ms / {fan_thr:.0f} messages/s "
         f"(the platform's event reaches {fan_out} inboxes; shown, not the goal's baseline)"),
    ])

    rtt = first["rtt"]
    rows = []
    total = 0.0
    for name in sorted(rtt):
        count = sum(rtt[name].values())
        total += count
        top = ", ".join(f"{c} {v:.2f}" for c, v in sorted(rtt[name].items(), key=lambda kv: -kv[1])[:6])
        rows.append((f"{name}", f"{count:.1f}  ({top})"))
    rows.append(("all services", f"{total:.1f} per change"))
    rows.append(("raw (insert marker + update)", f"{raw_rtt:.1f} per message"))
    rows.append(("ratio (platform / raw)", f"{total / raw_rtt:.1f}x"))
    table("1b. Mongo round trips per change, pipelined run (pymongo command monitoring)", rows)

    body, outbox_entry, inboxes, marker = bytes_of_a_change(platform, registry_db)
    table("1c. cost per change, pipelined run (CPU ms of each process; bytes)", [
        (name, f"{first['cpu'][name]*1000:.2f} ms CPU") for name in sorted(first["cpu"])] + [
        ("all processes", f"{sum(first['cpu'].values())*1000:.2f} ms CPU"),
        ("event body (AMQP)", f"{body} B, published once, delivered to {inboxes} inboxes"),
        ("outbox entry / inbox marker (BSON)", f"{outbox_entry} B / {marker} B each"),
    ])

    second = one_run(platform, registry_db, units, n, mongo_pid)
    memory_second = memory_rows(platform, mongo_pid)
    rows = []
    for (name, a), (_name, b) in zip(memory_first, memory_second):
        if a and b:
            rows.append((name, f"{a/1024:.0f} MiB -> {b/1024:.0f} MiB ({(b - a)/1024:+.1f} MiB)"))
    table("1d. resident memory after event-path run 1 -> run 2 (growth)", rows)
    print(f"  (run 2: {second['thr']:.0f} changes/s, p50 {statistics.median(second['lat'])*1000:.1f} ms)")

    replica = platform.start_service("registry")
    try:
        time.sleep(1.0)
        two = platform_throughput(platform, registry_db, units, n)
    finally:
        replica.stop()
        platform.processes.remove(replica)
    table("1e. registry replicas on one inbox (and one RPC queue)", [
        ("one replica", f"{second['thr']:.0f} changes/s"),
        ("two replicas", f"{two:.0f} changes/s"),
        ("ratio (two / one)", f"{two / second['thr']:.2f}"),
    ])
