"""Which township a sheet row means, and which village a room row means.

A row names its township by code (乡镇代码), or by name (所属乡镇) within its
county (所属县区, a name or a code) and city (所属地市) when given. Names are
matched exactly (spaces aside), never by likeness: a name that fits no unit of
the caller's region is unknown, one that fits several is reported as
ambiguous with the candidates, so the officer adds the county or the code.
Where a code is given with names, the names must be the code's.

Divisions are read through services/registry/divisions.py, in short batches
(docs/mongo-wire-server.md, trap 4): the counties and cities of the caller's
region once, a county's townships once, a township's villages once.
"""
from services.common import access
from services.registry import divisions

_LEVEL_OF_KEY = {"city": "city", "county": "county"}


def _strip(name):
    return "".join((name or "").split())


class TownshipLookup:
    def __init__(self, db, caller):
        self.db = db
        self.caller = caller
        self.region = access.caller_region(caller)
        self._docs = {}          # code -> stored division (or None: known not to exist)
        self._of_level = {}      # level -> [divisions in the region]
        self._townships_in = {}  # region code -> [townships]
        self._villages_of = {}   # township code -> {code: name}

    # -- loading -------------------------------------------------------------

    def prefetch(self, codes):
        """Read these codes (and their regions') in batches, before rows ask for them."""
        wanted = set()
        for code in codes:
            wanted.update(code[:n] for n in (2, 4, 6, 9) if n <= len(code))
        wanted -= set(self._docs)
        found = divisions.by_code(self.db, sorted(wanted))
        for code in wanted:
            self._docs[code] = found.get(code)

    def division(self, code):
        if code not in self._docs:
            self.prefetch([code])
        return self._docs[code]

    def _level(self, level):
        if level not in self._of_level:
            self._of_level[level] = divisions.in_region(self.db, level, self.region)
            for doc in self._of_level[level]:
                self._docs.setdefault(doc["_id"], doc)
        return self._of_level[level]

    def _townships(self, region):
        if region not in self._townships_in:
            if len(region) == 6:
                found = divisions.children(self.db, region)
            else:
                found = divisions.in_region(self.db, "township", region)
            self._townships_in[region] = [d for d in found if d["level"] == "township"]
            for doc in self._townships_in[region]:
                self._docs.setdefault(doc["_id"], doc)
        return self._townships_in[region]

    def region_names(self, code):
        """{"province", "city", "county"}: the names of the regions a township lies in."""
        return {level: (self.division(code[:n]) or {}).get("name")
                for level, n in (("province", 2), ("city", 4), ("county", 6))}

    # -- townships -------------------------------------------------------------

    def _region(self, key, given, within):
        """The city or county a row names (a code or a name), or a problem."""
        level = _LEVEL_OF_KEY[key]
        if given.isdigit():
            doc = self.division(given)
            if doc is None or doc["level"] != level or not given.startswith(within):
                return None, f"no {level} {given}" + (f" in {within}" if within else "")
            return doc, None
        found = [d for d in self._level(level)
                 if _strip(d["name"]) == _strip(given) and d["_id"].startswith(within)]
        if not found:
            return None, f"no {level} named {given} in your region"
        if len(found) > 1:
            return None, (f"{given} is ambiguous: " +
                          ", ".join(f"{d['_id']} ({self.region_names(d['_id'])['city']})" for d in found)
                          + "; give 所属地市 or 乡镇代码")
        return found[0], None

    def township(self, item):
        """(stored township, None) or (None, (column key, problem))."""
        code = item.get("division_code") or (item.get("station_id") or "")[:9] or None
        if code:
            return self._by_code(code, item)
        within = ""
        for key in ("city", "county"):
            if item.get(key):
                doc, problem = self._region(key, item[key], within)
                if problem:
                    return None, (key, problem)
                within = doc["_id"]
        if within and not access.within(self.caller, within) and not self.region.startswith(within):
            return None, ("county" if len(within) == 6 else "city",
                          f"{within} is outside your region {self.region}")
        name = item["township"]
        scope = within if len(within) >= len(self.region) else self.region
        found = [d for d in self._townships(scope) if _strip(d["name"]) == _strip(name)]
        if not found:
            where = self.division(scope)["name"] if scope and self.division(scope) else "your region"
            return None, ("township", f"no township-level unit named {name} in {where}")
        if len(found) > 1:
            return None, ("township", f"{name} is ambiguous: " + ", ".join(
                f"{d['_id']} ({self.region_names(d['_id'])['county']})" for d in found)
                + "; give 所属县区 or 乡镇代码")
        return found[0], None

    def _by_code(self, code, item):
        key = "division_code" if item.get("division_code") else "station_id"
        doc = self.division(code)
        if doc is None or doc["level"] != "township":
            return None, (key, f"no township-level unit {code}")
        if not access.within(self.caller, code):
            return None, (key, f"{code} is outside your region {self.region}")
        if item.get("township") and _strip(item["township"]) != _strip(doc["name"]):
            return None, ("township", f"{code} is {doc['name']}, not {item['township']}")
        names = self.region_names(code)
        for level in ("county", "city"):
            given = item.get(level)
            if given and given != code[:len(given)] and _strip(given) != _strip(names[level] or ""):
                return None, (level, f"{code} lies in {names[level]}, not {given}")
        return doc, None

    # -- villages --------------------------------------------------------------

    def _villages(self, township):
        if township not in self._villages_of:
            self._villages_of[township] = {d["_id"]: d["name"] for d in divisions.children(
                self.db, township, {"name": 1, "level": 1}) if d["level"] == "village"}
        return self._villages_of[township]

    def village(self, township, code, name):
        """(village code, None) or (None, (column key, problem)) for a room of `township`."""
        known = self._villages(township["_id"])
        if code:
            if not code.startswith(township["_id"]):
                return None, ("village_code", f"{code} is not in {township['name']}")
            if known and code not in known:
                return None, ("village_code", f"no village or community committee {code}")
            if name and known and _strip(known[code]) != _strip(name):
                return None, ("village", f"{code} is {known[code]}, not {name}")
            return code, None
        if not known:
            return None, ("village", f"the villages of {township['name']} are not known here: "
                                     "give 村(社区)代码")
        found = [c for c, n in known.items() if _strip(n) == _strip(name)]
        if not found:
            return None, ("village", f"no village or community named {name} in {township['name']}")
        if len(found) > 1:
            return None, ("village", f"{name} is ambiguous in {township['name']}: "
                                     f"{', '.join(found)}; give 村(社区)代码")
        return found[0], None
