"""Reading authorization_matrix.md and driving every cell of it over HTTP.

A cell is (operation, role, own | sibling | parent). Its expectation is one of
  ok    answered: 2xx; for a write also 409 (authorised, but an earlier cell already
        moved the record on, or the record's state refuses it)
  403   refused for the role or the region
  deny  refused without answering: 403 or 404
  nop   answered 2xx but changes nothing (a batch that refuses item by item)
  —     not applicable (no such target for the role, or nothing to drive)
Beyond the status, every answered cell is checked: no id of a record outside the
caller's region appears in the answer (lists, exports and single records alike),
and answers to roles that do not see personal data (auditors, the public) hold no
full name, phone or ID number the world entered. A refused write must leave its
target as it was (an admin's GET before and after is the same).
"""
import os
import re
import uuid

from services.common.access import PERSONAL_DATA_ROLES
from tests.contracts.authz import operations
from tests.contracts.authz.world import CELLS, POSITIONS, ROLES

TABLE = os.path.join(os.path.dirname(__file__), "authorization_matrix.md")
CODES = {"ok", "403", "deny", "nop", "—"}
# World keys that are not record ids (and so may appear in any answer).
NOT_IDS = {"region", "day", "month", "month_filed", "free_township", "village_code"}


class Row:
    def __init__(self, operation, request, target, cells):
        self.operation, self.request, self.target, self.cells = operation, request, target, cells


def read_table(path=TABLE):
    rows = {}
    for line in open(path, encoding="utf-8"):
        parts = [p.strip() for p in line.strip().strip("|").split("|")]
        if len(parts) != 3 + len(ROLES) or not re.fullmatch(r"[a-z]+_[a-z0-9_]+", parts[0]):
            continue
        cells = {}
        for role, text in zip(ROLES, parts[3:]):
            codes = text.split()
            assert len(codes) == 3 and set(codes) <= CODES, f"{parts[0]} {role}: bad cell {text!r}"
            cells[role] = dict(zip(CELLS, codes))
        assert parts[2] in operations.TARGETS, f"{parts[0]}: unknown target {parts[2]!r}"
        assert parts[0] not in rows, f"{parts[0]} twice in the table"
        rows[parts[0]] = Row(parts[0], parts[1].strip("`"), parts[2], cells)
    return rows


def document_operations(document):
    ops = {}
    for path, item in document["paths"].items():
        for method, op in item.items():
            if method in ("get", "post", "put", "patch", "delete"):
                ops[op["operationId"]] = dict(op, method=method.upper(), path=path)
    return ops


class Driver:
    def __init__(self, world, document):
        self.world = world
        self.ops = document_operations(document)
        self.callers = world.callers()
        self.anonymous = world.api()
        self.results = {}   # (operation, role, cell) -> (expected, status or None, problem or None)
        self.ids_of = {p: _ids(t) for p, t in world.t.items()}

    # ---- one cell ----

    def request_of(self, row, role, cell):
        """(method, path, params, json, headers) or None when the world has no target."""
        op = self.ops[row.operation]
        params = {p["name"] for p in op.get("parameters", []) if p["in"] == "query"}
        query = dict(operations.QUERIES.get(row.operation, {}))
        if "format" in params:
            query["format"] = "csv"
        variables = dict(operations.PATH_DEFAULTS)
        t = None
        if row.target == "figures":
            region = self.world.region_of_cell(role, cell)
            if region is None:
                return None
            query["region"] = region
        elif row.target == "list":
            region = self.world.region_of_cell(role, cell)
            if region is None:
                return None
            if cell != "own" and "region" in params:
                query["region"] = region
            elif cell != "own":
                return None
        elif row.target in ("global", "public", "none", "self"):
            t = self.world.t["A"]
            if row.operation in operations.GLOBAL_PATHS:
                variables.update(operations.GLOBAL_PATHS[row.operation](self.world))
        else:
            position = POSITIONS[role][cell]
            if position is None:
                return None
            t = self.world.t[position]
            found = operations.TARGETS[row.target][0](t)
            if not found:
                return None
            variables.update(found)
        path = re.sub(r"{(\w+)}", lambda m: str(variables.get(m.group(1), "x")), op["path"])
        body = None
        maker = operations.BODIES.get(row.operation)
        if maker is not None and t is not None and row.target not in ("none", "self"):
            body = maker(self.world, t)
        elif "requestBody" in op:
            body = {}
        headers = {}
        if any(p["in"] == "header" and p["name"] == "Idempotency-Key" for p in op.get("parameters", [])):
            headers["Idempotency-Key"] = f"authz-{uuid.uuid4().hex}"
        return op["method"], path, query, body, headers

    def run(self, row, role, cell):
        expected = row.cells[role][cell]
        if expected == "—":
            self.results[(row.operation, role, cell)] = ("—", None, None)
            return
        built = self.request_of(row, role, cell)
        if built is None:
            self.results[(row.operation, role, cell)] = (expected, None, "the world has no target for this cell")
            return
        method, path, query, body, headers = built
        client = self.anonymous if row.target == "public" else self.callers[role]
        kwargs = {"params": query, "headers": headers}
        if body is not None:
            kwargs["json"] = body
        response = client.request(method, path, **kwargs)
        problem = self.judge(row, role, expected, method, response)
        self.results[(row.operation, role, cell)] = (expected, response.status_code, problem)

    def judge(self, row, role, expected, method, response):
        status = response.status_code
        if expected == "ok":
            good = 200 <= status < 300 or (method != "GET" and status == 409) or \
                (method == "DELETE" and status == 404)  # an earlier cell removed it
        elif expected == "nop":
            good = 200 <= status < 300
        elif expected == "403":
            good = status == 403
        else:
            good = status in (403, 404)
        if not good:
            return f"expected {expected}, got {status}: {response.text[:160]}"
        if 200 <= status < 300:
            text = response.text if "spreadsheet" not in response.headers.get("Content-Type", "") else ""
            leaked = self.leaks(role, text) if row.operation not in operations.ACROSS_REGIONS else ()
            if leaked:
                return f"answers records outside the region: {', '.join(sorted(leaked)[:5])}"
            if row.target == "public" or role not in PERSONAL_DATA_ROLES:
                shown = [v for v in self.world.personal if v in text]
                if shown:
                    return f"personal data unmasked: {', '.join(sorted(shown)[:3])}"
        return None

    def leaks(self, role, text):
        own = self.world.caller_region(role)
        found = set()
        for position, ids in self.ids_of.items():
            if not self.world.regions[position].startswith(own):
                found.update(i for i in ids if i in text)
        return found

    # ---- an operation: refused cells first, the target unchanged, then the rest ----

    def run_operation(self, row):
        cells = [(r, c) for r in ROLES for c in CELLS]
        op = self.ops[row.operation]
        write = op["method"] != "GET" and row.target not in ("list", "global", "figures")
        if not write:
            for role, cell in cells:
                self.run(row, role, cell)
            return
        refused = [(r, c) for r, c in cells if row.cells[r][c] in ("403", "deny", "nop")]
        allowed = [(r, c) for r, c in cells if (r, c) not in refused]
        positions = {POSITIONS[r][c] for r, c in refused} - {None}
        before = self.probe(row, positions)
        for role, cell in refused:
            self.run(row, role, cell)
        after = self.probe(row, positions)
        for position in before:
            if before[position] != after[position]:
                self.results[("~" + row.operation, position, "probe")] = (
                    "same", None, f"a refused write changed the {position} target: "
                                  f"{str(before[position])[:120]} -> {str(after[position])[:120]}")
        for role, cell in allowed:
            self.run(row, role, cell)

    def probe(self, row, positions):
        kind = operations.TARGETS[row.target]
        if kind[1] is None:
            return {}
        seen = {}
        for position in sorted(positions):
            t = self.world.t[position]
            variables = kind[0](t)
            if not variables:
                continue
            path = kind[1].format(**variables)
            response = self.world.admin.get(path)
            seen[position] = (response.status_code, response.text)
        return seen

    def run_all(self, rows):
        def order(name):
            if self.ops[name]["method"] == "GET" or name == "volunteer_lookup_volunteer":
                return (1, -1, name)
            return _order(name)
        names = sorted(rows, key=order)
        for name in names:
            self.run_operation(rows[name])

    # ---- the printed table ----

    def render(self, rows):
        lines = [f"{'operation':<42} {'target':<20} " + " ".join(f"{r[:14]:<17}" for r in ROLES)]
        problems = []
        cells_run = cells_total = 0
        for name in sorted(rows):
            shown = []
            for role in ROLES:
                parts = []
                for cell in CELLS:
                    expected, status, problem = self.results.get((name, role, cell), ("?", None, "not run"))
                    cells_total += 1
                    if status is not None:
                        cells_run += 1
                    mark = "—" if expected == "—" else str(status or "?")
                    if problem:
                        mark += "!"
                        problems.append(f"{name} {role} {cell}: {problem}")
                    parts.append(mark)
                shown.append(f"{' '.join(parts):<17}")
            lines.append(f"{name:<42} {rows[name].target:<20} " + " ".join(shown))
        for key, (_e, _s, problem) in self.results.items():
            if key[0].startswith("~") and problem:
                problems.append(f"{key[0][1:]} {key[1]}: {problem}")
        lines.append(f"\n{len(rows)} operations x {len(ROLES)} roles x {len(CELLS)} targets = "
                     f"{cells_total} cells, {cells_run} driven over HTTP; {len(problems)} problems "
                     "(cells: own sibling parent; '!' marks a problem)")
        return "\n".join(lines) + "\n" + "".join(f"  {p}\n" for p in problems), problems


def _ids(t):
    found = set()
    for key, value in t.items():
        if key in NOT_IDS:
            continue
        for v in value if isinstance(value, list) else [value]:
            if isinstance(v, str) and len(v) >= 6:
                found.add(v)
    return found


def _order(name):
    if name in operations.LAST:
        return (2, operations.LAST.index(name), name)
    if name in operations.ORDER:
        return (1, operations.ORDER.index(name), name)
    return (1, -1, name)
