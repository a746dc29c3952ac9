"""Every page loads with each role's token, without a console error, with a label on every
control, only the actions the role may take, nothing outside the caller's region; a
screenshot of each is written to .run/screenshots/."""
import pytest

pytestmark = pytest.mark.e2e

ALL = ("province_admin", "city_officer", "county_officer", "station_staff", "auditor")
OFFICERS = ("province_admin", "city_officer", "county_officer", "auditor")

# (name, path template, roles that have it in their navigation)
PAGES = [
    ("home", "/ui/home", ALL),
    ("coverage", "/ui/coverage", OFFICERS),
    ("stations", "/ui/stations", ALL),
    ("station", "/ui/stations/{s1}", ALL),
    ("gaps", "/ui/staffing-gaps", OFFICERS),
    ("rankings", "/ui/rankings", ("province_admin", "city_officer")),
    ("volunteers", "/ui/volunteers", ALL),
    ("hours", "/ui/hours", ALL),
    ("record", "/ui/hours/record", ALL),
    ("approvals", "/ui/hours/approvals", ALL),
    ("certificate", "/ui/certificates/{certificate}", ALL),
    ("funds", "/ui/funds", ALL),
    ("fund-report", "/ui/funds/{fund}/report", ALL),
    ("donations", "/ui/donations", ALL),
    ("receipt", "/ui/receipts/{receipt}", ALL),
    ("disbursements", "/ui/disbursements", ALL),
    ("reports", "/ui/reports", ALL),
    ("report", "/ui/reports/{s1}/{last_month}", ALL),
    ("inspections", "/ui/inspections", ALL),
    ("inspection", "/ui/inspections/{inspection_done}", ALL),
    ("rectifications", "/ui/rectifications", ALL),
    ("verify", "/verify?number={certificate}", ALL),
]

# Every control a person can reach has a name a screen reader reads out.
UNLABELLED = """() => [...document.querySelectorAll("input, select, textarea, button")]
  .filter(n => n.type !== "hidden" && n.offsetParent !== null)
  .filter(n => !(n.labels && n.labels.length) && !n.getAttribute("aria-label") && !n.getAttribute("aria-labelledby")
               && !(n.tagName === "BUTTON" && n.textContent.trim()))
  .map(n => n.outerHTML.slice(0, 120))"""
# Text whose contrast with what lies behind it is below WCAG AA (4.5:1, 3:1 for large text).
LOW_CONTRAST = """() => {
  const rgb = c => (c.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => [r, g, b].map(v => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; })
    .reduce((s, v, i) => s + v * [0.2126, 0.7152, 0.0722][i], 0);
  const behind = n => { for (; n; n = n.parentElement) { const c = rgb(getComputedStyle(n).backgroundColor);
    if (c.length === 3 || c[3] > 0.5) return c.slice(0, 3); } return [255, 255, 255]; };
  const out = [];
  for (const n of document.querySelectorAll("main *, header *")) {
    if (!n.offsetParent || n.closest("[disabled], canvas, svg, [aria-hidden=true]")) continue;
    if (![...n.childNodes].some(t => t.nodeType === 3 && t.textContent.trim())) continue;
    const st = getComputedStyle(n), size = parseFloat(st.fontSize), bold = Number(st.fontWeight) >= 700;
    const a = lum(rgb(st.color).slice(0, 3)), b = lum(behind(n));
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    const need = size >= 24 || (bold && size >= 18.66) ? 3 : 4.5;
    if (ratio < need) out.push(n.textContent.trim().slice(0, 30) + " " + ratio.toFixed(2));
  }
  return out.slice(0, 10);
}"""
# Edit controls (forms and buttons marked data-edit) a person can see.
EDIT_CONTROLS = """() => [...document.querySelectorAll("[data-edit]")].filter(n => n.offsetParent !== null
  || n.closest("details")).map(n => n.getAttribute("data-edit"))"""
# Every region code and station id the page names.
NAMED = """() => [...new Set([...document.querySelectorAll("[data-region], [data-station]")]
  .map(n => n.getAttribute("data-region") || n.getAttribute("data-station")).filter(Boolean))]"""


def values(world):
    return {"s1": world["stations"][0], "certificate": world["certificate"], "fund": world["fund"],
            "receipt": world["receipt"], "last_month": world["last_month"],
            "inspection_done": world["inspection_done"]}


@pytest.mark.parametrize("role", ALL)
def test_every_page_of_a_role_loads_cleanly(sessions, world, role):
    session = sessions(role)
    problems = []
    for name, template, roles in PAGES:
        if role not in roles:
            continue
        page = session.open(template.format(**values(world)))
        session.shot(f"{role}-{name}")
        errors = session.take_errors()
        if errors:
            problems.append(f"{name}: console errors {errors}")
        if page.locator("main .error").count():
            problems.append(f"{name}: shows an error: {page.locator('main .error').first.inner_text()}")
        unlabelled = page.evaluate(UNLABELLED)
        if unlabelled:
            problems.append(f"{name}: controls without a label: {unlabelled}")
        low = page.evaluate(LOW_CONTRAST)
        if low:
            problems.append(f"{name}: text with too little contrast: {low}")
        if role == "auditor" and page.evaluate(EDIT_CONTROLS):
            problems.append(f"{name}: the auditor sees edit controls {page.evaluate(EDIT_CONTROLS)}")
        named = page.evaluate(NAMED)
        own = session.region if role != "city_officer" else world["city"]
        outside = [code for code in named if not code.startswith(own)]
        if role in ("county_officer", "station_staff", "auditor") and outside:
            problems.append(f"{name}: shows places outside {own}: {outside}")
    assert not problems, "\n".join(problems)


def test_a_county_officer_asking_for_more_sees_only_the_county(sessions, world):
    session = sessions("county_officer")
    county = world["county"]
    for path in ("/ui/stations?region=34", "/ui/volunteers?region=3401", "/ui/donations?region=34",
                 "/ui/hours/approvals?region=34", "/ui/rectifications?region=34", "/ui/reports?region=34"):
        page = session.open(path)
        named = page.evaluate(NAMED)
        assert all(code.startswith(county) for code in named), (path, named)
    page = session.open("/ui/stations?region=34")
    assert sorted(page.evaluate(NAMED)) and all(s.startswith(county) for s in page.evaluate(NAMED))
    assert not session.take_errors()


def test_the_navigation_shows_each_role_its_pages(sessions):
    shown = {}
    for role in ALL:
        page = sessions(role).open("/ui/home")
        shown[role] = page.evaluate("""() => [...document.querySelectorAll("#main-nav li:not([hidden]) a")]
            .map(a => a.getAttribute("href"))""")
    assert "/ui/hours/record" in shown["station_staff"] and "/ui/coverage" not in shown["station_staff"]
    assert "/ui/hours/record" not in shown["auditor"] and "/ui/hours/approvals" not in shown["auditor"]
    assert "/ui/rankings" in shown["province_admin"] and "/ui/rankings" not in shown["county_officer"]
    assert all("/ui/home" in links for links in shown.values())


def test_a_phone_sees_the_workbench_and_a_form_without_sideways_scrolling(sessions, world):
    from tests.browser.conftest import PHONE

    session = sessions("station_staff", viewport=PHONE)
    for name, path in (("home", "/ui/home"), ("record", "/ui/hours/record"),
                       ("receipt", f"/ui/receipts/{world['receipt']}")):
        page = session.open(path)
        width = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
        assert width[0] <= width[1] + 1, f"{name} is {width[0]}px wide on a {width[1]}px screen"
        session.shot(f"phone-{name}")
    assert not page.locator("#main-nav").is_visible()
    page.click("#menu-toggle")
    assert page.locator("#main-nav").is_visible()
    session.shot("phone-menu", full_page=False)
    assert not session.take_errors()
    county = sessions("county_officer", viewport=PHONE)
    county.open("/ui/home")
    width = county.page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1] + 1
    county.shot("phone-county-home")
    assert not county.take_errors()


def test_the_keyboard_reaches_the_navigation_and_the_form(sessions):
    session = sessions("station_staff")
    page = session.open("/ui/volunteers?open=1")
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.textContent") == "跳到正文"
    page.keyboard.press("Enter")
    reached = []
    for _ in range(60):
        page.keyboard.press("Tab")
        reached.append(page.evaluate("() => document.activeElement.name || document.activeElement.textContent.trim()"))
        if reached[-1] == "id_number":
            break
    assert "name" in reached and reached[-1] == "id_number", reached
