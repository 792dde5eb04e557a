"""Headless Chromium driven by Playwright, for tests that use Mailgrip's pages as a person would.

The fixtures are imported by ``tests/conftest.py`` only: a second definition in a nearer
conftest would start a second Playwright while the first runs, which Playwright's sync API
rejects.
"""

from __future__ import annotations

import os
import re
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
# Flags that keep Chromium quiet on the network and runnable as root in a container.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# The pane must load everything from Mailgrip itself: no CDN, no other host.
LOOPBACK_URL = re.compile(r"^(https?://(127\.0\.0\.1|\[::1\]|localhost)(:\d+)?/|data:|about:)")
PANE_WIDTH = 320


@pytest.fixture(scope="session")
def browser():
    """Launch one headless Chromium for the session; a missing one skips, or fails under CI."""
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} is missing; install Debian's chromium package to run browser tests"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@contextmanager
def pane_page(browser, **context_options):
    """Open a page as wide as a task pane. A request to any host but loopback fails the test."""
    context = browser.new_context(
        viewport={"width": PANE_WIDTH, "height": 900},
        locale="en-US",
        timezone_id="UTC",
        **context_options,
    )
    outside: list[str] = []

    def abort_outside(route):
        outside.append(route.request.url)
        route.abort()

    context.route(lambda url: not LOOPBACK_URL.match(url), abort_outside)
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()
    assert outside == [], f"the page requested other hosts than loopback: {outside}"


@pytest.fixture
def page(browser):
    """Open a page as wide as a task pane. A request to any host but loopback fails the test."""
    with pane_page(browser) as opened:
        yield opened


@pytest.fixture
def open_pane_page(browser):
    """Open pane-sized pages with extra context options; each is checked like ``page``."""
    with ExitStack() as stack:
        yield lambda **options: stack.enter_context(pane_page(browser, **options))
