"""The browser tests' harness: Playwright (sync API) driving Debian's chromium over the
live server.

- Without ``/usr/bin/chromium`` (or the playwright package) every test here is skipped,
  saying why; with ``LAYER_SYNC_REQUIRE_BROWSER=1`` (CI) they fail instead.
- chromium is Debian's, never a browser Playwright downloads.
- Each test ends with a screenshot in ``test-artifacts/browser/<test name>.png``, kept when
  the test fails and deleted when it passes (``LAYER_SYNC_KEEP_SCREENSHOTS=1`` keeps them
  all).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

# Playwright's sync API runs an event loop in this thread; the ORM calls the tests make
# between browser steps are synchronous and safe, but Django refuses them near a loop.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"
PASSWORD = "browser-test-password-1"
TIMEOUT_MS = 10_000


def _unavailable() -> str:
    """Why the browser tests cannot run here ("" when they can)."""
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing (apt-get install chromium; .ci/run installs it)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return 'the playwright package is missing (pip install -e ".[test]")'
    return ""


def pytest_collection_modifyitems(config, items):
    reason = _unavailable()
    if not reason:
        return
    if os.environ.get("LAYER_SYNC_REQUIRE_BROWSER") == "1":
        return  # each test fails in the browser fixture, saying why
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(pytest.mark.skip(reason=f"Browser tests skipped: {reason}"))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"report_{report.when}", report)


@pytest.fixture(scope="session")
def browser():
    reason = _unavailable()
    if reason:  # with LAYER_SYNC_REQUIRE_BROWSER=1: the collection hook skipped nothing
        if os.environ.get("LAYER_SYNC_REQUIRE_BROWSER") == "1":
            pytest.fail(f"LAYER_SYNC_REQUIRE_BROWSER=1 but {reason}")
        pytest.skip(reason)
    from django.db import connections
    from playwright.sync_api import sync_playwright

    # Once Playwright runs, this thread has a running event loop, and Django then keeps
    # its connections in another (asyncio-aware) store: the tests from here on get new
    # connection objects, without the snapshot serialized rollback restores. Carry it over.
    snapshots = {
        alias: connections[alias]._test_serialized_contents
        for alias in connections
        if hasattr(connections[alias], "_test_serialized_contents")
    }
    with sync_playwright() as playwright:
        for alias, contents in snapshots.items():
            connections[alias]._test_serialized_contents = contents
        chromium = playwright.chromium.launch(
            headless=True, executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


def _artifact_name(nodeid: str) -> str:
    return re.sub(r"[^\w.-]+", "_", nodeid.split("::")[-1])


def is_csp_violation(text: str) -> bool:
    """A console message in which chromium reports the Content-Security-Policy refusing
    something (an inline script or handler, a style, a resource, eval)."""
    return "Content Security Policy" in text or "Content-Security-Policy" in text


@pytest.fixture
def page(request, browser, live_server) -> Iterator:
    """A fresh browser page (own cookies, downloads accepted) on the live server; its
    screenshot is taken when the test ends.

    The pages run under the production Content-Security-Policy (the test settings enforce
    it): a test whose pages made chromium refuse anything under it fails, naming what.
    """
    context = browser.new_context(
        base_url=live_server.url, accept_downloads=True, viewport={"width": 1280, "height": 900}
    )
    context.set_default_timeout(TIMEOUT_MS)
    tab = context.new_page()
    violations: list[str] = []
    tab.on(
        "console",
        lambda message: (
            violations.append(f"{tab.url}: {message.text}")
            if is_csp_violation(message.text)
            else None
        ),
    )
    tab.csp_violations = violations  # a test proving the check may look (and clear it)
    yield tab
    tab.wait_for_timeout(100)  # let the last page's console messages arrive
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / f"{_artifact_name(request.node.nodeid)}.png"
    try:
        tab.screenshot(path=str(shot), full_page=True)
    finally:
        context.close()
    report = getattr(request.node, "report_call", None)
    passed = report is not None and report.passed
    if passed and os.environ.get("LAYER_SYNC_KEEP_SCREENSHOTS") != "1":
        shot.unlink(missing_ok=True)
    assert not violations, "Content-Security-Policy violations:\n" + "\n".join(violations)


@pytest.fixture
def staff_user(transactional_db):
    from tests.factories import UserFactory

    user = UserFactory(username="billing.staff", is_staff=True, is_superuser=True)
    user.set_password(PASSWORD)
    user.save()
    return user


def log_in(page, user, *, next_url: str = "/admin/") -> None:
    """Log in through the admin's login form, as staff do."""
    page.goto(f"/admin/login/?next={next_url}")
    page.fill("#id_username", user.get_username())
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"**{next_url}")


@pytest.fixture
def staff_page(page, staff_user):
    """A page logged in as a staff superuser (through the login form)."""
    log_in(page, staff_user)
    return page
