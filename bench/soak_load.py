"""The soak's load: officers working through the gateway as careful clients.

Each client thread owns a lane (one county: a work station, a station whose
status it toggles, a team and activity, a fund, an open inspection) so lanes
never contend for the same rule (one township's stations, one volunteer's
hours). A command that gets 502/503/504 or no answer is sent again with the
same `Idempotency-Key`; where the platform keeps no key for a command, a
retry answered 409 is checked against what the platform holds ("landed": the
first attempt had been applied), and an unkeyed creation is looked up before
it is sent again, so a careful client never makes a thing twice.
"""
import datetime
import itertools
import random
import threading
import time

import requests

from gateway.auth import issue_token
from services.common.clock import china_today
from services.volunteer.id_numbers import id_check_character

RETRYABLE = {502, 503, 504}
HTTP_TIMEOUT = 25          # above the soak's RPC_TIMEOUT, so the gateway answers first
OP_DEADLINE = 240          # a command given up on after this long is "unresolved"
FIRST_MONTH = datetime.date(2020, 3, 1)
NAMES = "张伟 王芳 李娜 刘洋 陈静 杨磊 赵敏 黄勇 周杰 吴霞 徐明 孙丽".split()


class Op:
    """One logical command or read, however many attempts it took."""

    __slots__ = ("kind", "lane", "started", "ended", "status", "outcome", "attempts", "body", "ref")

    def __init__(self, kind, lane):
        self.kind, self.lane = kind, lane
        self.started = time.monotonic()
        self.ended = None
        self.status = None
        self.outcome = None      # ok | landed | refused | unresolved
        self.attempts = 0
        self.body = None
        self.ref = None          # what the check looks for afterwards


class Client:
    def __init__(self, base_url, role, region, sub):
        self.base_url = base_url + "/api/v1"
        self.session = requests.Session()
        self.session.headers["Authorization"] = "Bearer " + issue_token(role, region, sub=sub)

    def once(self, method, path, **kwargs):
        return self.session.request(method, self.base_url + path, timeout=HTTP_TIMEOUT, **kwargs)

    def call(self, op, method, path, json=None, key=None, landed=None, before_retry=None):
        """Send until an answer that is not 502/503/504; op records how it went.

        landed(response) -> True when a 409 on a retry means the first attempt was
        applied; before_retry() -> a truthy value when an unanswered attempt is
        found applied (then nothing is sent again)."""
        headers = {"Idempotency-Key": key} if key else {}
        deadline = op.started + OP_DEADLINE
        pause = 0.25
        uncertain = False
        while True:
            if uncertain and before_retry is not None:
                found = before_retry()
                if found:
                    return self._end(op, 200, found, "landed")
            op.attempts += 1
            try:
                response = self.once(method, path, json=json, headers=headers)
            except requests.RequestException:
                response = None
            if response is not None and response.status_code not in RETRYABLE:
                body = _json(response)
                if 200 <= response.status_code < 300:
                    return self._end(op, response.status_code, body, "ok")
                if uncertain and response.status_code == 409 and landed is not None and landed(body):
                    return self._end(op, response.status_code, body, "landed")
                return self._end(op, response.status_code, body, "refused")
            uncertain = True
            if time.monotonic() > deadline:
                return self._end(op, response.status_code if response is not None else None,
                                 None, "unresolved")
            time.sleep(pause)
            pause = min(pause * 2, 3.0)

    def get(self, path):
        """A read for the lane's own bookkeeping: retried until answered."""
        deadline = time.monotonic() + OP_DEADLINE
        while True:
            try:
                response = self.once("GET", path)
                if response.status_code not in RETRYABLE:
                    return response.status_code, _json(response)
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                return None, None
            time.sleep(0.5)

    @staticmethod
    def _end(op, status, body, outcome):
        op.ended, op.status, op.body, op.outcome = time.monotonic(), status, body, outcome
        return op


def _json(response):
    try:
        return response.json()
    except ValueError:
        return None


def id_number(county, seq):
    born = datetime.date(1960, 1, 1) + datetime.timedelta(days=seq // 900)
    first17 = f"{county}{born:%Y%m%d}{seq % 900 + 100:03d}"
    return first17 + id_check_character(first17), born


def credit_code(seq):
    from services.charity import rules

    first17 = f"53340100MJ{seq:07d}"
    return first17 + rules.credit_check_character(first17)


def wait_known(fn, timeout=90):
    """Until another service has learnt the lane's station from the registry's events."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = fn()
        if found:
            return found
        time.sleep(0.3)
    raise RuntimeError("a service did not learn of a station from the registry's events in time")


class Lane:
    """One client thread's county and what it has made there."""

    def __init__(self, n, run_id, base_url, county, townships, checklist_code):
        self.n, self.run, self.county = n, run_id, county
        self.work_unit, self.toggle_unit = townships[0], townships[1]
        self.checklist_code = checklist_code
        self.admin = Client(base_url, "province_admin", "34", f"soak-admin-{n}")
        self.officer = Client(base_url, "county_officer", county, f"soak-officer-a-{n}")
        self.approver = Client(base_url, "county_officer", county, f"soak-officer-b-{n}")
        self.staff = Client(base_url, "station_staff", self.work_unit["code"], f"soak-staff-{n}")
        self.seq = itertools.count(1)
        self.random = random.Random(n)
        # what the platform acknowledged, for the checks
        self.volunteers = []           # numbers
        self.slots = {}                # volunteer number -> hour records made
        self.recorded = []             # hour record ids not yet approved
        self.hours = []                # every acknowledged hour record id
        self.approved = []
        self.donations = []            # payer references
        self.requested, self.approved_d, self.paid = [], [], []   # disbursement ids
        self.disbursement_refs = []    # purposes
        self.months = self._months()
        self.reports = []
        self.findings, self.submitted, self.closed = [], [], []   # rectification ids
        self.finding_refs = []
        self.toggle_status = "operating"
        self.toggles = 0
        self.population = None

    def _months(self):
        last = china_today().replace(day=1) - datetime.timedelta(days=1)
        months, day = [], FIRST_MONTH
        while day <= last:
            months.append(f"{day:%Y-%m}")
            day = (day + datetime.timedelta(days=32)).replace(day=1)
        return months

    def key(self, what):
        return f"soak-{self.run}-{self.n}-{what}-{next(self.seq)}"

    # ---- setup, before any fault ------------------------------------------------

    def setup(self):
        self.station = self._open_station(self.work_unit)
        self.toggle_station = self._open_station(self.toggle_unit)
        self.team = wait_known(lambda: self._ok(self.staff.once("POST", "/teams", json={
            "station_id": self.station, "name": "平安志愿服务队", "kind": "general"}), 201))["id"]
        today = china_today()
        self.window_start = datetime.datetime.combine(today - datetime.timedelta(days=360),
                                                      datetime.time(0, 0))
        self.activity = self._ok(self.staff.once("POST", "/activities", json={
            "team_id": self.team, "title": "邻里守望", "category": "elderly", "place": "镇敬老院",
            "starts_at": self.window_start.isoformat() + "+08:00",
            "ends_at": datetime.datetime.combine(today - datetime.timedelta(days=1),
                                                 datetime.time(23, 0)).isoformat() + "+08:00",
            "capacity": 100_000}), 201, must=True)["id"]
        self.fund = self._ok(self.approver.once("POST", "/charity/funds", headers={
            "Idempotency-Key": self.key("fund")}, json={
            "name": "社区慈善基金", "kind": "community_fund", "purpose": "扶老助残",
            "region": self.work_unit["code"], "opening_balance_fen": 1_000_000_000,
            "host": {"name": "县慈善协会", "credit_code": credit_code(self.n * 1000 + 7)},
            "committee": [{"name": n, "role": r} for n, r in [
                ("张主任", "chair"), ("李委员", "member"), ("王委员", "member"), ("赵委员", "member"),
                ("钱监事", "supervisor")]]}), 201, must=True)["id"]
        wait_known(lambda: self.officer.once(
            "GET", f"/compliance-calendar?station_id={self.station}").status_code == 200)
        self.inspection = self._ok(self.officer.once("POST", "/inspections", json={
            "station_id": self.station, "kind": "daily", "checklist_code": self.checklist_code,
            "visited_on": (today - datetime.timedelta(days=1)).isoformat()}), 201, must=True)["id"]

    def _open_station(self, unit):
        station = self._ok(self.admin.once("POST", "/stations", json={
            "division_code": unit["code"], "name": f"{unit['name']}社工站",
            "planned_on": "2020-01-01"}), 201, must=True)["id"]
        for to, on in (("built", "2020-02-01"), ("operating", "2020-03-01")):
            self._ok(self.admin.once("POST", f"/stations/{station}/transitions",
                                     json={"to": to, "on": on}), 200, must=True)
        return station

    @staticmethod
    def _ok(response, status, must=False):
        if response.status_code == status:
            return response.json()
        if must:
            raise RuntimeError(f"setup: {response.request.method} {response.request.url} "
                               f"answered {response.status_code}: {response.text[:300]}")
        return None

    # ---- the operations -----------------------------------------------------------

    def choose(self):
        r = self.random
        options = [("register_volunteer", 8), ("donation", 10), ("station_update", 3),
                   ("station_transition", 3)]
        if self.volunteers:
            options.append(("record_hours", 25))
        if self.recorded:
            options.append(("approve_hours", 15))
        options.append(("request_disbursement", 5))
        if self.requested:
            options.append(("approve_disbursement", 5))
        if self.approved_d:
            options.append(("pay_disbursement", 5))
        if self.months:
            options.append(("monthly_report", 6))
        options.append(("raise_finding", 3))
        if self.findings:
            options.append(("submit_rectification", 3))
        if self.submitted:
            options.append(("close_rectification", 3))
        total = sum(w for _, w in options)
        pick = r.uniform(0, total)
        for kind, weight in options:
            pick -= weight
            if pick <= 0:
                return kind
        return options[-1][0]

    def run_one(self):
        kind = self.choose()
        op = Op(kind, self.n)
        getattr(self, kind)(op)
        return op

    def register_volunteer(self, op):
        seq = next(self.seq)
        number, born = id_number(self.county, seq)
        self.staff.call(op, "POST", "/volunteers", json={
            "name": NAMES[seq % len(NAMES)], "id_number": number,
            "phone": f"139{seq:08d}", "birth_date": born.isoformat(), "station_id": self.station,
            "skills": ["陪伴"], "availability": ["weekend_morning"]},
            landed=lambda body: bool(_details(body).get("volunteer_number")))
        found = (op.body or {}).get("number") or _details(op.body).get("volunteer_number")
        if op.outcome in ("ok", "landed") and found:
            op.ref = found
            self.volunteers.append(found)

    def record_hours(self, op):
        volunteer = self.random.choice(self.volunteers)
        k = self.slots.get(volunteer, 0)
        if k >= 4 * 355:
            return self.register_volunteer(op)
        self.slots[volunteer] = k + 1
        start = self.window_start + datetime.timedelta(days=k // 4, hours=8 + 2 * (k % 4))
        self.staff.call(op, "POST", "/hours", key=self.key("hours"), json={
            "volunteer_number": volunteer, "activity_id": self.activity,
            "start": start.isoformat() + "+08:00",
            "end": (start + datetime.timedelta(hours=1)).isoformat() + "+08:00"})
        if op.outcome == "ok":
            op.ref = op.body["id"]
            self.recorded.append(op.ref)
            self.hours.append(op.ref)

    def approve_hours(self, op):
        record = self.recorded.pop(self.random.randrange(len(self.recorded)))
        self.officer.call(op, "POST", f"/hours/{record}/approve", json={"note": "签到表核对"},
                          landed=lambda body: self._status(f"/hours/{record}") == "approved")
        if op.outcome in ("ok", "landed"):
            op.ref = record
            self.approved.append(record)

    def donation(self, op):
        ref = self.key("donation")
        self.staff.call(op, "POST", "/charity/donations", key=ref, json={
            "fund_id": self.fund, "kind": "money", "received_on": (china_today() - datetime.timedelta(
                days=1)).isoformat(), "amount_fen": self.random.randint(100, 500_000),
            "channel": "online", "payer_reference": ref,
            "donor": {"kind": "anonymous"}})
        if op.outcome == "ok":
            op.ref = ref
            self.donations.append(ref)

    def request_disbursement(self, op):
        ref = self.key("disbursement")
        self.officer.call(op, "POST", "/charity/disbursements", key=ref, json={
            "fund_id": self.fund, "purpose": ref, "category": "direct_aid",
            "payee": {"kind": "person", "name": "王大妈"},
            "amount_fen": self.random.randint(100, 50_000), "documents": ["救助申请表"]})
        if op.outcome == "ok":
            op.ref = op.body["id"]
            self.requested.append(op.ref)
            self.disbursement_refs.append(ref)

    def approve_disbursement(self, op):
        item = self.requested.pop(0)
        self.approver.call(op, "POST", f"/charity/disbursements/{item}/approve", key=self.key("approve"))
        if op.outcome == "ok":
            op.ref = item
            self.approved_d.append(item)

    def pay_disbursement(self, op):
        item = self.approved_d.pop(0)
        self.approver.call(op, "POST", f"/charity/disbursements/{item}/pay", key=self.key("pay"),
                           json={"payment_reference": "网银回单"})
        if op.outcome == "ok":
            op.ref = item
            self.paid.append(item)

    def monthly_report(self, op):
        month = self.months.pop(0)
        path = f"/monthly-reports/{self.station}/{month}"
        self.staff.call(op, "POST", path, json={
            "casework": 2, "group_work": 1, "community_activities": 3,
            "served": {"elderly": 10, "children": 4, "disabled": 1, "others": 2},
            "narrative": "本月工作"}, landed=lambda body: self._status(path) == "submitted")
        if op.outcome in ("ok", "landed"):
            op.ref = month
            self.reports.append(month)

    def raise_finding(self, op):
        ref = self.key("finding")

        def applied():   # no Idempotency-Key here: look before sending again
            _, page = self.officer.get(f"/rectifications?inspection_id={self.inspection}&per_page=500")
            return next((r for r in (page or {}).get("items", []) if r.get("observation") == ref), None)

        self.officer.call(op, "POST", f"/inspections/{self.inspection}/findings", json={
            "item_key": "books", "observation": ref, "recommendation": "补齐凭证",
            "severity": "minor"}, before_retry=applied)
        item = (op.body or {}).get("rectification_id" if op.outcome == "ok" else "id")
        if op.outcome in ("ok", "landed") and item:
            op.ref = ref
            self.findings.append(item)
            self.finding_refs.append(ref)

    def submit_rectification(self, op):
        item = self.findings.pop(0)
        path = f"/rectifications/{item}"
        self.staff.call(op, "POST", path + "/submit", json={"evidence": {"notes": "已整改"}},
                        landed=lambda body: self._status(path, self.staff) == "submitted")
        if op.outcome in ("ok", "landed"):
            op.ref = item
            self.submitted.append(item)

    def close_rectification(self, op):
        item = self.submitted.pop(0)
        path = f"/rectifications/{item}"
        self.officer.call(op, "POST", path + "/close", json={"note": "已核"},
                          landed=lambda body: self._status(path) == "closed")
        if op.outcome in ("ok", "landed"):
            op.ref = item
            self.closed.append(item)

    def station_update(self, op):
        population = self.random.randint(1000, 90_000)
        self.admin.call(op, "PATCH", f"/stations/{self.toggle_station}",
                        json={"population_served": population})
        if op.outcome == "ok":
            self.population = population

    def station_transition(self, op):
        to = "suspended" if self.toggle_status == "operating" else "operating"
        path = f"/stations/{self.toggle_station}"
        self.admin.call(op, "POST", path + "/transitions", json={
            "to": to, "on": china_today().isoformat(), "note": "soak"},
            landed=lambda body: self._status(path, self.admin) == to)
        if op.outcome in ("ok", "landed"):
            self.toggle_status = to
            self.toggles += 1

    def _status(self, path, client=None):
        _, body = (client or self.officer).get(path)
        return (body or {}).get("status")


def _details(body):
    return ((body or {}).get("error") or {}).get("details") or {}


class Load:
    """Client threads running lanes until `operations` are done or `seconds` pass."""

    def __init__(self, lanes, operations, seconds, more=lambda: False):
        """more() -> True while the load must go on past `operations` (faults still due)."""
        self.lanes, self.operations, self.seconds, self.more = lanes, operations, seconds, more
        self.ops = []
        self.lock = threading.Lock()
        self.stop = threading.Event()

    def count(self):
        return len(self.ops)

    def run(self):
        deadline = time.monotonic() + self.seconds
        threads = [threading.Thread(target=self._client, args=(lane, deadline), daemon=True)
                   for lane in self.lanes]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    def _client(self, lane, deadline):
        while not self.stop.is_set() and time.monotonic() < deadline:
            with self.lock:
                if len(self.ops) >= self.operations and not self.more():
                    return
                self.ops.append(None)
                slot = len(self.ops) - 1
            op = lane.run_one()
            self.ops[slot] = op
