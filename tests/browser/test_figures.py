"""The figures a page shows are those the API answers, and the charts drill down."""
import pytest

from tests.fixtures import wait_for

pytestmark = pytest.mark.e2e


def figure(page, key):
    return page.get_attribute(f'[data-figure="{key}"]', "data-value")


def number(text):
    return None if text in (None, "") else float(text)


def test_the_county_workbench_shows_what_the_api_answers(sessions, world, api):
    county = world["county"]
    officer = api("county_officer", county)
    month = world["month"]

    def scorecard_heard_everything():
        hours = officer.get(f"/api/v1/scorecards?region={county}&month={world['activity_now_month']}").json()
        money = officer.get(f"/api/v1/scorecards?region={county}&month={month}").json()
        return hours["figures"]["volunteer_minutes"] and money["figures"]["raised_fen"] \
            and money["figures"]["spent_fen"] and money["figures"]["inspected"]

    wait_for(scorecard_heard_everything, timeout=30, message="the scorecard to count hours and money")
    session = sessions("county_officer")
    page = session.open(f"/ui/home?region={county}")
    coverage = officer.get(f"/api/v1/coverage?region={county}").json()
    gaps = officer.get(f"/api/v1/staffing-gaps?region={county}&per_page=1").json()
    card = officer.get(f"/api/v1/scorecards?region={county}&month={month}").json()
    assert number(figure(page, "coverage_rate")) == coverage["coverage_rate"]
    assert number(figure(page, "operating_rate")) == coverage["operating_rate"]
    assert page.inner_text('[data-figure="coverage_rate"] .value') == f"{coverage['coverage_rate'] * 100:.1f}%"
    assert int(figure(page, "staffing_gaps")) == gaps["total"] >= 1
    assert int(figure(page, "volunteer_minutes")) == card["figures"]["volunteer_minutes"]
    assert page.inner_text('[data-figure="volunteer_minutes"] .value').startswith(
        f"{card['figures']['volunteer_minutes'] / 60:.1f}")
    assert int(figure(page, "rect_open")) == card["figures"]["rect_open"]
    assert int(figure(page, "rect_overdue")) == card["figures"]["rect_overdue"]
    assert number(figure(page, "inspection_average")) == card["figures"]["inspection_average"]
    assert number(figure(page, "overall")) == card["overall"]
    year = [officer.get(f"/api/v1/scorecards?region={county}&month={world['month'][:4]}-{m:02d}").json()
            for m in range(1, int(world["month"][5:]) + 1)]
    assert int(figure(page, "raised_fen_year")) == sum(c["figures"]["raised_fen"] for c in year)
    assert int(figure(page, "volunteer_minutes_year")) == sum(c["figures"]["volunteer_minutes"] for c in year)
    # The laggards named are the county's own townships and stations.
    behind = page.eval_on_selector_all(".tile .behind li", "ns => ns.map(n => n.dataset.region)")
    assert behind and all(code.startswith(county) for code in behind)
    # The stations table lists the scorecard's stations.
    listed = page.eval_on_selector_all("#children tr[data-station]", "ns => ns.map(n => n.dataset.station)")
    assert sorted(listed) == sorted(c["code"] for c in card["children"])
    session.shot("county-home-figures", full_page=False)
    assert not session.take_errors()


def test_a_coverage_bar_drills_down_to_the_station(sessions, world):
    session = sessions("county_officer")
    page = session.open(f"/ui/home?region={world['county']}")
    names = page.evaluate("() => echarts.getInstanceByDom(document.getElementById('chart-coverage')).getOption().xAxis[0].data")
    index = names.index(world["township_names"][0])
    page.locator("#chart-coverage").scroll_into_view_if_needed()
    box = page.locator("#chart-coverage").bounding_box()
    # The middle of the township's coverage bar, where a person would click.
    bar = page.evaluate("""(i) => echarts.getInstanceByDom(document.getElementById('chart-coverage'))
        .getModel().getSeriesByIndex(0).getData().getItemLayout(i)""", index)
    page.mouse.click(box["x"] + bar["x"] + bar["width"] / 2, box["y"] + bar["y"] + bar["height"] / 2)
    page.wait_for_url(f"**/ui/stations/{world['stations'][0]}")
    session.settle()
    assert page.inner_text("h1") == f"{world['township_names'][0]}社工站"
    session.shot("drill-down-station")
    assert not session.take_errors()


def test_the_province_drills_down_to_the_city_and_the_county(sessions, world, api):
    session = sessions("province_admin")
    page = session.open("/ui/home?region=34")
    coverage = api("province_admin", "34").get("/api/v1/coverage?region=34").json()
    assert number(figure(page, "coverage_rate")) == coverage["coverage_rate"]
    assert page.locator("#chart-coverage canvas").count() == 1
    page.click(f'#children a[data-region="{world["city"]}"]')
    page.wait_for_url(f"**/ui/home?region={world['city']}")
    session.settle()
    assert page.inner_text("h1").startswith("合肥市")
    page.click(f'#children a[data-region="{world["county"]}"]')
    page.wait_for_url(f"**/ui/home?region={world['county']}")
    session.settle()
    assert page.locator('#children tr[data-station]').count() >= 3
    session.shot("drill-down-county")
    assert not session.take_errors()


def test_the_station_profile_gathers_every_service(sessions, world, api):
    s1 = world["stations"][0]
    staff = api("station_staff", world["townships"][0])
    session = sessions("station_staff")
    page = session.open(f"/ui/stations/{s1}")
    totals = staff.get(f"/api/v1/hours/totals?station_id={s1}").json()
    waiting = staff.get(f"/api/v1/hours?station_id={s1}&status=recorded&per_page=1").json()
    assert int(figure(page, "checklist_met")) == 6
    assert int(figure(page, "hours_total")) == totals["minutes"]
    assert int(figure(page, "hours_waiting")) == waiting["total"]
    for heading in ("状态历史", "“六有”建设情况", "人员配备（1+1+X）", "功能室与村（社区）微站点", "志愿服务：服务队与时长",
                    "慈善资金与项目", "督导与检查评估", "月报", "整改事项"):
        assert page.locator("h2", has_text=heading).count() == 1, heading
    assert page.locator("#charity-body").inner_text().count(world["receipt"]) == 1
    assert world["inspection_done"] in page.locator("#supervision-body").inner_text()
    assert world["rectification"] in page.locator("#rectification-body").inner_text()
    assert not session.take_errors()


def test_coverage_and_hours_pages_show_the_api_figures(sessions, world, api):
    county = world["county"]
    officer = api("county_officer", county)
    session = sessions("county_officer")
    page = session.open(f"/ui/coverage?region={county}")
    coverage = officer.get(f"/api/v1/coverage?region={county}").json()
    for key in ("units", "with_station", "operating", "coverage_rate", "operating_rate"):
        assert number(figure(page, key)) == coverage[key], key
    session.shot("coverage-county")
    page = session.open(f"/ui/hours?region={county}")
    totals = officer.get(f"/api/v1/hours/totals?region={county}").json()
    assert int(figure(page, "hours")) == totals["minutes"]
    assert int(figure(page, "volunteers")) == totals["volunteers"]
    assert not session.take_errors()


def test_tables_export_to_excel(sessions, world):
    session = sessions("county_officer")
    page = session.open(f"/ui/stations?region={world['county']}")
    with page.expect_download() as download:
        page.click('button[data-export="/stations/export"][data-format="xlsx"]')
    assert download.value.suggested_filename.endswith(".xlsx")
    with open(download.value.path(), "rb") as f:
        assert f.read(2) == b"PK"
    page = session.open(f"/ui/disbursements?region={world['county']}")
    with page.expect_download() as download:
        page.click('button[data-export="csv-local"]')
    assert download.value.suggested_filename.startswith("disbursements-")
    with open(download.value.path(), encoding="utf-8-sig") as f:
        rows = f.read().splitlines()
    assert rows[0].startswith("编号,申请日期,用途") and any(world["paid_disbursement"] in r for r in rows[1:])
    assert not session.take_errors()


def test_documents_print_without_the_page_around_them(sessions, world):
    session = sessions("station_staff")
    for name, path in (("receipt", f"/ui/receipts/{world['receipt']}"),
                       ("certificate", f"/ui/certificates/{world['certificate']}"),
                       ("report", f"/ui/reports/{world['stations'][0]}/{world['last_month']}"),
                       ("fund-report", f"/ui/funds/{world['fund']}/report")):
        page = session.open(path)
        page.emulate_media(media="print")
        assert not page.locator("header.top").is_visible()
        assert not page.locator("button").first.is_visible()
        assert page.locator("article.doc").is_visible()
        session.shot(f"print-{name}")
        page.emulate_media(media="screen")
    assert not session.take_errors()
