"""The local platform behind `wushe up` and `wushe down`.

Starts the Mongo-wire server (data kept in .run/mongo), makes sure RabbitMQ
runs, declares the topology, starts every service that exists and the gateway
as background processes (logs in .run/logs), loads Anhui's divisions and a few
demo stations, and prints where to look.
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

from services.common import config, localmongo

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUN = os.path.join(ROOT, ".run")
PIDS = os.path.join(RUN, "pids.json")
DIVISIONS = os.path.join(ROOT, "services", "registry", "data", "divisions")
DEMO_CALLER = {"sub": "demo", "role": "province_admin", "region": "34"}


def present_services():
    return [s for s in config.SERVICES
            if os.path.exists(os.path.join(ROOT, "services", s, "service.py"))]


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
    env["GATEWAY_SERVICES"] = ",".join(present_services())
    os.environ.update({"MONGO_URI": env["MONGO_URI"]})
    if "mongo" not in pids and not _port_open("127.0.0.1", config.LOCAL_MONGO_PORT):
        log = open(os.path.join(RUN, "logs", "mongo.log"), "ab")
        proc = localmongo.start(config.LOCAL_MONGO_PORT, os.path.join(RUN, "mongo"), log)
        pids["mongo"] = proc.pid
    localmongo.wait_until_up(env["MONGO_URI"])

    from services.common import topology

    topology.declare()
    wushe = [sys.executable, "-m", "services.cli"]
    for service in present_services():
        if service not in pids:
            pids[service] = _spawn(service, wushe + ["serve", service], env)
    if "gateway" not in pids:
        shutil.rmtree(env["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)
        os.makedirs(env["PROMETHEUS_MULTIPROC_DIR"])
        pids["gateway"] = _spawn("gateway", wushe + ["serve", "gateway"], env)
    _save_pids(pids)

    for service in present_services():
        port = config.LOCAL_HTTP_PORTS[service]
        if not _wait_ready(f"http://127.0.0.1:{port}/readyz"):
            sys.exit(f"{service} did not become ready; see .run/logs/{service}.log")
    gateway = "http://" + config.gateway_bind()
    if not _wait_ready(gateway + "/readyz"):
        sys.exit("the gateway did not become ready; see .run/logs/gateway.log")

    from services.cli import import_divisions

    import_divisions([os.path.join(DIVISIONS, f) for f in sorted(os.listdir(DIVISIONS))
                      if f.endswith(".csv")])
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


def load_demo():
    """A few stations in Hefei (合肥市) in each lifecycle state; only once."""
    from services.cli import _rpc

    with _rpc() as cluster:
        registry = cluster.registry
        counties = registry.list_divisions({"parent": "3401", "per_page": 3}, caller=DEMO_CALLER)["items"]
        plan = [("operating", 32000), ("operating", 12000), ("built", 18000), ("planned", 9000),
                ("suspended", 15000)]
        made = 0
        for county in counties:
            units = registry.list_divisions({"parent": county["code"], "per_page": 5},
                                            caller=DEMO_CALLER)["items"]
            for unit, (target, population) in zip(units, plan):
                # Per unit, so an interrupted run is completed rather than skipped.
                if registry.list_stations({"region": unit["code"], "per_page": 1},
                                          caller=DEMO_CALLER)["total"]:
                    continue
                station = registry.create_station(
                    {"division_code": unit["code"], "name": f"{unit['name']}社工站",
                     "address": f"{county['name']}{unit['name']}便民服务中心二楼",
                     "population_served": population, "planned_on": "2026-01-10",
                     "operator": {"name": f"{county['name']}阳光社会工作服务中心"}},
                    caller=DEMO_CALLER)
                steps = {"planned": [], "built": ["built"], "operating": ["built", "operating"],
                         "suspended": ["built", "operating", "suspended"]}[target]
                for month, to in enumerate(steps, start=3):
                    registry.transition_station(station["id"], {"to": to, "on": f"2026-0{month}-15"},
                                                caller=DEMO_CALLER)
                if target in ("operating", "suspended"):
                    registry.add_staff(station["id"], {"role": "head", "name": "王站长",
                                                       "phone": "13800000001",
                                                       "certification": "intermediate"},
                                       caller=DEMO_CALLER)
                    registry.add_staff(station["id"], {"role": "resident", "name": "李社工",
                                                       "phone": "13800000002",
                                                       "certification": "junior"},
                                       caller=DEMO_CALLER)
                    registry.update_checklist(station["id"], {
                        "premises": {"state": "met", "attested_on": "2026-04-01"},
                        "staff": {"state": "partial", "note": "缺督导", "attested_on": "2026-04-01"}},
                        caller=DEMO_CALLER)
                made += 1
        if made:
            print(f"demo: {made} stations in 合肥市")
        if "volunteer" in present_services():
            operating = registry.list_stations({"region": "3401", "status": "operating", "per_page": 1},
                                               caller=DEMO_CALLER)["items"]
            if operating:
                load_volunteer_demo(cluster, operating[0])


def _demo_id_number(county, birth, seq):
    from services.volunteer.rules import id_check_character

    first17 = f"{county}{birth.replace('-', '')}{seq:03d}"
    return first17 + id_check_character(first17)


def load_volunteer_demo(cluster, station):
    """Volunteers, two teams, an activity and approved hours at one station; only once."""
    volunteer = cluster.volunteer
    if volunteer.list_volunteers({"region": station["division_code"], "per_page": 1},
                                 caller=DEMO_CALLER)["total"]:
        return
    deadline = time.monotonic() + 30  # the volunteer service learns stations from events
    while True:
        try:
            volunteer.get_station(station["id"], caller=DEMO_CALLER)
            break
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
    people = [("张三丰", "1958-03-01", ["陪伴老人", "理发"]), ("李小梅", "1990-07-12", ["课业辅导"]),
              ("王建国", "1961-11-30", ["法律咨询"])]
    numbers = []
    for seq, (name, birth, skills) in enumerate(people, start=1):
        registered = volunteer.register_volunteer(
            {"name": name, "id_number": _demo_id_number(station["county"], birth, seq),
             "phone": f"1390000000{seq}", "birth_date": birth, "skills": skills,
             "availability": ["weekend_morning"], "station_id": station["id"]}, caller=DEMO_CALLER)
        numbers.append(registered["number"])
    team = volunteer.create_team({"station_id": station["id"], "name": "阳光志愿服务队"},
                                 caller=DEMO_CALLER)
    silver = volunteer.create_team({"station_id": station["id"], "name": "银龄互助队",
                                    "kind": "silver_age", "parent_id": team["id"]}, caller=DEMO_CALLER)
    for number in numbers:
        volunteer.add_team_member(team["id"], {"volunteer_number": number}, caller=DEMO_CALLER)
    volunteer.add_team_member(silver["id"], {"volunteer_number": numbers[0]}, caller=DEMO_CALLER)
    activity = volunteer.create_activity(
        {"team_id": team["id"], "title": "重阳节敬老探访", "category": "elderly",
         "place": f"{station['division_name']}敬老院", "starts_at": "2026-10-29T01:00:00Z",
         "ends_at": "2026-10-29T05:00:00Z", "capacity": 20}, caller=DEMO_CALLER)
    for number in numbers:
        record = volunteer.record_hours(
            {"volunteer_number": number, "activity_id": activity["id"],
             "start": "2026-10-29T01:00:00Z", "end": "2026-10-29T03:30:00Z"}, caller=DEMO_CALLER)
        if number != numbers[-1]:  # one left for an officer to approve
            volunteer.approve_hours(record["id"], {}, caller=DEMO_CALLER)
    print(f"demo: {len(numbers)} volunteers, 2 teams, 1 activity with hours at {station['name']}")


def down():
    pids = _load_pids()
    order = ["gateway"] + [s for s in reversed(config.SERVICES)] + ["mongo"]
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
