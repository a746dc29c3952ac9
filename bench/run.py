"""Benchmarks of the platform against raw baselines on the same broker and server.

    python bench/run.py [--quick] [--storage memory|disk]     (or: make bench)

Starts its own platform (a Mongo-wire server, a fresh RabbitMQ vhost, the
services and the gateway, exactly as `wushe serve` runs them) and prints, from
one run:
  1. the event path (bench/eventpath.py): a station state change over RPC
     until the coverage read model shows it, beside raw kombu
     publish-with-confirms + consume + a pymongo write of the same shape
     (marker insert + update) on the same broker and server; latency,
     throughput, their ratios, Mongo round trips, CPU and bytes per change,
     memory after two runs, and throughput with two registry replicas;
  2. bench/gateway_throughput.py (its own table): gateway
     requests/s (GET a station over HTTP) beside raw RPC calls (get_station)
     from the same number of threads, and the ratio;
  3. the division import (Anhui; the whole country when ../shared is there);
  4. the resident memory of every process of the platform after the run.
Then it runs each service's bench/<service>.py, and bench/contracts.py (what
checking an event against its contract costs).

The Mongo-wire server keeps its data in memory by default, as in the tests.
With data on disk it must run with --sync-on-commit (services/common/localmongo.py),
which fsyncs at every transaction commit and at nothing else: the platform's
commits would pay a disk flush that the raw path's plain writes never do, on the
same server. `--storage disk` measures that setup too.
"""
import argparse
import subprocess
import os
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import services  # noqa: E402,F401  (first: quiets eventlet's import banner)
import pymongo  # noqa: E402

from bench import eventpath  # noqa: E402
from services.registry.commands import import_divisions  # noqa: E402
from services.common import localmongo  # noqa: E402
from tests.fixtures import UnitPool, division_files  # noqa: E402
from tests.harness import Platform, new_vhost, rabbitmqctl  # noqa: E402

SHARED = os.path.join(os.path.dirname(ROOT), "shared", "data", "divisions")


def table(title, rows):
    print(f"\n{title}")
    width = max(len(r[0]) for r in rows)
    for name, value in rows:
        print(f"  {name.ljust(width)}  {value}")


def rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None


def children(pid):
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        found.append(int(entry))
            except (OSError, ValueError, IndexError):
                pass
    return found


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="smaller counts, shorter runs")
    parser.add_argument("--event-path", action="store_true",
                        help="only section 1, the event path (bench/eventpath.py)")
    parser.add_argument("--storage", choices=("memory", "disk"), default="memory",
                        help="where the Mongo-wire server keeps its data (see above)")
    args = parser.parse_args()
    n = 60 if args.quick else 300
    seconds = 5 if args.quick else 15
    threads = 8

    workdir = tempfile.mkdtemp(prefix="wushe-bench-")
    port = localmongo.free_port()
    mongo_log = open(os.path.join(workdir, "mongo.log"), "wb")
    storage = ":memory:" if args.storage == "memory" else os.path.join(workdir, "mongo")
    mongo = localmongo.start(port, storage, mongo_log)
    mongo_uri = localmongo.local_uri(port)
    vhost, amqp_uri = new_vhost()
    platform = Platform(mongo_uri, amqp_uri, workdir)
    try:
        platform.topology()
        from services.common.catalog import names as present_services
        services = present_services()
        for service in services:
            setattr(platform, service, platform.start_service(service))
        started = time.perf_counter()
        import_divisions(division_files(), out=lambda line: None, rpc=platform.rpc())
        anhui_first = time.perf_counter() - started
        started = time.perf_counter()
        import_divisions(division_files(), out=lambda line: None, rpc=platform.rpc())
        anhui_again = time.perf_counter() - started
        platform.gateway = platform.start_gateway(",".join(services))
        client = pymongo.MongoClient(mongo_uri)
        registry_db = platform.db(client, "registry")

        print(f"wushe bench: {os.cpu_count()} cores, n={n}, {threads} threads x {seconds}s, "
              f"Mongo-wire server data {'in memory' if args.storage == 'memory' else 'on disk, fsync per commit'}")
        units = UnitPool()
        eventpath.run(platform, registry_db, units, n, mongo.pid, amqp_uri, mongo_uri)
        if args.event_path:
            return

        # The gateway against raw RPC, with its own platform and table.
        sys.stdout.flush()
        subprocess.run([sys.executable, os.path.join(ROOT, "bench", "gateway_throughput.py")]
                       + (["--quick"] if args.quick else []), check=False)
        rows = [("Anhui (20,155 rows) first / again", f"{anhui_first:.1f} s / {anhui_again:.1f} s")]
        if os.path.isdir(SHARED):
            files = [os.path.join(SHARED, f) for f in sorted(os.listdir(SHARED)) if f.endswith(".csv")]
            started = time.perf_counter()
            import_divisions(files, out=lambda line: None, rpc=platform.rpc())
            first = time.perf_counter() - started
            started = time.perf_counter()
            import_divisions(files, out=lambda line: None, rpc=platform.rpc())
            rows.append(("whole country (63,037 rows) first / again",
                         f"{first:.1f} s / {time.perf_counter() - started:.1f} s"))
        table("3. division import through RPC", rows)

        memory = [("mongo-wire server", rss_kib(mongo.pid))]
        for proc in platform.processes:
            memory.append((proc.name if proc.name != "gateway" else "gateway (gunicorn master)",
                           rss_kib(proc.proc.pid)))
            if proc.name == "gateway":
                for i, child in enumerate(children(proc.proc.pid)):
                    memory.append((f"gateway worker {i + 1}", rss_kib(child)))
        table("4. resident memory after the run", [(name, f"{kib / 1024:.0f} MiB" if kib else "?")
                                                   for name, kib in memory])
    finally:
        platform.stop_all()
        rabbitmqctl("delete_vhost", vhost)
        mongo.terminate()
        mongo.wait(30)

    import subprocess

    # Then each service's own figures (bench/<service>.py), and the contract check's cost.
    for name in [s for s in services if s != "registry"] + ["contracts"]:
        script = os.path.join(ROOT, "bench", f"{name}.py")
        if os.path.exists(script):
            print()
            subprocess.run([sys.executable, script] + (["--quick"] if args.quick else []), check=False)


if __name__ == "__main__":
    main()
