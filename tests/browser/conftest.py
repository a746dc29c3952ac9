"""The web pages in a real browser: Debian's chromium driven by Playwright (its own browser
downloads cannot be fetched here), against the session platform of tests/fixtures.py.

One browser for the session, one context per role (its token kept in the context's
localStorage, set through the `#token=` fragment a sign-in link carries), the data made once
through the API (seed.py). Screenshots go to .run/screenshots/ at the repository's root.
"""
import os
import re
import shutil

import pytest

from tests.browser.seed import seed

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCREENSHOTS = os.path.join(ROOT, ".run", "screenshots")
CHROMIUM = "/usr/bin/chromium"
DESKTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}

# Ready: the document loaded, no API call in flight, nothing still saying 加载中, every chart drawn.
SETTLED = """() => document.readyState === "complete" && (window.wusheBusy || 0) === 0
  && ![...document.querySelectorAll("[role=status]")].some(n => n.textContent.includes("加载中"))
  && [...document.querySelectorAll("[data-chart]")].every(n => n.dataset.ready === "1")"""


def pytest_collection_modifyitems(config, items):
    if not os.path.exists(CHROMIUM):
        skip = pytest.mark.skip(reason=f"{CHROMIUM} not installed (make browser)")
        for item in items:
            if "tests/browser" in str(item.fspath):
                item.add_marker(skip)


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    shutil.rmtree(SCREENSHOTS, ignore_errors=True)
    os.makedirs(SCREENSHOTS, exist_ok=True)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                              args=["--no-sandbox", "--disable-gpu",
                                                    "--disable-dev-shm-usage", "--lang=zh-CN"])
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def world(api, units):
    return seed(api, units)


class Session:
    """One role's browser context: its pages, their console errors, their screenshots."""

    def __init__(self, browser, base_url, role, region, sub, viewport=DESKTOP):
        from gateway.auth import issue_token

        self.base_url = base_url
        self.role, self.region = role, region
        self.token = issue_token(role, region, sub=sub)
        self.context = browser.new_context(viewport=viewport, locale="zh-CN",
                                           timezone_id="Asia/Shanghai", accept_downloads=True)
        self.context.set_default_timeout(20000)
        self.page = self.context.new_page()
        self.errors = []
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))
        self.signed_in = False

    def open(self, path, settle=True):
        """Go to `path` (the first time with the token in the fragment) and wait until settled."""
        url = self.base_url + path
        if not self.signed_in:
            path_only, _, fragment = url.partition("#")
            url = path_only + "#token=" + self.token
            self.signed_in = True
        self.page.goto(url)
        if settle:
            self.settle()
        return self.page

    def settle(self, timeout=20000):
        self.page.wait_for_function(SETTLED, timeout=timeout, polling=100)

    def shot(self, name, full_page=True):
        path = os.path.join(SCREENSHOTS, re.sub(r"[^A-Za-z0-9_.-]+", "-", name) + ".png")
        self.page.screenshot(path=path, full_page=full_page)
        return path

    def take_errors(self):
        errors, self.errors = self.errors, []
        return errors

    def close(self):
        self.context.close()


@pytest.fixture(scope="session")
def sessions(browser, platform, world):
    """sessions(role) -> the Session of that role over the seeded county (one per role)."""
    regions = {"province_admin": "34", "city_officer": world["city"], "county_officer": world["county"],
               "station_staff": world["townships"][0], "auditor": world["county"]}
    made = {}

    def get(role, viewport=None):
        key = (role, tuple(sorted((viewport or DESKTOP).items())))
        if key not in made:
            made[key] = Session(browser, platform.gateway.base_url, role, regions[role],
                                sub=f"browser-{role.split('_')[0]}", viewport=viewport or DESKTOP)
        return made[key]

    yield get
    for session in made.values():
        session.close()
