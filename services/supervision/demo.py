"""The supervision service's part of `wushe up`: a standard checklist in two versions,
supervisors in Anhui's 16 cities, a mutual inspection campaign across them, sessions,
monthly reports filed on time, late and missing, and rectification items open and closed.

The registry's demo has stations only in Hefei (3401); a campaign across the
province needs stations elsewhere, so one operating station is registered in
the first township of each other city, through the registry's RPC as an
officer would. Everything is entered over RPC; a second run finds the
checklist and stops.
"""
import datetime
import time

from services.common.clock import china_today
from services.registry.demo import CALLER

AFTER = ("registry", "volunteer", "charity")
SYSTEM = {"sub": "demo-scheduler", "role": "system", "region": ""}
CODE = "station-standard"


def _items(prefix, titles, rule, weight):
    return [{"key": f"{prefix}-{i + 1}", "title": t, "weight": weight, "rule": rule}
            for i, t in enumerate(titles)]


def checklist(version):
    liuyou = ["有场所", "有设备", "有人员", "有制度", "有经费", "有服务"]
    points = {"kind": "points", "max": 10}
    return {"code": CODE, "title": "乡镇(街道)社工站建设运营标准", "sections": [
        {"key": "liuyou", "title": "六有", "kind": "liuyou",
         "items": _items("liuyou", liuyou, {"kind": "pass_fail"}, 2)},
        {"key": "liuhua", "title": "六化", "kind": "liuhua",
         "items": _items("liuhua", ["标准化建设"], {"kind": "scale", "max": 5}, 6 if version == 1 else 8)},
        {"key": "admin", "title": "行政管理", "kind": "administration",
         "items": _items("admin", ["制度上墙与台账"], points, 4)},
        {"key": "finance", "title": "财务管理", "kind": "finance",
         "items": _items("finance", ["经费使用规范"], points, 4)},
        {"key": "delivery", "title": "服务提供与产出", "kind": "service_delivery",
         "items": _items("delivery", ["个案小组社区服务量"], points, 8)},
        {"key": "evaluation", "title": "社会评价", "kind": "social_evaluation",
         "items": _items("evaluation", ["服务对象满意度"], points, 4)},
        {"key": "publicity", "title": "宣传与创新", "kind": "publicity_innovation",
         "items": _items("publicity", ["宣传报道与创新项目"], points, 2)}]}


def _wait(fn, timeout=60):
    deadline = time.monotonic() + timeout
    while True:
        try:
            return fn()
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def _stations_elsewhere(registry, out):
    """One operating station in each city that has none, for the campaign."""
    made = []
    for city in registry.list_divisions({"parent": "34", "per_page": 50}, caller=CALLER)["items"]:
        if registry.list_stations({"region": city["code"], "status": "operating", "per_page": 1},
                                  caller=CALLER)["total"]:
            continue
        county = registry.list_divisions({"parent": city["code"], "per_page": 1}, caller=CALLER)["items"][0]
        unit = registry.list_divisions({"parent": county["code"], "per_page": 1}, caller=CALLER)["items"][0]
        station = registry.create_station(
            {"division_code": unit["code"], "name": f"{unit['name']}社工站",
             "population_served": 15000, "planned_on": "2025-06-01",
             "operator": {"name": f"{city['name']}和谐社会工作服务中心"}}, caller=CALLER)
        registry.transition_station(station["id"], {"to": "built", "on": "2025-09-01"}, caller=CALLER)
        registry.transition_station(station["id"], {"to": "operating", "on": "2026-01-05"}, caller=CALLER)
        made.append(station["id"])
    if made:
        out(f"demo: {len(made)} operating stations outside 合肥市 for the campaign")
    return made


def load(cluster, out=print):
    supervision, registry = cluster.supervision, cluster.registry
    if supervision.list_checklists({"code": CODE, "per_page": 1}, caller=CALLER)["total"]:
        return
    elsewhere = _stations_elsewhere(registry, out)
    hefei = registry.list_stations({"region": "3401", "status": "operating", "per_page": 10},
                                   caller=CALLER)["items"]
    for station_id in [s["id"] for s in hefei] + elsewhere:
        _wait(lambda s=station_id: supervision.get_station(s, caller=CALLER))
    supervision.publish_checklist(checklist(1), caller=CALLER)
    supervision.publish_checklist(checklist(2), caller=CALLER)

    cities = registry.list_divisions({"parent": "34", "per_page": 50}, caller=CALLER)["items"]
    people = []
    for city in cities:
        for kind, organisation, name in (("university", f"{city['name']}学院社会工作系", "陈教授"),
                                         ("industry_body", f"{city['name']}社会工作协会", "周会长"),
                                         ("expert", f"{city['name']}资深社工事务所", "吴督导")):
            people.append(supervision.register_supervisor(
                {"name": name, "kind": kind, "organisation": organisation,
                 "qualifications": ["高级社会工作师"], "home_region": city["code"],
                 "phone": "13700000000",
                 "account_sub": "demo-inspector" if city["code"] == "3402" and kind == "expert" else None},
                caller=CALLER))
    out(f"demo: checklist {CODE} v1 and v2, {len(people)} supervisors in {len(cities)} cities")

    campaign = supervision.open_campaign(
        {"title": "2026年度全省社工站督导互查", "period_from": "2026-10-01", "period_to": "2026-12-31",
         "checklist_code": CODE, "sample": {"per_city": 1}, "group_size": 3}, caller=CALLER)
    plan = supervision.preview_assignment(campaign["id"], {"seed": 2026}, caller=CALLER)
    supervision.confirm_assignment(campaign["id"], {"seed": 2026, "fingerprint": plan["fingerprint"]},
                                   caller=CALLER)
    out(f"demo: campaign {campaign['id']}: {len(plan['stations'])} stations, {len(plan['groups'])} groups")

    hefei_expert = next(p for p in people if p["home_region"] == "3401" and p["kind"] == "expert")
    outsider = next(p for p in people if p["home_region"] == "3402" and p["kind"] == "university")
    today = china_today()
    for station in hefei[:2]:
        supervision.record_session(
            {"supervisor_id": outsider["id"], "station_id": station["id"], "kind": "group",
             "setting": "external", "method": "on_site", "held_on": today.isoformat(),
             "duration_minutes": 120, "topics": ["个案督导", "台账规范"], "agreed": "每月一次小组督导",
             "room_workers": 3}, caller=CALLER)

    month = f"{today.year:04d}-{today.month:02d}"
    last_month = (today.replace(day=1) - datetime.timedelta(days=1)).strftime("%Y-%m")
    counts = {"casework": 6, "group_work": 2, "community_activities": 3,
              "served": {"elderly": 40, "children": 25, "disabled": 4, "others": 10},
              "narrative": "本月开展重阳敬老、四点半课堂等服务。"}
    if hefei:
        staff = {"sub": "demo-station", "role": "station_staff", "region": hefei[0]["division_code"]}
        supervision.submit_report(hefei[0]["id"], month, counts, caller=staff)         # on time
        supervision.submit_report(hefei[0]["id"], last_month, counts, caller=staff)    # late
    supervision.run_due_jobs({}, caller=SYSTEM)                                        # the rest: overdue

    if hefei:
        inspection = supervision.create_inspection(
            {"station_id": hefei[0]["id"], "kind": "special", "checklist_code": CODE,
             "visited_on": (today - datetime.timedelta(days=45)).isoformat(),
             "inspector_ids": [hefei_expert["id"]]}, caller=CALLER)
        scores = {f"liuyou-{i}": {"value": i != 3} for i in range(1, 7)}
        scores.update({"liuhua-1": {"value": 4}, "admin-1": {"value": 8}, "finance-1": {"value": 7},
                       "delivery-1": {"value": 9, "notes": "台账齐全"}, "evaluation-1": {"value": 8},
                       "publicity-1": {"value": 6}})
        supervision.score_inspection(inspection["id"], {"scores": scores}, caller=CALLER)
        closed = supervision.raise_finding(inspection["id"], {
            "item_key": "liuyou-3", "observation": "缺少专职督导", "recommendation": "配齐督导人员",
            "severity": "major"}, caller=CALLER)
        supervision.raise_finding(inspection["id"], {
            "item_key": "finance-1", "observation": "部分票据不全", "recommendation": "补齐票据并建账",
            "severity": "minor", "deadline": (today - datetime.timedelta(days=20)).isoformat()},
            caller=CALLER)
        supervision.complete_inspection(inspection["id"], {}, caller=CALLER)
        supervision.submit_rectification(closed["rectification_id"], {
            "evidence": {"notes": "已聘任督导一名", "files": ["docs/zg/appointment.pdf"]}}, caller=staff)
        supervision.close_rectification(closed["rectification_id"], {"note": "核实无误"}, caller=CALLER)
        supervision.run_due_jobs({}, caller=SYSTEM)   # the open one is past its deadline: escalated
        out(f"demo: inspection {inspection['id']} with a closed and an overdue rectification item, "
            f"reports filed on time ({month}), late ({last_month}) and missing")
