"""The daily work done in the browser changes what the API answers; a mistake is shown beside
its field, in Chinese, from the API's `fields`."""
import re

import pytest

from tests.browser.seed import id_number
from tests.fixtures import wait_for

pytestmark = pytest.mark.e2e

CJK = re.compile(r"[\u4e00-\u9fff]")


def ok(response):
    assert response.status_code == 200, response.text
    return response.json()


def error_beside(page, form, name):
    """The error text shown in the field that holds control `name` of `form`."""
    return page.locator(f'{form} .field:has([name="{name}"]) .field-error').inner_text()


def test_registering_a_volunteer_shows_mistakes_beside_the_field_and_then_registers(sessions, world, api):
    session = sessions("station_staff")
    page = session.open("/ui/volunteers?open=1")
    form = "#register-form"
    page.fill(f"{form} [name=name]", "赵志愿")
    valid = id_number(world["county"], "1990-01-01", 749)
    page.fill(f"{form} [name=id_number]", valid[:-1] + ("1" if valid[-1] == "0" else "0"))   # wrong check digit
    page.fill(f"{form} [name=phone]", "电话")
    page.click(f"{form} button[type=submit]")
    page.wait_for_selector(f"{form} .field-error")
    session.settle()
    message = error_beside(page, form, "id_number")
    assert CJK.search(message) and "校验" in message, message
    assert CJK.search(error_beside(page, form, "phone"))
    assert page.get_attribute(f"{form} [name=id_number]", "aria-invalid") == "true"
    session.shot("form-volunteer-errors", full_page=False)
    session.take_errors()   # the 400 the browser logs as a failed resource
    number_id = id_number(world["county"], "1985-05-20", 750)
    page.fill(f"{form} [name=id_number]", number_id)
    page.fill(f"{form} [name=phone]", "13812345678")
    page.check(f'{form} input[name=availability][value="weekend_morning"]')
    page.fill(f"{form} [name=skills]", "助老服务、文艺演出")
    assert page.input_value(f"{form} [name=birth_date]") == "1985-05-20"
    page.click(f"{form} button[type=submit]")
    number = page.wait_for_selector("#register-result [data-number]").get_attribute("data-number")
    session.settle()
    found = ok(api("station_staff", world["townships"][0]).get(f"/api/v1/volunteers/{number}"))
    assert found["name"] == "赵志愿" and found["skills"] == ["助老服务", "文艺演出"]
    assert found["station_id"] == world["stations"][0] and found["availability"] == ["weekend_morning"]
    assert page.locator(f'#result tr[data-number="{number}"]').count() == 1
    session.shot("form-volunteer-registered")
    assert not session.take_errors()
    world["browser_volunteer"] = number


def test_recording_hours_then_approving_them_in_a_batch(sessions, world, api):
    staff_api = api("station_staff", world["townships"][0])
    session = sessions("station_staff")
    s1 = world["stations"][0]
    page = session.open(f"/ui/hours/record?station={s1}&activity={world['activity_now']}")
    form = "#record-form"
    number = world.get("browser_volunteer") or world["volunteers"][2]
    page.fill(f"{form} [name=volunteer_number]", number)
    start = page.input_value(f"{form} [name=start]")
    assert start, "the activity's window pre-fills the times"
    page.click(f"{form} button[type=submit]")
    record = page.wait_for_selector("#record-result [data-record]").get_attribute("data-record")
    session.settle()
    answer = ok(staff_api.get(f"/api/v1/hours/{record}"))
    assert answer["status"] == "recorded" and answer["volunteer_number"] == number
    assert answer["activity_id"] == world["activity_now"]
    session.shot("form-hours-recorded")
    # The same record again overlaps: the refusal is shown in Chinese.
    page.fill(f"{form} [name=volunteer_number]", number)
    page.click(f"{form} button[type=submit]")
    page.wait_for_selector(f"{form} .form-error")
    assert CJK.search(page.inner_text(f"{form} .form-error"))
    session.settle()
    session.take_errors()

    page = session.open(f"/ui/hours/approvals?region={world['townships'][0]}")
    waiting = page.eval_on_selector_all("#batch-form tr[data-record]", "ns => ns.map(n => n.dataset.record)")
    assert record in waiting and set(world["waiting_hours"]) <= set(waiting)
    session.shot("form-approval-queue")
    page.check("#select-all")
    page.fill("#batch-form [name=note]", "核对签到表无误")
    page.click("#approve-selected")
    page.wait_for_selector("#result-box .notice")
    session.settle()
    assert "已通过 " + str(len(waiting)) + " 条" in page.inner_text("#result-box")
    for rid in waiting:
        assert ok(staff_api.get(f"/api/v1/hours/{rid}"))["status"] == "approved"
    assert page.locator("#batch-form tr[data-record]").count() == 0
    assert not session.take_errors()


def test_a_donation_entered_in_the_browser_prints_its_receipt(sessions, world, api):
    staff_api = api("station_staff", world["townships"][0])
    session = sessions("station_staff")
    page = session.open(f"/ui/donations?station={world['stations'][0]}")
    form = "#donation-form"
    page.wait_for_selector(form)
    page.select_option(f"{form} [name=fund_id]", world["fund"])
    page.fill(f"{form} [name=amount_fen]", "12.345")      # three decimals: refused before sending
    page.click(f"{form} button[type=submit]")
    assert "两位小数" in error_beside(page, form, "amount_fen")
    page.fill(f"{form} [name=amount_fen]", "1,280.50")
    page.select_option(f"{form} [name=channel]", "online")
    page.select_option(f'{form} [name="donor.kind"]', "organisation")
    page.fill(f'{form} [name="donor.name"]', "合肥某科技有限公司")
    page.check(f'{form} [name="donor.consent_public"]')
    page.fill(f"{form} [name=handler]", "王站长")
    page.click(f"{form} button[type=submit]")
    receipt = page.wait_for_selector("#donation-result [data-receipt]").get_attribute("data-receipt")
    session.settle()
    donations = ok(staff_api.get(f"/api/v1/charity/donations?fund_id={world['fund']}&per_page=100"))["items"]
    mine = [d for d in donations if d["receipt_number"] == receipt]
    assert mine and mine[0]["amount_fen"] == 128050 and mine[0]["donor"]["name"] == "合肥某科技有限公司"
    session.shot("form-donation-recorded")
    page.click("#receipt-link")
    page.wait_for_url(f"**/ui/receipts/{receipt}")
    session.settle()
    printed = ok(staff_api.get(f"/api/v1/charity/receipts/{receipt}/print"))
    assert page.inner_text('[data-field="amount_in_words"]') == printed["amount_in_words"]
    assert printed["amount_in_words"].startswith("人民币壹仟贰佰捌拾元伍角")
    assert page.inner_text('[data-field="amount_yuan"]') == "¥1280.50"
    session.shot("receipt")
    page.emulate_media(media="print")
    session.shot("receipt-print")
    page.emulate_media(media="screen")
    assert not session.take_errors()


def test_a_disbursement_requested_by_the_station_is_approved_by_the_county(sessions, world, api):
    staff = sessions("station_staff")
    page = staff.open(f"/ui/disbursements?station={world['stations'][0]}#new")
    page.wait_for_selector("#new")
    if not page.evaluate("() => document.getElementById('new').open"):
        page.click("#new summary")
    form = "#disbursement-form"
    page.select_option(f"{form} [name=fund_id]", world["fund"])
    page.fill(f"{form} [name=amount_fen]", "300")
    page.fill(f"{form} [name=purpose]", "重阳节慰问困难老人")
    page.fill(f'{form} [name="payee.name"]', "社区老年协会")
    page.select_option(f'{form} [name="payee.kind"]', "organisation")
    page.fill(f"{form} [name=documents]", "慰问名单\n采购发票")
    page.click(f"{form} button[type=submit]")
    page.wait_for_selector("#disbursement-result .notice")
    staff.settle()
    requested = [d for d in ok(api("county_officer", world["county"]).get(
        f"/api/v1/charity/disbursements?fund_id={world['fund']}&status=requested"))["items"]
        if d["purpose"] == "重阳节慰问困难老人"]
    assert len(requested) == 1 and requested[0]["amount_fen"] == 30000
    assert requested[0]["documents"] == ["慰问名单", "采购发票"]
    did = requested[0]["id"]
    assert page.locator(f'button[data-step="approve"][data-disbursement="{did}"]').count() == 0
    staff.shot("form-disbursement-requested")
    assert not staff.take_errors()

    officer = sessions("county_officer")
    page = officer.open(f"/ui/disbursements?region={world['county']}&status=requested")
    page.click(f'button[data-step="approve"][data-disbursement="{did}"]')
    page.wait_for_selector("#action-result .notice")
    officer.settle()
    answer = ok(api("county_officer", world["county"]).get(f"/api/v1/charity/disbursements/{did}"))
    assert answer["status"] == "approved"
    officer.shot("form-disbursement-approved")
    assert not officer.take_errors()


def test_filing_the_monthly_report_pre_filled(sessions, world, api):
    s1, month = world["stations"][0], world["month"]
    staff_api = api("station_staff", world["townships"][0])
    session = sessions("station_staff")
    page = session.open(f"/ui/reports/{s1}/{month}")
    draft = ok(staff_api.get(f"/api/v1/monthly-reports/{s1}/{month}"))
    assert draft["status"] == "draft"
    assert int(page.get_attribute('#prefill [data-figure="volunteer_minutes"]', "data-value")) == \
        draft["prefill"]["volunteer_minutes"]
    assert int(page.get_attribute('#prefill [data-figure="raised_fen"]', "data-value")) == draft["prefill"]["raised_fen"]
    form = "#report-form"
    page.fill(f"{form} [name=casework]", "-1")
    page.fill(f"{form} [name=group_work]", "3")
    page.fill(f"{form} [name=community_activities]", "4")
    page.click(f"{form} button[type=submit]")
    assert CJK.search(error_beside(page, form, "casework"))
    session.take_errors()
    page.fill(f"{form} [name=casework]", "6")
    page.fill(f'{form} [name="served.elderly"]', "45")
    page.fill(f'{form} [name="served.children"]', "20")
    page.fill(f"{form} [name=narrative]", "开展重阳敬老、四点半课堂、邻里节等服务。")
    session.shot("form-report-draft")
    page.click(f"{form} button[type=submit]")
    page.wait_for_selector('article.report[data-status="submitted"]')
    session.settle()
    filed = ok(staff_api.get(f"/api/v1/monthly-reports/{s1}/{month}"))
    assert filed["status"] == "submitted" and filed["casework"] == 6 and filed["served"]["elderly"] == 45
    assert filed["group_work"] == 3 and filed["served"]["disabled"] == 0
    session.shot("report-filed")
    assert not session.take_errors()


def test_submitting_rectification_evidence(sessions, world, api):
    item = world["rectification"]
    session = sessions("station_staff")
    page = session.open(f"/ui/rectifications?station_id={world['stations'][0]}&open={item}")
    form = f"#submit-form-{item}"
    page.wait_for_selector(form)
    page.click(f"{form} button[type=submit]")      # no evidence: refused beside the field
    page.wait_for_selector(f"{form} .field-error")
    assert "佐证" in error_beside(page, form, "evidence.notes")
    session.take_errors()
    page.fill(f'{form} [name="evidence.notes"]', "已补齐 2026 年服务台账并建立归档制度")
    page.fill(f'{form} [name="evidence.files"]', "档案/台账目录.pdf\n档案/归档制度.docx")
    page.click(f"{form} button[type=submit]")
    page.wait_for_selector("#action-result .notice")
    session.settle()
    answer = ok(api("station_staff", world["townships"][0]).get(f"/api/v1/rectifications/{item}"))
    assert answer["status"] == "submitted"
    assert answer["evidence"]["files"] == ["档案/台账目录.pdf", "档案/归档制度.docx"]
    session.shot("form-rectification-submitted")
    assert not session.take_errors()
    officer = sessions("county_officer")
    page = officer.open(f"/ui/rectifications?station_id={world['stations'][0]}&open={item}")
    assert page.locator(f"#close-form-{item}").count() == 1
    officer.shot("rectification-to-verify")
    assert not officer.take_errors()


def test_scoring_an_inspection(sessions, world, api):
    inspection = world["inspection_planned"]
    officer_api = api("county_officer", world["county"])
    session = sessions("county_officer")
    page = session.open(f"/ui/inspections/{inspection}")
    form = "#score-form"
    page.fill(f'{form} [name="scores.casework.value"]', "12")     # above the item's 10
    page.click(f"{form} button[name=save]")
    page.wait_for_selector(f"{form} .field-error")
    assert "10" in page.inner_text(f'{form} tr[data-item="casework"] .field-error')
    session.take_errors()
    page.select_option(f'{form} [name="scores.premises.value"]', "true")
    page.select_option(f'{form} [name="scores.staffing.value"]', "false")
    page.fill(f'{form} [name="scores.casework.value"]', "7")
    page.fill(f'{form} [name="scores.casework.notes"]', "个案记录 12 份")
    page.fill(f'{form} [name="scores.records.value"]', "4")
    session.shot("form-inspection-scoring")
    page.click(f"{form} button[name=complete]")
    page.wait_for_selector('article.inspection[data-status="completed"]')
    session.settle()
    answer = ok(officer_api.get(f"/api/v1/inspections/{inspection}"))
    assert answer["status"] == "completed"
    assert answer["scores"]["casework"]["value"] == 7 and answer["scores"]["staffing"]["value"] is False
    assert float(page.get_attribute('[data-figure="score"]', "data-value")) == answer["score"]
    session.shot("inspection-completed")
    assert not session.take_errors()
    wait_for(lambda: officer_api.get(f"/api/v1/scorecards?station_id={world['stations'][1]}").json()
             ["figures"]["inspected"] == 1, timeout=20, message="the scorecard to hear the inspection")
