"""The soak run: steady mixed work through the gateway while things break.

    python bench/soak.py [--operations 10000] [--clients 6] [--minutes 60]   (or: make soak)

Starts its own platform as `make up` does (a Mongo-wire server on disk in a
temp dir, a RabbitMQ vhost of its own, `wushe topology`, every service and the
gateway as `wushe serve` processes, the division codes of the counties it
uses), then drives officers' work from several client threads (bench/soak_load.py)
and, on a schedule printed at the start, kills every service and the gateway
with SIGKILL once and restarts it, restarts the RabbitMQ server once (the
machine's broker: the server process, not only the app) and kills the
Mongo-wire server with SIGKILL once and restarts it on the same data.

Afterwards it checks (bench/soak_checks.py) and prints as a table: every
acknowledged operation exists exactly once, every read model equals a
recomputation from its source, every outbox is drained, every event was applied
once by every consumer, and the dead letters with their cause; then
throughput and latency before, during and after each fault, and how long the
platform took to recover from each. Exits 1 if a check fails.
docs/operations.md explains how to read it.
"""
import argparse
import csv
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HERE = os.path.dirname(os.path.abspath(__file__))
# bench/ last: a script named like a package (gateway, services) must not shadow it.
sys.path[:] = [ROOT] + [p for p in sys.path if os.path.abspath(p or ".") != HERE] + [HERE]

import services  # noqa: E402,F401  (first: quiets eventlet's import banner)
import pymongo  # noqa: E402

from services.common import catalog, localmongo  # noqa: E402
from services.registry.commands import import_divisions  # noqa: E402
from tests.fixtures import DIVISIONS  # noqa: E402
from tests.harness import Platform, new_vhost, rabbitmqctl  # noqa: E402

import soak_checks  # noqa: E402
import soak_load  # noqa: E402

# The gateway answers 504 after this; kept short so a fault costs seconds, not half a minute.
RPC_TIMEOUT = 10
CHECKLIST = "soak-daily"


# ---- the platform ---------------------------------------------------------------

class SoakPlatform:
    def __init__(self, workdir, services, out):
        self.workdir, self.services, self.out = workdir, list(services), out
        self.mongo_port = localmongo.free_port()
        self.mongo_path = os.path.join(workdir, "mongo")
        self.mongo_log = open(os.path.join(workdir, "mongo.log"), "ab")
        self.mongo = None
        self.vhost = None
        self.platform = None
        self.procs = {}

    def start(self, counties):
        self.mongo = localmongo.start(self.mongo_port, self.mongo_path, self.mongo_log)
        self.vhost, amqp_uri = new_vhost()
        self.platform = Platform(localmongo.local_uri(self.mongo_port), amqp_uri, self.workdir)
        self.platform.topology()
        env = {"RPC_TIMEOUT": RPC_TIMEOUT}
        for service in self.services:
            self.procs[service] = self.platform.start_service(service, wait=False, **env)
        for service in self.services:
            self.procs[service].wait_ready()
        import_divisions(self._division_files(counties), out=lambda line: None, rpc=self.platform.rpc())
        self.procs["gateway"] = self.platform.start_gateway(",".join(self.services), **env)
        self.base_url = self.procs["gateway"].base_url

    def _division_files(self, counties):
        """Only the lanes' counties (and their city and province): a quick import."""
        folder = os.path.join(self.workdir, "divisions")
        os.makedirs(folder, exist_ok=True)
        cities = {c[:4] for c in counties}
        keep = {"provinces.csv": lambda r: r["code"] == "34", "cities.csv": lambda r: r["code"] in cities,
                "areas.csv": lambda r: r["code"] in counties,
                "streets.csv": lambda r: r["areaCode"] in counties}
        paths = []
        for name, wanted in keep.items():
            with open(os.path.join(DIVISIONS, name), encoding="utf-8") as f:
                reader = csv.DictReader(f)
                rows = [r for r in reader if wanted(r)]
                fields = reader.fieldnames
            path = os.path.join(folder, name)
            with open(path, "w", encoding="utf-8", newline="") as f:
                writer = csv.DictWriter(f, fields)
                writer.writeheader()
                writer.writerows(rows)
            paths.append(path)
        return paths

    # ---- faults ----

    def kill_process(self, name):
        proc = self.procs[name]
        proc.kill()
        time.sleep(1)  # calls pile up in the durable RPC queue meanwhile
        env = {"RPC_TIMEOUT": RPC_TIMEOUT}
        if name == "gateway":
            self.procs[name] = self.platform.start_gateway(",".join(self.services),
                                                           port=proc.http_port, **env)
        else:
            self.procs[name] = self.platform.start_service(name, port=proc.http_port, **env)

    def restart_broker(self):
        """The broker process itself (stop_app/start_app keeps connections' node alive)."""
        subprocess.run(["rabbitmqctl", "-q", "shutdown"], check=False, capture_output=True, timeout=120)
        subprocess.run(["rabbitmq-server", "-detached"], check=False, capture_output=True, timeout=60)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if subprocess.run(["rabbitmq-diagnostics", "-q", "ping"], capture_output=True,
                              timeout=30).returncode == 0:
                return
            time.sleep(0.5)
        raise RuntimeError("RabbitMQ did not come back within 120 s")

    def kill_mongo(self):
        os.killpg(self.mongo.pid, signal.SIGKILL)
        self.mongo.wait()
        time.sleep(1)
        self.mongo = localmongo.start(self.mongo_port, self.mongo_path, self.mongo_log)

    def stop(self):
        if self.platform:
            self.platform.stop_all()
        if self.vhost:
            try:
                rabbitmqctl("delete_vhost", self.vhost)
            except subprocess.SubprocessError:
                self.out(f"could not delete vhost {self.vhost}")
        if self.mongo and self.mongo.poll() is None:
            self.mongo.terminate()
            try:
                self.mongo.wait(30)
            except subprocess.TimeoutExpired:
                self.mongo.kill()
        self.mongo_log.close()


class Fault:
    def __init__(self, at_op, kind, target):
        self.at_op, self.kind, self.target = at_op, kind, target
        self.started = self.restarted = self.recovered = None
        self.at = None
        self.error = None

    @property
    def label(self):
        return {"kill": f"SIGKILL {self.target}", "broker": "restart RabbitMQ",
                "mongo": "SIGKILL Mongo-wire server"}[self.kind]


def schedule(operations, services, short=False):
    """Every service and the gateway killed, the broker restarted, the database killed;
    short: one kill of each kind, the process one that rotates day by day."""
    processes = list(services) + ["gateway"]
    if short:
        import datetime

        processes = [processes[datetime.date.today().toordinal() % len(processes)]]
    faults = [("kill", s) for s in processes] + [("broker", "rabbitmq"), ("mongo", "mongo")]
    step = operations / (len(faults) + 1)
    return [Fault(int(step * (i + 1)), kind, target) for i, (kind, target) in enumerate(faults)]


def probes(lane):
    """A read through the gateway that needs each part; all 200 = recovered."""
    month = lane.months[0] if lane.months else "2020-03"
    return {"registry": ("admin", f"/stations/{lane.station}"),
            "volunteer": ("officer", f"/hours/totals?region={lane.county}"),
            "charity": ("officer", f"/charity/funds/{lane.fund}"),
            "supervision": ("staff", f"/monthly-reports/{lane.station}/{month}"),
            "accounts": ("admin", "/accounts?per_page=1")}


def recovered(lane, services):
    for service, (who, path) in probes(lane).items():
        if service not in services:
            continue
        try:
            if getattr(lane, who).once("GET", path).status_code != 200:
                return False
        except Exception:  # noqa: BLE001 (no answer yet)
            return False
    return True


def inject(soak, load, faults, lane, out, gap):
    """Runs the schedule from its own thread while the load runs."""
    done_at = 0
    for fault in faults:
        while not load.stop.is_set() and load.count() < max(fault.at_op, done_at + gap):
            time.sleep(0.05)
        if load.stop.is_set():
            return
        fault.started = time.monotonic()
        fault.at = time.strftime("%H:%M:%S")
        out(f"  [{fault.at}] op {load.count()}: {fault.label}")
        try:
            {"kill": lambda: soak.kill_process(fault.target), "broker": soak.restart_broker,
             "mongo": soak.kill_mongo}[fault.kind]()
        except Exception as exc:  # noqa: BLE001 (reported in the table)
            fault.error = repr(exc)
            out(f"    failed: {exc!r}")
        fault.restarted = time.monotonic()
        while not recovered(lane, soak.services):
            if time.monotonic() - fault.started > 300:
                fault.error = (fault.error or "") + " not recovered in 300 s"
                break
            time.sleep(0.2)
        fault.recovered = time.monotonic()
        done_at = load.count()
        out(f"    recovered after {fault.recovered - fault.started:.1f} s")
    while not load.stop.is_set() and load.count() < done_at + gap:
        time.sleep(0.05)


# ---- figures ----------------------------------------------------------------------

def phases(ops, faults, t0, t_end):
    """(name, start, end): before the first fault, then during and after each."""
    done = [f for f in faults if f.started]
    out = [("before faults", t0, done[0].started if done else t_end)]
    for i, f in enumerate(done):
        nxt = done[i + 1].started if i + 1 < len(done) else t_end
        out.append((f"during {f.label}", f.started, f.recovered))
        out.append((f"after {f.label}", f.recovered, nxt))
    return out


def pct(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] if values else float("nan")


def phase_rows(ops, spans):
    rows = []
    for name, start, end in spans:
        inside = [op for op in ops if op and op.ended and start <= op.ended < end]
        took = [op.ended - op.started for op in inside]
        seconds = max(end - start, 1e-9)
        retried = sum(1 for op in inside if op.attempts > 1)
        rows.append((name, f"{seconds:6.1f}", str(len(inside)), f"{len(inside) / seconds:6.1f}",
                     f"{statistics.median(took) * 1000:7.0f}" if took else "      -",
                     f"{pct(took, .95) * 1000:7.0f}" if took else "      -",
                     f"{max(took) * 1000:7.0f}" if took else "      -", str(retried)))
    return rows


def print_table(out, title, header, rows):
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    out(f"\n{title}")
    out("  " + "  ".join(str(h).ljust(w) for h, w in zip(header, widths)))
    out("  " + "  ".join("-" * w for w in widths))
    for row in rows:
        out("  " + "  ".join(str(x).ljust(w) for x, w in zip(row, widths)))


# ---- the run -----------------------------------------------------------------------

def pick_counties(n):
    """n counties of Anhui, each with at least two townships of kind street/town/township."""
    from tests.fixtures import UnitPool

    pool = UnitPool()
    return [pool.county(at_least=2) for _ in range(n)]


def run(operations=10_000, clients=6, minutes=60.0, services=None, workdir=None, out=print,
        broker=True, short=False):
    """Returns {"passed", "checks", "faults", "ops"}; `broker=False` skips the broker restart
    (the machine's shared RabbitMQ); `short`: one kill of each kind (the test)."""
    services = list(services or catalog.names())
    own_dir = workdir is None
    workdir = workdir or tempfile.mkdtemp(prefix="wushe-soak-")
    run_id = uuid.uuid4().hex[:6]
    counties = pick_counties(clients)
    soak = SoakPlatform(workdir, services, out)
    faults = [f for f in schedule(operations, services, short) if broker or f.kind != "broker"]
    out(f"wushe soak: {operations} operations from {clients} clients (at most {minutes:g} min), "
        f"services {', '.join(services)}; work in {workdir}")
    out("fault schedule (at completed operation):")
    for f in faults:
        out(f"  op {f.at_op:>6}: {f.label}")
    try:
        t_setup = time.monotonic()
        soak.start({code for code, _ in counties})
        admin = soak_load.Client(soak.base_url, "province_admin", "34", "soak-admin")
        response = admin.once("POST", "/checklists", json={
            "code": CHECKLIST, "title": "日常检查", "sections": [
                {"key": "finance", "title": "财务", "kind": "finance", "items": [
                    {"key": "books", "title": "账目", "weight": 1, "rule": {"kind": "pass_fail"}}]}]})
        if response.status_code != 201:
            raise RuntimeError(f"checklist: {response.status_code} {response.text[:300]}")
        lanes = [soak_load.Lane(i, run_id, soak.base_url, code, townships, CHECKLIST)
                 for i, (code, townships) in enumerate(counties)]
        errors = []
        threads = [threading.Thread(target=lambda l=lane: _setup(l, errors)) for lane in lanes]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if errors:
            raise errors[0]
        out(f"platform up and {clients} lanes set up in {time.monotonic() - t_setup:.0f} s")

        gap = max(10, operations // (len(faults) + 1) // 3)
        # The load outlasts the schedule (a phase after the last fault included).
        load = soak_load.Load(lanes, operations, minutes * 60, more=lambda: injector.is_alive())
        injector = threading.Thread(target=inject, args=(soak, load, faults, lanes[0], out, gap),
                                    daemon=True)
        t0 = time.monotonic()
        injector.start()
        load.run()
        t_end = time.monotonic()
        load.stop.set()
        injector.join(timeout=400)
        ops = [op for op in load.ops if op]
        out(f"load done: {len(ops)} operations in {t_end - t0:.0f} s")

        client = pymongo.MongoClient(soak.platform.mongo_uri, tz_aware=True)
        settled = soak_checks.settle(client, soak.platform, services)
        checks = [("platform settled (outboxes published, inboxes empty)", settled,
                   "within 240 s" if settled else "still busy after 240 s")]
        checks += soak_checks.exactly_once(lanes, ops)
        checks += soak_checks.read_models(lanes)
        checks += soak_checks.events(client, soak.platform, services)
        letters_rows, letters = soak_checks.dead_letters(soak.platform)
        checks += letters_rows
        client.close()
        for f in faults:
            if f.started is None:
                checks.append((f"fault injected: {f.label}", False, "not reached before the load ended"))
            elif f.error:
                checks.append((f"fault injected: {f.label}", False, f.error))

        print_table(out, "checks", ("check", "result", "detail"),
                    [(name, "PASS" if ok else "FAIL", detail) for name, ok, detail in checks])
        outcomes = {}
        for op in ops:
            outcomes.setdefault(op.kind, {}).setdefault(op.outcome, 0)
            outcomes[op.kind][op.outcome] += 1
        print_table(out, "operations by kind", ("kind", "ok", "landed", "refused", "unresolved", "retried"),
                    [(k, v.get("ok", 0), v.get("landed", 0), v.get("refused", 0), v.get("unresolved", 0),
                      sum(1 for op in ops if op.kind == k and op.attempts > 1))
                     for k, v in sorted(outcomes.items())])
        print_table(out, "throughput and latency per phase (operations ending in it; ms)",
                    ("phase", "s", "ops", "ops/s", "p50", "p95", "max", "retried"),
                    phase_rows(ops, phases(ops, faults, t0, t_end)))
        print_table(out, "recovery (restart: the process back; recovered: every service answers "
                         "through the gateway)", ("fault", "at", "restart took s", "recovered after s"),
                    [(f.label, f.at or "-", f"{f.restarted - f.started:.1f}" if f.started else "-",
                      f"{f.recovered - f.started:.1f}" if f.started else "-") for f in faults])
        passed = all(ok for _, ok, _ in checks)
        out(f"\nsoak: {'PASSED' if passed else 'FAILED'}")
        return {"passed": passed, "checks": checks, "faults": faults, "ops": ops, "letters": letters}
    finally:
        soak.stop()
        if own_dir and os.environ.get("SOAK_KEEP") != "1":
            shutil.rmtree(workdir, ignore_errors=True)


def _setup(lane, errors):
    try:
        lane.setup()
    except Exception as exc:  # noqa: BLE001 (raised again in the main thread)
        errors.append(exc)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--operations", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=6)
    parser.add_argument("--minutes", type=float, default=60.0, help="stop the load after this long")
    parser.add_argument("--services", help="comma list (default: every service folder)")
    parser.add_argument("--no-broker-restart", action="store_true",
                        help="leave the machine's shared RabbitMQ alone")
    args = parser.parse_args()
    result = run(args.operations, args.clients, args.minutes, broker=not args.no_broker_restart,
                 services=args.services.split(",") if args.services else None,
                 out=lambda line: print(line, flush=True))
    sys.exit(0 if result["passed"] else 1)


if __name__ == "__main__":
    main()
