"""The mutual inspection assignment over Anhui's real 16 cities and their counties
(services/registry/data/divisions), with synthetic stations and supervisors."""
import collections
import csv
import os
import random

import pytest

from services.common.errors import Conflict
from services.supervision import assignment

DIVISIONS = os.path.join(os.path.dirname(__file__), "..", "..", "services", "registry", "data",
                         "divisions")
OPERATORS = [f"社会工作服务中心{i:02d}" for i in range(30)]


def townships():
    with open(os.path.join(DIVISIONS, "streets.csv"), encoding="utf-8") as f:
        return [r for r in csv.DictReader(f)
                if r["provinceCode"] == "34" and r["name"].endswith(("街道", "镇", "乡"))]


@pytest.fixture(scope="module")
def anhui():
    rng = random.Random(11)
    stations = [{"station_id": f"{r['code']}-01", "city": r["cityCode"], "county": r["areaCode"],
                 "operator": rng.choice(OPERATORS)} for r in townships()]
    cities = sorted({s["city"] for s in stations})
    supervisors = [{"supervisor_id": f"SV{city}{k}", "city": city, "organisation": rng.choice(OPERATORS)}
                   for city in cities for k in range(rng.randint(3, 7))]
    return stations, supervisors


def check(plan, stations, supervisors):
    by_id = {s["station_id"]: s for s in stations}
    organisation = {s["supervisor_id"]: assignment.normalise(s["organisation"]) for s in supervisors}
    loads = [g["load"] for g in plan["groups"]]
    assert max(loads) - min(loads) <= 1
    assert sum(loads) == len(plan["stations"]) == len({s["station_id"] for s in plan["stations"]})
    for group in plan["groups"]:
        for station_id in group["station_ids"]:
            station = by_id[station_id]
            assert station["city"] != group["city"], "a group inspected its own city"
            assert assignment.normalise(station["operator"]) not in {
                organisation[i] for i in group["inspector_ids"]}, "an inspector inspected their organisation"
    drawn_counties = {by_id[s["station_id"]]["county"] for s in plan["stations"]}
    assert drawn_counties == {s["county"] for s in stations}, "a county without a drawn station"


@pytest.mark.parametrize("sample", [{"per_city": 10}, {"share": 0.15}, {"per_city": 1}])
def test_every_rule_holds_over_the_16_cities(anhui, sample):
    stations, supervisors = anhui
    plan = assignment.plan(stations, supervisors, sample, group_size=3, seed=2026)
    assert len({g["city"] for g in plan["groups"]}) == 16
    check(plan, stations, supervisors)
    per_city = collections.Counter(s["city"] for s in plan["stations"])
    counties = collections.defaultdict(set)
    for s in stations:
        counties[s["city"]].add(s["county"])
    for city, drawn in per_city.items():
        assert drawn == plan["quotas"][city] >= len(counties[city])   # at least one per county


def test_the_same_seed_gives_the_same_plan_and_another_seed_another(anhui):
    stations, supervisors = anhui
    first = assignment.plan(stations, supervisors, {"per_city": 8}, 3, seed=7)
    again = assignment.plan(list(reversed(stations)), list(reversed(supervisors)), {"per_city": 8}, 3, seed=7)
    other = assignment.plan(stations, supervisors, {"per_city": 8}, 3, seed=8)
    assert first == again
    assert first["stations"] != other["stations"]
    check(other, stations, supervisors)


def test_the_plan_explains_each_group_and_station(anhui):
    stations, supervisors = anhui
    plan = assignment.plan(stations, supervisors, {"per_city": 9}, 3, seed=3)
    group = plan["groups"][0]
    assert group["why"]["never"]["city"] == group["city"]
    assert group["why"]["target"] == plan["target_load"]
    assert group["city"] not in group["why"]["cities_inspected"]
    reasons = collections.Counter(s["drawn_because"] for s in plan["stations"])
    assert reasons["county"] == len({s["county"] for s in stations})
    station = plan["stations"][0]
    assert all(group_id != station["group_id"] for group_id in station["not_allowed"])
    own_city = [g["group_id"] for g in plan["groups"] if g["city"] == station["city"]]
    assert all("own_city" in station["not_allowed"][g] for g in own_city)


def test_an_organisation_conflict_is_routed_around_and_an_impossible_one_refused():
    def stations_of(city, operator):
        return [{"station_id": f"{city}01{i:03d}-01", "city": city, "county": f"{city}01",
                 "operator": operator} for i in (1, 2)]

    stations = stations_of("3401", "甲机构") + stations_of("3402", "乙机构") + stations_of("3403", "丁机构")
    supervisors = [{"supervisor_id": "A", "city": "3402", "organisation": "甲 机构"},   # same body
                   {"supervisor_id": "B", "city": "3403", "organisation": "丙机构"},
                   {"supervisor_id": "C", "city": "3401", "organisation": "丙机构"}]
    # Hefei's stations may go only to B, so Wuhu's must go to C and Bengbu's to A,
    # whatever order the seed tries them in.
    for seed in range(5):
        plan = assignment.plan(stations, supervisors, {"share": 1.0}, group_size=1, seed=seed)
        cities = {g["inspector_ids"][0]: {sid[:4] for sid in g["station_ids"]} for g in plan["groups"]}
        assert cities == {"A": {"3403"}, "B": {"3401"}, "C": {"3402"}}
    with pytest.raises(Conflict) as refused:
        assignment.plan(stations, [supervisors[0], supervisors[2]], {"share": 1.0}, group_size=1, seed=1)
    assert refused.value.fields == {"assignment": ["infeasible"]}
    assert refused.value.details["why"]["340101001-01"] == ["own_city", "own_organisation"]
