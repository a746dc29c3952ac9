"""Run platform processes for tests exactly as production runs them.

Each service and the gateway is a `wushe serve ...` subprocess with its own
environment (broker vhost, Mongo URI, database names, ports), so a test sees
the real broker, the real Mongo-wire server and real process boundaries, and
can kill a process mid-flight.
"""
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
import uuid

import kombu
from nameko.standalone.rpc import ClusterRpcProxy

from services.common import catalog, localmongo

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def rabbitmqctl(*args):
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=60)


def new_vhost():
    vhost = f"wushe-test-{uuid.uuid4().hex[:8]}"
    rabbitmqctl("add_vhost", vhost)
    rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
    return vhost, f"amqp://guest:guest@127.0.0.1:5672/{vhost}"


def wait_http(url, timeout=60, expect=200):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == expect:
                    return
                last = response.status
        except urllib.error.HTTPError as exc:
            last = exc.code
        except OSError as exc:
            last = exc
        time.sleep(0.2)
    raise TimeoutError(f"{url} not ready after {timeout}s (last: {last})")


class Process:
    def __init__(self, name, argv, env, log_path, http_port):
        self.name = name
        self.http_port = http_port
        self.log_path = log_path
        self.log = open(log_path, "ab")
        self.proc = subprocess.Popen(argv, env=env, cwd=ROOT, stdout=self.log,
                                     stderr=subprocess.STDOUT, start_new_session=True)

    @property
    def base_url(self):
        return f"http://127.0.0.1:{self.http_port}"

    def wait_ready(self, timeout=60):
        try:
            wait_http(self.base_url + "/readyz", timeout)
        except TimeoutError:
            raise TimeoutError(f"{self.name} not ready; log:\n{self.tail()}")

    def tail(self, lines=40):
        with open(self.log_path, "rb") as f:
            return b"\n".join(f.read().splitlines()[-lines:]).decode("utf-8", "replace")

    def log_lines(self):
        out = []
        with open(self.log_path, "rb") as f:
            for raw in f:
                try:
                    out.append(json.loads(raw))
                except ValueError:
                    pass
        return out

    def stop(self, sig=signal.SIGTERM, timeout=30):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log.close()

    def kill(self):
        """SIGKILL: no clean shutdown, nothing flushed."""
        self.stop(signal.SIGKILL)


class Platform:
    """Processes sharing one vhost and one Mongo-wire server, each test run apart."""

    def __init__(self, mongo_uri, amqp_uri, workdir, db_prefix=None):
        self.mongo_uri = mongo_uri
        self.amqp_uri = amqp_uri
        self.workdir = workdir
        self.db_prefix = db_prefix or f"t{uuid.uuid4().hex[:6]}"
        self.processes = []

    def env(self, **extra):
        env = dict(os.environ)
        env.update({
            "AMQP_URI": self.amqp_uri,
            "MONGO_URI": self.mongo_uri,
            "LOG_LEVEL": "INFO",
            "PYTHONUNBUFFERED": "1",
        })
        for service in catalog.names():
            env[f"{service.upper()}_MONGO_DB"] = f"{self.db_prefix}_{service}"
        env.update({k: str(v) for k, v in extra.items()})
        return env

    def db(self, client, service):
        return client[f"{self.db_prefix}_{service}"]

    def topology(self):
        subprocess.run([sys.executable, "-m", "services.cli", "topology"], env=self.env(),
                       cwd=ROOT, check=True, capture_output=True, timeout=60)

    def start_service(self, service, wait=True, port=None, **extra_env):
        port = port or localmongo.free_port()
        proc = Process(service, [sys.executable, "-m", "services.cli", "serve", service],
                       self.env(WUSHE_HTTP_BIND=f"127.0.0.1:{port}", **extra_env),
                       os.path.join(self.workdir, f"{service}-{len(self.processes)}.log"), port)
        self.processes.append(proc)
        if wait:
            proc.wait_ready()
        return proc

    def start_gateway(self, services=None, port=None, **extra_env):
        """port: to restart a killed gateway where its clients expect it."""
        services = ",".join(catalog.names()) if services is None else services
        port = port or localmongo.free_port()
        multiproc = os.path.join(self.workdir, f"prom-{port}")
        os.makedirs(multiproc, exist_ok=True)
        proc = Process("gateway", [sys.executable, "-m", "services.cli", "serve", "gateway"],
                       # Strict: an answer that drifts from its documented schema is a 500
                       # naming the field (gateway/api.py), so every test checks the document.
                       self.env(GATEWAY_BIND=f"127.0.0.1:{port}", GATEWAY_SERVICES=services,
                                PROMETHEUS_MULTIPROC_DIR=multiproc,
                                **{"GATEWAY_STRICT_ANSWERS": os.environ.get("GATEWAY_STRICT_ANSWERS", "1"),
                                   **extra_env}),
                       os.path.join(self.workdir, f"gateway-{port}.log"), port)
        self.processes.append(proc)
        proc.wait_ready()
        return proc

    def rpc(self, timeout=120):  # a division import chunk on a busy Mongo-wire server is slow
        return ClusterRpcProxy({"AMQP_URI": self.amqp_uri}, timeout=timeout)

    def connection(self):
        return kombu.Connection(self.amqp_uri)

    def stop_all(self):
        for proc in reversed(self.processes):
            proc.stop()


class EventTap:
    """A plain AMQP consumer (no nameko), as another government system would bind."""

    def __init__(self, amqp_uri, exchange, pattern="#"):
        from services.common.events import events_exchange

        self.connection = kombu.Connection(amqp_uri)
        self.queue = kombu.Queue(f"tap-{uuid.uuid4().hex[:8]}", durable=False, auto_delete=False,
                                 exclusive=True,
                                 bindings=[kombu.binding(events_exchange(exchange), routing_key=pattern)])
        self.channel = self.connection.channel()
        self.queue(self.channel).declare()
        self.received = []

    def collect(self, until=None, timeout=10.0):
        """Drain messages for up to `timeout` s, or until `until(received)` is true."""
        deadline = time.monotonic() + timeout
        bound = self.queue(self.channel)
        while time.monotonic() < deadline:
            message = bound.get(no_ack=True)
            if message is None:
                if until is not None and until(self.received):
                    break
                time.sleep(0.05)
                continue
            self.received.append(json.loads(message.body))
        return self.received

    def close(self):
        self.channel.close()
        self.connection.release()
