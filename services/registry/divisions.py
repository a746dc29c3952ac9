"""The `divisions` collection: the province's administrative divisions, their import,
their unit counts, and the queries on them.

One document per division: `_id` = code, plus the fields of its row
(services/registry/division_codes.py) and `units` / `other_units`. A township
has units 1/0 or 0/1 from its kind (written by the import itself);
provinces, cities and counties get their counts from `recount_units`, run
after an import (an import leaves the counts of existing regions untouched
and gives new regions 0).

* An import compares every row with the stored document and writes only what
  changed; rows are self-describing (everything derives from code and name),
  so chunks can come in any order (villages before their township...).
* Lookups of many codes use `$in` in batches of LOOKUP_BATCH codes, and no
  query here uses a large `$in` list or `$or` (docs/mongo-wire-server.md,
  trap 4).
* Other modules read divisions through the functions here (`find`,
  `children`, `by_code`, ...), never the collection itself.
"""
from pymongo import ASCENDING, UpdateOne
from pymongo.errors import BulkWriteError

from services.common import access, queries
from services.common.errors import InvalidInput, NotFound
from services.common.schemas import PageQuerySchema
from services.registry import division_kinds
from services.registry.division_codes import LEVEL_LENGTH, LEVELS, REGION_LEVELS, level_of, make_row

LOOKUP_BATCH = 40
INSERT_BATCH = 5000

_STORED_FIELDS = ("name", "level", "parent", "province", "city", "county", "township", "kind")


def ensure_indexes(db):
    db.divisions.create_index([("parent", ASCENDING), ("_id", ASCENDING)], name="parent_code")
    db.divisions.create_index([("level", ASCENDING), ("kind", ASCENDING)], name="level_kind")


# --------------------------------------------------------------------------
# Import


def _refused_row(index, problem):
    problem = f"row {index}: {problem}"
    return InvalidInput(problem, fields={"rows": [problem]})


def _doc_from_row(row, index):
    if not isinstance(row, dict):
        raise _refused_row(index, "not an object")
    try:
        clean = make_row(row.get("code"), row.get("name"))
    except ValueError as exc:
        raise _refused_row(index, f"({row.get('code')!r}): {exc}") from None
    for key in ("level", "parent"):
        if row.get(key) is not None and row[key] != clean.get(key):
            raise _refused_row(index, f"({clean['code']}): {key} {row[key]!r}, "
                                      f"the code says {clean.get(key)!r}")
    doc = {"_id": clean["code"], **{key: clean[key] for key in _STORED_FIELDS if key in clean}}
    if clean["level"] == "township":
        doc["units"], doc["other_units"] = _own_units(clean["kind"])
    return doc


def _own_units(kind):
    return (1, 0) if division_kinds.is_unit(kind) else (0, 1)


def _compared(doc):
    """The fields an import owns (a region's counts belong to recount_units)."""
    keys = set(_STORED_FIELDS)
    if doc.get("level") == "township":
        keys |= {"units", "other_units"}
    return {k: doc.get(k) for k in keys}


def _update_op(old, doc):
    op = {"$set": {k: v for k, v in doc.items() if k != "_id"}}
    unset = {k: "" for k in ("township", "kind") if k in old and k not in doc}
    if unset:
        op["$unset"] = unset
    return UpdateOne({"_id": doc["_id"]}, op)


def import_divisions(db, rows, session=None):
    """Store rows (from division_files.read_division_files, or the same dicts over RPC).

    Every field is derived again from each row's code and name (the other keys
    are checked, not trusted). Returns {"inserted", "updated", "unchanged"}.
    Only new and changed rows are written; importing the same rows again
    writes nothing. Safe per chunk, chunks in any order. Run `recount_units`
    after the last chunk.
    """
    if not isinstance(rows, (list, tuple)):
        raise InvalidInput("rows must be a list of division rows", fields={"rows": ["not a list"]})
    docs = {}
    for i, row in enumerate(rows):
        doc = _doc_from_row(row, i)
        docs[doc["_id"]] = doc  # a code given twice: the last row wins
    coll = db.divisions
    codes = sorted(docs)
    existing = by_code(db, codes, session)

    new, changes, unchanged = [], [], 0

    def compare(old, doc):
        nonlocal unchanged
        if _compared(old) == _compared(doc):
            unchanged += 1
        else:
            changes.append(_update_op(old, doc))

    for code in codes:
        if code in existing:
            compare(existing[code], docs[code])
        else:
            new.append(docs[code])

    inserted = 0
    for start in range(0, len(new), INSERT_BATCH):
        batch = [dict(d) for d in new[start:start + INSERT_BATCH]]
        for doc in batch:
            if doc["level"] in REGION_LEVELS:
                doc["units"], doc["other_units"] = 0, 0
        try:
            inserted += len(coll.insert_many(batch, ordered=False, session=session).inserted_ids)
        except BulkWriteError as exc:
            # Another import inserted some of these meanwhile: compare those.
            inserted += exc.details.get("nInserted", 0)
            dup_ids = set()
            for err in exc.details.get("writeErrors", []):
                if err.get("code") != 11000:
                    raise
                dup_ids.add(batch[err["index"]]["_id"])
            again = by_code(db, sorted(dup_ids), session)
            for code in sorted(dup_ids):
                compare(again[code], docs[code])

    if changes:
        coll.bulk_write(changes, ordered=False, session=session)
    return {"inserted": inserted, "updated": len(changes), "unchanged": unchanged}


def recount_units(db, session=None):
    """Set `units` / `other_units` on every province, city and county.

    `units` counts the township-level units of kind street/town/township
    inside the region, `other_units` those of kind other; a township has
    1/0 or 0/1 itself. Counted with one aggregation (grouped by county, summed
    up to cities and provinces); only documents whose counts change are
    written. Returns how many documents were changed (0 when run again).
    """
    coll = db.divisions
    counts = {}
    pipeline = [
        {"$match": {"level": "township"}},
        {"$group": {
            "_id": "$county",
            "city": {"$first": "$city"},
            "province": {"$first": "$province"},
            "units": {"$sum": {"$cond": [{"$eq": ["$kind", "other"]}, 0, 1]}},
            "other_units": {"$sum": {"$cond": [{"$eq": ["$kind", "other"]}, 1, 0]}},
        }},
    ]
    for group in coll.aggregate(pipeline, session=session):
        for code in (group["_id"], group["city"], group["province"]):
            c = counts.setdefault(code, [0, 0])
            c[0] += group["units"]
            c[1] += group["other_units"]

    changes = []
    cursor = coll.find({"level": {"$in": [*REGION_LEVELS, "township"]}},
                       {"level": 1, "kind": 1, "units": 1, "other_units": 1}, session=session)
    for doc in cursor:
        if doc["level"] == "township":
            units, other = _own_units(doc.get("kind"))
        else:
            units, other = counts.get(doc["_id"], (0, 0))
        if doc.get("units") != units or doc.get("other_units") != other:
            changes.append(UpdateOne({"_id": doc["_id"]},
                                     {"$set": {"units": units, "other_units": other}}))
    if changes:
        coll.bulk_write(changes, ordered=False, session=session)
    return len(changes)


# --------------------------------------------------------------------------
# Queries


def public(doc):
    """The public form of a stored division."""
    out = {"code": doc["_id"], "name": doc["name"], "level": doc["level"]}
    if doc["level"] == "township":
        out["kind"] = doc.get("kind")
    out.update({key: doc.get(key) for key in ("parent", "province", "city", "county")})
    if doc["level"] == "village":
        out["township"] = doc.get("township")
    else:
        out["units"] = doc.get("units", 0)
        out["other_units"] = doc.get("other_units", 0)
    return out


def _check_code(code, field="code"):
    if level_of(code) is None:
        raise InvalidInput(f"{field}: not a division code: {code!r}",
                           fields={field: ["must be a code of 2, 4, 6, 9 or 12 digits"]})
    return code


def _unknown(code, field="code"):
    return NotFound(f"no division {code}", fields={field: ["unknown division code"]})


def find(db, code, session=None):
    """The stored division `code`, or None."""
    return db.divisions.find_one({"_id": code}, session=session)


def children(db, code, projection=None):
    """The stored divisions directly under `code`, by code."""
    return list(db.divisions.find({"parent": code}, projection).sort("_id", ASCENDING))


def by_code(db, codes, session=None):
    """{code: stored division} of those of `codes` that exist."""
    found = {}
    for start in range(0, len(codes), LOOKUP_BATCH):
        batch = codes[start:start + LOOKUP_BATCH]
        for doc in db.divisions.find({"_id": {"$in": batch}}, session=session):
            found[doc["_id"]] = doc
    return found


def in_region(db, level, region, projection=None):
    """The stored divisions of `level` inside `region` ('' : everywhere), by code.

    A region narrower than the level (level city, region 340102) gives the one
    division of that level it lies in."""
    selector = {"level": level}
    length = LEVEL_LENGTH[level]
    if region and len(region) >= length:
        selector["_id"] = region[:length]
    elif region:
        selector[LEVELS[len(region)]] = region
    return list(db.divisions.find(selector, projection).sort("_id", ASCENDING))


def get_division(db, code):
    doc = find(db, _check_code(code))
    if doc is None:
        raise _unknown(code)
    return public(doc)


def list_divisions(db, parent=None, page=1, per_page=50):
    """Children of `parent` (None: the provinces), sorted by code, paged."""
    paging = access.load(PageQuerySchema, {"page": page, "per_page": per_page})
    if parent in (None, ""):
        selector = {"parent": None, "level": "province"}
    else:
        if find(db, _check_code(parent, "parent")) is None:
            raise _unknown(parent, "parent")
        selector = {"parent": parent}
    return queries.page(db.divisions, selector, paging, lambda docs: [public(d) for d in docs])


def _path_docs(db, code):
    """(the codes of `code` and every division above it, province first,
    {code: stored division} of those that exist), from one find."""
    prefixes = [code[:n] for n in sorted(LEVELS) if n <= len(code)]
    return prefixes, {d["_id"]: d for d in db.divisions.find({"_id": {"$in": prefixes}})}


def division_path(db, code):
    """[province, city, county, township, village] down to `code` itself."""
    _check_code(code)
    prefixes, docs = _path_docs(db, code)
    if code not in docs:
        raise _unknown(code)
    return [public(docs[p]) for p in prefixes if p in docs]


def _check_township(code, field):
    if level_of(code) != "township":
        raise InvalidInput(f"{field}: not a township-level code: {code!r}",
                           fields={field: ["must be the 9-digit code of a township-level unit"]})


def _unknown_township(code, field):
    return NotFound(f"no township-level unit {code}", fields={field: ["unknown township-level unit"]})


def township_of(db, code, field="division_code"):
    """The township-level unit `code`, validated; InvalidInput / NotFound on `field`."""
    _check_township(code, field)
    doc = find(db, code)
    if doc is None:
        raise _unknown_township(code, field)
    return public(doc)


def township_and_path(db, code, field="division_code"):
    """township_of and division_path of one township-level unit, from one find:
    (the unit, [province, city, county, the unit]); the errors of township_of."""
    _check_township(code, field)
    prefixes, docs = _path_docs(db, code)
    if code not in docs:
        raise _unknown_township(code, field)
    return public(docs[code]), [public(docs[p]) for p in prefixes if p in docs]


def is_unknown_village(db, township, code, session=None):
    """Whether `code` is no village of `township`, as far as its villages were imported
    (a township whose villages were not imported knows none, and refuses none)."""
    # A township's children are its villages. Asked by `parent` alone: with `level` too,
    # the Mongo-wire server takes the (level, kind) index and scans every village (~300 ms).
    if db.divisions.find_one({"parent": township}, {"_id": 1}, session=session) is None:
        return False
    return db.divisions.find_one({"_id": code}, {"_id": 1}, session=session) is None
