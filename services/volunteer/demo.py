"""The volunteer service's part of `wushe up`: volunteers, two teams, an activity and
hours (two approved, one waiting for an officer) at one operating station in Hefei."""
import time

from services.registry.demo import CALLER
from services.volunteer.id_numbers import id_check_character

AFTER = ("registry",)

PEOPLE = [("张三丰", "1958-03-01", ["陪伴老人", "理发"]), ("李小梅", "1990-07-12", ["课业辅导"]),
          ("王建国", "1961-11-30", ["法律咨询"])]


def demo_id_number(county, birth, seq):
    """A made-up ID number with a valid check digit (GB 11643)."""
    first17 = f"{county}{birth.replace('-', '')}{seq:03d}"
    return first17 + id_check_character(first17)


def wait_for_station(volunteer, station_id, timeout=30):
    """The volunteer service learns stations from registry events: wait until it has."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return volunteer.get_station(station_id, caller=CALLER)
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def load(cluster, out=print):
    operating = cluster.registry.list_stations({"region": "3401", "status": "operating",
                                                "per_page": 1}, caller=CALLER)["items"]
    if not operating:
        return
    station = operating[0]
    volunteer = cluster.volunteer
    if volunteer.list_volunteers({"region": station["division_code"], "per_page": 1},
                                 caller=CALLER)["total"]:
        return
    wait_for_station(volunteer, station["id"])
    numbers = []
    for seq, (name, birth, skills) in enumerate(PEOPLE, start=1):
        registered = volunteer.register_volunteer(
            {"name": name, "id_number": demo_id_number(station["county"], birth, seq),
             "phone": f"1390000000{seq}", "birth_date": birth, "skills": skills,
             "availability": ["weekend_morning"], "station_id": station["id"]}, caller=CALLER)
        numbers.append(registered["number"])
    team = volunteer.create_team({"station_id": station["id"], "name": "阳光志愿服务队"},
                                 caller=CALLER)
    silver = volunteer.create_team({"station_id": station["id"], "name": "银龄互助队",
                                    "kind": "silver_age", "parent_id": team["id"]}, caller=CALLER)
    for number in numbers:
        volunteer.add_team_member(team["id"], {"volunteer_number": number}, caller=CALLER)
    volunteer.add_team_member(silver["id"], {"volunteer_number": numbers[0]}, caller=CALLER)
    activity = volunteer.create_activity(
        {"team_id": team["id"], "title": "重阳节敬老探访", "category": "elderly",
         "place": f"{station['division_name']}敬老院", "starts_at": "2026-10-29T01:00:00Z",
         "ends_at": "2026-10-29T05:00:00Z", "capacity": 20}, caller=CALLER)
    for number in numbers:
        record = volunteer.record_hours(
            {"volunteer_number": number, "activity_id": activity["id"],
             "start": "2026-10-29T01:00:00Z", "end": "2026-10-29T03:30:00Z"}, caller=CALLER)
        if number != numbers[-1]:  # one left for an officer to approve
            volunteer.approve_hours(record["id"], {}, caller=CALLER)
    out(f"demo: {len(numbers)} volunteers, 2 teams, 1 activity with hours at {station['name']}")
