"""Bringing a province's stations in from its sheets; taking corrected sheets again.

An import reads station, staff and room sheets (sheet_files, sheet_format,
sheet_rows), finds each row's township (township_lookup) and judges every row
against the stations the registry holds: `new`, `changed` (with what),
`unchanged`, or `refused` with each reason. A dry run answers that report and
writes nothing; the real run judges again inside its transactions and writes
the accepted rows.

Decisions
---------
* A station row is matched to a registered station by 站点编号 when given;
  else by township + name; else, when the township has exactly one unmatched
  station planned on the row's 规划日期 (and the sheet one such row), by that
  (a corrected name). An unmatched row is a new station, subject to the rules
  of POST /stations: a second live station of a township needs
  设第二站原因, a third is refused (a row ending closed counts as no live one).
* A new station is stored with its whole dated history, staff and rooms, and
  one `station.imported` event. A matched one changes only what the sheet
  changes, each change its usual event: `station.updated` (name, address,
  population, operator, 设第二站原因), one transition event per step the
  sheet adds after the registry's last, `station.staffing_changed`, and
  `station.room_added` / `room_updated` / `room_removed`. A row whose history
  lies behind the registry's or dates a step otherwise is refused
  (sheet_history.compare): an import never moves or rewrites a history.
* A blank cell keeps what is stored: an import never clears a value.
* Staff and room rows name their station (站点编号, or township + 站点名称,
  also a station new in the same import). The rows of one station list all
  its people (rooms): a person the registry has and the station's rows do not
  name is removed, one whose row is refused is kept as stored. A person is
  matched by 人员编号, else by name; a room by 社工室编号, else by village + kind.
  A station row refused refuses its staff and room rows.
* Coverage: each station's last event is applied to the coverage read model in
  the same transaction (coverage.apply_station_event), so coverage as of any
  past date is right when the import answers; the inbox then finds the events
  applied (same version) and skips them.
* Batches: the rows are judged county by county (a county's stations are read
  with one query on an indexed field, no `$in`), and counties are packed into
  transactions of about BATCH_STATIONS stations, each all or nothing with its
  events. An import stopped midway is completed by running it again: what was
  written is then `unchanged`.
* Personal data: the report names rows by sheet and number, never a person.
"""
import datetime
import uuid
from copy import deepcopy

from services.common import access
from services.common.clock import china_today, now_ms
from services.common.errors import Conflict, DomainError
from services.common.jsonable import jsonable
from services.registry import (coverage, divisions, rules, sheet_files, sheet_format, sheet_history,
                               sheet_rows, stations)
from services.registry.township_lookup import TownshipLookup

BATCH_STATIONS = 200
NOTE = "imported from a sheet"
NEW, CHANGED, UNCHANGED, REFUSED = "new", "changed", "unchanged", "refused"
STATION, STAFF, ROOM = sheet_format.STATION, sheet_format.STAFF, sheet_format.ROOM
STATION_FIELDS = ("name", "address", "population_served", "second_station_reason")
OPERATOR_FIELDS = {"name": "operator_name", "credit_code": "operator_credit_code",
                   "contract_start": "contract_start", "contract_end": "contract_end"}
STAFF_FIELDS = ("role", "name", "phone", "certification", "since")
ROOM_FIELDS = ("kind", "name", "village_code", "address", "opened_on")


def _iso(value):
    return value.isoformat() if isinstance(value, datetime.date) else value


class Line:
    """One sheet row through the import: where it is, what it says, what became of it."""

    def __init__(self, sheet, number, item, problems, notes):
        self.sheet = sheet.label
        self.kind = sheet.kind
        self.headings = sheet.headings
        self.number = number
        self.item = item
        self.notes = list(notes)
        self.read_reasons = [(key, m) for key, messages in problems.items() for m in messages]
        self.township = None     # the stored township-level division
        self.reset()

    def reset(self):
        """Forget the last judgement (a transaction run again judges again)."""
        self.reasons = []
        self.status = None
        self.station_id = None
        self.changes = []
        self.target = None

    @property
    def refused(self):
        return bool(self.read_reasons or self.reasons)

    def refuse(self, key, message):
        self.reasons.append((key, message))

    def where(self):
        return f"{self.sheet} row {self.number}"

    def column(self, key):
        if key == "history":
            return "日期"
        return self.headings.get(key) or sheet_format.heading(self.kind, key)

    def report(self):
        refused = self.refused
        return {"sheet": self.sheet, "row": self.number, "kind": self.kind,
                "status": REFUSED if refused else self.status, "station_id": self.station_id,
                "reasons": [{"field": k, "column": self.column(k), "message": m}
                            for k, m in self.read_reasons + self.reasons],
                "changes": [] if refused else self.changes, "notes": self.notes}


class Target:
    """A station the import may change: a registered one (a copy) or one it makes."""

    def __init__(self, stored=None, doc=None):
        self.stored = stored
        self.doc = deepcopy(stored) if stored is not None else doc
        self.new = stored is None
        self.line = None           # the station row that names it
        self.updates = {}
        self.steps = []
        self.staff = None          # the new staff list, when it changes
        self.rooms = None          # the new room list, when it changes
        self.room_changes = []     # [(event name, room)]

    @property
    def id(self):
        return self.doc["_id"]

    def changed(self):
        return bool(self.updates or self.steps or self.staff is not None or self.room_changes)


def _operator(stored, item):
    """The operator a row leaves: the stored one with the row's cells over its blanks
    when the name is the same (or blank), else the row's (a new organisation)."""
    given = {key: _iso(item.get(cell)) for key, cell in OPERATOR_FIELDS.items()}
    if given["name"] is None:
        return stored
    if stored and stored.get("name") == given["name"]:
        return {key: given[key] if given[key] is not None else stored.get(key) for key in OPERATOR_FIELDS}
    return given


def _member(item, stored, new_id):
    stored = stored or {}
    return {"id": stored.get("id") or new_id(), "role": item["role"], "name": item["person_name"],
            "phone": item["phone"] if item["phone"] is not None else stored.get("phone"),
            "certification": item["certification"] or stored.get("certification") or "none",
            "since": _iso(item["since"]) or stored.get("since")}


def _room(item, stored, new_id):
    stored = stored or {}
    return {"id": stored.get("id") or new_id(), "kind": item["room_kind"], "name": item["room_name"],
            "village_code": item["village_code"],
            "address": item["address"] if item["address"] is not None else stored.get("address"),
            "opened_on": _iso(item["opened_on"]) or stored.get("opened_on")}


def _new_id():
    return uuid.uuid4().hex[:12]


class CountyPlan:
    """The judgement of one county's rows against its registered stations."""

    def __init__(self, run, county, existing, now):
        self.run = run
        self.county = county
        self.now = now
        self.targets = [Target(doc) for doc in existing]
        self.by_id = {t.id: t for t in self.targets}
        self.removed = []

    def in_township(self, code):
        return [t for t in self.targets if t.doc["division_code"] == code]

    # -- station rows ------------------------------------------------------

    def stations(self, lines):
        free = [line for line in lines if not line.refused and not self._match_by_key(line)]
        free = [line for line in free if not line.refused and not self._match_by_planned_date(line, free)]
        firsts = {}
        for line in free:
            key = (line.township["_id"], line.item["name"])
            if key in firsts:
                line.refuse("name", f"twice in the sheets: the same station as {firsts[key].where()}")
                continue
            firsts[key] = line
            self._new_station(line)
        for line in lines:
            if line.target is not None and not line.target.new and not line.refused:
                self._compare(line, line.target)

    def _claim(self, line, target):
        if target.line is not None:
            line.refuse("name", f"the same station as {target.line.where()}")
            return True
        target.line, line.target, line.station_id = line, target, target.id
        return True

    def _match_by_key(self, line):
        item = line.item
        if item["station_id"]:
            target = self.by_id.get(item["station_id"])
            if target is None:
                line.refuse("station_id", f"no station {item['station_id']} in the registry")
                return True
            return self._claim(line, target)
        named = [t for t in self.in_township(line.township["_id"])
                 if not t.new and t.stored["name"] == item["name"]]
        if len(named) > 1:
            line.refuse("name", f"{len(named)} stations of {line.township['name']} are named "
                                f"{item['name']}: give 站点编号")
            return True
        return self._claim(line, named[0]) if named else False

    def _match_by_planned_date(self, line, free):
        code, planned = line.township["_id"], line.item["steps"][0][1]
        candidates = [t for t in self.in_township(code) if not t.new and t.line is None
                      and t.stored["history"][0]["on"] == planned]
        rows = [other for other in free if other.township["_id"] == code
                and other.item["steps"][0][1] == planned]
        if len(candidates) == 1 and len(rows) == 1:
            return self._claim(line, candidates[0])
        return False

    def _new_station(self, line):
        item, township = line.item, line.township
        code = township["_id"]
        here = self.in_township(code)
        if item["steps"][-1][0] != "closed":
            live = [t.doc for t in here if t.doc["status"] in rules.LIVE]
            try:
                rules.check_new_station(live, item["second_station_reason"])
            except Conflict as refusal:
                ids = ", ".join(d["_id"] for d in live)
                if len(live) >= rules.MAX_LIVE_STATIONS_PER_UNIT:
                    line.refuse("division_code", f"a third station: {township['name']} already has "
                                                 f"{len(live)} live stations ({ids})")
                else:
                    line.refuse("second_station_reason",
                                f"{township['name']} already has station {ids}; a second one "
                                f"needs {line.column('second_station_reason')}")
                return
        number = max((int(t.id.rsplit("-", 1)[1]) for t in here), default=0) + 1
        if number > 99:
            line.refuse("division_code", f"{township['name']} has 99 stations already")
            return
        actor = access.actor(self.run.caller)
        history = [{"status": status, "on": on, "recorded_at": self.now, "by": actor, "note": NOTE}
                   for status, on in item["steps"]]
        data = {key: item[key] for key in STATION_FIELDS}
        data["operator"] = _operator(None, item)
        doc = stations.new_document(f"{code}-{number:02d}", divisions.public(township),
                                    self.run.lookup.region_names(code), data, history,
                                    self.run.caller, self.now)
        target = Target(doc=doc)
        self.targets.append(target)
        self.by_id[target.id] = target
        target.line, line.target, line.station_id, line.status = line, target, target.id, NEW

    def _compare(self, line, target):
        item, stored = line.item, target.stored
        updates = {key: item[key] for key in STATION_FIELDS
                   if item[key] is not None and item[key] != stored.get(key)}
        operator = _operator(stored.get("operator"), item)
        if operator != stored.get("operator"):
            updates["operator"] = operator
        verdict, at = sheet_history.compare(stored["history"], item["steps"])
        if verdict in (sheet_history.BEHIND, sheet_history.DIFFERS):
            line.refuse("history", sheet_history.refusal(verdict, at, stored["history"], item["steps"]))
            return
        if updates and stored["status"] == "closed":
            line.refuse("status", "a closed station cannot be changed")
            return
        steps = item["steps"][at:] if verdict == sheet_history.EXTENDS else []
        history, current = list(stored["history"]), stored["status"]
        for status, on in steps:
            try:
                rules.check_transition(current, status, datetime.date.fromisoformat(on), history,
                                       self.run.today)
            except DomainError as refusal:
                line.refuse("history", refusal.message)
                return
            history.append({"status": status, "on": on})
            current = status
        target.updates, target.steps = updates, steps
        line.status = CHANGED if updates or steps else UNCHANGED
        line.changes = sorted(updates) + [
            f"history: + {sheet_format.word_of(sheet_format.STATUS_WORDS, s)} {on}" for s, on in steps]

    # -- staff and room rows -------------------------------------------------

    def _target_of(self, line, named_rows):
        item = line.item
        if item["station_id"]:
            target = self.by_id.get(item["station_id"])
            if target is None:
                line.refuse("station_id", f"no station {item['station_id']}")
                return None
            if target.line is not None and target.line.refused:
                line.refuse("station_id", f"its station row ({target.line.where()}) was refused")
                return None
            return target
        code, name = line.township["_id"], item["station_name"]
        row = named_rows.get((code, name))
        if row is not None:
            if row.refused or row.target is None:
                line.refuse("station_name", f"its station row ({row.where()}) was refused")
                return None
            return row.target
        named = [t for t in self.in_township(code) if t.doc["name"] == name
                 or (t.stored and t.stored["name"] == name)]
        if len(named) != 1:
            line.refuse("station_name", f"no station named {name} in {line.township['name']}"
                        if not named else f"{len(named)} stations named {name}: give 站点编号")
            return None
        if named[0].line is not None and named[0].line.refused:
            line.refuse("station_name", f"its station row ({named[0].line.where()}) was refused")
            return None
        return named[0]

    def people(self, lines, named_rows):
        for target, rows in self._by_target(lines, named_rows).items():
            self._list(target, rows, STAFF)

    def rooms(self, lines, named_rows):
        for target, rows in self._by_target(lines, named_rows).items():
            self._list(target, rows, ROOM)

    def _by_target(self, lines, named_rows):
        found = {}
        for line in lines:
            target = self._target_of(line, named_rows)
            if target is not None:
                line.target, line.station_id = target, target.id
                found.setdefault(target.id, (target, []))[1].append(line)
        return dict(found.values())

    def _list(self, target, lines, kind):
        """A station's staff (or rooms) as its rows list them: matched, checked, diffed."""
        staff = kind == STAFF
        stored = (target.doc if target.new else target.stored).get("staff" if staff else "rooms", [])
        id_key = "staff_id" if staff else "room_id"

        def key_of(thing):  # a person by name, a room by village and kind
            return thing["name"] if staff else (thing["village_code"], thing["kind"])

        def key_of_row(item):
            return item["person_name"] if staff else (item["village_code"], item["room_kind"])

        by_id = {m["id"]: m for m in stored}
        by_key = {key_of(m): m for m in stored}
        matches = {}
        for line in lines:
            given = line.item.get(id_key)
            match = by_id.get(given) if given else by_key.get(key_of_row(line.item))
            if given and match is None and not line.refused:
                line.refuse(id_key, f"no {'staff member' if staff else 'room'} {given} at "
                                    f"station {target.id}")
            matches[id(line)] = match
        firsts = {}
        for line in lines:
            if line.refused:
                continue
            match = matches[id(line)]
            key = match["id"] if match else key_of_row(line.item)
            if key in firsts:
                line.refuse("person_name" if staff else "room_name",
                            f"twice for this station: the same as {firsts[key].where()}")
            else:
                firsts[key] = line
        build = _member if staff else _room
        while True:   # each pass may refuse a row, which keeps its stored one: check again
            held = {matches[id(line)]["id"] for line in lines if line.refused and matches[id(line)]}
            final, outcome = [], {}
            accepted = {matches[id(line)]["id"]: line for line in lines
                        if not line.refused and matches[id(line)]}
            for thing in stored:
                if thing["id"] in held:
                    final.append(thing)
                elif thing["id"] in accepted:
                    line = accepted[thing["id"]]
                    outcome[id(line)] = (build(line.item, thing, _new_id), thing)
                    final.append(outcome[id(line)][0])
            for line in lines:
                if not line.refused and matches[id(line)] is None:
                    outcome[id(line)] = (build(line.item, None, _new_id), None)
                    final.append(outcome[id(line)][0])
            if not self._clash(final, lines, outcome, staff, key_of):
                break
        self._settle(target, kind, stored, final, lines, outcome)

    @staticmethod
    def _clash(final, lines, outcome, staff, key_of):
        """Refuse the first row that gives the station a second head or supervisor
        (or a second room of one kind in one village); True if one was refused."""
        taken = {}
        rows = {outcome[id(line)][0]["id"]: line for line in lines if id(line) in outcome}
        for thing in final:
            key = thing["role"] if staff else key_of(thing)
            if staff and key not in rules.SINGLE_ROLES:
                continue
            if key in taken:
                line = rows.get(thing["id"]) or rows.get(taken[key]["id"])
                if line is None:
                    continue
                if staff:
                    line.refuse("role", "a second " + sheet_format.word_of(
                        sheet_format.ROLE_WORDS, key) + " at this station")
                else:
                    line.refuse("room_kind", f"the village already has a "
                                             f"{sheet_format.word_of(sheet_format.ROOM_KIND_WORDS, key[1])} "
                                             "of this station")
                return True
            taken[key] = thing
        return False

    def _settle(self, target, kind, stored, final, lines, outcome):
        fields = STAFF_FIELDS if kind == STAFF else ROOM_FIELDS
        for line in lines:
            if line.refused:
                continue
            after, before = outcome[id(line)]
            if before is None:
                line.status = NEW
            else:
                line.changes = [f for f in fields if after.get(f) != before.get(f)]
                line.status = CHANGED if line.changes else UNCHANGED
        kept = {thing["id"] for thing in final}
        gone = [thing for thing in stored if thing["id"] not in kept]
        for thing in gone:
            removal = {"station_id": target.id, "kind": kind, "id": thing["id"]}
            removal.update({"role": thing["role"]} if kind == STAFF else {"name": thing["name"]})
            self.removed.append(removal)
        if final == stored:
            return
        if kind == STAFF:
            target.staff = final
            return
        target.rooms = final
        before = {r["id"]: r for r in stored}
        target.room_changes = (
            [("station.room_removed", r) for r in gone]
            + [("station.room_updated", r) for r in final if r["id"] in before and r != before[r["id"]]]
            + [("station.room_added", r) for r in final if r["id"] not in before])

    # -- what to write ---------------------------------------------------------

    def writes(self):
        """(new documents, [(changed document, version read)], [(target, [(event, data)])])."""
        new, changed, events = [], [], []
        for target in self.targets:
            if target.new:
                if target.line is None or target.line.refused:
                    continue
                doc = target.doc
                if target.staff is not None:
                    doc["staff"] = target.staff
                    doc["staffing"] = rules.staffing(doc["staff"], doc["population_served"])
                if target.rooms is not None:
                    doc["rooms"] = target.rooms
                new.append(doc)
                events.append((target, [("station.imported", stations.snapshot(doc))]))
            elif target.changed():
                events.append((target, self._apply(target)))
                changed.append((target.doc, target.stored["version"]))
        return new, changed, events

    def _apply(self, target):
        doc, out = target.doc, []
        actor = access.actor(self.run.caller)

        def changed(name, extra=None):
            doc["version"] += 1
            out.append((name, {**stations.snapshot(doc), **(extra or {})}))

        if target.updates:
            doc.update(jsonable(target.updates))
            doc["staffing"] = rules.staffing(doc["staff"], doc["population_served"])
            changed("station.updated", {"changed": sorted(target.updates)})
        for status, on in target.steps:
            current = doc["status"]
            doc["status"] = status
            doc["history"].append({"status": status, "on": on, "recorded_at": self.now, "by": actor,
                                   "note": NOTE})
            if status == "operating" and not doc.get("opened_on"):
                doc["opened_on"] = on
            changed(rules.transition_event(current, status), {"from_status": current})
        if target.staff is not None:
            doc["staff"] = target.staff
            doc["staffing"] = rules.staffing(doc["staff"], doc["population_served"])
            changed("station.staffing_changed")
        for name, room in target.room_changes:
            rest = [r for r in doc["rooms"] if r["id"] != room["id"]]
            if name == "station.room_removed":
                doc["rooms"] = rest
            elif name == "station.room_updated":
                doc["rooms"] = [room if r["id"] == room["id"] else r for r in doc["rooms"]]
            else:
                doc["rooms"] = doc["rooms"] + [room]
            changed(name, {"room": stations.room_ref(room)})
        doc["updated_at"] = self.now
        doc["updated_by"] = actor
        return out


class County:
    """A county's rows: judged together, in one transaction."""

    def __init__(self, code):
        self.code = code
        self.lines = {STATION: [], STAFF: [], ROOM: []}
        self.removed = []

    @property
    def weight(self):
        return len(self.lines[STATION]) + (len(self.lines[STAFF]) + len(self.lines[ROOM])) // 5


class StationImport:
    """Sheets read, their rows' townships found: judged by `dry_run`, or written
    by the commands of `batches()` and then answered by `report()`."""

    def __init__(self, caller, today, lines, counties, sheets, ignored, lookup):
        self.caller = caller
        self.today = today
        self.lines = lines
        self.counties = counties
        self.sheets = sheets
        self.ignored = ignored
        self.lookup = lookup
        self._events = {}

    def _plan(self, db, session, county, now):
        for kind in (STATION, STAFF, ROOM):
            for line in county.lines[kind]:
                line.reset()
        plan = CountyPlan(self, county.code, stations.in_county(db, county.code, session), now)
        plan.stations(county.lines[STATION])
        named = {}   # (township, station name) -> the first station row naming it
        for line in county.lines[STATION]:
            named.setdefault((line.township["_id"], line.item["name"]), line)
        plan.people(county.lines[STAFF], named)
        plan.rooms(county.lines[ROOM], named)
        county.removed = plan.removed
        return plan

    def dry_run(self, db):
        now = now_ms()
        for county in self.counties:
            self._plan(db, None, county, now)
        return self.report(dry_run=True)

    def batches(self):
        """Commands, each judging and writing about BATCH_STATIONS stations' counties."""
        packed, batch, weight = [], [], 0
        for county in self.counties:
            if batch and weight + county.weight > BATCH_STATIONS:
                packed.append(batch)
                batch, weight = [], 0
            batch.append(county)
            weight += county.weight
        if batch:
            packed.append(batch)
        return [self._command(index, counties) for index, counties in enumerate(packed)]

    def _command(self, index, counties):
        def write_batch(tx):
            now = now_ms()
            new, changed, events = [], [], []
            for county in counties:
                n, c, e = self._plan(tx.db, tx.session, county, now).writes()
                new.extend(n)
                changed.extend(c)
                events.extend(e)
            stations.insert_new(tx, new)
            for doc, version in changed:
                stations.replace_changed(tx, doc, version)
            for target, emitted in events:
                last = None
                for name, data in emitted:
                    last = tx.emit(name, target.id, data)
                coverage.apply_station_event(tx.db, tx.session, last)
            # Kept by batch: a transaction run again replaces its count.
            self._events[index] = sum(len(e) for _, e in events)

        return write_batch

    def report(self, dry_run=False):
        rows = [line.report() for line in self.lines]
        by_kind = {kind: {NEW: 0, CHANGED: 0, UNCHANGED: 0, REFUSED: 0} for kind in sheet_format.KINDS}
        for row in rows:
            by_kind[row["kind"]][row["status"]] += 1
        totals = {status: sum(k[status] for k in by_kind.values())
                  for status in (NEW, CHANGED, UNCHANGED, REFUSED)}
        return {"dry_run": dry_run, "rows_read": len(rows),
                "accepted": len(rows) - totals[REFUSED], "refused": totals[REFUSED],
                "new": totals[NEW], "changed": totals[CHANGED], "unchanged": totals[UNCHANGED],
                "by_kind": by_kind,
                "sheets": [{"sheet": s.label, "kind": s.kind, "rows": len(s.rows)} for s in self.sheets],
                "ignored_sheets": self.ignored,
                "removed": [r for county in self.counties for r in county.removed],
                "events": 0 if dry_run else sum(self._events.values()), "rows": rows}


def _key_codes(line):
    item = line.item
    return [code for code in (item.get("division_code"), (item.get("station_id") or "")[:9]) if code]


def read(db, files, caller):
    """The sheets of `files` read and checked, their townships found: a StationImport.
    A 400 or 413 for files that cannot be read (sheet_files)."""
    access.caller_region(caller)
    today = china_today()
    sheets, ignored = sheet_files.read(files)
    lines = []
    for sheet in sheets:
        parse = sheet_rows.PARSERS[sheet.kind]
        for number, values in sheet.rows:
            lines.append(Line(sheet, number, *parse(values, today)))
    lookup = TownshipLookup(db, caller)
    lookup.prefetch([code for line in lines for code in _key_codes(line)])
    counties = {}
    for line in lines:
        item = line.item
        if not (item.get("station_id") or item.get("division_code") or item.get("township")):
            continue
        township, problem = lookup.township(item)
        if problem:
            line.read_reasons.append(problem)
            continue
        line.township = township
        if line.kind == ROOM and not line.refused:
            code, problem = lookup.village(township, item["village_code"], item["village"])
            if problem:
                line.read_reasons.append(problem)
            item["village_code"] = code
        counties.setdefault(township["county"], County(township["county"])).lines[line.kind].append(line)
    return StationImport(caller, today, lines, [counties[c] for c in sorted(counties)], sheets,
                         ignored, lookup)
