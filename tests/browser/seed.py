"""The data the page tests look at, entered through the API as officers and station
staff would: one county of Anhui no other test uses (tests/fixtures.py `units`).

    county C
      S1  township 1  planned → built → operating within the last year, 1+1+2, 六有 all met,
                      two rooms, a team, activities, volunteers with hours (approved and waiting),
                      a station fund with a donation and disbursements, an inspection (completed,
                      with an open rectification item), last month's report filed late
      S2  township 2  planned → built → operating since 150 days, short of 1+1+X,
                      a planned inspection to score
      S3  township 3  planned → built 90 days ago
      S4  township 4  planned 30 days ago
      township 5      no station
    plus a county fund, a supervisor and a supervision session at S1.

Dates lie in the past whatever today is (history dates may not be in the future).
"""
import csv
import datetime
import os
import uuid

from services.charity import rules as charity_rules
from services.common.clock import china_today
from services.volunteer.id_numbers import id_check_character
from tests.fixtures import DIVISIONS, wait_for

CHECKLIST = {
    "title": "社工站建设运营检查表（页面测试）",
    "sections": [
        {"key": "liuyou", "title": "六有", "kind": "liuyou", "items": [
            {"key": "premises", "title": "有场所", "weight": 2, "rule": {"kind": "pass_fail"}},
            {"key": "staffing", "title": "有人员", "weight": 2, "rule": {"kind": "pass_fail"}}]},
        {"key": "delivery", "title": "服务提供与产出", "kind": "service_delivery", "items": [
            {"key": "casework", "title": "个案小组社区服务量", "weight": 4,
             "rule": {"kind": "points", "max": 10}},
            {"key": "records", "title": "台账规范", "weight": 2, "rule": {"kind": "scale", "max": 5}}]}],
}


def ok(response, status=200):
    assert response.status_code == status, f"{response.request.method} {response.url}: " \
                                           f"{response.status_code} {response.text}"
    return response.json() if response.content else None


def key():
    return uuid.uuid4().hex


def credit_code(seed):
    first17 = f"53340100MJ{seed % 10 ** 7:07d}"
    return first17 + charity_rules.credit_check_character(first17)


def id_number(county, born, seq):
    first17 = f"{county}{born.replace('-', '')}{seq:03d}"
    return first17 + id_check_character(first17)


def villages(township):
    """(code, name) of the township's villages and communities, from the shipped codes."""
    with open(os.path.join(DIVISIONS, "villages-34.csv"), encoding="utf-8") as f:
        return [(r["code"], r["name"]) for r in csv.DictReader(f) if r["streetCode"] == township]


def month_of(day):
    return f"{day:%Y-%m}"


def previous_month(day):
    return month_of(day.replace(day=1) - datetime.timedelta(days=1))


def seed(api, units):
    """Make the world; answer what the tests need to find it again."""
    county, townships = units.county(at_least=5)
    t = townships[:5]
    admin = api("province_admin", "34", sub="browser-admin")
    officer = api("county_officer", county, sub="browser-county")
    staff = api("station_staff", t[0]["code"], sub="browser-staff")
    today = china_today()
    world = {"county": county, "city": county[:4], "townships": [u["code"] for u in t],
             "township_names": [u["name"] for u in t], "today": today.isoformat(),
             "month": month_of(today), "last_month": previous_month(today)}

    # -- registry ----------------------------------------------------------------------
    def ago(days):
        return (today - datetime.timedelta(days=days)).isoformat()

    # Dates within the last year, so the build-up shows on the 12-month chart.
    plans = [
        (t[0], 32000, ago(330), [("built", ago(300)), ("operating", ago(270))]),
        (t[1], 12000, ago(250), [("built", ago(200)), ("operating", ago(150))]),
        (t[2], 18000, ago(180), [("built", ago(90))]),
        (t[3], 9000, ago(30), []),
    ]
    stations = []
    for unit, population, planned, steps in plans:
        station = ok(admin.post("/api/v1/stations", json={
            "division_code": unit["code"], "name": f"{unit['name']}社工站",
            "address": f"{unit['county_name'] or ''}{unit['name']}便民服务中心二楼",
            "population_served": population, "planned_on": planned,
            "operator": {"name": f"{unit['county_name'] or ''}阳光社会工作服务中心"}}), 201)
        for to, on in steps:
            ok(admin.post(f"/api/v1/stations/{station['id']}/transitions", json={"to": to, "on": on}))
        stations.append(station["id"])
    s1, s2 = stations[0], stations[1]
    world["stations"] = stations
    for role, name, cert in (("head", "王站长", "intermediate"), ("supervisor", "陈督导", "senior"),
                             ("resident", "李社工", "junior"), ("resident", "赵社工", "junior")):
        ok(officer.post(f"/api/v1/stations/{s1}/staff", json={
            "role": role, "name": name, "phone": "13800000001", "certification": cert,
            "since": ago(270)}), 201)
    for role, name in (("head", "孙站长"), ("resident", "周社工")):
        ok(officer.post(f"/api/v1/stations/{s2}/staff", json={"role": role, "name": name}), 201)
    ok(officer.patch(f"/api/v1/stations/{s1}/checklist", json={
        item: {"state": "met", "attested_on": ago(260)}
        for item in ("premises", "equipment", "staff", "rules", "funding", "services")}))
    ok(officer.patch(f"/api/v1/stations/{s2}/checklist", json={
        "premises": {"state": "met", "attested_on": ago(140)},
        "staff": {"state": "partial", "note": "缺督导", "attested_on": ago(140)}}))
    for (village, name), kind, opened in zip(villages(t[0]["code"]), ("room", "micro_site"),
                                             (ago(250), ago(200))):
        ok(officer.post(f"/api/v1/stations/{s1}/rooms", json={
            "kind": kind, "name": f"{name}社工室" if kind == "room" else f"{name}微站点",
            "village_code": village, "opened_on": opened}), 201)

    # -- volunteer ---------------------------------------------------------------------
    def team_when_known():
        response = staff.post("/api/v1/teams", json={"station_id": s1, "name": "阳光志愿服务队"})
        return None if response.status_code == 404 else ok(response, 201)

    team = wait_for(team_when_known, timeout=30, message="the volunteer service to know S1")
    world["team"] = team["id"]
    volunteers = []
    for seq, (name, born) in enumerate((("张三丰", "1958-03-01"), ("李小梅", "1990-07-12"),
                                        ("王建国", "1961-11-30")), start=701):
        v = ok(staff.post("/api/v1/volunteers", json={
            "name": name, "id_number": id_number(county, born, seq), "phone": f"1390000{seq:04d}",
            "birth_date": born, "skills": ["陪伴老人"], "availability": ["weekend_morning"],
            "station_id": s1}), 201)
        ok(staff.post(f"/api/v1/teams/{team['id']}/members", json={"volunteer_number": v["number"]}), 201)
        volunteers.append(v["number"])
    world["volunteers"] = volunteers
    # An activity of last month and one earlier today-ish (this month, in the past).
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0, second=0)
    earlier = now - datetime.timedelta(days=40)
    start_now = now - datetime.timedelta(hours=6)
    if start_now.astimezone(datetime.timezone(datetime.timedelta(hours=8))).date().day != \
            now.astimezone(datetime.timezone(datetime.timedelta(hours=8))).date().day:
        start_now = now - datetime.timedelta(hours=2)
    activities = []
    for title, begin, hours in (("重阳节敬老探访", earlier, 4), ("社区环境整治", start_now, 5)):
        a = ok(staff.post("/api/v1/activities", json={
            "team_id": team["id"], "title": title, "category": "elderly", "place": "社区活动中心",
            "starts_at": begin.isoformat(), "ends_at": (begin + datetime.timedelta(hours=hours)).isoformat(),
            "capacity": 20}), 201)
        activities.append(a)
    world["activities"] = [a["id"] for a in activities]
    world["activity_now"] = activities[1]["id"]
    world["activity_now_start"] = start_now.isoformat()
    world["activity_now_month"] = month_of((start_now + datetime.timedelta(hours=8)).date())
    records = []
    for activity, begin in ((activities[0], earlier), (activities[1], start_now)):
        for number in volunteers[:2]:
            r = ok(staff.post("/api/v1/hours", headers={"Idempotency-Key": key()}, json={
                "volunteer_number": number, "activity_id": activity["id"], "start": begin.isoformat(),
                "end": (begin + datetime.timedelta(hours=2)).isoformat()}), 201)
            records.append(r["id"])
    ok(staff.post("/api/v1/hours/approvals", json={"ids": records}))
    certificate = ok(staff.post("/api/v1/certificates", json={
        "volunteer_number": volunteers[0], "from": ago(60), "to": today.isoformat(), "station_id": s1}), 201)
    world["certificate"] = certificate["number"]
    waiting = []
    for number in volunteers[2:]:
        r = ok(staff.post("/api/v1/hours", headers={"Idempotency-Key": key()}, json={
            "volunteer_number": number, "activity_id": activities[0]["id"], "start": earlier.isoformat(),
            "end": (earlier + datetime.timedelta(hours=3)).isoformat()}), 201)
        waiting.append(r["id"])
    world["waiting_hours"] = waiting

    # -- charity -----------------------------------------------------------------------
    committee = [{"name": n, "role": r} for n, r in (("张主任", "chair"), ("李委员", "member"),
                                                     ("王委员", "member"), ("赵委员", "member"),
                                                     ("钱监事", "supervisor"))]
    host = {"name": f"{t[0]['county_name'] or ''}慈善协会", "credit_code": credit_code(int(county))}

    def fund_when_known():
        response = officer.post("/api/v1/charity/funds", json={
            "name": f"{t[0]['name']}社区慈善基金", "kind": "community_fund", "purpose": "扶老助残、困难帮扶",
            "station_id": s1, "host": host, "committee": committee})
        return None if response.status_code == 404 else ok(response, 201)

    fund = wait_for(fund_when_known, timeout=30, message="the charity service to know S1")
    county_fund = ok(officer.post("/api/v1/charity/funds", json={
        "name": f"{t[0]['county_name'] or county}慈善基金", "kind": "special_fund", "purpose": "全县社工站建设",
        "region": county, "host": host, "committee": committee, "opening_balance_fen": 2_000_000}), 201)
    world["fund"], world["county_fund"] = fund["id"], county_fund["id"]
    donation = ok(staff.post("/api/v1/charity/donations", headers={"Idempotency-Key": key()}, json={
        "fund_id": fund["id"], "kind": "money", "received_on": today.isoformat(), "amount_fen": 600_000,
        "channel": "bank_transfer", "payer_reference": "网银-001",
        "donor": {"kind": "person", "name": "刘爱心", "phone": "13912345678", "consent_public": True},
        "handler": "王站长"}), 201)
    world["receipt"] = donation["receipt_number"]
    paid = ok(staff.post("/api/v1/charity/disbursements", headers={"Idempotency-Key": key()}, json={
        "fund_id": fund["id"], "purpose": "困难老人慰问", "category": "direct_aid",
        "payee": {"kind": "person", "name": "王大妈"}, "amount_fen": 100_000}), 201)
    ok(officer.post(f"/api/v1/charity/disbursements/{paid['id']}/approve", headers={"Idempotency-Key": key()}))
    ok(officer.post(f"/api/v1/charity/disbursements/{paid['id']}/pay", headers={"Idempotency-Key": key()},
                    json={"payment_reference": "网银回单-1"}))
    world["paid_disbursement"] = paid["id"]

    # -- supervision -------------------------------------------------------------------
    wait_for(lambda: officer.get(f"/api/v1/compliance-calendar?station_id={s2}").status_code == 200,
             timeout=30, message="the supervision service to know S2")
    code = f"browser-{county}"
    ok(admin.post("/api/v1/checklists", json=dict(CHECKLIST, code=code)), 201)
    world["checklist"] = code
    expert = ok(officer.post("/api/v1/supervisors", json={
        "name": "冯教授", "kind": "university", "organisation": "安徽某大学社会工作系",
        "home_region": county, "phone": "13955556666"}), 201)
    ok(officer.post("/api/v1/supervision-sessions", headers={"Idempotency-Key": key()}, json={
        "supervisor_id": expert["id"], "station_id": s1, "kind": "group", "setting": "external",
        "method": "on_site", "held_on": today.isoformat(), "duration_minutes": 90,
        "topics": ["个案督导"], "room_workers": 2}), 201)
    done = ok(officer.post("/api/v1/inspections", json={
        "station_id": s1, "kind": "special", "checklist_code": code,
        "visited_on": (today - datetime.timedelta(days=20)).isoformat()}), 201)
    ok(officer.post(f"/api/v1/inspections/{done['id']}/scores", json={"scores": {
        "premises": {"value": True}, "staffing": {"value": True}, "casework": {"value": 8},
        "records": {"value": 3, "notes": "部分台账缺失"}}}))
    finding = ok(officer.post(f"/api/v1/inspections/{done['id']}/findings", json={
        "item_key": "records", "observation": "部分服务台账缺失", "recommendation": "补齐台账并建立归档制度",
        "severity": "major"}), 201)
    ok(officer.post(f"/api/v1/inspections/{done['id']}/complete", json={}))
    world["inspection_done"] = done["id"]
    world["rectification"] = finding["rectification_id"]
    planned = ok(officer.post("/api/v1/inspections", json={
        "station_id": s2, "kind": "daily", "checklist_code": code, "visited_on": today.isoformat()}), 201)
    world["inspection_planned"] = planned["id"]
    report = {"casework": 5, "group_work": 2, "community_activities": 3,
              "served": {"elderly": 30, "children": 12, "disabled": 2, "others": 6},
              "narrative": "开展敬老探访、四点半课堂等服务。"}
    ok(staff.post(f"/api/v1/monthly-reports/{s1}/{world['last_month']}", json=report), 201)
    return world
