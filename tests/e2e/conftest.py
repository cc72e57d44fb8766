"""Browser tests: Playwright drives Debian's Chromium (/usr/bin/chromium, installed by
scripts/install-browser) against pytest-django's live server. Playwright never downloads a
browser. Without Chromium these tests skip, except under CI (CI=true), where that is a failure."""

import os
import time
from pathlib import Path

import pytest

from tests.factories import TEST_PASSWORD

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
ROOT = Path(__file__).resolve().parent.parent.parent
SCREENSHOTS = ROOT / "screenshots"
AXE_PIN = Path(__file__).resolve().parent / "axe-core.pin"
DESKTOP = {"width": 1280, "height": 900}
MOBILE = {"width": 390, "height": 844}


try:
    from playwright.sync_api import expect
except ImportError:  # the chromium fixture reports it
    expect = None
else:
    # The face engine takes a few seconds on a busy two-core machine; expect() waits 5 s by default.
    expect.set_options(timeout=20_000)


def _unavailable(message: str):
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="module")
def chromium(django_db_setup):
    """One browser per test module. While Playwright's sync API runs, it keeps an asyncio loop in
    this thread, and Django refuses ORM calls there ("async context") although they are plain
    synchronous calls; so the module says so, and the loop ends with the module."""
    if not CHROMIUM.exists():
        _unavailable(f"Chromium is not at {CHROMIUM}: run scripts/install-browser (as root) to run the browser tests.")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("The playwright package is missing: install requirements.txt.")
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
            yield browser
            browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def browser_page(chromium):
    context = chromium.new_context(viewport=DESKTOP)
    page = context.new_page()
    page.set_default_timeout(30_000)
    yield page
    context.close()
    _wait_for_requests_in_flight()


def _wait_for_requests_in_flight(timeout: float = 15.0) -> None:
    """Closing the browser does not stop the live server's thread from finishing a request the
    page had started (a thumbnail, a crop). The database flush after the test would then wait for
    that request's locks while the request waits for the flush's: a deadlock that fails the next
    test. So the teardown waits until no other session of the test database is mid-statement or
    mid-transaction."""
    from portal.runtime.database import owner_psycopg_connect

    deadline = time.monotonic() + timeout
    with owner_psycopg_connect() as connection:
        while time.monotonic() < deadline:
            busy = connection.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
                " AND state IN ('active', 'idle in transaction')").fetchone()[0]
            if not busy:
                return
            time.sleep(0.05)


@pytest.fixture(scope="session")
def axe_source() -> str:
    """axe-core's source, installed by scripts/install-axe (pinned version, verified hash)."""
    pin = dict(line.split("=", 1) for line in AXE_PIN.read_text().splitlines() if line and not line.startswith("#"))
    path = ROOT / "var" / f"axe-core-{pin['version']}" / "axe.min.js"
    if not path.exists():
        _unavailable(f"axe-core is not at {path}: run scripts/install-axe (make test does).")
    return path.read_text()


def log_in(page, base_url: str, email: str, password: str = TEST_PASSWORD) -> None:
    """Through the real log-in form, as a person would."""
    page.goto(f"{base_url}/accounts/login/")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state()


def shoot(page, name: str) -> None:
    """A full-page screenshot at the desktop and the phone width into screenshots/; fails when the
    page scrolls sideways at either."""
    SCREENSHOTS.mkdir(exist_ok=True)
    for label, viewport in (("desktop", DESKTOP), ("mobile", MOBILE)):
        page.set_viewport_size(viewport)
        page.wait_for_timeout(150)
        page.screenshot(path=str(SCREENSHOTS / f"{name}-{label}.png"), full_page=True)
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"{name} scrolls sideways by {overflow}px at the {label} width"
        # Every navigation link in full view: none cut off at the edge, nor scrolled out of sight.
        clipped = page.evaluate("""() => [...document.querySelectorAll('.mainnav a, .platform-nav a')]
            .filter(a => { const r = a.getBoundingClientRect(); return r.width && (r.left < 0 || r.right > innerWidth); })
            .map(a => a.textContent.trim())""")
        assert not clipped, f"{name}: navigation links {clipped} are cut off at the {label} width"
    page.set_viewport_size(DESKTOP)


def authorisation_fill(page) -> None:
    """A law-enforcement search's authorisation granted in advance (Agency A is law enforcement)."""
    page.get_by_label("Authorising authority").fill("Crown Court")
    page.get_by_label("Authorisation reference").fill("AUTH-1")
    page.get_by_label("Date of the decision").fill("2026-01-05")
