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
     kind: "street",                          # from `divisions` when last written
     stations: [{station_id, version, division_code, status_history: [{status, on}]}],
     timeline: [{on: "2024-03-01", with_station: true, operating: false}, ...],
     since: "2024-03-01",                     # first timeline date, null if none
     rev: 7}                                  # bumped by every write

`apply_station_event` keeps it up to date from the station events (the full
status history travels in every event, so an event replaces what is known of
its station). The coverage query is one `find` on `divisions` (the region and
its children, with the unit counts `divisions.recount_units` keeps) and one
aggregation over the region's units with stations; it never reads the
stations collection.

Decisions
---------
* Dates are "YYYY-MM-DD" strings, compared as strings; a station's status on
  a date is that of the last history entry on or before it (entries of the
  same day: the last one listed). Before its first entry a station does not
  exist. "built", "operating" and "suspended" count as having a station;
  "operating" as operating; "planned" and "closed" as nothing.
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
  read. Inside a transaction a lost race raises an OperationFailure labelled
  TransientTransactionError (code 112, WriteConflict), which
  `ClientSession.with_transaction` retries like the server's own write
  conflicts; without a transaction the function retries by itself.
* "Today" is the date in Asia/Shanghai (UTC+8, no daylight saving).
* The answer also carries `level` and `as_of` (ISO date) next to the fields
  the API promises.
"""
import datetime as dt
import re

from pymongo import ASCENDING
from pymongo.errors import DuplicateKeyError, OperationFailure

from services.common.errors import InvalidInput, NotFound
from services.registry import divisions

COLLECTION = "coverage_units"

STATUSES = ("planned", "built", "operating", "suspended", "closed")
WITH_STATION = frozenset(["built", "operating", "suspended"])
OPERATING = frozenset(["operating"])

CHINA_TZ = dt.timezone(dt.timedelta(hours=8), "Asia/Shanghai")
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_CHILD_KEY = {"province": "$city", "city": "$county", "county": "$_id"}
_MAX_ATTEMPTS = 5


# --------------------------------------------------------------------------
# Dates and timelines


def today():
    return dt.datetime.now(CHINA_TZ).date()


def _iso_date(value, field):
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(CHINA_TZ)
        return value.date().isoformat()
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
    """The parts of a station CloudEvent the read model needs, validated."""
    if not isinstance(event, dict) or not isinstance(event.get("data"), dict):
        raise _bad_event("data", "the event has no data object")
    data = event["data"]
    station_id = data.get("station_id")
    if not isinstance(station_id, str) or not station_id:
        raise _bad_event("station_id", "must be a non-empty string")
    code = data.get("division_code")
    if not isinstance(code, str) or divisions.level_of(code) != "township":
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


def _write_conflict(message):
    details = {"ok": 0, "code": 112, "codeName": "WriteConflict", "errmsg": message,
               "errorLabels": ["TransientTransactionError"]}
    return OperationFailure(message, code=112, details=details)


class _Retry(Exception):
    pass


def _unit_doc(unit, stations, rev):
    stations = sorted(stations, key=lambda s: s["station_id"])
    timeline = unit_timeline(stations)
    doc = dict(unit)
    doc.update({
        "stations": stations,
        "timeline": timeline,
        "since": timeline[0]["on"] if timeline else None,
        "rev": rev,
    })
    return doc


def _save(coll, old, doc, session):
    """Write `doc` in place of `old` (None: a new document), if nobody else did."""
    try:
        if old is None:
            coll.insert_one(doc, session=session)
            return
        if doc["stations"]:
            result = coll.replace_one({"_id": old["_id"], "rev": old["rev"]}, doc, session=session)
            count = result.matched_count
        else:
            count = coll.delete_one({"_id": old["_id"], "rev": old["rev"]}, session=session).deleted_count
    except DuplicateKeyError:
        count = 0
    if count != 1:
        raise _Retry()


def _apply_once(db, session, change):
    coll = db[COLLECTION]
    sid, code = change["station_id"], change["division_code"]
    current = coll.find_one({"stations.station_id": sid}, session=session)
    if current is not None:
        stored = next(s for s in current["stations"] if s["station_id"] == sid)
        if stored["version"] >= change["version"]:
            return False
    division = db[divisions.COLLECTION].find_one({"_id": code}, session=session)
    if division is None:
        raise NotFound(f"station event: no township-level unit {code}",
                       fields={"division_code": ["unknown township-level unit"]})
    unit = {"_id": code, "province": division.get("province"), "city": division.get("city"),
            "county": division.get("county"), "kind": division.get("kind")}
    entry = {"station_id": sid, "version": change["version"], "division_code": code,
             "status_history": change["status_history"]}

    if current is not None and current["_id"] != code:
        # The station moved to another unit: take it out of the old one first.
        rest = [s for s in current["stations"] if s["station_id"] != sid]
        old_unit = {k: current.get(k) for k in ("_id", "province", "city", "county", "kind")}
        _save(coll, current, _unit_doc(old_unit, rest, current["rev"] + 1), session)
        target = coll.find_one({"_id": code}, session=session)
    elif current is not None:
        target = current
    else:
        target = coll.find_one({"_id": code}, session=session)

    others = [s for s in (target or {}).get("stations", []) if s["station_id"] != sid]
    rev = target["rev"] + 1 if target else 1
    _save(coll, target, _unit_doc(unit, others + [entry], rev), session)
    return True


def apply_station_event(db, session, event):
    """Apply a station CloudEvent to the read model; False if it was stale.

    `event["data"]` carries station_id, division_code, version and the full
    status_history. Writes use `session` (None: no session). In a transaction
    a lost race raises a TransientTransactionError for with_transaction to
    retry; outside one the function retries itself.
    """
    change = parse_station_event(event)
    in_transaction = session is not None and session.in_transaction
    for attempt in range(_MAX_ATTEMPTS):
        try:
            return _apply_once(db, session, change)
        except _Retry:
            if in_transaction or attempt == _MAX_ATTEMPTS - 1:
                raise _write_conflict(
                    f"coverage unit {change['division_code']} changed meanwhile") from None
    raise AssertionError("unreachable")


def resync_kinds(db):
    """Copy kind and ancestors from `divisions` into the read model again.

    Needed only after a divisions import changed a unit's kind. Returns the
    number of unit documents changed.
    """
    coll = db[COLLECTION]
    units = list(coll.find({}, {"province": 1, "city": 1, "county": 1, "kind": 1}))
    codes = [u["_id"] for u in units]
    known = divisions._existing(db[divisions.COLLECTION], codes)
    changed = 0
    for u in units:
        d = known.get(u["_id"])
        if d is None:
            continue
        want = {k: d.get(k) for k in ("province", "city", "county", "kind")}
        if any(u.get(k) != v for k, v in want.items()):
            coll.update_one({"_id": u["_id"]}, {"$set": want, "$inc": {"rev": 1}})
            changed += 1
    return changed


def ensure_indexes(db):
    coll = db[COLLECTION]
    coll.create_index([("stations.station_id", ASCENDING)], name="station_id")
    for level in ("province", "city", "county"):
        coll.create_index([(level, ASCENDING), ("since", ASCENDING)], name=f"{level}_since")


# --------------------------------------------------------------------------
# Query


def _rate(count, units):
    return round(count / units, 4) if units else 0.0


def _figures(code, name, units, other_units, with_station, operating):
    return {
        "region": code,
        "name": name,
        "units": units,
        "with_station": with_station,
        "operating": operating,
        "coverage_rate": _rate(with_station, units),
        "operating_rate": _rate(operating, units),
        "other_units": other_units,
    }


def coverage(db, region, as_of=None):
    """Coverage of a province, city or county on `as_of` (None: today, China time).

    Returns {region, name, level, as_of, units, with_station, operating,
    coverage_rate, operating_rate, other_units, children: [the same figures
    per child region: a province's cities, a city's counties, a county's
    townships, including those without stations]}.
    """
    level = divisions.level_of(region) if isinstance(region, str) else None
    if level is None:
        raise InvalidInput(f"region: not a division code: {region!r}",
                           fields={"region": ["must be the code of a province, city or county"]})
    if level not in divisions.REGION_LEVELS:
        raise InvalidInput(f"region: {region} is a {level}; coverage is asked of a province, city or county",
                           fields={"region": ["must be the code of a province, city or county"]})
    on = today().isoformat() if as_of is None else _iso_date(as_of, "as_of")

    div = db[divisions.COLLECTION]
    region_doc = div.find_one({"_id": region})
    if region_doc is None:
        raise NotFound(f"no region {region}", fields={"region": ["unknown division code"]})
    children = list(div.find({"parent": region}, {"name": 1, "units": 1, "other_units": 1})
                    .sort("_id", ASCENDING))

    pipeline = [
        {"$match": {level: region, "since": {"$lte": on},
                    "kind": {"$in": list(divisions.UNIT_KINDS)}}},
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
              for g in db[COLLECTION].aggregate(pipeline)}

    out_children = []
    for child in children:
        with_station, operating = counts.get(child["_id"], (0, 0))
        out_children.append(_figures(child["_id"], child["name"], child.get("units", 0),
                                     child.get("other_units", 0), with_station, operating))
    total_with = sum(c[0] for c in counts.values())
    total_operating = sum(c[1] for c in counts.values())
    answer = _figures(region, region_doc["name"], region_doc.get("units", 0),
                      region_doc.get("other_units", 0), total_with, total_operating)
    answer["level"] = level
    answer["as_of"] = on
    answer["children"] = out_children
    return answer
