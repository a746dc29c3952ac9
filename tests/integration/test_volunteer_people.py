"""Volunteers, teams and certificates against the real services: real-name
registration matched by ID number, silver-age teams, certificates that list
approved hours and that anyone can verify by number."""
import datetime
import re

import pytest

from services.common.errors import Conflict, InvalidInput, NotFound
from tests.integration.test_volunteer_support import ADMIN, id_number

pytestmark = pytest.mark.integration

AUDITOR = {"sub": "audit", "role": "auditor", "region": "34"}


def test_a_second_registration_with_the_same_id_number_points_at_the_first(platform, cluster, scene,
                                                                          mongo_client):
    born = datetime.date(1975, 12, 31)
    number = id_number(born)
    body = {"name": "王五", "id_number": number, "phone": "13611112222", "birth_date": born.isoformat(),
            "station_id": scene.station["id"]}
    first = cluster.volunteer.register_volunteer(body, caller=ADMIN)
    assert re.fullmatch(rf"V{scene.county}\d{{8}}", first["number"])
    assert first["id_number_masked"] == number[:6] + "********" + number[-4:]
    with pytest.raises(Conflict) as again:
        cluster.volunteer.register_volunteer(dict(body, id_number=number.lower(), name="王五五"),
                                             caller=ADMIN)
    assert again.value.details == {"volunteer_number": first["number"]}
    # Matched by the number, never stored in full.
    staff_elsewhere = {"sub": "x", "role": "station_staff", "region": "340103001"}
    assert cluster.volunteer.lookup_volunteer({"id_number": number}, caller=staff_elsewhere) == \
        {"volunteer_number": first["number"]}
    with pytest.raises(NotFound):
        cluster.volunteer.lookup_volunteer({"id_number": id_number(born)}, caller=ADMIN)
    stored = platform.db(mongo_client, "volunteer").volunteers.find_one({"_id": first["number"]})
    assert number not in str(stored) and number[6:14] not in stored["id_hash"]
    # A wrong check character or a birth date that disagrees is a 400 naming the field.
    with pytest.raises(InvalidInput) as bad:
        cluster.volunteer.register_volunteer(dict(body, id_number=number[:17] + ("1" if number[17] != "1" else "2")),
                                             caller=ADMIN)
    assert "id_number" in bad.value.fields
    with pytest.raises(InvalidInput) as wrong_birth:
        cluster.volunteer.register_volunteer(dict(body, id_number=id_number(born), birth_date="1975-12-30"),
                                             caller=ADMIN)
    assert "birth_date" in wrong_birth.value.fields


def test_personal_data_is_masked_for_an_auditor(cluster, scene):
    number = scene.volunteer(name="张三丰", phone="13912345678")["number"]
    seen = cluster.volunteer.get_volunteer(number, caller=AUDITOR)
    assert (seen["name"], seen["phone"], seen["birth_date"]) == ("张*丰", "139****5678", None)
    full = cluster.volunteer.get_volunteer(number, caller=ADMIN)
    assert (full["name"], full["phone"]) == ("张三丰", "13912345678")
    exported = cluster.volunteer.export_volunteers({"region": scene.township}, caller=AUDITOR)
    row = dict(zip([c["key"] for c in exported["columns"]], exported["rows"][0]))
    assert (row["name"], row["phone"]) == ("张*丰", "139****5678")


def test_a_silver_age_team_takes_members_60_or_over_on_the_day_they_join(cluster, scene):
    team = cluster.volunteer.create_team({"station_id": scene.station["id"], "name": "银龄互助队",
                                          "kind": "silver_age", "parent_id": scene.team["id"]},
                                         caller=ADMIN)
    assert team["parent_id"] == scene.team["id"]
    old = scene.volunteer(born=datetime.date(1960, 6, 15))["number"]
    young = scene.volunteer(born=datetime.date(1970, 6, 15))["number"]
    with pytest.raises(Conflict) as refused:
        cluster.volunteer.add_team_member(team["id"], {"volunteer_number": old, "joined_on": "2020-06-14"},
                                          caller=ADMIN)
    # (Numbers in error details cross RPC as strings: nameko's safe_for_serialization.)
    assert refused.value.details["volunteer_number"] == old and str(refused.value.details["age"]) == "59"
    assert old in refused.value.message and "59" in refused.value.message
    joined = cluster.volunteer.add_team_member(team["id"], {"volunteer_number": old, "joined_on": "2020-06-15"},
                                               caller=ADMIN)
    assert joined["volunteer_number"] == old
    with pytest.raises(Conflict):
        cluster.volunteer.add_team_member(team["id"], {"volunteer_number": young}, caller=ADMIN)
    # A general team takes anyone; a volunteer joins a team once.
    cluster.volunteer.add_team_member(scene.team["id"], {"volunteer_number": young}, caller=ADMIN)
    with pytest.raises(Conflict):
        cluster.volunteer.add_team_member(scene.team["id"], {"volunteer_number": young}, caller=ADMIN)
    members = cluster.volunteer.list_team_members(team["id"], {}, caller=AUDITOR)
    assert [m["volunteer_number"] for m in members["items"]] == [old]
    assert cluster.volunteer.get_team(team["id"], caller=ADMIN)["members"] == 1
    cluster.volunteer.remove_team_member(team["id"], old, caller=ADMIN)
    assert cluster.volunteer.get_team(team["id"], caller=ADMIN)["members"] == 0
    with pytest.raises(Conflict):   # one name per station
        cluster.volunteer.create_team({"station_id": scene.station["id"], "name": "银龄互助队"}, caller=ADMIN)


def test_a_certificate_lists_approved_hours_and_is_verified_by_number(cluster, scene):
    number = scene.volunteer(name="李小明")["number"]
    second = scene.new_activity(scene.at(0), scene.at(8), title="垃圾分类宣传")
    kept = scene.record(number, scene.at(0), scene.at(2))             # 120, corrected to 90
    other = scene.record(number, scene.at(3), scene.at(4), activity=second)   # 60
    scene.record(number, scene.at(5), scene.at(6))                    # recorded, never approved
    for record in (kept, other):
        cluster.volunteer.approve_hours(record["id"], {}, caller=ADMIN)
    cluster.volunteer.correct_hours(kept["id"], {"reason": "晚到半小时", "start": scene.at(0, 30).isoformat(),
                                                 "end": scene.at(2).isoformat()}, caller=ADMIN)
    with pytest.raises(Conflict):   # nothing approved in that period
        cluster.volunteer.issue_certificate({"volunteer_number": number, "from": "2026-01-01",
                                             "to": "2026-01-31"}, caller=ADMIN)
    staff = {"sub": "st", "role": "station_staff", "region": scene.township}
    certificate = cluster.volunteer.issue_certificate(
        {"volunteer_number": number, "from": "2026-10-01", "to": "2026-10-31"}, caller=staff)
    assert re.fullmatch(r"ZYZM-\d{4}-\d{8}", certificate["number"])
    assert certificate["total_minutes"] == 150 and certificate["total_hours"] == "2.50"
    assert {(a["title"], a["minutes"], a["records"]) for a in certificate["activities"]} == {
        ("敬老院陪伴", 90, 1), ("垃圾分类宣传", 60, 1)}
    assert certificate["station_name"] == scene.station["name"]

    public = cluster.volunteer.verify_certificate(certificate["number"])
    assert public == {"number": certificate["number"], "name": "李*明", "from": "2026-10-01",
                      "to": "2026-10-31", "total_minutes": 150, "total_hours": "2.50",
                      "issued_at": certificate["issued_at"], "station_name": scene.station["name"]}
    with pytest.raises(NotFound):
        cluster.volunteer.verify_certificate("ZYZM-2026-99999999")
    # Issued once and kept as issued: a later correction does not change it.
    cluster.volunteer.correct_hours(other["id"], {"reason": "误录", "cancel": True}, caller=ADMIN)
    assert cluster.volunteer.get_certificate(certificate["number"], caller=AUDITOR)["total_minutes"] == 150
    assert cluster.volunteer.get_certificate(certificate["number"], caller=AUDITOR)["name"] == "李*明"
    listed = cluster.volunteer.list_certificates({"volunteer_number": number}, caller=ADMIN)
    assert [c["number"] for c in listed["items"]] == [certificate["number"]]
