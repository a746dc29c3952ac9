"""The registry's part of `wushe up`: Anhui's division codes, and demo stations in Hefei.

Each step checks what is there first, so `wushe up` run again (or after an
interrupted run) completes the demo rather than doubling it.
"""
import os

from services.registry.commands import import_divisions
from services.registry.division_files import division_files

AFTER = ()
DIVISIONS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "divisions")
# Demo data is entered as a province officer of Anhui (安徽省, 34) would.
CALLER = {"sub": "demo", "role": "province_admin", "region": "34"}

# (target status, population served) of the stations made in each county.
PLAN = [("operating", 32000), ("operating", 12000), ("built", 18000), ("planned", 9000),
        ("suspended", 15000)]
STEPS = {"planned": [], "built": ["built"], "operating": ["built", "operating"],
         "suspended": ["built", "operating", "suspended"]}


def load(cluster, out=print):
    import_divisions(division_files(DIVISIONS), cluster, out=out)
    registry = cluster.registry
    counties = registry.list_divisions({"parent": "3401", "per_page": 3}, caller=CALLER)["items"]
    made = 0
    for county in counties:
        units = registry.list_divisions({"parent": county["code"], "per_page": 5},
                                        caller=CALLER)["items"]
        for unit, (target, population) in zip(units, PLAN):
            # Per unit, so an interrupted run is completed rather than skipped.
            if registry.list_stations({"region": unit["code"], "per_page": 1},
                                      caller=CALLER)["total"]:
                continue
            _station(registry, county, unit, target, population)
            made += 1
    if made:
        out(f"demo: {made} stations in 合肥市")


def _station(registry, county, unit, target, population):
    station = registry.create_station(
        {"division_code": unit["code"], "name": f"{unit['name']}社工站",
         "address": f"{county['name']}{unit['name']}便民服务中心二楼",
         "population_served": population, "planned_on": "2026-01-10",
         "operator": {"name": f"{county['name']}阳光社会工作服务中心"}},
        caller=CALLER)
    for month, to in enumerate(STEPS[target], start=3):
        registry.transition_station(station["id"], {"to": to, "on": f"2026-0{month}-15"},
                                    caller=CALLER)
    if target in ("operating", "suspended"):
        registry.add_staff(station["id"], {"role": "head", "name": "王站长", "phone": "13800000001",
                                           "certification": "intermediate"}, caller=CALLER)
        registry.add_staff(station["id"], {"role": "resident", "name": "李社工",
                                           "phone": "13800000002", "certification": "junior"},
                           caller=CALLER)
        registry.update_checklist(station["id"], {
            "premises": {"state": "met", "attested_on": "2026-04-01"},
            "staff": {"state": "partial", "note": "缺督导", "attested_on": "2026-04-01"}},
            caller=CALLER)
