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
"""
import datetime
import json
import os

import bson
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


def backup(client, directory, services=None):
    """Write every service's database under `directory`; returns the manifest."""
    services = list(services or catalog.names())
    os.makedirs(directory, exist_ok=True)
    manifest = {"format": FORMAT, "created_at": datetime.datetime.now(datetime.timezone.utc),
                "services": {}}
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
    with open(os.path.join(directory, "manifest.json"), "w", encoding="utf-8") as out:
        json.dump(jsonable(manifest), out, ensure_ascii=False, indent=1)
    return jsonable(manifest)


class RestoreRefused(Exception):
    pass


def restore(client, directory):
    """Load a backup into this environment's (empty) databases; returns {service: counts}."""
    with open(os.path.join(directory, "manifest.json"), encoding="utf-8") as f:
        manifest = json.load(f)
    if manifest.get("format") != FORMAT:
        raise RestoreRefused(f"backup format {manifest.get('format')} is not {FORMAT}")
    targets = {service: client[config.database_name(service)] for service in manifest["services"]}
    busy = [db.name for db in targets.values() if db.list_collection_names()]
    if busy:
        raise RestoreRefused(f"databases not empty: {', '.join(busy)}; restore into an empty server")
    restored = {}
    for service, entry in manifest["services"].items():
        db, folder, counts = targets[service], os.path.join(directory, service), {}
        for name, expected in entry["collections"].items():
            with open(os.path.join(folder, f"{name}.bson"), "rb") as f:
                docs = bson.decode_all(f.read(), codec_options=client.codec_options)
            if len(docs) != expected:
                raise RestoreRefused(f"{service}/{name}.bson holds {len(docs)} documents, "
                                     f"the manifest says {expected}")
            db.create_collection(name)
            for start in range(0, len(docs), BATCH):
                db[name].insert_many(docs[start:start + BATCH], ordered=True)
            with open(os.path.join(folder, f"{name}.indexes.json"), encoding="utf-8") as f:
                models = _index_models(json.load(f))
            if models:
                db[name].create_indexes(models)
            counts[name] = len(docs)
        restored[service] = counts
    return restored
