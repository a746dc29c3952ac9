"""The local platform behind `wushe up` and `wushe down`.

Starts the Mongo-wire server (data kept in .run/mongo), makes sure RabbitMQ
runs, declares the topology, starts every service (services.common.catalog)
and the gateway as background processes (logs in .run/logs), loads each
service's demo data (services/<service>/demo.py: Anhui's divisions and demo
stations first), and prints where to look.
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request

from services.common import catalog, config, localmongo, rpcclient

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUN = os.path.join(ROOT, ".run")
PIDS = os.path.join(RUN, "pids.json")


def _alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except OSError:
        return False


def _load_pids():
    try:
        with open(PIDS) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def _save_pids(pids):
    with open(PIDS, "w") as f:
        json.dump(pids, f, indent=1)


def _port_open(host, port):
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


def ensure_rabbitmq():
    if _port_open("127.0.0.1", 5672):
        return
    if not shutil.which("rabbitmq-server"):
        sys.exit("RabbitMQ is not installed: apt-get install -y rabbitmq-server (make up does this)")
    subprocess.run(["rabbitmq-server", "-detached"], check=False)
    for _ in range(60):
        if _port_open("127.0.0.1", 5672):
            return
        time.sleep(1)
    sys.exit("RabbitMQ did not start on 127.0.0.1:5672")


def _spawn(name, argv, env):
    log = open(os.path.join(RUN, "logs", f"{name}.log"), "ab")
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env,
                            cwd=ROOT, start_new_session=True)
    return proc.pid


def _wait_ready(url, timeout=90):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return True
        except OSError:
            pass
        time.sleep(0.5)
    return False


def up():
    os.makedirs(os.path.join(RUN, "logs"), exist_ok=True)
    pids = {k: v for k, v in _load_pids().items() if _alive(v)}
    ensure_rabbitmq()

    env = dict(os.environ)
    env.setdefault("MONGO_URI", config.mongo_uri())
    env["PROMETHEUS_MULTIPROC_DIR"] = os.path.join(RUN, "prometheus")
    env["GATEWAY_SERVICES"] = ",".join(catalog.names())
    os.environ.update({"MONGO_URI": env["MONGO_URI"]})
    if "mongo" not in pids and not _port_open("127.0.0.1", config.LOCAL_MONGO_PORT):
        log = open(os.path.join(RUN, "logs", "mongo.log"), "ab")
        proc = localmongo.start(config.LOCAL_MONGO_PORT, os.path.join(RUN, "mongo"), log)
        pids["mongo"] = proc.pid
    localmongo.wait_until_up(env["MONGO_URI"])

    from services.common import topology

    topology.declare()
    wushe = [sys.executable, "-m", "services.cli"]
    for service in catalog.names():
        if service not in pids:
            pids[service] = _spawn(service, wushe + ["serve", service], env)
    if "gateway" not in pids:
        shutil.rmtree(env["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)
        os.makedirs(env["PROMETHEUS_MULTIPROC_DIR"])
        pids["gateway"] = _spawn("gateway", wushe + ["serve", "gateway"], env)
    _save_pids(pids)

    for service in catalog.names():
        port = catalog.local_http_port(service)
        if not _wait_ready(f"http://127.0.0.1:{port}/readyz"):
            sys.exit(f"{service} did not become ready; see .run/logs/{service}.log")
    gateway = "http://" + config.gateway_bind()
    if not _wait_ready(gateway + "/readyz"):
        sys.exit("the gateway did not become ready; see .run/logs/gateway.log")

    load_demo()

    from gateway.auth import issue_token

    token = issue_token("province_admin", "34", sub="demo-admin")
    print(f"""
wushe is running.
  web pages:  {gateway}/ui/coverage?region=34#token={token}
  API:        {gateway}/api/v1   (OpenAPI: {gateway}/api/v1/openapi.json)
  metrics:    {gateway}/metrics and http://127.0.0.1:8101/metrics ...
  logs:       {os.path.join(RUN, 'logs')}
  token (province_admin, 安徽省 34, 12 h):
{token}

  try: curl -H "Authorization: Bearer $TOKEN" '{gateway}/api/v1/coverage?region=3401'
  stop with: make down""")
    # What a service's demo wants people to know (the accounts service: demo logins).
    for _service, demo in catalog.demo_modules():
        for line in getattr(demo, "banner", lambda url: [])(gateway):
            print(line)


def load_demo():
    """Each service's demo data (services/<service>/demo.py), in the order they build on."""
    with rpcclient.cluster() as cluster:
        for _service, demo in catalog.demo_modules():
            demo.load(cluster, print)


def down():
    pids = _load_pids()
    order = ["gateway"] + [s for s in pids if s not in ("gateway", "mongo")] + ["mongo"]
    for name in order:
        pid = pids.get(name)
        if pid and _alive(pid):
            os.killpg(pid, signal.SIGTERM)
            deadline = time.monotonic() + 30
            while _alive(pid) and time.monotonic() < deadline:
                time.sleep(0.2)
            if _alive(pid):
                os.killpg(pid, signal.SIGKILL)
            print(f"stopped {name}")
    if os.path.exists(PIDS):
        os.remove(PIDS)
