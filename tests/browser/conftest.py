"""Browser fixtures: Debian's Chromium driven by Playwright (no browser download), over the live test server.

Everything a page does is recorded: console errors, uncaught page errors, every request URL and every dialog
(dialogs are dismissed). The only skip is a missing Chromium; `make test` installs it, so in CI these tests run.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, Playwright, ViewportSize, sync_playwright

from tests.helpers import Recorder

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
VIEWPORT: ViewportSize = {"width": 1280, "height": 800}
TIMEOUT_MS = 10_000


def chromium_executable() -> str | None:
    if os.access("/usr/bin/chromium", os.X_OK):
        return "/usr/bin/chromium"
    return shutil.which("chromium")


def launch(playwright: Playwright) -> Browser:
    return playwright.chromium.launch(executable_path=chromium_executable(), args=CHROMIUM_ARGS)


def open_page(browser: Browser, recorder: Recorder) -> Page:
    page = browser.new_context(viewport=VIEWPORT).new_page()
    page.set_default_timeout(TIMEOUT_MS)
    recorder.attach(page)
    return page


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    if chromium_executable() is None:
        pytest.skip("Chromium is not installed (neither /usr/bin/chromium nor `chromium` on PATH); "
                    "`make test` installs it through scripts/install-system-deps.sh")
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = launch(playwright)
    yield browser
    browser.close()


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def page(browser: Browser, recorder: Recorder) -> Iterator[Page]:
    """A page in its own context (no shared cache or storage), 1280×800, recording into `recorder`."""
    page = open_page(browser, recorder)
    yield page
    page.context.close()


@pytest.fixture
def fresh_page(playwright: Playwright, recorder: Recorder) -> Iterator[Page]:
    """A page in a newly launched browser: what a first visit does (browser-wide state such as the favicon
    cache would otherwise hide requests and errors from every page but the first)."""
    browser = launch(playwright)
    page = open_page(browser, recorder)
    yield page
    browser.close()
