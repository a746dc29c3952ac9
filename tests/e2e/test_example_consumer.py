"""examples/consumer, run as another team would run it, against the session platform.

A consumer is added with `wushe consumers add`; stations registered before it
existed come by `wushe consumers replay`, stations registered after it by the
live bindings. The example is killed once after storing an event and before
acknowledging it, and started again: every event of the scenario is in its
SQLite file exactly once, and the redelivered one was dropped as a duplicate.
"""
import ast
import datetime
import json
import os
import signal
import sqlite3
import subprocess
import sys

import kombu
import pymongo

from services.common import deadletters
from services.common.consumers import topic_matches
from tests.fixtures import wait_for
from tests.harness import ROOT
from tests.integration.test_external_consumers import management_api  # noqa: F401 (fixture)
from tests.integration.test_volunteer_support import open_station

EXAMPLE = os.path.join(ROOT, "examples", "consumer", "consumer.py")
PATTERN = "wushe.registry.station.#"


def wushe(platform, *args):
    result = subprocess.run([sys.executable, "-m", "services.cli", *args], env=platform.env(),
                            cwd=ROOT, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr
    return result.stdout


def start_example(made, platform, workdir, log_name, *extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "AMQP", "WUSHE"))}
    env["WUSHE_PASSWORD"] = made["password"]
    log = open(workdir / log_name, "wb")
    # cwd outside the repo and no PYTHONPATH: it can import nothing of the platform.
    return subprocess.Popen(
        [sys.executable, EXAMPLE, "--url", made["amqp_url"], "--queue", made["queue"],
         "--asyncapi", platform.gateway.base_url + "/api/v1/asyncapi.json",
         "--db", str(workdir / "events.sqlite"), "--prefetch", "10", *extra],
        cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT)


def stored(workdir):
    path = workdir / "events.sqlite"
    if not path.exists():
        return []
    with sqlite3.connect(path) as db:
        return db.execute("SELECT source, id, type, subject FROM events ORDER BY rowid").fetchall()


def test_the_example_imports_nothing_of_the_platform():
    with open(EXAMPLE, encoding="utf-8") as f:
        tree = ast.parse(f.read())
    imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
                for alias in node.names}
    imported |= {node.module.split(".")[0] for node in ast.walk(tree)
                 if isinstance(node, ast.ImportFrom) and node.module}
    assert not imported & {"services", "gateway", "tests"}
    assert imported - {"argparse", "json", "logging", "os", "signal", "sqlite3", "sys",
                       "urllib"} == {"jsonschema", "kombu"}


def test_every_event_arrives_once_through_replay_a_crash_and_a_restart(
        platform, management_api, units, tmp_path):  # noqa: F811
    started = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=1)
    since = started.strftime("%Y-%m-%dT%H:%M:%SZ")
    with platform.rpc() as cluster:
        history = [open_station(cluster, units.township())["id"] for _ in range(2)]
    name = f"t{os.urandom(4).hex()}-example"
    made = json.loads(wushe(platform, "consumers", "add", name, "--types", PATTERN, "--json"))
    first = second = None
    try:
        # 1. Live events; the drill exits after storing the 2nd, before acknowledging it.
        first = start_example(made, platform, tmp_path, "first.log", "--die-before-ack", "2")
        with platform.rpc() as cluster:
            live = [open_station(cluster, units.township())["id"] for _ in range(2)]
        assert first.wait(timeout=180) == 3, (tmp_path / "first.log").read_text()
        died_on = stored(tmp_path)[-1][1] if len(stored(tmp_path)) == 2 else None
        assert died_on, stored(tmp_path)

        # 2. The history it missed, while it is down (live ones are sent again too).
        out = wushe(platform, "consumers", "replay", name, "--since", since)
        assert "events replayed" in out
        # And one message that breaks the contract: rejected, to the dead letters.
        with kombu.Connection(platform.amqp_uri) as connection:
            kombu.Producer(connection).publish(
                {"specversion": "1.0", "id": f"bad-{name}", "source": "/wushe/registry",
                 "type": "wushe.registry.station.opened.v1"},
                exchange="", routing_key=made["queue"], serializer="json")

        # 3. Restarted: it takes the redelivered, replayed and remaining messages.
        second = start_example(made, platform, tmp_path, "second.log")
        client = pymongo.MongoClient(platform.mongo_uri, tz_aware=True)
        try:
            outbox = platform.db(client, "registry").outbox
            expected = {(e["event"]["source"], e["_id"])
                        for e in outbox.find({"recorded_at": {"$gte": started}})
                        if e["event"]["subject"] in history + live
                        and topic_matches(PATTERN, e["type"])}
        finally:
            client.close()
        assert len(expected) == 12  # created, built, opened for each of 4 stations

        def all_stored():
            rows = [r for r in stored(tmp_path) if r[3] in history + live]
            return rows if len(rows) >= len(expected) else None

        rows = wait_for(all_stored, timeout=180, interval=0.5, message="every event in SQLite")
        assert {(source, id_) for source, id_, _t, _s in rows} == expected
        assert len(rows) == len(expected)  # once each

        log = (tmp_path / "second.log").read_text()
        assert "duplicate wushe.registry.station" in log and died_on in log.split("duplicate", 1)[1]
        letters = wait_for(lambda: [l for l in deadletters.read(platform.amqp_uri)
                                    if isinstance(l["event"], dict)
                                    and l["event"].get("id") == f"bad-{name}"],
                           timeout=60, message="the contract-breaking message dead-lettered")
        assert letters[0]["queue"] == made["queue"] and letters[0]["reason"] == "rejected"
        assert f"bad-{name}" not in {r[1] for r in stored(tmp_path)}

        second.send_signal(signal.SIGTERM)
        assert second.wait(timeout=60) == 0
        assert "stopped:" in (tmp_path / "second.log").read_text()
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                proc.kill()
        subprocess.run([sys.executable, "-m", "services.cli", "consumers", "remove", name],
                       env=platform.env(), cwd=ROOT, capture_output=True, timeout=120)
        # Take our bad letter out of the session's dead-letter queue.
        with kombu.Connection(platform.amqp_uri) as connection:
            channel = connection.channel()
            while (m := channel.basic_get("wushe.dead-letters", no_ack=False)) is not None:
                if json.loads(m.body).get("id") == f"bad-{name}":
                    channel.basic_ack(m.delivery_tag)
                    break
            channel.close()
