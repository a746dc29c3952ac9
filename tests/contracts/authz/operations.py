"""How a cell of the matrix becomes a request: the target kinds the table names
(which record of the world the path ids and the body come from) and the bodies
of writes. Expectations are not here: they are in authorization_matrix.md.

A target kind maps the records of one position of the world (World.t[position])
to the path variables, and names a probe: a GET an admin makes before and after
refused writes, which must answer the same.
"""
import datetime
import uuid

from tests.contracts.authz.world import APPLICATION, REPORT


def _first(key):
    return lambda t: t.get(key)


# kind -> (path variables of a position's records or None when it has none, probe path)
TARGETS = {
    "list": (lambda t: {}, None),
    "global": (lambda t: {}, None),
    "none": (lambda t: {}, None),
    "self": (lambda t: {}, None),
    "public": (lambda t: {}, None),
    "station": (lambda t: t.get("station_id") and {"station_id": t["station_id"]},
                "/api/v1/stations/{station_id}"),
    "township": (lambda t: t.get("free_township") and {"division_code": t["free_township"]},
                 "/api/v1/stations?region={division_code}"),
    "staff": (lambda t: t.get("staff_id") and {"station_id": t["station_id"], "staff_id": t["staff_id"]},
              "/api/v1/stations/{station_id}/staff"),
    "staff2": (lambda t: t.get("staff_id_2") and {"station_id": t["station_id"], "staff_id": t["staff_id_2"]},
               "/api/v1/stations/{station_id}/staff"),
    "room2": (lambda t: t.get("room_id_2") and {"station_id": t["station_id"], "room_id": t["room_id_2"]},
              "/api/v1/stations/{station_id}/rooms"),
    "team": (lambda t: t.get("team_id") and {"team_id": t["team_id"]}, "/api/v1/teams/{team_id}/members"),
    "member": (lambda t: t.get("team_id") and {"team_id": t["team_id"], "number": t["volunteer_numbers"][1]},
               "/api/v1/teams/{team_id}/members"),
    "activity": (lambda t: t.get("activity_id") and {"activity_id": t["activity_id"]},
                 "/api/v1/hours?activity_id={activity_id}"),
    "volunteer": (lambda t: t.get("number") and {"number": t["number"]}, "/api/v1/volunteers/{number}"),
    "hours": (lambda t: t.get("hours") and {"record_id": t["hours"][0]}, "/api/v1/hours/{record_id}"),
    "hours-approve": (lambda t: t.get("hours") and {"record_id": t["hours"][1]}, "/api/v1/hours/{record_id}"),
    "hours-reject": (lambda t: t.get("hours") and {"record_id": t["hours"][2]}, "/api/v1/hours/{record_id}"),
    "hours-correct": (lambda t: t.get("hours") and {"record_id": t["hours"][3]}, "/api/v1/hours/{record_id}"),
    "hours-batch": (lambda t: t.get("hours") and {"record_id": t["hours"][4]}, "/api/v1/hours/{record_id}"),
    "certificate": (lambda t: t.get("certificate") and {"number": t["certificate"]}, None),
    "fund": (lambda t: t.get("fund_id") and {"fund_id": t["fund_id"]}, "/api/v1/charity/funds/{fund_id}"),
    "donation": (lambda t: t.get("donation_id") and {"donation_id": t["donation_id"]}, None),
    "receipt": (lambda t: t.get("receipt") and {"number": t["receipt"]}, "/api/v1/charity/receipts/{number}"),
    "receipt2": (lambda t: t.get("receipt_2") and {"number": t["receipt_2"]}, "/api/v1/charity/receipts/{number}"),
    "entry": (lambda t: t.get("entry_id") and {"entry_id": t["entry_id"], "fund_id": t["fund_id"]},
              "/api/v1/charity/funds/{fund_id}/balances"),
    "disbursement": (lambda t: t.get("disbursements") and {"disbursement_id": t["disbursements"][0]},
                     "/api/v1/charity/disbursements/{disbursement_id}"),
    "disbursement-approve": (lambda t: t.get("disbursements") and {"disbursement_id": t["disbursements"][1]},
                             "/api/v1/charity/disbursements/{disbursement_id}"),
    "disbursement-cancel": (lambda t: t.get("disbursements") and {"disbursement_id": t["disbursements"][2]},
                            "/api/v1/charity/disbursements/{disbursement_id}"),
    "disbursement-reject": (lambda t: t.get("disbursements") and {"disbursement_id": t["disbursements"][3]},
                            "/api/v1/charity/disbursements/{disbursement_id}"),
    "contract": (lambda t: t.get("contract_id") and {"contract_id": t["contract_id"]},
                 "/api/v1/charity/contracts/{contract_id}"),
    "milestone": (lambda t: t.get("contract_id") and {"contract_id": t["contract_id"],
                                                      "milestone_id": t["milestone_id"]},
                  "/api/v1/charity/contracts/{contract_id}"),
    "round": (lambda t: t.get("round_id") and {"round_id": t["round_id"]}, "/api/v1/charity/rounds/{round_id}"),
    "application": (lambda t: t.get("application_id") and {"application_id": t["application_id"],
                                                           "round_id": t["round_id"]},
                    "/api/v1/charity/rounds/{round_id}"),
    "supervisor": (lambda t: t.get("supervisor_id") and {"supervisor_id": t["supervisor_id"]},
                   "/api/v1/supervisors/{supervisor_id}"),
    "session": (lambda t: t.get("session_id") and {"session_id": t["session_id"]}, None),
    "inspection": (lambda t: t.get("inspection_id") and {"inspection_id": t["inspection_id"]},
                   "/api/v1/inspections/{inspection_id}"),
    "rectification": (lambda t: t.get("item_id") and {"item_id": t["item_id"]},
                      "/api/v1/rectifications/{item_id}"),
    "report": (lambda t: t.get("month") and {"station_id": t["station_id"], "month": t["month"]},
               "/api/v1/monthly-reports/{station_id}/{month}"),
    "report-filed": (lambda t: t.get("month_filed") and {"station_id": t["station_id"], "month": t["month_filed"]},
                     "/api/v1/monthly-reports/{station_id}/{month}"),
    "account": (lambda t: t.get("account_id") and {"account_id": t["account_id"]},
                "/api/v1/accounts/{account_id}"),
    "region": (lambda t: {"region": t["region"]}, "/api/v1/accounts?region={region}&per_page=100"),
    # a city or county (where a supervisor may have his home)
    "region46": (lambda t: len(t["region"]) in (4, 6) and {"region": t["region"]},
                 "/api/v1/supervisors?region={region}&per_page=100"),
    # figures of a region: the region is always named (own: the caller's own)
    "figures": (lambda t: {}, None),
}


def _stamp():
    return uuid.uuid4().hex[:8]


def _volunteer_body(world, t):
    born = datetime.date(1990, 1, 1)
    name, phone = world.person("A", "新志")
    return {"name": name, "id_number": world.id_number(t["region"][:6], born), "phone": phone,
            "birth_date": born.isoformat(), "station_id": t["station_id"]}


def _hours_body(world, t):
    world.seq += 1
    minute = world.seq % 50
    return {"volunteer_number": t["volunteer_numbers"][2], "activity_id": t["activity_id"],
            "start": f"{t['day']}T20:{minute:02d}:00+08:00", "end": f"{t['day']}T20:{minute + 5:02d}:00+08:00"}


def _committee(world):
    return [{"name": world.person("A", "新委")[0], "role": r}
            for r in ("chair", "member", "member", "member", "supervisor")]


def _fund_body(world, t):
    from tests.contracts.authz.world import credit_code
    return {"station_id": t["station_id"], "name": "新慈善基金", "kind": "special_fund", "purpose": "助学",
            "committee": _committee(world), "host": {"name": "协会", "credit_code": credit_code()}}


def _contract_body(world, t):
    from tests.contracts.authz.world import credit_code
    year = datetime.date.today().year
    return {"fund_id": t["fund_id"], "title": "新购买服务", "purchaser": {"name": "民政局"},
            "provider": {"name": "机构", "credit_code": credit_code()}, "amount_fen": 1000,
            "period_from": f"{year}-01-01", "period_to": f"{year}-12-31",
            "milestones": [{"title": "结项", "due_on": f"{year}-12-31", "amount_fen": 1000}]}


def _donation_body(world, t):
    name, phone = world.person("A", "新捐")
    return {"fund_id": t["fund_id"], "kind": "money", "received_on": datetime.date.today().isoformat(),
            "amount_fen": 100, "channel": "cash", "donor": {"kind": "person", "name": name, "phone": phone}}


def _disbursement_body(world, t):
    return {"fund_id": t["fund_id"], "purpose": "救助", "category": "direct_aid",
            "payee": {"kind": "person", "name": world.person("A", "新受")[0]}, "amount_fen": 100}


def _session_body(world, t):
    return {"supervisor_id": t["supervisor_id"], "station_id": t["station_id"], "kind": "group",
            "setting": "external", "method": "online", "held_on": datetime.date.today().isoformat(),
            "duration_minutes": 60, "topics": ["小组督导"], "room_workers": 2}


def _account_body(world, t):
    return {"login": f"authz-new-{_stamp()}", "display_name": world.person("A", "新号")[0],
            "role": {9: "station_staff", 6: "county_officer", 4: "city_officer", 2: "auditor"}[len(t["region"])],
            "region": t["region"]}


# operationId -> body(world, t) (None: no body). Headers: Idempotency-Key when documented.
BODIES = {
    "registry_create_station": lambda w, t: {"division_code": t["free_township"], "name": f"新社工站{_stamp()}"},
    "registry_update_station": lambda w, t: {"address": f"地址{_stamp()}"},
    "registry_update_checklist": lambda w, t: {"premises": {"state": "met", "attested_on": datetime.date.today().isoformat()}},
    "registry_add_room": lambda w, t: {"kind": "room", "name": f"新活动室{_stamp()}", "village_code": t["village_code"]},
    "registry_add_staff": lambda w, t: {"role": "resident", "name": w.person("A", "新社")[0]},
    "registry_update_staff": lambda w, t: {"certification": "junior"},
    "registry_transition_station": lambda w, t: {"to": "suspended", "on": datetime.date.today().isoformat()},
    "volunteer_create_team": lambda w, t: {"station_id": t["station_id"], "name": f"新队{_stamp()}"},
    "volunteer_add_team_member": lambda w, t: {"volunteer_number": t["volunteer_numbers"][2]},
    "volunteer_create_activity": lambda w, t: {
        "team_id": t["team_id"], "title": "新活动", "category": "health", "place": "社区",
        "starts_at": f"{t['day']}T09:00:00+08:00", "ends_at": f"{t['day']}T10:00:00+08:00", "capacity": 5},
    "volunteer_register_volunteer": _volunteer_body,
    "volunteer_update_volunteer": lambda w, t: {"skills": ["理发"]},
    "volunteer_lookup_volunteer": lambda w, t: {"id_number": w.id_numbers[t["number"]]},
    "volunteer_record_hours": _hours_body,
    "volunteer_approve_hours": lambda w, t: {},
    "volunteer_reject_hours": lambda w, t: {"reason": "签到不符"},
    "volunteer_correct_hours": lambda w, t: {"reason": "更正", "cancel": True},
    "volunteer_approve_hours_batch": lambda w, t: {"ids": [t["hours"][4]]},
    "volunteer_issue_certificate": lambda w, t: {"volunteer_number": t["number"], "from": t["day"], "to": t["day"]},
    "charity_open_fund": _fund_body,
    "charity_record_donation": _donation_body,
    "charity_request_disbursement": _disbursement_body,
    "charity_approve_disbursement": None,
    "charity_pay_disbursement": lambda w, t: {"payment_reference": "回单"},
    "charity_cancel_disbursement": lambda w, t: {"reason": "取消"},
    "charity_reject_disbursement": lambda w, t: {"reason": "驳回"},
    "charity_reverse_entry": lambda w, t: {"reason": "冲销"},
    "charity_void_receipt": lambda w, t: {"reason": "作废"},
    "charity_distribute_goods": lambda w, t: {"items": [{"name": "米", "quantity": 1, "unit": "袋", "value_fen": 100}],
                                              "purpose": "发放", "category": "direct_aid"},
    "charity_sign_contract": _contract_body,
    "charity_submit_application": lambda w, t: APPLICATION(t),
    "charity_create_round": lambda w, t: {
        "fund_id": t["fund_id"], "title": "新创投", "budget_fen": 1000, "call_from": datetime.date.today().isoformat(),
        "call_to": datetime.date.today().isoformat(), "criteria": [{"key": "impact", "title": "成效", "weight": 100}],
        "reviewers": [{"sub": "authz-county", "name": "评审"}]},
    "supervision_publish_checklist": lambda w, t: {
        "code": f"authz-{_stamp()}", "title": "新检查表", "sections": [
            {"key": "liuyou", "title": "六有", "kind": "liuyou", "items": [
                {"key": "premises", "title": "有场所", "weight": 1, "rule": {"kind": "pass_fail"}}]}]},
    "charity_review_application": lambda w, t: {"scores": {"impact": 80}},
    "supervision_register_supervisor": lambda w, t: {
        "name": w.person("A", "新督")[0], "kind": "expert", "organisation": "中心", "home_region": t["region"][:6]},
    "supervision_update_supervisor": lambda w, t: {"organisation": f"中心{_stamp()}"},
    "supervision_record_session": _session_body,
    "supervision_create_inspection": lambda w, t: {
        "station_id": t["station_id"], "kind": "special", "checklist_code": w.checklist_code,
        "visited_on": (datetime.date.today() - datetime.timedelta(days=1)).isoformat()},
    "supervision_score_inspection": lambda w, t: {"scores": {"premises": {"value": True}}},
    "supervision_raise_finding": lambda w, t: {"observation": "新问题", "recommendation": "整改", "severity": "minor"},
    "supervision_complete_inspection": lambda w, t: {},
    "supervision_start_rectification": lambda w, t: {},
    "supervision_submit_rectification": lambda w, t: {"evidence": {"notes": "已整改"}},
    "supervision_close_rectification": lambda w, t: {},
    "supervision_reopen_rectification": lambda w, t: {"reason": "复查未过"},
    "supervision_submit_report": lambda w, t: REPORT,
    "supervision_return_report": lambda w, t: {"reason": "数据有误"},
    "accounts_create_account": _account_body,
    "accounts_update_account": lambda w, t: {"display_name": w.person("A", "改名")[0]},
    "accounts_reset_password": None,
}

# Writes run after every read, in this order (a chain of states: approve before pay,
# start before submit before close before reopen), and what ends a record comes last.
ORDER = ["supervision_score_inspection", "supervision_raise_finding", "supervision_complete_inspection",
         "supervision_start_rectification", "supervision_submit_rectification",
         "supervision_close_rectification", "supervision_reopen_rectification",
         "supervision_submit_report", "supervision_return_report",
         "charity_approve_disbursement", "charity_pay_disbursement",
         "volunteer_approve_hours", "volunteer_reject_hours", "volunteer_correct_hours",
         "volunteer_approve_hours_batch"]
LAST = ["charity_decide_round", "charity_void_receipt", "charity_reverse_entry", "charity_cancel_disbursement",
        "charity_reject_disbursement", "charity_freeze_fund", "charity_unfreeze_fund",
        "registry_remove_staff", "registry_remove_room", "volunteer_remove_team_member",
        "registry_transition_station", "charity_close_fund"]

# Query strings some reads need beyond the region (for lists: the region is the cell's).
QUERIES = {
    "charity_trial_balance": {"from": "2026-01", "to": "2026-12"},
    "charity_public_report": {"from": "2026-01", "to": "2026-12"},
    "audit_read_audit": {}, "audit_export_audit": {},
}
PATH_DEFAULTS = {"service": "registry"}

# Path variables of operations without a regional target (public ones, reference data).
GLOBAL_PATHS = {
    "volunteer_verify_certificate": lambda w: {"number": w.t["A"]["certificate"]},
    "charity_public_report": lambda w: {"fund_id": w.t["A"]["fund_id"]},
    "charity_verify_receipt": lambda w: {"number": w.t["A"]["receipt"]},
    "supervision_get_checklist": lambda w: {"code": w.checklist_code, "version": 1},
    "registry_get_division": lambda w: {"code": w.regions["A"]},
}

# Answers that may name a record of another region, and why.
ACROSS_REGIONS = {
    # The volunteer number a second registration's 409 would tell, to whoever holds the ID number.
    "volunteer_lookup_volunteer",
    # A batch names each id it was sent, with why it was refused.
    "volunteer_approve_hours_batch",
}
