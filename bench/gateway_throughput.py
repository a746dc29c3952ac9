"""The gateway beside raw RPC: GET a station over HTTP vs registry.get_station.

    python bench/gateway_throughput.py [--quick] [--profile] [--threads 8] [--rounds 3]
                            [--workers 2] [--gateway-threads 4] [--worker-class gthread]

Starts its own platform (a Mongo-wire server on disk in a temp dir, a fresh
RabbitMQ vhost, the registry service and the gateway under gunicorn with
gateway/gunicorn_conf.py, as `wushe serve gateway` runs it), seeds one county
of divisions and a station, then from N threads, in alternating rounds:
  * the gateway: GET /api/v1/stations/{id}, one keep-alive requests.Session per thread;
  * raw RPC: registry.get_station, one nameko ClusterRpcProxy per thread;
  * the same call through the gateway's own client (gateway.rpc.RpcPool: one
    kept connection per thread), so the two clients' CPU per call compare in
    one run;
and prints them, the ratio of each round and the median ratio (gateway / raw
nameko RPC, the issue's measure), the gateway's resident memory and the AMQP
connections its workers hold open.

--profile runs the gateway's workers under cProfile (every thread of each
worker: gunicorn's loop and the request threads) for one extra gateway round,
and prints where a request's CPU time goes (by area and by function, per
request). Profiling slows the gateway: read the shares, not the absolute figures.
The other knobs (--workers, --gateway-threads, --worker-class) override what
gateway/gunicorn_conf.py says, to compare settings in one run.
"""
import argparse
import csv
import os
import statistics
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "bench")
# The repository first: this file's own name would otherwise shadow the gateway package.
sys.path[:] = [ROOT] + [p for p in sys.path if os.path.abspath(p or ".") != BENCH] + [BENCH]

PROFILE_DIR_VAR = "WUSHE_BENCH_PROFILE_DIR"
DUMP_PATH = "/__bench/profile"  # only in the profiled app: each worker writes its stats
COUNTY = "340102"  # 瑶海区, Hefei: one county is enough for one station


# ---- in a gunicorn worker, with --profile: `bench.gateway:profiled_app` ----------

def _install_profiler(directory):
    """Profile every thread of this worker from now on; DUMP_PATH writes the stats."""
    import cProfile

    profiles, lock = {}, threading.Lock()  # thread id -> its profile

    # Per-thread CPU time, not wall time: a thread waiting for the broker or for the
    # GIL costs nothing, so the figures are the request's own work.
    def start_in_thread(*_args):
        profile = cProfile.Profile(time.thread_time)
        with lock:
            profiles[threading.get_ident()] = profile
        profile.enable()  # replaces this hook for the thread

    main = cProfile.Profile(time.thread_time)
    profiles[threading.get_ident()] = main
    threading.setprofile(start_in_thread)  # the request threads start after this
    main.enable()

    def dump(tag):
        """Write this worker's stats so far (the profiles keep running)."""
        import marshal

        merged = {}
        with lock:
            current = list(profiles.values())
            own = profiles.get(threading.get_ident())
        if own is not None:
            own.disable()  # the dump's own work is not a request's
        for profile in current:
            profile.snapshot_stats()
            for func, (cc, nc, tt, ct, callers) in profile.stats.items():
                old = merged.get(func, (0, 0, 0.0, 0.0, {}))
                calls = dict(old[4])
                for caller, value in callers.items():
                    prev = calls.get(caller)
                    calls[caller] = value if prev is None else \
                        tuple(a + b for a, b in zip(prev, value))
                merged[func] = (old[0] + cc, old[1] + nc, old[2] + tt, old[3] + ct, calls)
        with open(os.path.join(directory, f"worker-{os.getpid()}.{tag}.prof"), "wb") as f:
            marshal.dump(merged, f)
        with open(os.path.join(directory, f"worker-{os.getpid()}.{tag}.count"), "w") as f:
            f.write(str(_counter[0]))
        if own is not None:
            own.enable()

    _dump.append(dump)


_dump = []
_counter = [0]
_app = []


def profiled_app(environ, start_response):
    """The gateway's WSGI app, counting the requests it answers (for per-request figures)."""
    if not _app:
        from gateway.wsgi import app

        _app.append(app)
    if environ.get("PATH_INFO") == DUMP_PATH and _dump:
        _dump[0](environ.get("QUERY_STRING") or "end")
        start_response("200 OK", [("Content-Type", "text/plain"), ("Connection", "close")])
        return [str(os.getpid()).encode()]
    if environ.get("PATH_INFO", "").startswith("/api/"):
        _counter[0] += 1
    return _app[0](environ, start_response)


if os.environ.get(PROFILE_DIR_VAR) and __name__ != "__main__":
    _install_profiler(os.environ[PROFILE_DIR_VAR])


# ---- the benchmark ---------------------------------------------------------

def seed_files(directory):
    """The division CSV files of one county (the whole province takes minutes to import)."""
    from tests.fixtures import DIVISIONS

    wanted = {"provinces.csv": lambda r: r["code"] == COUNTY[:2],
              "cities.csv": lambda r: r["code"] == COUNTY[:4],
              "areas.csv": lambda r: r["code"] == COUNTY,
              "streets.csv": lambda r: r["areaCode"] == COUNTY}
    paths = []
    for name, keep in wanted.items():
        with open(os.path.join(DIVISIONS, name), encoding="utf-8", newline="") as f:
            reader = csv.DictReader(f)
            rows = [r for r in reader if keep(r)]
            fields = reader.fieldnames
        path = os.path.join(directory, name)
        with open(path, "w", encoding="utf-8", newline="") as f:
            writer = csv.DictWriter(f, fields)
            writer.writeheader()
            writer.writerows(rows)
        paths.append(path)
    return paths, rows[0]["code"]


def start_gateway(platform, args, profile_dir=None):
    from services.common import localmongo
    from tests.harness import Process

    port = localmongo.free_port()
    multiproc = os.path.join(platform.workdir, f"prom-{port}")
    os.makedirs(multiproc, exist_ok=True)
    env = {"GATEWAY_BIND": f"127.0.0.1:{port}", "GATEWAY_SERVICES": "registry",
           "PROMETHEUS_MULTIPROC_DIR": multiproc}
    if args.workers:
        env["GATEWAY_WORKERS"] = str(args.workers)
    if args.gateway_threads:
        env["GATEWAY_THREADS"] = str(args.gateway_threads)
    argv = [sys.executable, "-m", "gunicorn", "-c", "python:gateway.gunicorn_conf"]
    if args.worker_class:
        argv += ["--worker-class", args.worker_class]
    if profile_dir:
        env[PROFILE_DIR_VAR] = profile_dir
        argv.append("bench.gateway:profiled_app")
    else:
        argv.append("gateway.wsgi:app")
    proc = Process("gateway", argv, platform.env(**env),
                   os.path.join(platform.workdir, f"gateway-{port}.log"), port)
    platform.processes.append(proc)
    proc.wait_ready()
    return proc


def http_worker(url, token):
    import requests

    def make():
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {token}"

        def call():
            response = session.get(url, timeout=30)
            assert response.status_code == 200, response.text
        return call
    return make


def rpc_worker(amqp_uri, station_id, proxies):
    from nameko.standalone.rpc import ClusterRpcProxy

    from tests.fixtures import PROVINCE_ADMIN

    def make():
        proxy = ClusterRpcProxy({"AMQP_URI": amqp_uri})
        cluster = proxy.start()
        proxies.append(proxy)
        return lambda: cluster.registry.get_station(station_id, caller=PROVINCE_ADMIN)
    return make


def pool_worker(amqp_uri, station_id, pools):
    """registry.get_station through the gateway's RpcPool (one client per thread)."""
    from gateway.rpc import RpcPool

    from tests.fixtures import PROVINCE_ADMIN

    pool = RpcPool(amqp_uri, timeout=30)
    pools.append(pool)

    def make():
        return lambda: pool.call("registry", "get_station", (station_id,),
                                 {"caller": PROVINCE_ADMIN}, context={"request_id": "bench"})
    return make


def cpu_seconds(pids):
    """User + system CPU time these processes have used so far (/proc/<pid>/stat)."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except (OSError, ValueError, IndexError):
            pass
    return total / os.sysconf("SC_CLK_TCK")


def measured(rate_of, pids, seconds):
    """rate_of() under way, and the CPU it cost: (calls/s, {who: us per call})."""
    before = {who: cpu_seconds(p) for who, p in pids.items()}
    mine = time.process_time()
    rate = rate_of()
    calls = max(1.0, rate * seconds)
    cost = {who: (cpu_seconds(p) - before[who]) / calls * 1e6 for who, p in pids.items()}
    cost["bench client"] = (time.process_time() - mine) / calls * 1e6
    return rate, cost


def amqp_connections(pids):
    """How many TCP connections to the broker (port 5672) these processes hold."""
    inodes = set()
    for pid in pids:
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                try:
                    target = os.readlink(f"/proc/{pid}/fd/{fd}")
                except OSError:
                    continue
                if target.startswith("socket:["):
                    inodes.add(target[8:-1])
        except OSError:
            pass
    count = 0
    for table_path in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table_path) as f:
                next(f)
                for line in f:
                    parts = line.split()
                    if parts[2].endswith(":1628") and parts[3] == "01" and parts[9] in inodes:
                        count += 1
        except OSError:
            pass
    return count


AREAS = [  # (area, substrings of "file:function"), first match wins
    ("waiting (socket/select)", (
        "{method 'recv", "{method 'send", "select.", "{method 'poll", "{method 'acquire",
        "{method 'accept", "{built-in method time.sleep", "{method 'wait")),
    ("JWT + token checks", (
        "/jwt/", "gateway/auth.py", "gateway/revocations.py", "gateway/oidc.py", "hmac",
        "_hashlib", "cryptography")),
    ("RPC client (nameko/kombu/amqp)", (
        "/nameko/", "/kombu/", "/amqp/", "/vine/", "gateway/rpc.py")),
    ("metrics (prometheus_client)", ("/prometheus_client/", "gateway/metrics.py", "mmap")),
    ("logging", ("/logging/", "services/common/logs.py")),
    ("rate limit (flask_limiter/limits)", ("/flask_limiter/", "/limits/")),
    ("security headers, request id", (
        "gateway/security.py", "secrets.py", "uuid.py", "posix.urandom")),
    ("JSON", ("/json/", "_json", "jsonable")),
    ("Flask/werkzeug (routing, request, response)", ("/flask/", "/werkzeug/", "gateway/")),
    ("gunicorn (HTTP parsing, loop)", ("/gunicorn/",)),
]


def area_of(func):
    filename, _line, name = func
    key = f"{filename}:{name}"
    for area, needles in AREAS:
        if any(n in key for n in needles):
            return area
    return "other (stdlib, threads, ...)"


def collect_profiles(gateway, tag, attempts=100):
    """Ask DUMP_PATH on fresh connections until every worker has written its stats."""
    import requests

    from run import children

    workers, seen = set(children(gateway.proc.pid)), set()
    for _ in range(attempts):
        if workers <= seen:
            break
        seen.add(int(requests.get(f"{gateway.base_url}{DUMP_PATH}?{tag}", timeout=30).text))


def read_profiles(directory):
    """Every worker's stats between its "start" and "end" dumps, added up; and the requests."""
    import marshal
    import pstats

    def load(name):
        path = os.path.join(directory, name)
        if not os.path.exists(path):
            return None
        with open(path, "rb") as f:
            return marshal.load(f) if name.endswith(".prof") else int(f.read() or 0)

    stats, requests_seen = {}, 0
    pids = {e.split(".")[0] for e in os.listdir(directory)}
    for pid in pids:
        before, after = load(f"{pid}.start.prof") or {}, load(f"{pid}.end.prof")
        if after is None:
            continue
        requests_seen += load(f"{pid}.end.count") - (load(f"{pid}.start.count") or 0)
        for func, (cc, nc, tt, ct, _c) in after.items():
            b = before.get(func, (0, 0, 0.0, 0.0, {}))
            old = stats.get(func, (0, 0, 0.0, 0.0, {}))
            stats[func] = (old[0] + cc - b[0], old[1] + nc - b[1], old[2] + tt - b[2],
                           old[3] + ct - b[3], {})
    holder = type("Holder", (), {"stats": stats, "create_stats": lambda self: None})()
    return pstats.Stats(holder), requests_seen


def print_profile(stats, requests_seen, top):
    if stats is None or not requests_seen:
        print("\n  (no profile written: did the workers exit cleanly?)")
        return
    areas = {}
    for func, (_cc, _nc, tt, _ct, _callers) in stats.stats.items():
        areas[area_of(func)] = areas.get(area_of(func), 0.0) + tt
    cpu = sum(v for k, v in areas.items() if not k.startswith("waiting"))
    print(f"\nprofile of the gateway's workers (thread CPU time): {requests_seen} API "
          f"requests, {cpu / requests_seen * 1e6:.0f} us CPU per request under cProfile")
    for area, seconds in sorted(areas.items(), key=lambda kv: -kv[1]):
        share = "" if area.startswith("waiting") else f"{seconds / cpu * 100:5.1f}%"
        print(f"  {area.ljust(44)} {seconds / requests_seen * 1e6:8.0f} us/req  {share}")
    print(f"\n  top {top} functions by own time (us per request; calls per request):")
    rows = sorted(stats.stats.items(), key=lambda kv: -kv[1][2])
    shown = 0
    for func, (_cc, nc, tt, ct, _callers) in rows:
        if area_of(func).startswith("waiting"):
            continue
        filename, line, name = func
        where = filename.replace(ROOT + "/", "").split("site-packages/")[-1]
        print(f"  {tt / requests_seen * 1e6:7.1f} own {ct / requests_seen * 1e6:7.1f} cum "
              f"{nc / requests_seen:5.1f}x  {where}:{line}({name})")
        shown += 1
        if shown >= top:
            break


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="shorter rounds")
    parser.add_argument("--profile", action="store_true",
                        help="also profile the gateway's workers and print the top costs")
    parser.add_argument("--threads", type=int, default=8, help="client threads (8)")
    parser.add_argument("--seconds", type=float, help="seconds per round (5 quick, 15)")
    parser.add_argument("--rounds", type=int,
                        help="gateway/raw round pairs (2 quick, 3; 0 with --profile: profile only)")
    parser.add_argument("--workers", type=int, help="GATEWAY_WORKERS for this run")
    parser.add_argument("--gateway-threads", type=int, help="GATEWAY_THREADS for this run")
    parser.add_argument("--worker-class", help="gunicorn worker class for this run")
    parser.add_argument("--top", type=int, default=25, help="functions listed with --profile")
    args = parser.parse_args()
    seconds = args.seconds or (5 if args.quick else 15)
    rounds = args.rounds if args.rounds is not None else (2 if args.quick else 3)

    import services  # noqa: F401  (first: quiets eventlet's import banner)
    from gateway.auth import issue_token
    from run import children, hammer, rss_kib, table
    from services.common import localmongo
    from services.registry.commands import import_divisions
    from tests.fixtures import PROVINCE_ADMIN
    from tests.harness import Platform, new_vhost, rabbitmqctl

    workdir = tempfile.mkdtemp(prefix="wushe-bench-gateway-")
    port = localmongo.free_port()
    mongo_log = open(os.path.join(workdir, "mongo.log"), "wb")
    mongo = localmongo.start(port, os.path.join(workdir, "mongo"), mongo_log)
    vhost, amqp_uri = new_vhost()
    platform = Platform(localmongo.local_uri(port), amqp_uri, workdir)
    try:
        platform.topology()
        platform.registry = platform.start_service("registry")
        files, township = seed_files(workdir)
        import_divisions(files, out=lambda line: None, rpc=platform.rpc())
        with platform.rpc() as cluster:
            station = cluster.registry.create_station(
                {"division_code": township, "name": "基准社工站", "planned_on": "2026-01-01"},
                caller=PROVINCE_ADMIN)
        gateway = start_gateway(platform, args)
        token = issue_token("province_admin", "34", sub="bench")
        url = f"{gateway.base_url}/api/v1/stations/{station['id']}"

        settings = (f"{args.worker_class or 'gthread'}, workers={args.workers or 'conf'}, "
                    f"threads={args.gateway_threads or 'conf'}")
        print(f"wushe gateway bench: {os.cpu_count()} cores, {args.threads} client threads, "
              f"{rounds} x {seconds:g}s rounds, gunicorn {settings}")
        hammer(http_worker(url, token), args.threads, 1)  # warm up: proxies, revocation-free
        pids = {"gateway workers": children(gateway.proc.pid),
                "registry": [platform.registry.proc.pid] + children(platform.registry.proc.pid)}
        client_path = "raw, gateway's client"
        rows, ratios, costs = [], [], {"gateway": [], "raw": [], client_path: []}
        for i in range(rounds):
            proxies, pools = [], []
            http, http_cost = measured(lambda: hammer(http_worker(url, token), args.threads,
                                                      seconds), pids, seconds)
            raw, raw_cost = measured(lambda: hammer(rpc_worker(amqp_uri, station["id"], proxies),
                                                    args.threads, seconds), pids, seconds)
            own, own_cost = measured(lambda: hammer(pool_worker(amqp_uri, station["id"], pools),
                                                    args.threads, seconds), pids, seconds)
            for proxy in proxies:
                proxy.stop()
            for pool in pools:
                pool.close()
            ratios.append(http / raw)
            costs["gateway"].append(http_cost)
            costs["raw"].append(raw_cost)
            costs[client_path].append(own_cost)
            rows.append((f"round {i + 1}: gateway / raw RPC",
                         f"{http:.0f} req/s / {raw:.0f} calls/s = {http / raw:.2f}"))
            rows.append((f"round {i + 1}: gateway's client / nameko's (raw)",
                         f"{own:.0f} calls/s / {raw:.0f} calls/s = {own / raw:.2f}"))
        if ratios:
            rows.append(("ratio (gateway / raw), median", f"{statistics.median(ratios):.2f}"
                         f"  (spread {min(ratios):.2f}-{max(ratios):.2f})"))
        for path in ("gateway", "raw", client_path):
            for who in (costs[path][0] if costs[path] else ()):
                values = [c[who] for c in costs[path]]
                if path != "gateway" and who == "gateway workers":
                    continue
                rows.append((f"CPU per call, {path}: {who}",
                             f"{statistics.median(values):.0f} us (median of "
                             f"{', '.join(f'{v:.0f}' for v in values)})"))
        if rows:
            table(f"GET a station from {args.threads} threads: gateway over HTTP vs raw RPC", rows)

        workers = children(gateway.proc.pid)
        memory = [("gateway (gunicorn master)", rss_kib(gateway.proc.pid))]
        memory += [(f"gateway worker {i + 1}", rss_kib(pid)) for i, pid in enumerate(workers)]
        total = sum(kib for _name, kib in memory if kib)
        table("gateway after the run", [(n, f"{k / 1024:.0f} MiB" if k else "?") for n, k in memory]
              + [("gateway total resident", f"{total / 1024:.0f} MiB"),
                 ("AMQP connections held by the workers", str(amqp_connections(workers)))])

        if args.profile:
            gateway.stop()
            platform.processes.remove(gateway)
            profile_dir = os.path.join(workdir, "profile")
            os.makedirs(profile_dir)
            profiled = start_gateway(platform, args, profile_dir)
            url = f"{profiled.base_url}/api/v1/stations/{station['id']}"
            hammer(http_worker(url, token), args.threads, 1)  # imports, proxies: not per request
            collect_profiles(profiled, "start")
            http = hammer(http_worker(url, token), args.threads, seconds)
            print(f"\n(profiled gateway: {http:.0f} req/s)")
            collect_profiles(profiled, "end")
            profiled.stop()
            platform.processes.remove(profiled)
            print_profile(*read_profiles(profile_dir), args.top)
    finally:
        platform.stop_all()
        try:
            rabbitmqctl("delete_vhost", vhost)
        except Exception as exc:  # noqa: BLE001 - a busy broker; the vhost is only litter
            print(f"(could not delete vhost {vhost}: {exc})")
        mongo.terminate()
        mongo.wait(30)


if __name__ == "__main__":
    main()
