"""Browser fixtures: Debian's Chromium driven by Playwright (no browser download), over the live test server.

Everything a page does is recorded: console errors, uncaught page errors, every request URL and every dialog
(dialogs are dismissed). The only skip is a missing Chromium; `make test` installs it, so in CI these tests run.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import (
    Browser,
    ConsoleMessage,
    Dialog,
    Page,
    Playwright,
    Request,
    ViewportSize,
    sync_playwright,
)

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
VIEWPORT: ViewportSize = {"width": 1280, "height": 800}
TIMEOUT_MS = 10_000
DOCS = Path(__file__).resolve().parents[2] / "docs"


def chromium_executable() -> str | None:
    if os.access("/usr/bin/chromium", os.X_OK):
        return "/usr/bin/chromium"
    return shutil.which("chromium")


@dataclass
class Recorder:
    """What a page did: console errors, page errors, request URLs, dialogs."""

    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    def attach(self, page: Page) -> None:
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.page_errors.append(f"{error.name}: {error.message}"))
        page.on("request", self._request)
        page.on("dialog", self._dialog)

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.console_errors.append(f"{message.text} (at {message.location.get('url')})")

    def _request(self, request: Request) -> None:
        self.requests.append(request.url)

    def _dialog(self, dialog: Dialog) -> None:
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    def problems(self) -> str:
        return f"page errors: {self.page_errors}; console errors: {self.console_errors}; dialogs: {self.dialogs}"


def launch(playwright: Playwright) -> Browser:
    return playwright.chromium.launch(executable_path=chromium_executable(), args=CHROMIUM_ARGS)


def open_page(browser: Browser, recorder: Recorder) -> Page:
    page = browser.new_context(viewport=VIEWPORT).new_page()
    page.set_default_timeout(TIMEOUT_MS)
    recorder.attach(page)
    return page


def screenshot(page: Page, name: str) -> None:
    """docs/<name> at 1280×800, only with FRONTLINE_SCREENSHOTS=1 (so a test run never rewrites tracked files)."""
    if os.environ.get("FRONTLINE_SCREENSHOTS") == "1":
        page.screenshot(path=str(DOCS / name))


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
