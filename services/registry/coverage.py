"""Coverage of township-level units by social work stations: read model and query.

The question: in a province, city or county, how many township-level units
(streets, towns, townships) have a station, and how many an operating one, on
a given date, in total and per child region.

Read model
----------
Collection `coverage_units`, one document per township-level unit that has
(or had) a station:

    {_id: "340102001",                       # the unit's 9-digit code
     province: "34", city: "3401", county: "340102",
     kind: "street",                          # from `divisions` (resync_kinds keeps it)
     stations: [{station_id, version, division_code, status_history: [{status, on}]}],
     timeline: [{on: "2024-03-01", with_station: true, operating: false}, ...],
     since: "2024-03-01",                     # first timeline date, null if none
     rev: 7}                                  # +1 for every change (an event, resync_kinds)

`apply_station_event` keeps it up to date from the station events (the full
status history travels in every event, so an event replaces what is known of
its station); `apply_station_events`, the inbox's batch form, leaves exactly
what applying its list one by one leaves. Both read the units the events name
(by `_id`), then the unit holding each station none of those holds, then
`divisions` for the units without a document yet: three finds at most for an
inbox batch, one for an event of a station already in its unit; each changed
unit is written once. A unit document's province, city, county and kind are
copied from `divisions` when it is first written, and again by resync_kinds
when a divisions import changes them (division_import.finish).

The coverage query reads the region and its children from `divisions` (two
finds, with the unit counts `divisions.recount_units` keeps) and runs one
aggregation over the region's units with stations; it never reads the
stations collection.

Decisions
---------
* Dates are "YYYY-MM-DD" strings, compared as strings; a station's status on
  a date is that of the last history entry on or before it (entries of the
  same day: the last one listed). Before its first entry a station does not
  exist. "built", "operating" and "suspended" (rules.COVERING) count as
  having a station; "operating" as operating; "planned" and "closed" as
  nothing.
* The unit's timeline lists only changes of (with_station, operating),
  starting from (false, false); the state on a date is its last entry on or
  before it.
* Units of kind "other" (development zones, farms, placeholders...) are
  counted apart in `other_units` and never in the rates. A station in such a
  unit is kept in the read model but counts in nobody's `with_station` or
  `operating`: not its region's, not the child's (the child's `units`
  does not include it either, so counting it would push rates above the
  share of real units covered).
* `units` / `other_units` come from the `divisions` documents, so run
  `divisions.recount_units` after importing divisions.
* Versions: an event is applied only if its `version` is greater than the one
  stored for that station; duplicates and late events are skipped (returns
  False). A station whose `division_code` changes moves between unit
  documents; a unit left without stations is deleted.
* An event for a division code that is not a township-level unit in
  `divisions` raises InvalidInput / NotFound (field `division_code`); import
  the divisions before stations exist.
* Concurrency: every write of a unit document is conditional on the `rev`
  read. Inside a transaction a lost race raises `errors.write_conflict`,
  which `ClientSession.with_transaction` retries like the server's own write
  conflicts; without a transaction the function retries by itself.
* "Today" is the civil date in China (services/common/clock.py).
* Officers ask through `asked`, which checks the region against the caller's.
* The answer also carries `level` and `as_of` (ISO date) next to the fields
  the API promises.
"""
import collections
import datetime as dt
import re

from pymongo import ASCENDING, DeleteOne, InsertOne, ReplaceOne
from pymongo.errors import BulkWriteError, DuplicateKeyError

from services.common import access
from services.common.clock import china_date, china_today
from services.common.errors import InvalidInput, NotFound, write_conflict
from services.registry import division_kinds, divisions, rules
from services.registry.contract import STATUSES
from services.registry.division_codes import REGION_LEVELS, level_of

WITH_STATION = frozenset(rules.COVERING)
OPERATING = frozenset(["operating"])

_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_CHILD_KEY = {"province": "$city", "city": "$county", "county": "$_id"}
_MAX_ATTEMPTS = 5
# Values of one `$in`: the Mongo-wire server's cheap length (docs/mongo-wire-server.md),
# and an inbox batch (services.common.inbox.BATCH_LIMIT) in one find.
_IN_BATCH = 32
_UNIT_FIELDS = ("province", "city", "county", "kind")


def ensure_indexes(db):
    db.coverage_units.create_index([("stations.station_id", ASCENDING)], name="station_id")
    for level in REGION_LEVELS:
        db.coverage_units.create_index([(level, ASCENDING), ("since", ASCENDING)],
                                       name=f"{level}_since")


# --------------------------------------------------------------------------
# Dates and timelines


def _iso_date(value, field):
    if isinstance(value, dt.datetime):
        return china_date(value).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, str) and _DATE_RE.match(value):
        try:
            return dt.date.fromisoformat(value).isoformat()
        except ValueError:
            pass
    raise InvalidInput(f"{field}: not a date: {value!r}", fields={field: ["must be a date YYYY-MM-DD"]})


def status_on(history, on):
    """A station's status on ISO date `on` (None before its first entry)."""
    status = None
    for entry in history:
        if entry["on"] <= on:
            status = entry["status"]
        else:
            break
    return status


def unit_timeline(stations):
    """[{on, with_station, operating}] at each change of the unit's state."""
    dates = sorted({e["on"] for s in stations for e in s["status_history"]})
    timeline = []
    state = (False, False)
    for on in dates:
        statuses = [status_on(s["status_history"], on) for s in stations]
        new = (any(x in WITH_STATION for x in statuses), any(x in OPERATING for x in statuses))
        if new != state:
            timeline.append({"on": on, "with_station": new[0], "operating": new[1]})
            state = new
    return timeline


# --------------------------------------------------------------------------
# Events


def _bad_event(field, problem):
    return InvalidInput(f"station event: {field}: {problem}", fields={field: [problem]})


def parse_station_event(event):
    """The parts of a station CloudEvent the read model needs, validated.

    Tolerant of what it does not need, so a test or a replay may send only
    these fields: station_id, division_code, version and status_history."""
    if not isinstance(event, dict) or not isinstance(event.get("data"), dict):
        raise _bad_event("data", "the event has no data object")
    data = event["data"]
    station_id = data.get("station_id")
    if not isinstance(station_id, str) or not station_id:
        raise _bad_event("station_id", "must be a non-empty string")
    code = data.get("division_code")
    if level_of(code) != "township":
        raise _bad_event("division_code", "must be the 9-digit code of a township-level unit")
    version = data.get("version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise _bad_event("version", "must be an integer")
    history = data.get("status_history")
    if not isinstance(history, list):
        raise _bad_event("status_history", "must be a list")
    clean = []
    for i, entry in enumerate(history):
        if not isinstance(entry, dict) or entry.get("status") not in STATUSES:
            raise _bad_event("status_history", f"entry {i}: status must be one of {', '.join(STATUSES)}")
        clean.append({"status": entry["status"], "on": _iso_date(entry.get("on"), "status_history")})
    clean.sort(key=lambda e: e["on"])  # stable: same-day entries keep their order
    return {"station_id": station_id, "division_code": code, "version": version,
            "status_history": clean}


class _Retry(Exception):
    pass


def _unit_doc(unit, stations, rev):
    stations = sorted(stations, key=lambda s: s["station_id"])
    timeline = unit_timeline(stations)
    return {**unit, "stations": stations, "timeline": timeline,
            "since": timeline[0]["on"] if timeline else None, "rev": rev}


def _fields_of(doc):
    return {k: doc.get(k) for k in ("_id", *_UNIT_FIELDS)}


def _find_in(coll, field, values, session):
    """The documents whose `field` is one of `values`, _IN_BATCH values a find."""
    for start in range(0, len(values), _IN_BATCH):
        chunk = values[start:start + _IN_BATCH]
        yield from coll.find({field: chunk[0] if len(chunk) == 1 else {"$in": chunk}},
                             session=session)


def _read_units(coll, session, changes):
    """{code: stored document} of every unit the changes touch: the units they
    name, then the unit holding each of their stations that none of those holds
    (a station is in one unit at most, so a station found is not looked for)."""
    codes = list(dict.fromkeys(c["division_code"] for c in changes))
    units = {doc["_id"]: doc for doc in _find_in(coll, "_id", codes, session)}
    held = {s["station_id"] for doc in units.values() for s in doc["stations"]}
    elsewhere = [sid for sid in dict.fromkeys(c["station_id"] for c in changes) if sid not in held]
    units.update((doc["_id"], doc) for doc in _find_in(coll, "stations.station_id", elsewhere, session))
    return units


def _plan(changes, units):
    """What applying the changes in order does, by station alone: for each change,
    None if stale, else (the unit its station leaves or None, whether its own
    unit has no document at that moment and is written anew)."""
    version, where, members = {}, {}, {}
    for code, doc in units.items():
        members[code] = {s["station_id"] for s in doc["stations"]}
        for s in doc["stations"]:
            version[s["station_id"]], where[s["station_id"]] = s["version"], code
    steps = []
    for change in changes:
        sid, code = change["station_id"], change["division_code"]
        if sid in version and version[sid] >= change["version"]:
            steps.append(None)
            continue
        version[sid] = change["version"]
        left = where.get(sid) if where.get(sid) != code else None
        if left is not None:
            members[left].discard(sid)   # emptied: its document is deleted
        steps.append((left, not members.get(code)))
        members.setdefault(code, set()).add(sid)
        where[sid] = code
    return steps


def _new_units(db, session, changes, steps):
    """{code: fields} of the units written anew, from `divisions` (one find)."""
    codes = list(dict.fromkeys(c["division_code"] for c, step in zip(changes, steps)
                               if step is not None and step[1]))
    found = divisions.by_code(db, codes, session) if codes else {}
    for code in codes:
        if code not in found:
            raise NotFound(f"station event: no township-level unit {code}",
                           fields={"division_code": ["unknown township-level unit"]})
    return {code: {"_id": code, **{k: found[code].get(k) for k in _UNIT_FIELDS}} for code in codes}


def _apply_steps(changes, steps, units, new_units):
    """The unit documents after the changes, each step as it would be done alone:
    ({code: document, None once it has no station}, codes in the order first changed)."""
    docs, touched = dict(units), {}
    for change, step in zip(changes, steps):
        if step is None:
            continue
        left, sid, code = step[0], change["station_id"], change["division_code"]
        if left is not None:
            # The station moved to another unit: take it out of the old one first.
            current = docs[left]
            rest = [s for s in current["stations"] if s["station_id"] != sid]
            docs[left] = _unit_doc(_fields_of(current), rest, current["rev"] + 1) if rest else None
            touched[left] = True
        target = docs.get(code)
        unit = new_units[code] if target is None else _fields_of(target)
        others = [s for s in (target or {}).get("stations", []) if s["station_id"] != sid]
        entry = {"station_id": sid, "version": change["version"], "division_code": code,
                 "status_history": change["status_history"]}
        docs[code] = _unit_doc(unit, others + [entry], target["rev"] + 1 if target else 1)
        touched[code] = True
    return docs, list(touched)


def _save(coll, old, new, session):
    """Write `new` (None: delete) in place of `old` (None: insert), if nobody else did."""
    try:
        if old is None:
            coll.insert_one(new, session=session)
            return
        if new is not None:
            count = coll.replace_one({"_id": old["_id"], "rev": old["rev"]}, new,
                                     session=session).matched_count
        else:
            count = coll.delete_one({"_id": old["_id"], "rev": old["rev"]}, session=session).deleted_count
    except DuplicateKeyError:
        count = 0
    if count != 1:
        raise _Retry()


def _save_together(coll, writes, session):
    """All the writes in one bulk_write (a command per kind of write), in a transaction."""
    ops = []
    for old, new in writes:
        if old is None:
            ops.append(InsertOne(new))
        elif new is None:
            ops.append(DeleteOne({"_id": old["_id"], "rev": old["rev"]}))
        else:
            ops.append(ReplaceOne({"_id": old["_id"], "rev": old["rev"]}, new))
    try:
        result = coll.bulk_write(ops, ordered=False, session=session)
    except BulkWriteError as exc:
        if exc.details.get("writeConcernErrors") or any(
                e.get("code") != 11000 for e in exc.details.get("writeErrors", [])):
            raise
        raise _Retry() from None
    expected = collections.Counter(type(op).__name__ for op in ops)
    if (result.inserted_count, result.matched_count, result.deleted_count) != (
            expected["InsertOne"], expected["ReplaceOne"], expected["DeleteOne"]):
        raise _Retry()


def _apply_once(db, session, changes):
    coll = db.coverage_units
    units = _read_units(coll, session, changes)
    steps = _plan(changes, units)
    docs, touched = _apply_steps(changes, steps, units, _new_units(db, session, changes, steps))
    writes = [(units.get(code), docs[code]) for code in touched
              if units.get(code) is not None or docs[code] is not None]
    if writes and session is not None and session.in_transaction:
        _save_together(coll, writes, session)
    else:
        # Without a transaction one write at a time, the unit a station leaves
        # first: a lost race leaves the station in no unit, never in two.
        for old, new in writes:
            _save(coll, old, new, session)
    return [step is not None for step in steps]


def _apply(db, session, changes):
    """_apply_once; a lost race raises write_conflict in a transaction, else runs again."""
    in_transaction = session is not None and session.in_transaction
    for attempt in range(_MAX_ATTEMPTS):
        try:
            return _apply_once(db, session, changes)
        except _Retry:
            if in_transaction or attempt == _MAX_ATTEMPTS - 1:
                codes = list(dict.fromkeys(c["division_code"] for c in changes))
                raise write_conflict(f"coverage unit{'s' if len(codes) > 1 else ''} "
                                     f"{', '.join(codes)} changed meanwhile") from None
    raise AssertionError("unreachable")


def apply_station_event(db, session, event):
    """Apply a station CloudEvent to the read model; False if it was stale.

    `event["data"]` carries station_id, division_code, version and the full
    status_history. Writes use `session` (None: no session). In a transaction
    a lost race raises a TransientTransactionError for with_transaction to
    retry; outside one the function retries itself.
    """
    return _apply(db, session, [parse_station_event(event)])[0]


def apply_station_events(db, session, events):
    """The batch form of apply_station_event: [applied or stale] for each event,
    leaving exactly what applying them one by one in order leaves.

    In a transaction the whole list is read with three finds at most and each
    changed unit written once, in one bulk_write. Outside one the events are
    applied one by one (a write at a time is what keeps a station in one unit
    without a transaction)."""
    changes = [parse_station_event(event) for event in events]
    if session is None or not session.in_transaction:
        return [_apply(db, session, [change])[0] for change in changes]
    return _apply(db, session, changes)


def resync_kinds(db, session=None):
    """Copy kind and ancestors from `divisions` into the read model again.

    Needed only after a divisions import changed a unit's kind. Returns the
    number of unit documents changed.
    """
    coll = db.coverage_units
    units = list(coll.find({}, dict.fromkeys(_UNIT_FIELDS, 1), session=session))
    known = divisions.by_code(db, [u["_id"] for u in units], session)
    changed = 0
    for u in units:
        d = known.get(u["_id"])
        if d is None:
            continue
        want = {k: d.get(k) for k in _UNIT_FIELDS}
        if any(u.get(k) != v for k, v in want.items()):
            coll.update_one({"_id": u["_id"]}, {"$set": want, "$inc": {"rev": 1}}, session=session)
            changed += 1
    return changed


# --------------------------------------------------------------------------
# Query


def _rate(count, units):
    return round(count / units, 4) if units else 0.0


def _figures(division, with_station, operating):
    units = division.get("units", 0)
    return {
        "region": division["_id"],
        "name": division["name"],
        "units": units,
        "with_station": with_station,
        "operating": operating,
        "coverage_rate": _rate(with_station, units),
        "operating_rate": _rate(operating, units),
        "other_units": division.get("other_units", 0),
    }


def asked(db, query, caller):
    """Coverage as an officer asks it: {region, as_of}, the region inside the caller's own."""
    access.ensure_within(caller, query["region"], "region")
    return coverage(db, query["region"], query.get("as_of"))


def coverage(db, region, as_of=None):
    """Coverage of a province, city or county on `as_of` (None: today, China time).

    Returns {region, name, level, as_of, units, with_station, operating,
    coverage_rate, operating_rate, other_units, children: [the same figures
    per child region: a province's cities, a city's counties, a county's
    townships, including those without stations]}.
    """
    level = level_of(region)
    if level is None:
        raise InvalidInput(f"region: not a division code: {region!r}",
                           fields={"region": ["must be the code of a province, city or county"]})
    if level not in REGION_LEVELS:
        raise InvalidInput(f"region: {region} is a {level}; coverage is asked of a province, city or county",
                           fields={"region": ["must be the code of a province, city or county"]})
    on = china_today().isoformat() if as_of is None else _iso_date(as_of, "as_of")

    region_doc = divisions.find(db, region)
    if region_doc is None:
        raise NotFound(f"no region {region}", fields={"region": ["unknown division code"]})
    child_docs = divisions.children(db, region, {"name": 1, "units": 1, "other_units": 1})

    pipeline = [
        {"$match": {level: region, "since": {"$lte": on},
                    "kind": {"$in": list(division_kinds.UNIT_KINDS)}}},
        {"$project": {
            "child": _CHILD_KEY[level],
            "state": {"$arrayElemAt": [
                {"$filter": {"input": "$timeline", "as": "t", "cond": {"$lte": ["$$t.on", on]}}},
                -1,
            ]},
        }},
        {"$group": {
            "_id": "$child",
            "with_station": {"$sum": {"$cond": [{"$eq": ["$state.with_station", True]}, 1, 0]}},
            "operating": {"$sum": {"$cond": [{"$eq": ["$state.operating", True]}, 1, 0]}},
        }},
    ]
    counts = {g["_id"]: (g["with_station"], g["operating"])
              for g in db.coverage_units.aggregate(pipeline)}

    answer = _figures(region_doc, sum(c[0] for c in counts.values()),
                      sum(c[1] for c in counts.values()))
    answer["level"] = level
    answer["as_of"] = on
    answer["children"] = [_figures(child, *counts.get(child["_id"], (0, 0)))
                          for child in child_docs]
    return answer
