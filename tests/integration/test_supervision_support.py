"""Helpers shared by the supervision service's integration tests (no tests here).

Stations are registered through the registry, as officers do, in townships no
other test uses (`units`), and the tests wait until the supervision service has
heard of them from the registry's events. Months are chosen per test (each
test file its own), since the scheduled job judges a month once.
"""
import itertools
import time

from services.common.errors import NotFound
from tests.fixtures import PROVINCE_ADMIN, wait_for
from tests.harness import EventTap

ADMIN = PROVINCE_ADMIN
SYSTEM = {"sub": "t-scheduler", "role": "system", "region": ""}
_SEQ = itertools.count(1)


def unique(prefix):
    return f"{prefix}{next(_SEQ)}{int(time.time() * 1000) % 100000}"


def county_officer(unit, sub=None):
    return {"sub": sub or f"officer-{unit['areaCode']}", "role": "county_officer", "region": unit["areaCode"]}


def station_staff(unit, sub=None):
    return {"sub": sub or f"staff-{unit['code']}", "role": "station_staff", "region": unit["code"]}


def open_station(cluster, unit, opened_on="2025-01-10", operator=None, population=12000):
    """An operating station, as the supervision service knows it."""
    station = cluster.registry.create_station(
        {"division_code": unit["code"], "name": f"{unit['name']}社工站", "planned_on": "2024-06-01",
         "population_served": population, "operator": {"name": operator} if operator else None},
        caller=ADMIN)
    cluster.registry.transition_station(station["id"], {"to": "built", "on": "2024-09-01"}, caller=ADMIN)
    cluster.registry.transition_station(station["id"], {"to": "operating", "on": opened_on}, caller=ADMIN)
    known(cluster, station["id"], "operating")
    return station


def known(cluster, station_id, status=None, check=None):
    def seen():
        try:
            station = cluster.supervision.get_station(station_id, caller=ADMIN)
        except NotFound:
            return None
        if status is not None and station["status"] != status:
            return None
        return station if check is None or check(station) else None

    return wait_for(seen, timeout=20, message=f"the supervision service to know station {station_id}")


def publish_checklist(cluster, code=None, casework_weight=4, extra_item=None):
    """A small checklist: two 六有 items (pass/fail) and service delivery (points of 10)."""
    items = [{"key": "casework", "title": "个案服务", "weight": casework_weight,
              "rule": {"kind": "points", "max": 10}}]
    if extra_item:
        items.append(extra_item)
    return cluster.supervision.publish_checklist({
        "code": code or unique("std-"), "title": "社工站检查表", "sections": [
            {"key": "liuyou", "title": "六有", "kind": "liuyou", "items": [
                {"key": "premises", "title": "有场所", "weight": 2, "rule": {"kind": "pass_fail"}},
                {"key": "staff", "title": "有人员", "weight": 2, "rule": {"kind": "pass_fail"}}]},
            {"key": "delivery", "title": "服务提供与产出", "kind": "service_delivery", "items": items}]},
        caller=ADMIN)


def full_scores(casework=8, premises=True, staff=False):
    return {"premises": {"value": premises}, "staff": {"value": staff},
            "casework": {"value": casework, "notes": "台账", "files": ["zg/ledger.pdf"]}}


def tap(platform):
    return EventTap(platform.amqp_uri, "supervision")


def events(tap_, name, subject=None, count=1, timeout=15):
    """The supervision events of `name` (for `subject`), once at least `count` arrived."""
    wanted = f"wushe.supervision.{name}.v1"

    def matching(received):
        return [e for e in received if e["type"] == wanted and (subject is None or e["subject"] == subject)]

    tap_.collect(until=lambda received: len(matching(received)) >= count, timeout=timeout)
    return matching(tap_.received)


def settle(tap_, seconds=1.5):
    """Whatever else arrives within `seconds` (to see that nothing more came)."""
    tap_.collect(timeout=seconds)
    return tap_.received


def wait_scorecard(cluster, query, check, message="the scorecard"):
    def ready():
        card = cluster.supervision.scorecard(query, caller=ADMIN)
        return card if check(card) else None

    return wait_for(ready, timeout=20, message=message)
