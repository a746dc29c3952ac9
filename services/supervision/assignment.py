"""Mutual inspection (督导互查) assignment, as a pure function of its inputs and a seed.

    plan(stations, supervisors, sample, group_size, seed) -> {sample, groups, stations, ...}

1. Sampling. In every city, one station is drawn in each county that has
   stations (at least one per county), then more are drawn until the city's
   quota is met: `per_city` stations, or `share` of the city's stations
   (rounded up). A quota below the number of counties is raised to it.
2. Groups. Each city's supervisors are dealt, in seeded order, into groups of
   `group_size`; the ones left over join that city's groups in turn, and a
   city with fewer supervisors than `group_size` forms one smaller group.
3. Assignment. Every drawn station goes to one group such that no group
   inspects its own city, no inspector inspects a station run by their own
   organisation, and every group's number of stations is q or q+1 (q = drawn
   stations // groups), so any two differ by at most one. It is a maximum flow
   (source -> station -> allowed group -> sink with capacity q, plus a shared
   node carrying the stations % groups extra ones), found by augmenting paths
   in seeded order: the same inputs and seed give the same plan.

A plan says why: each drawn station its reason (its county's one, or the
city's quota) and the groups it could not go to and why; each group its city,
its inspectors' organisations and its load against the target. When no such
assignment exists the refusal names the stations that cannot be placed.
"""
import collections
import math
import random

from services.common.errors import Conflict


def normalise(name):
    """Organisation names compared without spaces and case (the same body written twice)."""
    return "".join((name or "").split()).lower() or None


# -- 1. sampling -----------------------------------------------------------------


def draw(stations, sample, rng):
    """[(station, reason)] per city, in city order."""
    by_city = collections.defaultdict(lambda: collections.defaultdict(list))
    for station in sorted(stations, key=lambda s: s["station_id"]):
        by_city[station["city"]][station["county"]].append(station)
    drawn, quotas = [], {}
    for city in sorted(by_city):
        counties = by_city[city]
        everyone = [s for county in sorted(counties) for s in counties[county]]
        if sample.get("per_city") is not None:
            quota = sample["per_city"]
        else:
            quota = math.ceil(sample["share"] * len(everyone))
        quota = min(max(quota, len(counties)), len(everyone))
        quotas[city] = quota
        taken = set()
        for county in sorted(counties):
            chosen = rng.choice(counties[county])
            taken.add(chosen["station_id"])
            drawn.append((chosen, "county"))
        rest = [s for s in everyone if s["station_id"] not in taken]
        rng.shuffle(rest)
        drawn.extend((s, "quota") for s in rest[:quota - len(counties)])
    return drawn, quotas


# -- 2. groups ----------------------------------------------------------------------


def form_groups(supervisors, group_size, rng):
    by_city = collections.defaultdict(list)
    for supervisor in sorted(supervisors, key=lambda s: s["supervisor_id"]):
        by_city[supervisor["city"]].append(supervisor)
    groups = []
    for city in sorted(by_city):
        people = by_city[city]
        rng.shuffle(people)
        count = max(1, len(people) // group_size)
        members = [[] for _ in range(count)]
        for index, person in enumerate(people):
            members[index % count].append(person)
        for team in members:
            groups.append({"group_id": f"G{len(groups) + 1:02d}", "city": city,
                           "inspector_ids": sorted(p["supervisor_id"] for p in team),
                           "organisations": sorted({o for p in team if (o := normalise(p.get("organisation")))})})
    return groups


def refusal_reasons(station, group):
    """Why `group` may not inspect `station` ([] when it may)."""
    reasons = []
    if group["city"] == station["city"]:
        reasons.append("own_city")
    if normalise(station.get("operator")) in group["organisations"]:
        reasons.append("own_organisation")
    return reasons


# -- 3. balanced assignment: a maximum flow ------------------------------------------


class _Flow:
    def __init__(self, size):
        self.adjacent = [[] for _ in range(size)]
        self.to, self.capacity = [], []

    def edge(self, u, v, capacity):
        self.adjacent[u].append(len(self.to))
        self.to.append(v)
        self.capacity.append(capacity)
        self.adjacent[v].append(len(self.to))
        self.to.append(u)
        self.capacity.append(0)
        return len(self.to) - 2

    def push(self, path):
        for e in path:
            self.capacity[e] -= 1
            self.capacity[e ^ 1] += 1

    def augment(self, source, sink):
        """One unit along a shortest path with room; False when there is none."""
        previous = {source: None}
        queue = collections.deque([source])
        while queue:
            u = queue.popleft()
            for e in self.adjacent[u]:
                v = self.to[e]
                if self.capacity[e] > 0 and v not in previous:
                    previous[v] = e
                    if v == sink:
                        path = []
                        while previous[v] is not None:
                            path.append(previous[v])
                            v = self.to[previous[v] ^ 1]
                        self.push(path)
                        return True
                    queue.append(v)
        return False


def balance(drawn, groups):
    """{station id: group id}, or the ids that cannot be placed."""
    n, g = len(drawn), len(groups)
    base, extra = divmod(n, g)
    source, sink, spare = 0, 1, 2
    station_node = {s["station_id"]: 3 + i for i, s in enumerate(drawn)}
    group_node = {grp["group_id"]: 3 + n + j for j, grp in enumerate(groups)}
    flow = _Flow(3 + n + g)
    direct, via_spare, choice = {}, {}, {}
    for grp in groups:
        node = group_node[grp["group_id"]]
        direct[grp["group_id"]] = flow.edge(node, sink, base)
        via_spare[grp["group_id"]] = flow.edge(node, spare, 1)
    spare_edge = flow.edge(spare, sink, extra)
    load = collections.Counter()
    spare_left = extra
    for station in drawn:
        sid = station["station_id"]
        entry = flow.edge(source, station_node[sid], 1)
        allowed = [grp for grp in groups if not refusal_reasons(station, grp)]
        edges = {grp["group_id"]: flow.edge(station_node[sid], group_node[grp["group_id"]], 1)
                 for grp in allowed}
        choice[sid] = edges
        # Warm start: the least loaded allowed group with room, so most stations
        # need no search; the flow below moves them if that blocks another.
        for grp in sorted(allowed, key=lambda x: load[x["group_id"]]):
            gid = grp["group_id"]
            if load[gid] < base:
                flow.push([entry, edges[gid], direct[gid]])
            elif load[gid] == base and spare_left:
                spare_left -= 1
                flow.push([entry, edges[gid], via_spare[gid], spare_edge])
            else:
                continue
            load[gid] += 1
            break
    while flow.augment(source, sink):
        pass
    placed = {}
    for sid, edges in choice.items():
        for gid, e in edges.items():
            if flow.capacity[e] == 0:
                placed[sid] = gid
    return placed


# -- the plan --------------------------------------------------------------------------


def plan(stations, supervisors, sample, group_size=3, seed=1):
    """The sample, groups and assignment; Conflict when it cannot be done."""
    rng = random.Random(seed)
    drawn_with_reasons, quotas = draw(stations, sample, rng)
    groups = form_groups(supervisors, group_size, rng)
    if not drawn_with_reasons:
        raise Conflict("no operating station to inspect", fields={"sample": ["no station"]})
    if not groups:
        raise Conflict("no supervisor to form an inspection group", fields={"supervisors": ["none"]})
    drawn = [s for s, _ in drawn_with_reasons]
    order = list(range(len(drawn)))
    rng.shuffle(order)
    placed = balance([drawn[i] for i in order], groups)
    unplaced = [s["station_id"] for s in drawn if s["station_id"] not in placed]
    refusals = {s["station_id"]: {grp["group_id"]: r for grp in groups
                                  if (r := refusal_reasons(s, grp))} for s in drawn}
    if unplaced:
        raise Conflict(
            f"{len(unplaced)} drawn stations cannot be given to a group from another city without "
            "an inspector of their operator while keeping loads within one of each other",
            fields={"assignment": ["infeasible"]},
            details={"unplaced": unplaced[:50],
                     "why": {sid: sorted({r for rs in refusals[sid].values() for r in rs})
                             for sid in unplaced[:50]},
                     "groups": len(groups), "drawn": len(drawn)})
    base, extra = divmod(len(drawn), len(groups))
    by_group = collections.defaultdict(list)
    for station in drawn:
        by_group[placed[station["station_id"]]].append(station)
    out_groups = []
    for grp in groups:
        mine = sorted(by_group[grp["group_id"]], key=lambda s: s["station_id"])
        cities = sorted({s["city"] for s in mine})
        out_groups.append({**grp, "station_ids": [s["station_id"] for s in mine], "load": len(mine),
                           "why": {"target": [base, base + 1 if extra else base],
                                   "cities_inspected": cities,
                                   "never": {"city": grp["city"],
                                             "operators": grp["organisations"]}}})
    out_stations = [{"station_id": s["station_id"], "city": s["city"], "county": s["county"],
                     "group_id": placed[s["station_id"]],
                     "drawn_because": reason,
                     "not_allowed": refusals[s["station_id"]]}
                    for s, reason in drawn_with_reasons]
    return {"seed": seed, "group_size": group_size, "sample": dict(sample), "quotas": quotas,
            "target_load": [base, base + 1 if extra else base],
            "groups": out_groups, "stations": out_stations}
