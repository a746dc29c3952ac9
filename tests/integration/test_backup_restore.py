"""Backups the operations team can restore: every service's database to files and back
into an empty server, read models rebuilt from the events, the same answers as before."""
import json
import os
import subprocess
import sys

import pytest

from services.registry.commands import import_divisions
from tests.fixtures import PROVINCE_ADMIN, division_files, drop_platform, make_platform, wait_for
from tests.harness import ROOT

SERVICES = ("registry", "volunteer")


def wushe(platform, *args, check=True):
    return subprocess.run([sys.executable, "-m", "services.cli", *args], env=platform.env(),
                          cwd=ROOT, capture_output=True, text=True, timeout=120, check=check)


def start(platform):
    for service in SERVICES:
        platform.start_service(service, wait=False)
    for proc in platform.processes:
        proc.wait_ready()


def answers(cluster, county, station_ids):
    """What officers would read: coverage of the county and every station, as each
    service knows it (registry's own model, volunteer's model from registry events)."""
    return {"coverage": cluster.registry.coverage({"region": county}, caller=PROVINCE_ADMIN),
            "stations": [cluster.registry.get_station(s, caller=PROVINCE_ADMIN) for s in station_ids],
            "known_to_volunteer": [cluster.volunteer.get_station(s, caller=PROVINCE_ADMIN)
                                   for s in station_ids]}


def _comparable(found):
    # When the volunteer service first saw a station is the rebuild's moment, not a fact.
    return {**found, "known_to_volunteer": [{k: v for k, v in s.items() if k != "seen_at"}
                                            for s in found["known_to_volunteer"]]}


def test_a_restored_platform_answers_what_the_old_one_did(mongo_uri, tmp_path, units):
    county, townships = units.county()
    (tmp_path / "old").mkdir()
    (tmp_path / "new").mkdir()
    old = make_platform(mongo_uri, tmp_path / "old")
    try:
        start(old)
        import_divisions(division_files(), out=lambda line: None, rpc=old.rpc())
        with old.rpc() as cluster:
            ids = []
            for unit, steps in zip(townships[:3], ([], ["built"], ["built", "operating"])):
                station = cluster.registry.create_station(
                    {"division_code": unit["code"], "name": f"{unit['name']}社工站",
                     "planned_on": "2025-01-10"}, caller=PROVINCE_ADMIN)
                for month, to in enumerate(steps, start=3):
                    cluster.registry.transition_station(station["id"], {"to": to, "on": f"2025-0{month}-01"},
                                                        caller=PROVINCE_ADMIN)
                ids.append(station["id"])

            def settled():
                found = answers(cluster, county, ids)
                ready = found["coverage"]["operating"] == 1 and \
                    [s["status"] for s in found["known_to_volunteer"]] == ["planned", "built", "operating"]
                return found if ready else None

            before = wait_for(lambda: _try(settled), timeout=30, message="read models to settle")
        backup_dir = str(tmp_path / "backup")
        out = wushe(old, "backup", backup_dir).stdout
        assert "backup written" in out
    finally:
        drop_platform(old)

    manifest = json.load(open(os.path.join(backup_dir, "manifest.json")))
    assert manifest["services"]["registry"]["collections"]["stations"] == 3
    assert manifest["services"]["registry"]["last_event"]["type"].startswith("wushe.registry.")

    new = make_platform(mongo_uri, tmp_path / "new")
    try:
        assert "documents restored" in wushe(new, "restore", backup_dir).stdout
        # A second restore over it is refused: it never mixes two states.
        again = wushe(new, "restore", backup_dir, check=False)
        assert again.returncode != 0 and "not empty" in again.stderr
        start(new)
        for service in SERVICES:
            assert "replayed" in wushe(new, "rebuild", service).stdout
        with new.rpc() as cluster:
            def same():
                found = answers(cluster, county, ids)
                return found if _comparable(found) == _comparable(before) else None

            wait_for(lambda: _try(same), timeout=30, message="the restored platform's answers "
                                                             "to equal the old one's")
    finally:
        drop_platform(new)


def _try(fn):
    from services.common.errors import NotFound

    try:
        return fn()
    except NotFound:
        return None


def _one_service_database(mongo_client, monkeypatch, docs=3):
    """The registry's database under a name of its own, holding a few documents."""
    import uuid

    name = f"t_backup_{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("REGISTRY_MONGO_DB", name)
    mongo_client[name].stations.insert_many([{"_id": f"s{i}", "n": i} for i in range(docs)])
    mongo_client[name].stations.create_index([("n", 1)], unique=True)
    return name


def test_a_scheduled_backup_gets_a_folder_of_its_own_and_only_old_complete_ones_go(
        mongo_client, tmp_path, monkeypatch):
    from services.common import backup

    name = _one_service_database(mongo_client, monkeypatch)
    for old in ("20200101T000000Z", "20200102T000000Z"):
        (tmp_path / old).mkdir()
        (tmp_path / old / "manifest.json").write_text("{}")
    (tmp_path / "20200103T000000Z").mkdir()    # died midway: no manifest
    (tmp_path / "notes").mkdir()               # not a backup of this pattern
    try:
        manifest = backup.backup(mongo_client, str(tmp_path / "%Y%m%dT%H%M%SZ"),
                                 services=["registry"], keep=2)
        written = os.path.basename(manifest["directory"])
        assert written.startswith("20") and written not in ("20200101T000000Z", "20200102T000000Z")
        assert manifest["services"]["registry"]["collections"]["stations"] == 3
        assert manifest["pruned"] == ["20200101T000000Z"]
        assert sorted(os.listdir(tmp_path)) == sorted(["20200102T000000Z", "20200103T000000Z", "notes",
                                                       written])
        indexes = json.load(open(tmp_path / written / "registry" / "stations.indexes.json"))
        assert [(i["key"], i.get("unique")) for i in indexes] == [({"n": 1}, True)]
    finally:
        mongo_client.drop_database(name)


def test_a_damaged_or_unfinished_backup_is_refused_before_anything_is_written(
        mongo_client, tmp_path, monkeypatch):
    from services.common import backup

    source = _one_service_database(mongo_client, monkeypatch)
    try:
        backup.backup(mongo_client, str(tmp_path / "b"), services=["registry"])
    finally:
        mongo_client.drop_database(source)
    target = source + "_restored"
    monkeypatch.setenv("REGISTRY_MONGO_DB", target)
    try:
        os.rename(tmp_path / "b" / "manifest.json", tmp_path / "manifest.json")
        with pytest.raises(backup.RestoreRefused, match="not a complete backup"):
            backup.restore(mongo_client, str(tmp_path / "b"))
        os.rename(tmp_path / "manifest.json", tmp_path / "b" / "manifest.json")
        data = tmp_path / "b" / "registry" / "stations.bson"
        data.write_bytes(data.read_bytes()[:-20])     # the last document cut short
        with pytest.raises(backup.RestoreRefused, match="stations.bson"):
            backup.restore(mongo_client, str(tmp_path / "b"))
        assert target not in mongo_client.list_database_names()
    finally:
        mongo_client.drop_database(target)
