"""Administrative divisions: CSV parsing, the township kind rule, storage, queries.

Data: the NBS statistical division codes (see services/registry/data/divisions,
Anhui only; the full country has the same format). Five CSV files, each
recognised by its header, never by its file name:

    provinces   code,name                                        2 digits
    cities      code,name,provinceCode                           4 digits
    areas       code,name,cityCode,provinceCode                  6 digits (county level)
    streets     code,name,areaCode,provinceCode,cityCode         9 digits (township level)
    villages    code,name,streetCode,provinceCode,cityCode,areaCode   12 digits

Decisions
---------
* Levels are named "province", "city", "county", "township", "village" and come
  from the code length. The parent is always the code's prefix of the level
  above (checked against the parent columns of the file).
* `province`, `city`, `county` on a row are the codes of the province, city and
  county the unit lies in, the unit's own code included: a city row has
  `city == code`, a county row `county == code`; they are None above the unit's
  own level (a province has city None and county None). So `{"city": "3401"}`
  selects Hefei and everything in it. Villages also carry `township`; only
  township rows carry `kind`.
* Township kind (`township_kind`): the NBS digits 7-9 give 001-099 street,
  100-199 town, 200-399 township, 400+ other; 000 (only the 金门县 placeholder)
  is in no range and is "other". The name is the better witness where they
  disagree, judged on the name without a trailing parenthesis
  ("东湖风景区街道（武昌）" is a street, "庐阳工业区（林店街道）" is not):
    - placeholders that are not units with a government are "other" whatever
      the digits: "...直辖村级区划" (code 198, villages directly under a
      district), "...特殊乡镇" / "...直属乡镇" (development-zone groupings),
      "...产业小镇" / "...特色小镇" (industrial "towns");
    - suffix 街道 or 街道办事处 -> street; 镇 -> town; 乡 (民族乡 included) and
      苏木 (Inner Mongolia's township level, 民族苏木 included) -> township;
      "六苏木镇" ends in 镇 and is a town, "苏木乡" a township;
    - a name with none of these suffixes keeps the digits' kind, except that a
      name ending in a development-zone, farm, park, prison... word
      (开发区, 农场, 林场, 园区, 管委会, 监狱, see OTHER_ENDINGS) is "other"
      even where the digits say street/town/township. Beijing's "...地区"
      (area offices, street digits) and "吴家山街" stay streets.
  Over the whole country (41,352 rows) the name overrides the digits for 154
  rows: 122 of other digits become streets, 10 towns, 5 townships, and 17
  placeholders of town digits become other. Anhui: 18 "...社区街道" of
  铜官区 (digits 402-419) are streets, 2 "...直辖村级区划" are other.
* Storage: collection `divisions`, `_id` = code, plus the row's fields and
  `units` / `other_units`. A township has units 1/0 and other_units 0/1 from its
  kind (written by the import itself); provinces, cities and counties get their
  counts from `recount_units`, to be run after an import (an import leaves the
  counts of existing regions untouched and gives new regions 0).
* Import compares every row with the stored document and writes only what
  changed; rows are self-describing (everything derives from code and name),
  so chunks can come in any order (villages before their township...).
* Lookups of existing codes use `$in` in batches of LOOKUP_BATCH codes: on the
  local Mongo-wire server the cost of one `$in` grows with the square of the
  list (5,000 codes: 13 s; 100 batches of 50: 0.3 s), and `$or` is far worse.
  Queries here use neither large `$in` lists nor `$or`.
* `division_path` returns the breadcrumb from the province down to the unit,
  the unit itself included as the last element.
"""
import csv
import os
import re

from pymongo import ASCENDING, UpdateOne
from pymongo.errors import BulkWriteError

from services.common.errors import InvalidInput, NotFound

COLLECTION = "divisions"

LEVELS = {2: "province", 4: "city", 6: "county", 9: "township", 12: "village"}
LEVEL_LENGTH = {level: length for length, level in LEVELS.items()}
REGION_LEVELS = ("province", "city", "county")
KINDS = ("street", "town", "township", "other")
UNIT_KINDS = ("street", "town", "township")

# Header (as a set of column names) -> level of the file's rows.
FILE_HEADERS = {
    frozenset(["code", "name"]): "province",
    frozenset(["code", "name", "provinceCode"]): "city",
    frozenset(["code", "name", "cityCode", "provinceCode"]): "county",
    frozenset(["code", "name", "areaCode", "provinceCode", "cityCode"]): "township",
    frozenset(["code", "name", "streetCode", "provinceCode", "cityCode", "areaCode"]): "village",
}
# Ancestor columns and the code length each must equal a prefix of.
ANCESTOR_COLUMNS = {"provinceCode": 2, "cityCode": 4, "areaCode": 6, "streetCode": 9}
PARENT_COLUMN = {"city": "provinceCode", "county": "cityCode", "township": "areaCode",
                 "village": "streetCode"}

LOOKUP_BATCH = 40
INSERT_BATCH = 5000
MAX_PER_PAGE = 1000

_CODE_RE = re.compile(r"^\d+$")
_TRAILING_PAREN = re.compile(r"\s*[（(][^（）()]*[）)]\s*$")

PLACEHOLDER_MARKERS = ("直辖村级区划", "特殊乡镇", "直属乡镇", "产业小镇", "特色小镇")
OTHER_ENDINGS = (
    "开发区", "经济区", "工业区", "产业区", "集中区", "合作区", "新区", "高新区", "保税区",
    "试验区", "示范区", "实验区", "管理区", "托管区", "风景区", "名胜区", "旅游区", "度假区",
    "园区", "工业园", "产业园", "科技园", "示范园", "创业园", "化工园", "加工园",
    "管委会", "管理委员会", "农场", "林场", "牧场", "渔场", "茶场", "苗圃", "垦区", "盐场",
    "监狱", "煤矿", "矿区",
)
# The kind named by the end of the (parenthesis-free) name, longest first.
NAME_SUFFIXES = (
    ("街道办事处", "street"),
    ("街道", "street"),
    ("苏木", "township"),
    ("乡", "township"),
    ("镇", "town"),
)


# --------------------------------------------------------------------------
# Rules


def level_of(code):
    """The level named by a code's length, or None."""
    if not isinstance(code, str) or not _CODE_RE.match(code):
        return None
    return LEVELS.get(len(code))


def kind_by_digits(code):
    """The NBS kind from digits 7-9 of a 9-digit township-level code."""
    n = int(code[6:9])
    if 1 <= n <= 99:
        return "street"
    if 100 <= n <= 199:
        return "town"
    if 200 <= n <= 399:
        return "township"
    return "other"  # 400 and up, and 000 (in no range)


def _main_name(name):
    name = (name or "").strip()
    while True:
        stripped = _TRAILING_PAREN.sub("", name)
        if stripped == name or not stripped:
            return name
        name = stripped


def kind_by_name(name):
    """The kind the name states, or None where the name says nothing."""
    main = _main_name(name)
    if any(marker in main for marker in PLACEHOLDER_MARKERS):
        return "other"
    for suffix, kind in NAME_SUFFIXES:
        if main.endswith(suffix):
            return kind
    if main.endswith(OTHER_ENDINGS):
        return "other"
    return None


def township_kind(code, name):
    """"street" | "town" | "township" | "other" for a township-level unit.

    Digits 7-9 of the code give the kind; the name wins where it says
    otherwise (see the module docstring).
    """
    if level_of(code) != "township":
        raise InvalidInput(f"not a township-level code: {code!r}",
                           fields={"code": ["must be 9 digits"]})
    return kind_by_name(name) or kind_by_digits(code)


def make_row(code, name):
    """The row dict for a division, everything derived from code and name."""
    level = level_of(code)
    if level is None:
        raise ValueError(f"code {code!r} is not 2, 4, 6, 9 or 12 digits")
    name = (name or "").strip()
    if not name:
        raise ValueError("empty name")
    n = len(code)
    row = {
        "code": code,
        "name": name,
        "level": level,
        "parent": None,
        "province": code[:2],
        "city": code[:4] if n >= 4 else None,
        "county": code[:6] if n >= 6 else None,
    }
    if level != "province":
        parent_len = {4: 2, 6: 4, 9: 6, 12: 9}[n]
        row["parent"] = code[:parent_len]
    if level == "township":
        row["kind"] = township_kind(code, name)
    if level == "village":
        row["township"] = code[:9]
    return row


# --------------------------------------------------------------------------
# Files


def division_files(directory):
    """The CSV files of a division directory, sorted by name."""
    return sorted(
        os.path.join(directory, f) for f in os.listdir(directory) if f.lower().endswith(".csv")
    )


def _bad(path, line, field, problem):
    name = os.path.basename(str(path))
    return InvalidInput(
        f"{name} line {line}: {problem}",
        fields={field: [problem]},
        details={"file": name, "line": line},
    )


def read_division_files(paths):
    """Rows from any of the five division CSV files, given in any order.

    Each file is recognised by its header. Returns row dicts sorted by level
    then code (so the result does not depend on the order of `paths`). A bad
    row (code of the wrong length for its file, code not starting with its
    parent's code, empty name, code seen twice) raises InvalidInput naming the
    file and line.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    rows = []
    seen = {}
    for path in paths:
        name = os.path.basename(str(path))
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.reader(fh)
            try:
                header = next(reader)
            except StopIteration:
                raise _bad(path, 1, "file", "empty file, no header") from None
            header = [h.strip() for h in header]
            level = FILE_HEADERS.get(frozenset(header))
            if level is None or len(set(header)) != len(header):
                raise _bad(path, 1, "file", f"unrecognised header {','.join(header)}")
            col = {h: i for i, h in enumerate(header)}
            width = len(header)
            want_len = LEVEL_LENGTH[level]
            for values in reader:
                line = reader.line_num
                if not values or (len(values) == 1 and not values[0].strip()):
                    continue
                if len(values) != width:
                    raise _bad(path, line, "row", f"{len(values)} columns, the header has {width}")
                code = values[col["code"]].strip()
                label = values[col["name"]].strip()
                if not _CODE_RE.match(code) or len(code) != want_len:
                    raise _bad(path, line, "code",
                               f"code {code!r} is not {want_len} digits ({level} file)")
                if not label:
                    raise _bad(path, line, "name", f"empty name for code {code}")
                for column, length in ANCESTOR_COLUMNS.items():
                    if column not in col:
                        continue
                    value = values[col[column]].strip()
                    if len(value) != length or not code.startswith(value):
                        which = "its parent's" if column == PARENT_COLUMN[level] else f"its {column}"
                        raise _bad(path, line, "code",
                                   f"code {code} does not start with {which} code {value!r}")
                if code in seen:
                    raise _bad(path, line, "code", f"code {code} already on {seen[code]}")
                seen[code] = f"{name} line {line}"
                rows.append(make_row(code, label))
    rows.sort(key=lambda r: (len(r["code"]), r["code"]))
    return rows


# --------------------------------------------------------------------------
# Storage

_STORED_FIELDS = ("name", "level", "parent", "province", "city", "county", "township", "kind")


def _doc_from_row(row, index):
    if not isinstance(row, dict):
        problem = f"row {index}: not an object"
        raise InvalidInput(problem, fields={"rows": [problem]})
    try:
        clean = make_row(row.get("code"), row.get("name"))
    except ValueError as exc:
        problem = f"row {index} ({row.get('code')!r}): {exc}"
        raise InvalidInput(problem, fields={"rows": [problem]}) from None
    for key in ("level", "parent"):
        if row.get(key) is not None and row[key] != clean.get(key):
            problem = f"row {index} ({clean['code']}): {key} {row[key]!r}, the code says {clean.get(key)!r}"
            raise InvalidInput(problem, fields={"rows": [problem]})
    doc = {"_id": clean["code"]}
    for key in _STORED_FIELDS:
        if key in clean:
            doc[key] = clean[key]
    if clean["level"] == "township":
        doc["units"], doc["other_units"] = _own_units(clean["kind"])
    return doc


def _own_units(kind):
    return (1, 0) if kind in UNIT_KINDS else (0, 1)


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


def _existing(coll, codes, session=None):
    found = {}
    for start in range(0, len(codes), LOOKUP_BATCH):
        batch = codes[start:start + LOOKUP_BATCH]
        for doc in coll.find({"_id": {"$in": batch}}, session=session):
            found[doc["_id"]] = doc
    return found


def import_divisions(db, rows, session=None):
    """Store rows (from `read_division_files`, or the same dicts over RPC).

    Every field is derived again from each row's code and name (the other keys
    are checked, not trusted). Returns {"inserted", "updated", "unchanged"}.
    Only new and changed rows are written; importing the same rows again
    writes nothing. Safe per chunk, chunks in any order. Run `recount_units`
    after the last chunk.
    """
    docs = {}
    for i, row in enumerate(list(rows or [])):
        doc = _doc_from_row(row, i)
        docs[doc["_id"]] = doc  # a code given twice: the last row wins
    coll = db[COLLECTION]
    codes = sorted(docs)
    existing = _existing(coll, codes, session)

    new, changes, unchanged = [], [], 0
    for code in codes:
        doc, old = docs[code], existing.get(code)
        if old is None:
            new.append(doc)
        elif _compared(old) == _compared(doc):
            unchanged += 1
        else:
            changes.append(_update_op(old, doc))

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
            again = _existing(coll, sorted(dup_ids), session)
            for code in sorted(dup_ids):
                if _compared(again[code]) == _compared(docs[code]):
                    unchanged += 1
                else:
                    changes.append(_update_op(again[code], docs[code]))

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
    coll = db[COLLECTION]
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
    cursor = coll.find({"level": {"$in": ["province", "city", "county", "township"]}},
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


def ensure_indexes(db):
    coll = db[COLLECTION]
    coll.create_index([("parent", ASCENDING), ("_id", ASCENDING)], name="parent_code")
    coll.create_index([("level", ASCENDING), ("kind", ASCENDING)], name="level_kind")


# --------------------------------------------------------------------------
# Queries


def public(doc):
    """The public form of a stored division."""
    out = {
        "code": doc["_id"],
        "name": doc["name"],
        "level": doc["level"],
    }
    if doc["level"] == "township":
        out["kind"] = doc.get("kind")
    out.update({
        "parent": doc.get("parent"),
        "province": doc.get("province"),
        "city": doc.get("city"),
        "county": doc.get("county"),
    })
    if doc["level"] == "village":
        out["township"] = doc.get("township")
    else:
        out["units"] = doc.get("units", 0)
        out["other_units"] = doc.get("other_units", 0)
    return out


def _check_code(code, field="code"):
    if not isinstance(code, str) or level_of(code) is None:
        raise InvalidInput(f"{field}: not a division code: {code!r}",
                           fields={field: ["must be a code of 2, 4, 6, 9 or 12 digits"]})
    return code


def get_division(db, code):
    _check_code(code)
    doc = db[COLLECTION].find_one({"_id": code})
    if doc is None:
        raise NotFound(f"no division {code}", fields={"code": ["unknown division code"]})
    return public(doc)


def _int_param(value, field, low, high):
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = None
    if number is None or isinstance(value, bool) or number < low or number > high:
        raise InvalidInput(f"{field}: must be an integer from {low} to {high}",
                           fields={field: [f"must be an integer from {low} to {high}"]})
    return number


def list_divisions(db, parent=None, page=1, per_page=50):
    """Children of `parent` (None: the provinces), sorted by code, paged."""
    page = _int_param(page, "page", 1, 10**9)
    per_page = _int_param(per_page, "per_page", 1, MAX_PER_PAGE)
    coll = db[COLLECTION]
    if parent in (None, ""):
        query = {"parent": None, "level": "province"}
    else:
        _check_code(parent, "parent")
        if coll.find_one({"_id": parent}, {"_id": 1}) is None:
            raise NotFound(f"no division {parent}", fields={"parent": ["unknown division code"]})
        query = {"parent": parent}
    total = coll.count_documents(query)
    cursor = coll.find(query).sort("_id", ASCENDING).skip((page - 1) * per_page).limit(per_page)
    return {"items": [public(d) for d in cursor], "total": total, "page": page, "per_page": per_page}


def division_path(db, code):
    """[province, city, county, township, village] down to `code` itself."""
    _check_code(code)
    prefixes = [code[:n] for n in sorted(LEVELS) if n <= len(code)]
    docs = {d["_id"]: d for d in db[COLLECTION].find({"_id": {"$in": prefixes}})}
    if code not in docs:
        raise NotFound(f"no division {code}", fields={"code": ["unknown division code"]})
    return [public(docs[p]) for p in prefixes if p in docs]


def township_of(db, code, field="division_code"):
    """The township-level unit `code`, validated; InvalidInput / NotFound on `field`."""
    if not isinstance(code, str) or level_of(code) != "township":
        raise InvalidInput(f"{field}: not a township-level code: {code!r}",
                           fields={field: ["must be the 9-digit code of a township-level unit"]})
    doc = db[COLLECTION].find_one({"_id": code})
    if doc is None:
        raise NotFound(f"no township-level unit {code}",
                       fields={field: ["unknown township-level unit"]})
    return public(doc)
