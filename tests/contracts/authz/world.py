"""The small world the authorisation matrix is driven against, built over HTTP once.

Three townships, each with a station and what hangs off it (staff, room, volunteer,
team, activity, hours, certificate, fund, donation with receipt, disbursement,
ledger entry, supervisor, session, inspection, finding and rectification, monthly
report, account):

    A  a township of county A (city X)   the callers' own
    B  a township of county B (city X)   sibling of county A
    C  a township of county C (city Y)   sibling of city X

plus records above the township level where a resource may live there (funds,
supervisors, accounts): AC (county A), X (city X), P (the province).

The callers: province_admin 34, city_officer X, county_officer A, station_staff
(township of A), auditor A. Each role's own / sibling / parent target is in
POSITIONS. Personal values are unique per position so a masked answer is checked
by looking for the full values (PERSONAL).
"""
import datetime
import uuid

from services.charity import rules as charity_rules
from services.common.clock import china_today
from services.volunteer.id_numbers import id_check_character
from tests.fixtures import wait_for

ROLES = ("province_admin", "city_officer", "county_officer", "station_staff", "auditor")
CELLS = ("own", "sibling", "parent")

# role -> {cell: position}; None: no such target for the role (province has no sibling).
POSITIONS = {
    "province_admin": {"own": "A", "sibling": None, "parent": None},
    "city_officer": {"own": "A", "sibling": "C", "parent": "P"},
    "county_officer": {"own": "A", "sibling": "B", "parent": "X"},
    "station_staff": {"own": "A", "sibling": "B", "parent": "AC"},
    "auditor": {"own": "A", "sibling": "B", "parent": "X"},
}

SURNAMES = {"A": "甲", "B": "乙", "C": "丙", "AC": "丁", "X": "戊", "P": "己"}


def ok(response, status=(200, 201)):
    status = (status,) if isinstance(status, int) else status
    assert response.status_code in status, (response.request.method, response.request.url,
                                            response.status_code, response.text)
    return response.json() if response.content else None


def credit_code():
    first17 = f"53340100MJ{uuid.uuid4().int % 10 ** 7:07d}"
    return first17 + charity_rules.credit_check_character(first17)


class World:
    def __init__(self, api, units):
        self.api = api
        self.admin = api("province_admin", "34", sub="authz-admin")
        self.units = units
        self.regions = {}      # position -> region code
        self.t = {}            # position -> {kind: id or record}
        self.personal = set()  # every full personal value entered
        self.id_numbers = {}   # volunteer number -> ID number
        self.seq = 0

    # ---- the callers ----

    def callers(self):
        a = self.regions
        return {
            "province_admin": self.admin,
            "city_officer": self.api("city_officer", a["X"], sub="authz-city"),
            "county_officer": self.api("county_officer", a["AC"], sub="authz-county"),
            "station_staff": self.api("station_staff", a["A"], sub="authz-staff"),
            "auditor": self.api("auditor", a["AC"], sub="authz-auditor"),
        }

    def caller_region(self, role):
        return {"province_admin": "34", "city_officer": self.regions["X"],
                "county_officer": self.regions["AC"], "station_staff": self.regions["A"],
                "auditor": self.regions["AC"]}[role]

    def region_of_cell(self, role, cell):
        """The region code a list is asked for in a cell (own: the caller's own)."""
        if cell == "own":
            return self.caller_region(role)
        position = POSITIONS[role][cell]
        if position is None:
            return None
        if cell == "parent":
            return self.regions[position]
        # sibling: the region at the caller's own level
        return self.regions[position][:len(self.caller_region(role))]

    # ---- building ----

    def person(self, position, what):
        self.seq += 1
        name = f"{SURNAMES[position]}{what}{'一二三四五六七八九十'[self.seq % 10]}"
        phone = f"139{self.seq:04d}{uuid.uuid4().int % 10 ** 4:04d}"
        self.personal.update({name, phone})
        return name, phone

    def id_number(self, county, born):
        self.seq += 1
        first17 = f"{county}{born:%Y%m%d}{self.seq % 1000:03d}"
        number = first17 + id_check_character(first17)
        self.personal.add(number)
        return number

    def pick_units(self):
        first_code, first = self.units.county(at_least=2)
        while True:
            code, townships = self.units.county(at_least=2)
            if code[:4] == first_code[:4]:
                second = (code, townships)
                break
            first_code, first = code, townships
        while True:
            code, townships = self.units.county(at_least=2)
            if code[:4] != first_code[:4]:
                third = (code, townships)
                break
        self.unit = {"A": first[0], "B": second[1][0], "C": third[1][0]}
        # a township without a station, for creating one in each region
        self.free = {"A": first[1]["code"], "B": second[1][1]["code"], "C": third[1][1]["code"]}
        self.regions = {"A": first[0]["code"], "B": second[1][0]["code"], "C": third[1][0]["code"],
                        "AC": first_code, "X": first_code[:4], "P": "34"}

    def build(self):
        self.pick_units()
        for position in ("A", "B", "C"):
            self.t[position] = {"region": self.regions[position], "free_township": self.free[position]}
            self.station(position)
        for position in ("A", "B", "C"):
            self.volunteer_side(position)
        for position in ("A", "B", "C"):
            self.charity_side(position)
        for position in ("AC", "X", "P"):
            self.t[position] = {"region": self.regions[position]}
            self.level_records(position)
        self.checklist()
        for position in ("A", "B", "C"):
            self.supervision_side(position)
        for position in ("A", "B", "C", "AC", "X", "P"):
            self.account(position)
        return self

    def station(self, p):
        unit = self.unit[p]
        station = ok(self.admin.post("/api/v1/stations", json={
            "division_code": unit["code"], "name": f"{unit['name']}权限测试社工站",
            "planned_on": "2025-09-01"}))
        for to, on in (("built", "2025-12-01"), ("operating", "2026-02-01")):
            ok(self.admin.post(f"/api/v1/stations/{station['id']}/transitions", json={"to": to, "on": on}))
        t = self.t[p]
        t["station_id"] = station["id"]
        name, phone = self.person(p, "站长")
        staff = ok(self.admin.post(f"/api/v1/stations/{station['id']}/staff", json={
            "role": "head", "name": name, "phone": phone}))
        t["staff_id"] = staff["id"]
        for extra in ("resident",):  # a second staff member, for DELETE
            name, phone = self.person(p, "社工")
            t["staff_id_2"] = ok(self.admin.post(f"/api/v1/stations/{station['id']}/staff", json={
                "role": extra, "name": name, "phone": phone}))["id"]
        villages = ok(self.admin.get(f"/api/v1/divisions?parent={unit['code']}"))["items"]
        t["village_code"] = villages[0]["code"]
        t["room_id"] = ok(self.admin.post(f"/api/v1/stations/{station['id']}/rooms", json={
            "kind": "room", "name": "权限测试活动室", "village_code": t["village_code"]}))["id"]
        t["room_id_2"] = ok(self.admin.post(f"/api/v1/stations/{station['id']}/rooms", json={
            "kind": "micro_site", "name": "权限测试微站点", "village_code": t["village_code"]}))["id"]

    def volunteer_side(self, p):
        t = self.t[p]

        def team():
            response = self.admin.post("/api/v1/teams", json={"station_id": t["station_id"],
                                                              "name": "权限测试志愿服务队"})
            return None if response.status_code == 404 else ok(response)

        t["team_id"] = wait_for(team, timeout=30, message="the volunteer service to know the station")["id"]
        t["volunteer_numbers"] = []
        for i in range(3):
            born = datetime.date(1980 + i, 5, 1)
            name, phone = self.person(p, "志愿")
            id_number = self.id_number(self.regions[p][:6], born)
            volunteer = ok(self.admin.post("/api/v1/volunteers", json={
                "name": name, "id_number": id_number, "phone": phone,
                "birth_date": born.isoformat(), "station_id": t["station_id"]}))
            t["volunteer_numbers"].append(volunteer["number"])
            self.id_numbers[volunteer["number"]] = id_number
        t["number"] = t["volunteer_numbers"][0]
        ok(self.admin.post(f"/api/v1/teams/{t['team_id']}/members", json={"volunteer_number": t["number"]}))
        ok(self.admin.post(f"/api/v1/teams/{t['team_id']}/members",
                           json={"volunteer_number": t["volunteer_numbers"][1]}))
        day = china_today() - datetime.timedelta(days=3)
        activity = ok(self.admin.post("/api/v1/activities", json={
            "team_id": t["team_id"], "title": "权限测试活动", "category": "elderly", "place": "社区",
            "starts_at": f"{day}T00:00:00+08:00", "ends_at": f"{day}T23:00:00+08:00", "capacity": 50}))
        t["activity_id"] = activity["id"]
        t["day"] = day.isoformat()
        t["hours"] = []
        for hour in range(8, 14):  # one record per hour: approve, reject, correct, batch, ...
            record = ok(self.admin.post("/api/v1/hours", json={
                "volunteer_number": t["number"], "activity_id": activity["id"],
                "start": f"{day}T{hour:02d}:00:00+08:00", "end": f"{day}T{hour:02d}:50:00+08:00"},
                headers={"Idempotency-Key": f"authz-{uuid.uuid4().hex}"}))
            t["hours"].append(record["id"])
        t["record_id"] = t["hours"][0]
        ok(self.admin.post(f"/api/v1/hours/{t['hours'][5]}/approve", json={}))
        certificate = ok(self.admin.post("/api/v1/certificates", json={
            "volunteer_number": t["number"], "from": t["day"], "to": t["day"]}))
        t["certificate"] = certificate["number"]

    def fund(self, p, where):
        committee = []
        for role in ("chair", "member", "member", "member", "supervisor"):
            name, _ = self.person(p, "委员")
            committee.append({"name": name, "role": role})

        def attempt():
            response = self.admin.post("/api/v1/charity/funds", headers={"Idempotency-Key": uuid.uuid4().hex},
                                       json=dict(where, name="权限测试慈善基金", kind="community_fund",
                                                 purpose="扶老助残", committee=committee,
                                                 host={"name": "权限测试慈善协会", "credit_code": credit_code()}))
            return None if response.status_code == 404 else ok(response)

        return wait_for(attempt, timeout=30, message="the charity service to know the station")["id"]

    def donation(self, p, fund_id, key):
        name, phone = self.person(p, "捐赠")
        return ok(self.admin.post("/api/v1/charity/donations", headers={"Idempotency-Key": key}, json={
            "fund_id": fund_id, "kind": "money", "received_on": china_today().isoformat(),
            "amount_fen": 1_000_000, "channel": "bank_transfer",
            "donor": {"kind": "person", "name": name, "phone": phone, "consent_public": False}}))

    def disbursement(self, p, fund_id, key):
        name, _ = self.person(p, "受助")
        return ok(self.admin.post("/api/v1/charity/disbursements", headers={"Idempotency-Key": key}, json={
            "fund_id": fund_id, "purpose": "困难家庭临时救助", "category": "direct_aid",
            "payee": {"kind": "person", "name": name}, "amount_fen": 10_000}))["id"]

    def charity_side(self, p):
        t = self.t[p]
        t["fund_id"] = self.fund(p, {"station_id": t["station_id"]})
        donation = self.donation(p, t["fund_id"], f"authz-d-{p}-{uuid.uuid4().hex[:6]}")
        t["donation_id"] = donation["id"]
        t["receipt"] = donation["receipt_number"]
        t["receipt_2"] = self.donation(p, t["fund_id"], f"authz-d2-{p}-{uuid.uuid4().hex[:6]}")["receipt_number"]
        t["disbursements"] = [self.disbursement(p, t["fund_id"], f"authz-r-{p}-{i}-{uuid.uuid4().hex[:6]}")
                              for i in range(4)]
        t["disbursement_id"] = t["disbursements"][0]
        entries = ok(self.admin.get(f"/api/v1/charity/funds/{t['fund_id']}/entries"))["items"]
        t["entry_id"] = entries[0]["id"]
        t["contract_id"], t["milestone_id"] = self.contract(t)
        t["round_id"], t["application_id"] = self.venture_round(t)

    def venture_round(self, t):
        """A micro-charity round every caller of the matrix reviews for, with one application."""
        today = china_today()
        reviewers = [{"sub": sub, "name": sub} for sub in
                     ("authz-admin", "authz-city", "authz-county", "authz-staff", "authz-auditor")]
        round_ = ok(self.admin.post("/api/v1/charity/rounds", json={
            "fund_id": t["fund_id"], "title": "权限测试微公益创投", "budget_fen": 100_000,
            "call_from": (today - datetime.timedelta(days=1)).isoformat(),
            "call_to": (today + datetime.timedelta(days=30)).isoformat(),
            "criteria": [{"key": "impact", "title": "成效", "weight": 100}], "reviewers": reviewers}))
        application = ok(self.admin.post(f"/api/v1/charity/rounds/{round_['id']}/applications",
                                         json=APPLICATION(t)))
        return round_["id"], application["id"]

    def contract(self, t):
        year = china_today().year
        contract = ok(self.admin.post("/api/v1/charity/contracts", json={
            "fund_id": t["fund_id"], "title": "权限测试购买服务", "purchaser": {"name": "民政局"},
            "provider": {"name": "权限测试社工机构", "credit_code": credit_code()},
            "amount_fen": 100_000, "period_from": f"{year}-01-01", "period_to": f"{year}-12-31",
            "milestones": [{"title": "中期", "due_on": f"{year}-06-30", "amount_fen": 50_000},
                           {"title": "结项", "due_on": f"{year}-12-31", "amount_fen": 50_000}]}))
        return contract["id"], contract["milestones"][0]["id"]

    def level_records(self, p):
        """Records above the township: a fund at that level, a supervisor (city/county)."""
        t = self.t[p]
        t["fund_id"] = self.fund(p, {"region": self.regions[p]})
        if len(self.regions[p]) in (4, 6):
            t["supervisor_id"] = self.supervisor(p, self.regions[p])

    def supervisor(self, p, home_region):
        name, phone = self.person(p, "督导")
        return ok(self.admin.post("/api/v1/supervisors", json={
            "name": name, "kind": "expert", "organisation": "权限测试督导中心",
            "home_region": home_region, "phone": phone}))["id"]

    def checklist(self):
        self.checklist_code = f"authz-{uuid.uuid4().hex[:8]}"
        ok(self.admin.post("/api/v1/checklists", json={
            "code": self.checklist_code, "title": "权限测试检查表", "sections": [
                {"key": "liuyou", "title": "六有", "kind": "liuyou", "items": [
                    {"key": "premises", "title": "有场所", "weight": 1, "rule": {"kind": "pass_fail"}}]}]}))

    def supervision_side(self, p):
        t = self.t[p]
        wait_for(lambda: self.admin.get(f"/api/v1/compliance-calendar?station_id={t['station_id']}")
                 .status_code == 200, timeout=30, message="the supervision service to know the station")
        t["supervisor_id"] = self.supervisor(p, self.regions[p][:6])
        t["session_id"] = ok(self.admin.post("/api/v1/supervision-sessions", headers={
            "Idempotency-Key": f"authz-s-{p}-{uuid.uuid4().hex[:6]}"}, json={
            "supervisor_id": t["supervisor_id"], "station_id": t["station_id"], "kind": "group",
            "setting": "external", "method": "on_site", "held_on": china_today().isoformat(),
            "duration_minutes": 90, "topics": ["个案督导"], "room_workers": 2}))["id"]
        visited = (china_today() - datetime.timedelta(days=1)).isoformat()
        t["inspections"] = []
        for _ in range(2):
            t["inspections"].append(ok(self.admin.post("/api/v1/inspections", json={
                "station_id": t["station_id"], "kind": "daily", "checklist_code": self.checklist_code,
                "visited_on": visited}))["id"])
        t["inspection_id"] = t["inspections"][0]
        t["rectifications"] = []
        for _ in range(3):
            finding = ok(self.admin.post(f"/api/v1/inspections/{t['inspections'][1]}/findings", json={
                "item_key": "premises", "observation": "场地不足", "recommendation": "补齐",
                "severity": "major"}))
            t["rectifications"].append(finding["rectification_id"])
        t["item_id"] = t["rectifications"][0]
        t["month"] = f"{china_today():%Y-%m}"
        previous = china_today().replace(day=1) - datetime.timedelta(days=1)
        t["month_filed"] = f"{previous:%Y-%m}"
        ok(self.admin.post(f"/api/v1/monthly-reports/{t['station_id']}/{t['month_filed']}", json=REPORT),
           status=(201, 409))

    def account(self, p):
        t = self.t[p]
        region = self.regions[p]
        role = {9: "station_staff", 6: "county_officer", 4: "city_officer", 2: "auditor"}[len(region)]
        name, _ = self.person(p, "账号")
        t["account_id"] = ok(self.admin.post("/api/v1/accounts", json={
            "login": f"authz-{p.lower()}-{uuid.uuid4().hex[:6]}", "display_name": name,
            "role": role, "region": region}))["id"]


def APPLICATION(t):
    return {"applicant": {"kind": "community", "name": "权限测试社区", "community_code": t["village_code"]},
            "title": "权限测试项目", "summary": "为老服务", "budget_lines": [{"item": "物资", "amount_fen": 1000}],
            "milestones": [{"key": "m1", "title": "结项", "due_on": (china_today() + datetime.timedelta(days=60)).isoformat()}]}


REPORT = {"casework": 1, "group_work": 1, "community_activities": 1,
          "served": {"elderly": 1, "children": 1, "disabled": 0, "others": 0}}
