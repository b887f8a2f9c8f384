"""Browser-journey fixtures: Debian's chromium driven by Playwright for Python against pytest-django's
live server (transactional database; Celery tasks run eagerly inside the request).

- ``browser`` (session): headless chromium from /usr/bin/chromium — never a downloaded build.
- ``page`` (anonymous) and ``login(role)``: a fresh browser context, signed in through the real login
  form as that role's seeded user; every context records server errors (5xx), JavaScript errors and
  Content-Security-Policy violations, asserted absent at teardown.
- ``shot(name, page=None, keep=None)``: a full-page PNG at
  ``tests/e2e/artifacts/screenshots/<test>/<nn>-<name>.png`` (git-ignored: a test run never changes the
  git tree; CI keeps the folder as an artifact). ``keep="slug"`` marks a screen of the curated set
  committed under ``tests/e2e/screenshots/<slug>.png`` (issue 16's reworked screens): ``make
  screenshots`` runs the tests that keep one with ``E2E_CURATE`` naming a folder, and only then is the
  kept shot written there too (256 colours, so the committed set stays small); ``make`` moves the
  folder's PNGs into place once every one of those tests passed.
- ``e2e_world``: what the journey starts from, built through the services: one user per role (two
  approvers), the products and the token meter, a finance API token, and September 2026 closed.

Tests marked ``e2e`` skip locally when chromium or Playwright is missing and FAIL in CI
(``CI=true`` / ``REQUIRE_SERVICES=1``), like the service-backed tests in tests/conftest.py."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import REQUIRE_SERVICES

CHROMIUM = "/usr/bin/chromium"
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).parent / "artifacts" / "screenshots"  # git-ignored: every run's shots
CURATED = Path(__file__).parent / "screenshots"  # committed: the curated set (make screenshots)
KEEP = re.compile(r"""\bkeep=["']([a-z0-9-]+)["']""")
PASSWORD = "e2e-Journey-2026!"
TIMEOUT_MS = 15_000

# role key -> (username, role group, display name)
USERS = {
    "pricing": ("priya", "pricing", "Priya Pricing"),
    "finance": ("fiona", "finance", "Fiona Finance"),
    "approver": ("arthur", "approver", "Arthur Approver"),
    "approver2": ("beatrice", "approver", "Beatrice Approver"),
    "auditor": ("otto", "auditor", "Otto Auditor"),
}


def _browser_missing() -> str | None:
    if not os.access(CHROMIUM, os.X_OK):
        return f"{CHROMIUM} is missing (make browser, or apt-get install chromium)"
    if importlib.util.find_spec("playwright") is None:
        return "Playwright for Python is not installed (pip install -r requirements.lock)"
    return None


def pytest_runtest_setup(item):
    if item.get_closest_marker("e2e") is None:
        return
    reason = _browser_missing()
    if reason:
        if REQUIRE_SERVICES:
            pytest.fail(f"Browser journeys cannot run in CI: {reason}", pytrace=False)
        pytest.skip(reason)


# --- browser ------------------------------------------------------------------------------------------


def kept_slugs(source: str) -> list[str]:
    """The curated screenshots (``shot(..., keep="slug")``) a test's source takes."""
    return KEEP.findall(source)


def _keeps_a_shot(item) -> bool:
    import inspect

    function = getattr(item, "function", None)
    return function is not None and bool(kept_slugs(inspect.getsource(function)))


def pytest_collection_modifyitems(config, items):
    """Browser journeys run last: while the session's browser lives, Playwright keeps an event loop
    running in the main thread (see ``browser``), and no other test should run beside it. Curating
    (``E2E_CURATE``, ``make screenshots``), only the browser tests that keep a screenshot run."""
    if os.environ.get("E2E_CURATE"):
        chosen = [item for item in items if item.get_closest_marker("e2e") and _keeps_a_shot(item)]
        config.hook.pytest_deselected(items=[item for item in items if item not in chosen])
        items[:] = chosen
    journeys = [item for item in items if item.get_closest_marker("e2e")]
    if journeys:
        items[:] = [item for item in items if not item.get_closest_marker("e2e")] + journeys


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import expect, sync_playwright

    # Playwright's sync API runs an event loop in the test thread; the ORM calls that fixtures and
    # assertions make from that thread are still plain synchronous calls.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    expect.set_options(timeout=TIMEOUT_MS)
    try:
        with sync_playwright() as pw:
            chromium = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS)
            yield chromium
            chromium.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@dataclass
class Problems:
    """What went wrong in the browser while the test drove it (asserted empty at teardown)."""

    server_errors: list[str] = field(default_factory=list)
    js_errors: list[str] = field(default_factory=list)
    csp_violations: list[str] = field(default_factory=list)

    def console(self, message) -> None:
        # Chromium reports what the Content-Security-Policy blocked (an inline script or handler, an
        # eval, a style attribute) on the console; any of it means a page does not work as written.
        if "Content Security Policy" in message.text:
            self.csp_violations.append(message.text)

    def record(self, response) -> None:
        if response.status >= 400:  # shown with a failing test's captured output
            print(f"HTTP {response.status} {response.request.method} {response.url}")  # noqa: T201
        if response.status >= 500:
            self.server_errors.append(f"{response.status} {response.request.method} {response.url}")


@pytest.fixture
def problems() -> Problems:
    return Problems()


@pytest.fixture
def new_page(browser, live_server, problems):
    """new_page() -> a Page in a fresh context (its own cookies) pointed at the live server."""
    contexts = []

    def make():
        context = browser.new_context(
            base_url=live_server.url, viewport={"width": 1366, "height": 900}, accept_downloads=True
        )
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        page = context.new_page()
        page.on("response", problems.record)
        page.on("pageerror", lambda exc: problems.js_errors.append(str(exc)))
        page.on("console", problems.console)
        return page

    yield make
    for context in contexts:
        context.close()
    assert not problems.server_errors, f"server errors during the journey: {problems.server_errors}"
    assert not problems.js_errors, f"JavaScript errors during the journey: {problems.js_errors}"
    assert not problems.csp_violations, f"Content-Security-Policy violations: {problems.csp_violations}"


@pytest.fixture
def page(new_page, current):
    """An anonymous page (not signed in) on the live server."""
    current.page = new_page()
    return current.page


@dataclass
class Current:
    page: object | None = None


@pytest.fixture
def current() -> Current:
    return Current()


@pytest.fixture
def login(new_page, e2e_world, current, live_server):
    """login("finance") -> a Page signed in (through the login form) as the seeded user of that role.
    The same role asked twice gets the same page; the page becomes the default for ``shot``."""
    from playwright.sync_api import expect

    pages = {}

    def sign_in(role: str):
        if role not in pages:
            username = USERS[role][0]
            page = new_page()
            page.goto("/login/")
            page.fill("#id_username", username)
            page.fill("#id_password", PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url(f"{live_server.url}/")  # the dashboard, not the login form again
            expect(page.get_by_role("button", name="Sign out")).to_be_visible()
            pages[role] = page
        current.page = pages[role]
        return pages[role]

    return sign_in


def _curate(path: Path, slug: str) -> None:
    """Write the curated copy of a shot: 256 colours (a UI screenshot loses nothing visible and
    shrinks several times), into the folder ``E2E_CURATE`` names."""
    from PIL import Image

    target = Path(os.environ["E2E_CURATE"]) / f"{slug}.png"
    target.parent.mkdir(parents=True, exist_ok=True)
    with Image.open(path) as image:
        image.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(target, optimize=True)


@pytest.fixture
def shot(request, current):
    """shot("name") saves a full-page screenshot of the current page (or ``page=``) among the run's
    artifacts and returns its path; ``keep="slug"`` makes it the curated screen ``slug`` as well."""
    folder = ARTIFACTS / re.sub(r"[^\w.-]+", "_", request.node.name)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True, exist_ok=True)
    counter = {"n": 0}

    def take(name: str, page=None, keep: str | None = None) -> Path:
        counter["n"] += 1
        target = page or current.page
        assert target is not None, "shot() needs a page: log in first or pass page="
        slug = re.sub(r"[^\w.-]+", "-", name)
        path = folder / f"{counter['n']:02d}-{slug}.png"
        # caret="initial": Playwright's caret hiding injects a <style>, which the CSP (rightly) refuses.
        target.screenshot(path=str(path), full_page=True, caret="initial")
        if keep and os.environ.get("E2E_CURATE"):
            _curate(path, keep)
        return path

    return take


# --- seed data -----------------------------------------------------------------------------------------


@dataclass
class World:
    users: dict
    api_token: str
    closed_period: str


@pytest.fixture
def e2e_world(live_server, settings, tmp_path) -> World:
    """Users (one per role, two approvers), the products and the token meter the pricing admin
    prices, a finance API token for the usage feed, and September 2026 closed (the approver asks
    to reopen it). Told as a Scenario (tests/scenario.py) in the live server's (transactional)
    database; the people are factory users who sign in through the login form."""
    from django.db import transaction

    from revops.core.services.tokens import api_token_create
    from tests.revops.factories import UserFactory
    from tests.scenario import Scenario

    settings.MEDIA_ROOT = tmp_path / "media"  # invoice PDFs of this run only
    # Usage is billed up to a watermark five minutes behind "now" (USAGE_SETTLE_SECONDS, so a still-open
    # ingestion transaction cannot be overtaken). The journey sends its events seconds before the
    # billing run, so it bills up to "now" instead.
    settings.USAGE_SETTLE_SECONDS = 0

    users = {}
    for key, (username, role, full_name) in USERS.items():
        first, last = full_name.split(" ", 1)
        users[key] = UserFactory(
            username=username, password=PASSWORD, first_name=first, last_name=last, role=role
        )
    s = Scenario(name="e2e")
    s.product("platform", "ratable_daily", name="Platform").product("tokens", "usage", name="AI tokens")
    s.meter(
        "llm_tokens", name="LLM tokens", aggregation="sum", field="tokens", group_by=["model", "token_type"]
    )
    s.closed("2026-09", actor=users["finance"])
    with transaction.atomic():
        _, raw = api_token_create(username=USERS["finance"][0], role="finance", name="e2e usage feed")
    return World(users=users, api_token=raw, closed_period="2026-09")
