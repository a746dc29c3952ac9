"""Two replicas of a consuming service on one inbox queue build the same read
models as one: their batches interleave, yet what they commit equals a rebuild
of the same event log through a single consumer."""
import subprocess
import sys

import pytest

from services.registry.commands import import_divisions
from tests.fixtures import PROVINCE_ADMIN, division_files, wait_for
from tests.harness import ROOT

pytestmark = pytest.mark.integration

STATIONS = 24


def _changes(platform, units):
    """Create stations and move half of them on, sent at once so that both
    replicas take deliveries (and events of one station may land on both)."""
    townships = [units.township() for _ in range(STATIONS)]
    with platform.rpc() as cluster:
        replies = [cluster.registry.create_station.call_async(
            {"division_code": t["code"], "name": f"{t['name']}社工站", "planned_on": "2026-01-05"},
            caller=PROVINCE_ADMIN) for t in townships]
        stations = [reply.result() for reply in replies]
        moves = [cluster.registry.transition_station.call_async(
            s["id"], {"to": "built", "on": "2026-05-01"}, caller=PROVINCE_ADMIN)
            for s in stations[::2]]
        for reply in moves:
            reply.result()
    return [s["id"] for s in stations], [s["id"] for s in stations[::2]]


def _models(registry_db, volunteer_db, station_ids):
    coverage = sorted(({k: v for k, v in doc.items() if k != "rev"}
                       for doc in registry_db.coverage_units.find(
                           {"stations.station_id": {"$in": station_ids}})),
                      key=lambda d: d["_id"])
    stations = sorted(({k: v for k, v in doc.items() if k != "seen_at"}
                       for doc in volunteer_db.stations.find({"_id": {"$in": station_ids}})),
                      key=lambda d: d["_id"])
    return coverage, stations


def _settled(registry_db, volunteer_db, station_ids, built):
    coverage, stations = _models(registry_db, volunteer_db, station_ids)
    entries = {s["station_id"]: s for doc in coverage for s in doc["stations"]}
    return (len(entries) == len(station_ids) and len(stations) == len(station_ids)
            and all(entries[i]["version"] == 2 for i in built)
            and all(s["version"] == (2 if s["_id"] in built else 1) for s in stations))


def _rebuild(platform, service):
    result = subprocess.run([sys.executable, "-m", "services.cli", "rebuild", service],
                            env=platform.env(), cwd=ROOT, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr


def test_two_replicas_on_one_inbox_build_the_read_models_one_builds(isolated_platform, mongo_client,
                                                                     units):
    platform = isolated_platform
    replicas = [platform.start_service(service, wait=False)
                for service in ("registry", "registry", "volunteer", "volunteer")]
    for replica in replicas:
        replica.wait_ready()
    import_divisions(division_files(), out=lambda line: None, rpc=platform.rpc())
    registry_db = platform.db(mongo_client, "registry")
    volunteer_db = platform.db(mongo_client, "volunteer")

    station_ids, built = _changes(platform, units)
    wait_for(lambda: _settled(registry_db, volunteer_db, station_ids, built), timeout=120,
             message="both read models to show every change")
    with_two = _models(registry_db, volunteer_db, station_ids)

    # Both replicas of each service consumed: each handled part of the inbox.
    for first, second in ((replicas[0], replicas[1]), (replicas[2], replicas[3])):
        for replica in (first, second):
            assert any(line.get("message") == "event applied" for line in replica.log_lines()), \
                f"{replica.name} replica applied nothing"
    # Each event was applied once across the two: one marker each, no more.
    created = registry_db.outbox.count_documents({"event.subject": {"$in": station_ids}})
    assert created == STATIONS + len(built)
    assert registry_db.processed_events.count_documents({}) == created

    # One replica of each rebuilds the same models from the same event log.
    replicas[1].stop()
    replicas[3].stop()
    _rebuild(platform, "registry")
    _rebuild(platform, "volunteer")
    wait_for(lambda: _settled(registry_db, volunteer_db, station_ids, built)
             and _models(registry_db, volunteer_db, station_ids) == with_two, timeout=120,
             message="the rebuilt read models to equal those two replicas built")
    assert _models(registry_db, volunteer_db, station_ids) == with_two

