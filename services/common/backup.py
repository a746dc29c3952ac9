"""`wushe backup DIR`, `wushe restore DIR`: every service's database, to files and back.

A backup is one folder:

    DIR/manifest.json                  when, which databases, per collection its count,
                                       and the last event of each service's outbox
    DIR/<service>/<collection>.bson    the documents, BSON one after another (the
                                       format mongodump writes; bsondump reads it)
    DIR/<service>/<collection>.indexes.json   the indexes to create again

Documents are read collection by collection, not at one instant: take it while
writes are paused for an exact copy, or take it live and rebuild the read
models after a restore (`wushe rebuild SERVICE`), which makes them agree with
the restored sources again; the outbox (each service's event log) restores
with its service, so rebuilding replays exactly what the sources say.

Restoring loads into databases that hold nothing yet (it refuses otherwise),
with the names this environment gives each service (`<SERVICE>_MONGO_DB`).
The manifest is written last, so a folder without one (a backup that died
midway) is refused too.

Scheduled backups (the cluster's CronJob) name DIR with strftime codes,
expanded in UTC (`/backups/%Y%m%dT%H%M%SZ`: one folder per run); with
BACKUP_KEEP=N, complete backups beyond the newest N of that pattern are removed
after this one is complete, never before.
"""
import datetime
import json
import os
import re
import shutil

import bson
import bson.errors
from pymongo import IndexModel

from services.common import catalog, config
from services.common.jsonable import jsonable

BATCH = 1000
FORMAT = 1


def _index_models(specs):
    models = []
    for spec in specs:
        options = {k: v for k, v in spec.items() if k not in ("key", "v", "ns")}
        models.append(IndexModel(list(spec["key"].items()), **options))
    return models


def backup(client, directory, services=None, keep=None):
    """Write every service's database under `directory` (strftime codes expanded in UTC);
    returns the manifest, whose `directory` is the folder written."""
    services = list(services or catalog.names())
    now = datetime.datetime.now(datetime.timezone.utc)
    pattern, directory = directory, now.strftime(directory) if "%" in directory else directory
    if os.path.exists(os.path.join(directory, "manifest.json")):
        raise FileExistsError(f"{directory} already holds a backup")
    os.makedirs(directory, exist_ok=True)
    manifest = {"format": FORMAT, "created_at": now, "directory": directory, "services": {}}
    for service in services:
        db = client[config.database_name(service)]
        folder = os.path.join(directory, service)
        os.makedirs(folder, exist_ok=True)
        counts = {}
        for name in sorted(db.list_collection_names()):
            count = 0
            with open(os.path.join(folder, f"{name}.bson"), "wb") as out:
                for doc in db[name].find().sort("_id", 1):
                    out.write(bson.encode(doc))
                    count += 1
                _sync(out)
            indexes = [dict(spec) for spec in db[name].list_indexes() if spec["name"] != "_id_"]
            with open(os.path.join(folder, f"{name}.indexes.json"), "w", encoding="utf-8") as out:
                json.dump([{**spec, "key": dict(spec["key"])} for spec in indexes], out,
                          ensure_ascii=False, indent=1, default=str)
            counts[name] = count
        last = db.outbox.find_one({}, {"type": 1, "recorded_at": 1},
                                  sort=[("recorded_at", -1), ("_id", -1)]) \
            if "outbox" in counts else None
        manifest["services"][service] = {
            "database": db.name, "collections": counts,
            "last_event": {"id": last["_id"], "type": last["type"],
                           "recorded_at": last["recorded_at"]} if last else None}
    # Written last, through a rename: its presence means every file above is complete.
    partial = os.path.join(directory, "manifest.json.partial")
    with open(partial, "w", encoding="utf-8") as out:
        json.dump(jsonable(manifest), out, ensure_ascii=False, indent=1)
        _sync(out)
    os.replace(partial, os.path.join(directory, "manifest.json"))
    keep = keep if keep is not None else int(config.env("BACKUP_KEEP", "0") or 0)
    if keep and "%" in pattern:
        manifest["pruned"] = prune(pattern, keep)
    return jsonable(manifest)


def _sync(f):
    f.flush()
    os.fsync(f.fileno())


def prune(pattern, keep):
    """Remove complete backups of `pattern` (a strftime path) beyond the newest `keep`;
    returns the folders removed. Folders of other names are never touched."""
    parent, leaf = os.path.split(pattern)
    if "%" in parent:
        raise ValueError("only the last part of a backup path may carry % codes")
    codes = {"%Y": r"\d{4}", "%m": r"\d{2}", "%d": r"\d{2}", "%H": r"\d{2}", "%M": r"\d{2}",
             "%S": r"\d{2}", "%j": r"\d{3}"}
    regex = "".join(codes.get(part, re.escape(part)) for part in re.split(r"(%[A-Za-z])", leaf) if part)
    complete = sorted(name for name in os.listdir(parent or ".")
                      if re.fullmatch(regex, name)
                      and os.path.isfile(os.path.join(parent, name, "manifest.json")))
    removed = complete[:-keep] if keep > 0 else []
    for name in removed:
        shutil.rmtree(os.path.join(parent, name))
    return removed


class RestoreRefused(Exception):
    pass


def restore(client, directory):
    """Load a backup into this environment's (empty) databases; returns {service: counts}."""
    try:
        with open(os.path.join(directory, "manifest.json"), encoding="utf-8") as f:
            manifest = json.load(f)
    except FileNotFoundError:
        raise RestoreRefused(f"{directory} has no manifest.json: not a complete backup") from None
    if manifest.get("format") != FORMAT:
        raise RestoreRefused(f"backup format {manifest.get('format')} is not {FORMAT}")
    targets = {service: client[config.database_name(service)] for service in manifest["services"]}
    busy = [db.name for db in targets.values() if db.list_collection_names()]
    if busy:
        raise RestoreRefused(f"databases not empty: {', '.join(busy)}; restore into an empty server")
    # Every file is checked against the manifest before anything is written: a
    # damaged backup is refused whole, never half loaded.
    for service, entry in manifest["services"].items():
        for name, expected in entry["collections"].items():
            path = os.path.join(directory, service, f"{name}.bson")
            try:
                with open(path, "rb") as f:
                    found = sum(1 for _ in bson.decode_file_iter(f))
            except (OSError, bson.errors.BSONError) as exc:
                raise RestoreRefused(f"{service}/{name}.bson cannot be read: {exc}") from None
            if found != expected:
                raise RestoreRefused(f"{service}/{name}.bson holds {found} documents, "
                                     f"the manifest says {expected}")
    restored = {}
    for service, entry in manifest["services"].items():
        db, folder, counts = targets[service], os.path.join(directory, service), {}
        for name in entry["collections"]:
            db.create_collection(name)
            # Streamed in batches: a large collection never sits in memory whole.
            with open(os.path.join(folder, f"{name}.bson"), "rb") as f:
                batch, count = [], 0
                for doc in bson.decode_file_iter(f, codec_options=client.codec_options):
                    batch.append(doc)
                    count += 1
                    if len(batch) == BATCH:
                        db[name].insert_many(batch, ordered=True)
                        batch = []
                if batch:
                    db[name].insert_many(batch, ordered=True)
            with open(os.path.join(folder, f"{name}.indexes.json"), encoding="utf-8") as f:
                models = _index_models(json.load(f))
            if models:
                db[name].create_indexes(models)
            counts[name] = count
        restored[service] = counts
    return restored
