"""The volunteer service's pure rules: ID numbers, masking, ages, the hour
record rules, totals arithmetic, sheets and schemas."""
import datetime
import random

import pytest
from marshmallow import ValidationError

from services.common import access
from services.common.clock import CHINA, china_date
from services.common.errors import Conflict, InvalidInput, PayloadTooLarge
from services.volunteer import (
    ages, certificates, hour_rules, id_numbers, schemas, sheets, times, totals, volunteers,
)

UTC = datetime.timezone.utc


def at(day, hour, minute=0):
    return datetime.datetime(2026, 10, day, hour, minute, tzinfo=CHINA).astimezone(UTC)


# ---- ID numbers (GB 11643-1999) ----

@pytest.mark.parametrize("number", ["11010519491231002X", "440524198001010013", "340102196002290018"])
def test_valid_id_numbers(number):
    assert id_numbers.id_number_problem(number) is None
    assert id_numbers.id_number_problem(number.lower()) is None   # a lower-case x is fine


def test_the_check_character_is_iso_7064_mod_11_2():
    assert id_numbers.id_check_character("11010519491231002") == "X"
    assert id_numbers.id_check_character("44052418800101001") == "4"
    body = "34010219900517001"
    good = body + id_numbers.id_check_character(body)
    for wrong in "0123456789X":
        if wrong != good[-1]:
            assert "check character" in id_numbers.id_number_problem(body + wrong)


@pytest.mark.parametrize("number,problem", [
    ("1101051949123100", "18 characters"),
    ("11010519491231002Y", "18 characters"),
    ("A1010519491231002X", "18 characters"),
    ("110105194902300029", "birth date"),   # 30 February
    ("110105189912310021", "birth date"),   # before 1900
    ("", "18 characters"),
    (None, "18 characters"),
])
def test_invalid_id_numbers_say_why(number, problem):
    assert problem in id_numbers.id_number_problem(number)


def test_birth_date_is_characters_7_to_14():
    assert id_numbers.birth_date_of("11010519491231002X") == datetime.date(1949, 12, 31)


def test_the_hash_matches_the_normalised_number_under_a_key():
    a = id_numbers.hash_id_number("11010519491231002x", "key-1")
    assert a == id_numbers.hash_id_number(" 11010519491231002X ", "key-1")
    assert a != id_numbers.hash_id_number("11010519491231002X", "key-2")
    assert "19491231" not in a and len(a) == 64


def test_masking():
    assert id_numbers.mask_id_number("34010219580301123X") == "340102********123X"
    assert access.mask_name("张三丰") == "张*丰"
    assert access.mask_name("李四") == "李*"
    assert access.mask_name("欧阳小明") == "欧**明"
    assert access.mask_name("王") == "*"
    assert access.mask_name("") == ""


# ---- numbers, ages, hours ----

def test_numbers():
    assert volunteers.volunteer_number("340102", 7) == "V34010200000007"
    assert certificates.certificate_number(2026, 1) == "ZYZM-2026-00000001"


@pytest.mark.parametrize("born,on,age", [
    ((1966, 11, 22), (2026, 11, 22), 60),
    ((1966, 11, 23), (2026, 11, 22), 59),
    ((1964, 2, 29), (2024, 2, 28), 59),
    ((1964, 2, 29), (2024, 2, 29), 60),
    ((1964, 2, 29), (2025, 3, 1), 61),
])
def test_age_on_a_day(born, on, age):
    assert ages.age_on(datetime.date(*born), datetime.date(*on)) == age


def test_a_silver_age_team_takes_60_and_over_only():
    born = datetime.date(1966, 11, 23)
    ages.check_member_age("general", "V1", born, datetime.date(2026, 11, 22))
    with pytest.raises(Conflict) as refused:
        ages.check_member_age("silver_age", "V34010200000001", born, datetime.date(2026, 11, 22))
    assert refused.value.details["volunteer_number"] == "V34010200000001"
    assert refused.value.details["age"] == 59
    ages.check_member_age("silver_age", "V1", born, datetime.date(2026, 11, 23))


@pytest.mark.parametrize("minutes,text", [(0, "0.00"), (150, "2.50"), (20, "0.33"), (40, "0.67"),
                                          (1, "0.02"), (-20, "-0.33"), (1440, "24.00")])
def test_hours_as_text(minutes, text):
    assert hour_rules.format_hours(minutes) == text


def test_times_are_whole_minutes_in_utc_and_naive_means_china():
    moment = times.to_minute(datetime.datetime(2026, 10, 10, 8, 30, 59, 999))
    assert moment == datetime.datetime(2026, 10, 10, 0, 30, tzinfo=UTC)
    assert china_date(datetime.datetime(2026, 10, 9, 16, 0, tzinfo=UTC)) == datetime.date(2026, 10, 10)


# ---- hour record rules ----

ACTIVITY = {"_id": "A1", "starts_at": at(10, 8), "ends_at": at(10, 16), "capacity": 2, "participants": 0}


def slot(id_, start, end, live=True):
    return {"_id": id_, "start": start, "end": end, "minutes": times.minutes_between(start, end),
            "service_date": china_date(start).isoformat(), "live": live}


def test_overlap_names_the_earliest_conflicting_record():
    slots = [slot("H2", at(10, 11), at(10, 12)), slot("H1", at(10, 9), at(10, 10))]
    with pytest.raises(Conflict) as refused:
        hour_rules.check_overlap("V1", slots, at(10, 9, 30), at(10, 11, 30))
    assert refused.value.details["conflicting_record"] == "H1"
    assert refused.value.details["conflicting_records"] == ["H1", "H2"]
    hour_rules.check_overlap("V1", slots, at(10, 10), at(10, 11))          # back to back
    hour_rules.check_overlap("V1", slots, at(10, 9), at(10, 10), exclude="H1")   # its own slot
    hour_rules.check_overlap("V1", [slot("H3", at(10, 9), at(10, 10), live=False)], at(10, 9), at(10, 10))


def test_the_24_hour_rule_counts_minutes_by_service_date():
    day = [slot("H1", at(10, 0), at(10, 20))]
    with pytest.raises(Conflict) as refused:
        hour_rules.check_day_total("V1", day, "2026-10-10", 5 * 60)
    assert refused.value.details["conflicting_record"] == "H1"
    hour_rules.check_day_total("V1", day, "2026-10-10", 4 * 60)
    hour_rules.check_day_total("V1", day, "2026-10-11", 23 * 60)
    with pytest.raises(Conflict) as alone:
        hour_rules.check_day_total("V1", [], "2026-10-10", 25 * 60)
    assert "conflicting_record" not in alone.value.details


def test_the_window_allows_the_tolerance_and_no_more():
    hour_rules.check_window(ACTIVITY, at(10, 7, 30), at(10, 16, 30), 30)
    with pytest.raises(Conflict) as early:
        hour_rules.check_window(ACTIVITY, at(10, 7, 29), at(10, 9), 30)
    assert set(early.value.fields) == {"start"} and early.value.details["activity_id"] == "A1"
    with pytest.raises(Conflict) as late:
        hour_rules.check_window(ACTIVITY, at(10, 15), at(10, 16, 31), 30)
    assert set(late.value.fields) == {"end"}
    hour_rules.check_window(ACTIVITY, at(10, 6), at(10, 18), 120)


def test_check_record_applies_every_rule_and_answers_the_minutes():
    assert hour_rules.check_record("V1", ACTIVITY, [], at(10, 8), at(10, 10, 15), 30) == 135
    with pytest.raises(Conflict):
        hour_rules.check_record("V1", ACTIVITY, [slot("H1", at(10, 9), at(10, 11))], at(10, 8), at(10, 10), 30)


def test_interval_must_be_positive_and_served():
    now = at(10, 12)
    with pytest.raises(InvalidInput):
        hour_rules.check_interval(at(10, 9), at(10, 9), now, 30)
    with pytest.raises(InvalidInput) as future:
        hour_rules.check_interval(at(10, 9), at(10, 13), now, 30)
    assert "end" in future.value.fields
    hour_rules.check_interval(at(10, 9), at(10, 12, 30), now, 30)


def test_capacity_counts_new_participants_only():
    full = dict(ACTIVITY, participants=2)
    hour_rules.check_capacity(full, False)
    with pytest.raises(Conflict):
        hour_rules.check_capacity(full, True)


# ---- totals arithmetic ----

def test_a_volunteer_counts_while_their_minutes_are_positive():
    assert totals.member_change(0, 60) == (60, 1)
    assert totals.member_change(60, 30) == (90, 0)
    assert totals.member_change(90, -90) == (0, -1)
    assert totals.member_change(0, -30) == (-30, 0)     # a correction overtaking its approval
    assert totals.member_change(-30, 60) == (30, 1)


def test_distinct_volunteers_do_not_depend_on_the_order_of_events():
    deltas = [("V1", 120), ("V1", -120), ("V2", 60), ("V3", 45), ("V3", -15), ("V2", -60), ("V1", 30)]
    expected_minutes = sum(d for _, d in deltas)
    for seed in range(20):
        order = deltas[:]
        random.Random(seed).shuffle(order)
        minutes, per, volunteers = 0, {}, 0
        for number, delta in order:
            per[number], counted = totals.member_change(per.get(number, 0), delta)
            minutes += delta
            volunteers += counted
        assert (minutes, volunteers) == (expected_minutes, 2)


def test_an_event_counts_on_eight_totals_its_team_twice():
    data = {"volunteer_number": "V1", "team_id": "T1", "station_id": "S1", "division_code": "340102001",
            "county": "340102", "city": "3401", "province": "34"}
    assert totals.totals_keys(data) == [
        ("volunteer:V1", "volunteer", "V1", None),
        ("team:T1", "team", "T1", None),              # all the team's hours, wherever served
        ("team:T1@S1", "team", "T1", "S1"),           # its hours at this station: the station's child
        ("station:S1", "station", "S1", "340102001"),
        ("township:340102001", "township", "340102001", "340102"),
        ("county:340102", "county", "340102", "3401"), ("city:3401", "city", "3401", "34"),
        ("province:34", "province", "34", None)]


# ---- sheets ----

def test_sheet_times():
    assert sheets.parse_time("2026-10-10 08:00") == datetime.datetime(2026, 10, 10, 8, 0, tzinfo=CHINA)
    assert sheets.parse_time("2026/10/1 9:05") == datetime.datetime(2026, 10, 1, 9, 5, tzinfo=CHINA)
    assert sheets.parse_time("2026-10-10T00:00:00Z").utcoffset() == datetime.timedelta(0)
    assert sheets.parse_time("2026-10-10T08:00+0800") == datetime.datetime(2026, 10, 10, 0, 0, tzinfo=UTC)
    assert sheets.parse_time(datetime.datetime(2026, 10, 10, 8)).tzinfo == CHINA
    assert sheets.parse_time(46305.375).hour == 9   # an Excel serial date
    for bad in ("yesterday", "2026-13-01 08:00", "", True):
        with pytest.raises(ValueError):
            sheets.parse_time(bad)


def test_sheet_rows_name_their_problems():
    item, problems = sheets.parse_row({"volunteer_number": "V34010200000001", "activity_id": "A1",
                                       "start": "2026-10-10 08:00", "end": "2026-10-10 10:00", "note": 5})
    assert problems is None and item["note"] == "5"
    _, problems = sheets.parse_row({"volunteer_number": "12", "activity_id": "", "start": "x",
                                    "end": None})
    assert set(problems) == {"volunteer_number", "activity_id", "start", "end"}
    _, problems = sheets.parse_row({"id_number": "11010519491231002X", "activity_id": "A1",
                                    "start": "2026-10-10 10:00", "end": "2026-10-10 09:00"})
    assert set(problems) == {"end"}
    item, _ = sheets.parse_row({"id_number": "11010519491231002x", "activity_id": "A1",
                                "start": "2026-10-10 08:00", "end": "2026-10-10 09:00"})
    assert item["id_number"] == "11010519491231002X" and "volunteer_number" not in item


def test_sheet_headers_in_chinese_or_english_and_missing_ones_named():
    rows = sheets.read("\ufeff志愿者编号,活动编号,开始时间,结束时间\n\nV1,A1,a,b\n".encode("utf-8"), "csv")
    assert rows == [(3, {"volunteer_number": "V1", "activity_id": "A1", "start": "a", "end": "b"})]
    with pytest.raises(InvalidInput) as missing:
        sheets.read(b"name,start\nx,y\n", "csv")
    assert missing.value.details["missing_columns"] == ["volunteer_number", "activity_id", "end"]
    with pytest.raises(PayloadTooLarge):
        sheets.read(("volunteer_number,activity_id,start,end\n" + "V,A,s,e\n" * (sheets.MAX_ROWS + 1)).encode(),
                    "csv")


# ---- schemas ----

def registration(**change):
    body = {"name": "张三", "id_number": "11010519491231002X", "phone": "13912345678",
            "birth_date": "1949-12-31", "station_id": "340102001-01"}
    body.update(change)
    return body


def test_registration_schema():
    loaded = schemas.VolunteerCreateSchema().load(registration())
    assert loaded["birth_date"] == datetime.date(1949, 12, 31) and loaded["skills"] == []
    with pytest.raises(ValidationError) as wrong:
        schemas.VolunteerCreateSchema().load(registration(birth_date="1949-12-30"))
    assert "birth_date" in wrong.value.messages
    with pytest.raises(ValidationError) as both:
        schemas.VolunteerCreateSchema().load(registration(county="340102"))
    assert "station_id" in both.value.messages
    with pytest.raises(ValidationError) as bad:
        schemas.VolunteerCreateSchema().load(registration(id_number="110105194912310021"))
    assert "check character" in bad.value.messages["id_number"][0]


def test_hours_schemas():
    with pytest.raises(ValidationError) as naive:
        schemas.HoursRecordSchema().load({"volunteer_number": "V34010200000001", "activity_id": "A1",
                                          "start": "2026-10-10T08:00:00", "end": "2026-10-10T09:00:00+08:00"})
    assert "start" in naive.value.messages
    with pytest.raises(ValidationError) as order:
        schemas.HoursRecordSchema().load({"volunteer_number": "V34010200000001", "activity_id": "A1",
                                          "start": "2026-10-10T09:00:00+08:00", "end": "2026-10-10T08:00:00+08:00"})
    assert "end" in order.value.messages
    assert schemas.HoursCorrectionSchema().load({"reason": "误录", "cancel": True})["cancel"] is True
    with pytest.raises(ValidationError) as half:
        schemas.HoursCorrectionSchema().load({"reason": "误录", "start": "2026-10-10T08:00:00+08:00"})
    assert "end" in half.value.messages
    with pytest.raises(ValidationError):
        schemas.TotalsQuerySchema().load({"region": "34", "team_id": "T1"})
    with pytest.raises(ValidationError):
        schemas.CertificateCreateSchema().load({"volunteer_number": "V34010200000001",
                                                "from": "2026-10-31", "to": "2026-10-01"})


# ---- the years times and dates may lie in ----

RECORD = {"volunteer_number": "V34010200000001", "activity_id": "A1",
          "start": "2026-10-10T08:00:00+08:00", "end": "2026-10-10T09:00:00+08:00"}
ACTIVITY_BODY = {"team_id": "T1", "title": "敬老院陪伴", "category": "elderly", "place": "镇敬老院",
                 "starts_at": "2026-10-10T08:00:00+08:00", "ends_at": "2026-10-10T16:00:00+08:00",
                 "capacity": 5}
YEARS = "must lie in the years 2000-2100"


@pytest.mark.parametrize("schema,body,field", [
    (schemas.HoursRecordSchema, dict(RECORD, start="0001-01-01T00:00:00Z"), "start"),
    (schemas.HoursRecordSchema, dict(RECORD, end="9999-12-31T23:59:00+08:00"), "end"),
    (schemas.ActivityCreateSchema, dict(ACTIVITY_BODY, starts_at="0001-01-01T06:00:00+08:00"), "starts_at"),
    (schemas.ActivityCreateSchema, dict(ACTIVITY_BODY, ends_at="2101-01-01T00:00:00+08:00"), "ends_at"),
    (schemas.HoursCorrectionSchema, {"reason": "误录", "start": "1999-12-31T23:00:00+08:00",
                                     "end": "2026-10-10T09:00:00+08:00"}, "start"),
    (schemas.HoursQuerySchema, {"date_from": "0001-01-01"}, "date_from"),
    (schemas.CertificateCreateSchema, {"volunteer_number": "V34010200000001", "from": "2026-01-01",
                                       "to": "9999-12-31"}, "to"),
    (schemas.TeamMemberCreateSchema, {"volunteer_number": "V34010200000001", "joined_on": "0001-01-01"},
     "joined_on"),
])
def test_times_and_dates_outside_the_service_years_are_refused_naming_the_field(schema, body, field):
    with pytest.raises(ValidationError) as refused:
        schema().load(body)
    assert refused.value.messages == {field: [YEARS]}


def test_birth_dates_reach_back_to_1900_and_the_edges_of_the_years_are_in():
    assert schemas.VolunteerCreateSchema().load(registration())["birth_date"].year == 1949
    with pytest.raises(ValidationError) as old:
        schemas.VolunteerCreateSchema().load(registration(birth_date="0001-01-01"))
    assert old.value.messages == {"birth_date": ["must lie in the years 1900-2100"]}
    assert schemas.HoursRecordSchema().load(dict(RECORD, start="2000-01-01T00:00:00+08:00",
                                                 end="2100-12-31T23:59:00-05:00"))["end"].year == 2100


def test_sheet_times_outside_the_service_years_are_refused_with_the_row():
    for bad in ("0001-01-01 06:00", "0001-01-01T06:00:00+08:00", "9999-12-31T23:59:00Z", 1.0):
        with pytest.raises(ValueError, match=YEARS):
            sheets.parse_time(bad)
    _, problems = sheets.parse_row({"volunteer_number": "V34010200000001", "activity_id": "A1",
                                    "start": "0001-01-01 06:00", "end": "2026-10-10 09:00"})
    assert problems == {"start": [YEARS]}


# ---- free text ----

CONTROL = "must not contain control characters"


@pytest.mark.parametrize("schema,body,field", [
    (schemas.VolunteerCreateSchema, registration(name="张\x01三"), "name"),
    (schemas.VolunteerUpdateSchema, {"name": "张三\x1b"}, "name"),
    (schemas.TeamCreateSchema, {"station_id": "S1", "name": "阳光\x00服务队"}, "name"),
    (schemas.TeamCreateSchema, {"station_id": "S1", "name": "阳光服务队", "description": "一\x0b二"},
     "description"),
    (schemas.ActivityCreateSchema, dict(ACTIVITY_BODY, title="敬老\x7f院陪伴"), "title"),
    (schemas.ActivityCreateSchema, dict(ACTIVITY_BODY, place="镇敬老院\n二楼"), "place"),
    (schemas.HoursRecordSchema, dict(RECORD, note="上午\r"), "note"),
    (schemas.HoursApproveSchema, {"note": "\x85同意"}, "note"),
    (schemas.HoursRejectSchema, {"reason": "重复\x01记录"}, "reason"),
    (schemas.HoursCorrectionSchema, {"reason": "误录\t", "cancel": True}, "reason"),
    (schemas.HoursBatchApproveSchema, {"ids": ["H1"], "note": "同\x02意"}, "note"),
])
def test_free_text_with_control_characters_is_refused_naming_the_field(schema, body, field):
    with pytest.raises(ValidationError) as refused:
        schema().load(body)
    assert refused.value.messages == {field: [CONTROL]}


def test_skills_are_free_text_and_descriptions_may_have_line_breaks():
    with pytest.raises(ValidationError) as refused:
        schemas.VolunteerCreateSchema().load(registration(skills=["理发", "陪\x07伴"]))
    assert refused.value.messages == {"skills": {1: [CONTROL]}}
    loaded = schemas.ActivityCreateSchema().load(dict(ACTIVITY_BODY, description="第一行\r\n第二行\t完"))
    assert loaded["description"] == "第一行\r\n第二行\t完"


def test_a_sheet_note_with_control_characters_is_refused_with_the_row():
    _, problems = sheets.parse_row({"volunteer_number": "V34010200000001", "activity_id": "A1",
                                    "start": "2026-10-10 08:00", "end": "2026-10-10 09:00", "note": "上\x01午"})
    assert problems == {"note": [CONTROL]}
