"""End-to-end tests of the web app in a real browser: Debian's Chromium driven by Playwright, no network.

The server is started with `python simulate.py app --port N` on a free localhost port. Every request the
page makes is checked: one that fails, answers 400 or more, or leaves localhost fails the test (the browser
is refused anything but localhost, so a front end fetched from a CDN would show up here). A screenshot of
each step is saved under test-artefacts/ (gitignored).

These tests never skip: without Chromium or Playwright they fail, saying what to install (`.ci/run` installs
both). CHROMIUM=/path/to/chromium points them at another build.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

import pytest

# One app server and one browser for all of them, on one pytest-xdist worker (`./run tests` uses --dist
# loadgroup): two servers playing and assessing side by side on 2 cores starved each other.
pytestmark = pytest.mark.xdist_group("browser")

ROOT = Path(__file__).resolve().parent.parent
ARTEFACTS = ROOT / "test-artefacts"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
TIMEOUT_MS = 30_000
# A caption's last month once play has passed the first financial year (2009/10)
PAST_FIRST_FY = re.compile(r"up to (2010-(0[4-9]|1[0-2])|20(1[1-9]|2\d))")
CHARTS = ("hle", "care_home", "delays", "staff", "groups", "volunteers", "money")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server():
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "simulate.py", "app", "--port", str(port)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://localhost:{port}/"
    first = proc.stdout.readline()
    assert url.rstrip("/") in first, f"simulate.py app did not print its address: {first!r}"
    t0 = time.time()
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    break
        except OSError:
            pass
        if proc.poll() is not None or time.time() - t0 > 60:
            proc.kill()
            pytest.fail(f"the app server did not start: {proc.stdout.read()}")
        time.sleep(0.2)
    # Keep reading the server's output, so a full pipe can never stall it (its log is kept for a failure).
    log: list[str] = []
    threading.Thread(target=lambda: log.extend(iter(proc.stdout.readline, "")), daemon=True).start()
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="module")
def browser_context():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("Playwright for Python is not installed: pip install playwright (see .ci/run)")
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)) and not shutil.which(CHROMIUM):
        pytest.fail(f"Chromium not found at {CHROMIUM}: apt-get install -y chromium (see .ci/run), "
                    "or set CHROMIUM=/path/to/chromium")
    ARTEFACTS.mkdir(exist_ok=True)
    profile = tempfile.mkdtemp(prefix="dealsim-chromium-")
    with sync_playwright() as p:
        ctx = p.chromium.launch_persistent_context(profile, executable_path=CHROMIUM, args=ARGS, headless=True,
                                                   viewport={"width": 1400, "height": 1300})
        yield ctx
        ctx.close()
    shutil.rmtree(profile, ignore_errors=True)


class Page:
    """A page with every request watched: failures, HTTP errors and anything not on localhost are recorded."""

    def __init__(self, ctx, url: str):
        self.url = url
        self.problems: list[str] = []
        self.page = ctx.new_page()
        self.page.set_default_timeout(TIMEOUT_MS)
        host = urlparse(url).netloc

        def route(r):
            if urlparse(r.request.url).netloc != host and not r.request.url.startswith(("data:", "blob:")):
                self.problems.append(f"request off localhost (no network here): {r.request.url}")
                r.abort()
            else:
                r.continue_()

        self.page.route("**/*", route)
        self.page.on("requestfailed", lambda r: self.problems.append(f"failed: {r.url} ({r.failure})"))
        self.page.on("response", lambda r: self.problems.append(f"HTTP {r.status}: {r.url}") if r.status >= 400 else None)

    def goto(self, path: str = "") -> None:
        self.page.goto(self.url + path)

    def shot(self, name: str) -> Path:
        path = ARTEFACTS / f"{name}.png"
        self.page.screenshot(path=str(path))
        return path

    def check_assets(self) -> None:
        # websocket teardown on close is not an asset: only count what the page loaded
        assert not self.problems, "asset requests failed:\n" + "\n".join(self.problems)

    def close(self) -> None:
        self.page.close()


@pytest.fixture
def page(server, browser_context):
    p = Page(browser_context, server)
    yield p
    p.close()


def _caption(p: Page, key: str) -> str:
    return p.page.locator(f".dealsim-caption-{key}").inner_text()


def _chart_png(p: Page, key: str) -> bytes:
    """The chart's current image. A chart swaps its <img> when a redraw lands, so the element found may be
    detached before the screenshot is taken (seen once in CI on 2026-12-02): find it again, up to five times."""
    from playwright.sync_api import Error

    for attempt in range(5):
        try:
            return p.page.locator(f".dealsim-chart-{key} img").first.screenshot()
        except Error as exc:
            if "not attached" not in str(exc) or attempt == 4:
                raise
            p.page.wait_for_timeout(200)
    raise AssertionError("unreachable")


def expect(locator):
    from playwright.sync_api import expect as _expect

    return _expect(locator)


def test_explore_step_and_charts_draw(page):
    t0 = time.perf_counter()
    page.goto()
    step = page.page.get_by_role("button", name="Step")
    step.wait_for()
    page.page.locator(".dealsim-chart-staff img").first.wait_for()
    loaded = time.perf_counter() - t0
    # No Solara banner over the charts, no one-page tab bar ("Page 0"), and every slider shows its value at rest.
    expect(page.page.get_by_text("This website runs on")).to_have_count(0)
    expect(page.page.get_by_role("tab")).to_have_count(2)  # the two pages, Explore and Assess
    expect(page.page.get_by_text("Page 0", exact=True)).to_have_count(0)
    sliders = page.page.locator("[role=slider]")
    assert sliders.count() == 9, sliders.count()  # 2 for the pace, 7 levers
    for i in range(sliders.count()):
        label = sliders.nth(i).locator("xpath=..").locator(".v-slider__thumb-label")
        expect(label).to_be_visible()
        assert label.inner_text().strip() == sliders.nth(i).get_attribute("aria-valuenow")
    before = _chart_png(page, "staff")
    t1 = time.perf_counter()
    step.click()
    page.page.locator(".dealsim-caption-staff", has_text="up to 2009-01").wait_for()
    first_results = time.perf_counter() - t0
    first_step = time.perf_counter() - t1
    assert "2 simulated values" in _caption(page, "staff")   # two series, one month
    # Redraw every 4 months while playing (the slider moved by keyboard, one step a key): a redraw of the seven
    # charts costs about 100 times a month's step at this scale, so on a loaded 2-core machine sixteen of them
    # outlasted the wait below (CI, 2026-12-02); four are enough to see the charts move.
    every = page.page.locator(".v-input", has_text="Months between redraws").locator("[role=slider]").first
    every.focus()
    for _ in range(3):
        every.press("ArrowRight")
    expect(every).to_have_attribute("aria-valuenow", "4")
    page.page.wait_for_timeout(500)  # the new value reaches the server before play starts
    # Play past the first financial year (2009/10), then pause: every chart has simulated values.
    page.page.get_by_role("button", name="▶").click()
    # Waits for the event (month 17 drawn), however long a loaded machine takes: nothing here is timed.
    try:
        page.page.locator(".dealsim-caption-staff", has_text=PAST_FIRST_FY).wait_for(timeout=120_000)
    except Exception:
        page.shot("explore_play_failed")
        raise
    page.page.get_by_role("button", name="❚❚").click()
    page.page.get_by_role("button", name="▶").wait_for()
    page.page.wait_for_timeout(500)
    n = int(page.page.locator(".dealsim-month").inner_text().split("month ")[1].split(" ")[0])
    assert n >= 16
    after = _chart_png(page, "staff")
    assert after != before, "the staff chart did not redraw after stepping"
    for key in CHARTS:
        # A loaded machine may still be drawing the last month's charts when the pause lands: wait for each.
        page.page.locator(f".dealsim-caption-{key}", has_text=PAST_FIRST_FY).wait_for(timeout=120_000)
        caption = _caption(page, key)
        if key != "hle":  # healthy life expectancy needs three complete years (2009-11)
            assert " 0 simulated values" not in caption, caption
    page.page.locator(".dealsim-status").scroll_into_view_if_needed()
    page.shot("explore_stepped")
    print(f"page loaded in {loaded:.1f} s; first step drawn {first_step:.1f} s later ({first_results:.1f} s in all); "
          f"played to month {n}")
    # Timings are printed, not asserted: performance is measured by benchmarks, never by timed unit tests (the
    # same check failed for the code before and after the keyed engine on a loaded machine: 11.6 s and 10.2 s).
    page.check_assets()


def test_change_a_lever(page):
    page.goto()
    status = page.page.locator(".dealsim-status")
    status.wait_for()
    assert "fidelity 1," in status.inner_text()
    page.page.wait_for_timeout(1000)  # let the page settle (Mesa sets its parameters after the first render)
    # Fidelity slider: one click half-way along its track (one change sent to the server), then Reset
    # builds the model with it.
    track = page.page.locator(".v-input", has_text="Fidelity").locator(".v-slider").first
    slider = page.page.locator(".v-input", has_text="Fidelity").locator("[role=slider]").first
    box = track.bounding_box()
    page.page.mouse.click(box["x"] + box["width"] * 0.5, box["y"] + box["height"] / 2)
    expect(slider).to_have_attribute("aria-valuenow", "0.5")
    page.page.wait_for_timeout(1000)  # the new value reaches the server before Reset rebuilds the model
    expect(slider).to_have_attribute("aria-valuenow", "0.5")
    page.page.get_by_role("button", name="Reset").click()
    try:
        page.page.locator(".dealsim-status", has_text="fidelity 0.5,").wait_for(timeout=15_000)
    except Exception:
        page.shot("explore_lever_failed")
        raise AssertionError("after Reset the run does not use the new fidelity: "
                             + page.page.locator(".dealsim-status").inner_text()) from None
    page.page.get_by_role("button", name="Step").click()
    page.page.locator(".dealsim-month", has_text="month 1 of").wait_for()
    page.shot("explore_lever_changed")
    page.check_assets()


def test_assess_a_comparator_council(page):
    page.goto("assess")
    page.page.get_by_text("Would the Deal work here?").wait_for()
    page.page.get_by_role("button", name="Run the assessment").click()
    page.page.locator(".dealsim-results").wait_for(timeout=90_000)
    text = page.page.locator(".dealsim-results").inner_text()
    assert "Probability of a gain" in text and "chance of a gain" in text
    assert "net savings" in text and "pays back" in text
    assert "Limits" in text
    page.page.locator(".dealsim-results img").first.wait_for()
    assert page.page.get_by_role("button", name="Download assessment.json").count() == 1
    page.page.locator(".dealsim-results").evaluate("el => el.scrollIntoView({block: 'start'})")
    page.page.wait_for_timeout(300)
    page.shot("assess_result")
    page.check_assets()


def test_assess_prospectively(page):
    """The prospective question: Barnsley (Census 2021, revised HLE 2022-24 in its file) starting the Deal in
    2027, to 2040; the decision figures come first."""
    page.goto("assess")
    page.page.get_by_text("Would the Deal work here?").wait_for()
    page.page.locator(".dealsim-council-select").click()
    page.page.get_by_role("option", name="Barnsley").click()
    page.page.get_by_role("button", name="Prospective: start the Deal in a future year").click()
    page.page.get_by_text("Start the Deal in 2027").wait_for()
    page.page.get_by_text("Horizon 2040").wait_for()
    t0 = time.time()
    page.page.get_by_role("button", name="Run the assessment").click()
    page.page.locator(".dealsim-results").wait_for(timeout=120_000)
    took = time.time() - t0
    text = page.page.locator(".dealsim-results").inner_text()
    assert text.index("The decision figures") < text.index("Probability of a gain")
    assert "Net present value" in text and "discounted at 3.5% a year to 2027" in text and "2027-2040" in text
    print(f"prospective assessment in the app: {took:.1f} s")
    page.shot("assess_prospective")
    page.check_assets()


def test_bad_input_shows_message_next_to_field(page):
    page.goto("assess")
    field = page.page.locator(".dealsim-input-population-share_65_plus")
    field.wait_for()
    box = field.locator("input")
    box.fill("1.5")
    box.press("Enter")
    msg = "population.share_65_plus: must be at most 1 (got 1.5)"
    field.get_by_text(msg).wait_for()     # inside the field's own element, under its input
    page.shot("assess_bad_input")
    expect(page.page.get_by_role("button", name="Run the assessment")).to_be_disabled()
    box.fill("0.2")
    box.press("Enter")
    field.get_by_text(msg).wait_for(state="detached")
    expect(page.page.get_by_role("button", name="Run the assessment")).to_be_enabled()
    page.check_assets()
