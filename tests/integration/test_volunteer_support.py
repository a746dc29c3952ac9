"""Helpers shared by the volunteer service's integration tests (no tests here).

Import it as `tests.integration.test_volunteer_support`. `Scene` builds what a
test of hour records needs on the session platform: an operating station in a
township no other test uses (created through the registry, then seen by the
volunteer service through the registry's events), a team and an activity.
"""
import datetime
import itertools

from services.common.clock import CHINA
from services.volunteer.id_numbers import id_check_character
from tests.fixtures import PROVINCE_ADMIN, wait_for

ADMIN = PROVINCE_ADMIN
_SEQ = itertools.count(1)


def id_number(born, region="340102"):
    """A valid ID number, different at every call (the sequence digits change)."""
    seq = next(_SEQ)
    first17 = f"{region}{born:%Y%m%d}{seq % 1000:03d}"
    if seq >= 1000:
        raise RuntimeError("more than 999 ID numbers asked for one lane; use another region")
    return first17 + id_check_character(first17)


def china(*args):
    """An aware datetime in China time: china(2026, 10, 1, 9, 0)."""
    return datetime.datetime(*args, tzinfo=CHINA)


def iso(moment):
    return moment.isoformat()


def open_station(cluster, unit, name=None):
    station = cluster.registry.create_station(
        {"division_code": unit["code"], "name": name or f"{unit['name']}社工站",
         "planned_on": "2025-09-01"}, caller=ADMIN)
    cluster.registry.transition_station(station["id"], {"to": "built", "on": "2025-12-01"}, caller=ADMIN)
    return cluster.registry.transition_station(station["id"], {"to": "operating", "on": "2026-03-01"},
                                               caller=ADMIN)


def station_known(cluster, station_id, status=None):
    from services.common.errors import NotFound

    def seen():
        try:
            station = cluster.volunteer.get_station(station_id, caller=ADMIN)
        except NotFound:
            return None
        return station if status is None or station["status"] == status else None

    return wait_for(seen, timeout=20, message=f"the volunteer service to see station {station_id}")


class Scene:
    """An operating station with a team and an activity, on the session platform."""

    def __init__(self, cluster, unit, starts=None, hours=8, capacity=50, kind="general"):
        self.cluster = cluster
        self.unit = unit
        self.township = unit["code"]
        self.county = unit["areaCode"]
        self.station = open_station(cluster, unit)
        station_known(cluster, self.station["id"], "operating")
        self.team = cluster.volunteer.create_team(
            {"station_id": self.station["id"], "name": f"{unit['name']}志愿服务队", "kind": kind},
            caller=ADMIN)
        self.starts = starts or china(2026, 10, 10, 8, 0)
        self.activity = self.new_activity(self.starts, self.starts + datetime.timedelta(hours=hours),
                                          capacity=capacity)

    def new_activity(self, starts, ends, capacity=50, title="敬老院陪伴"):
        return self.cluster.volunteer.create_activity(
            {"team_id": self.team["id"], "title": title, "category": "elderly",
             "place": "镇敬老院", "starts_at": iso(starts), "ends_at": iso(ends), "capacity": capacity},
            caller=ADMIN)

    def volunteer(self, born=datetime.date(1990, 5, 17), name="张三丰", phone="13912345678"):
        return self.cluster.volunteer.register_volunteer(
            {"name": name, "id_number": id_number(born), "phone": phone,
             "birth_date": born.isoformat(), "station_id": self.station["id"],
             "skills": ["陪伴", "理发"], "availability": ["weekend_morning"]}, caller=ADMIN)

    def record(self, number, start, end, activity=None, caller=ADMIN, **extra):
        return self.cluster.volunteer.record_hours(
            {"volunteer_number": number, "activity_id": (activity or self.activity)["id"],
             "start": iso(start), "end": iso(end)}, caller=caller, **extra)

    def at(self, hours_after, minutes=0):
        """A time `hours_after` the activity starts."""
        return self.starts + datetime.timedelta(hours=hours_after, minutes=minutes)
