"""Versioned checklists: the standard a station is inspected against.

    checklists: {_id: "station-standard@v2", code, version, title,
                 sections [{key, title, kind, items [{key, title, weight, rule {kind, max}}]}],
                 published_at, published_by}

Publishing under a code makes its next version (a counter per code, so two
publications at once get two versions). A version is never changed after it
is published: an inspection keeps the id of the version it started on
(`checklist_id`), so a new version never changes it.
"""
from services.common import access, queries, sequences
from services.common.clock import now_ms
from services.common.errors import NotFound
from services.common.jsonable import jsonable
from services.supervision import roles, scoring


def ensure_indexes(db):
    db.checklists.create_index([("code", 1), ("version", -1)], unique=True)


def checklist_id(code, version):
    return f"{code}@v{version}"


def publish(tx, data, caller):
    roles.ensure_officer(caller, "publish checklists")
    scoring.check_definition(data["sections"])
    version = sequences.next_number(tx, f"checklist:{data['code']}")
    doc = {"_id": checklist_id(data["code"], version), "code": data["code"], "version": version,
           "title": data["title"], "sections": jsonable(data["sections"]),
           "published_at": now_ms(), "published_by": access.actor(caller)}
    tx.db.checklists.insert_one(doc, session=tx.session)
    return view(doc)


def pinned(db, code, version=None, session=None, field="checklist_code"):
    """The version asked for, or the latest one of `code`."""
    if version is not None:
        doc = db.checklists.find_one({"_id": checklist_id(code, version)}, session=session)
    else:
        doc = db.checklists.find_one({"code": code}, sort=[("version", -1)], session=session)
    if doc is None:
        what = f"{code} version {version}" if version else code
        raise NotFound(f"no checklist {what}", fields={field: ["no such checklist"]})
    return doc


def by_id(db, checklist_id_, session=None):
    return db.checklists.find_one({"_id": checklist_id_}, session=session)


def view(doc):
    out = {k: v for k, v in doc.items() if k != "_id"}
    out["id"] = doc["_id"]
    return jsonable(out)


def get(db, code, version, caller):
    access.caller_region(caller)
    return view(pinned(db, code, version))


def list_page(db, query, caller):
    access.caller_region(caller)
    selector = {"code": query["code"]} if query.get("code") else {}
    return queries.page(db.checklists, selector, query, lambda docs: [view(d) for d in docs],
                        sort=(("code", 1), ("version", -1)))
