"""Browser fixtures: Debian's Chromium driven by Playwright (no browser download), over the live test servers.

Everything a page does is recorded: console errors, uncaught page errors, every request URL and every dialog
(dialogs are dismissed). The only skip is a missing Chromium (`make test` installs it, so in CI these tests run),
and, for the tests of the real archive, a missing ../shared/data.

A page is 1280×800 unless a test parametrizes ``viewport`` (as tests.helpers.DESKTOP or PHONE; a page 640 pixels
wide or less is a touch screen's).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, Playwright, ViewportSize, sync_playwright

from app.settings import Settings
from tests.helpers import LiveServer, Recorder, import_shared_archive, seeded_app, serving, shared_data

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


def open_page(browser: Browser, recorder: Recorder, viewport: ViewportSize = VIEWPORT) -> Page:
    """A page in a context of its own; at the phone's width, a touch screen that honours the page's viewport."""
    phone = viewport["width"] <= 640
    context = browser.new_context(viewport=viewport, is_mobile=phone, has_touch=phone)
    page = context.new_page()
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
def viewport() -> ViewportSize:
    """The page's size: 1280×800 unless the test parametrizes it."""
    return VIEWPORT


@pytest.fixture
def page(browser: Browser, recorder: Recorder, viewport: ViewportSize) -> Iterator[Page]:
    """A page in its own context (no shared cache or storage), of ``viewport``'s size, recording into
    `recorder`."""
    page = open_page(browser, recorder, viewport)
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


@pytest.fixture(scope="module")
def archive_server(database_factory) -> Iterator[LiveServer]:  # type: ignore[no-untyped-def]
    """A live server over a committed database of its own holding the seed and the whole real archive: every
    file of ../shared/data's deepstate, deepstate-raw, isw-kursk and isw-kursk-later folders imported with its
    shipped profile, as `frontline import --profile` does. Skips when ../shared/data is absent."""
    shared_data()
    settings = Settings(database_url=database_factory())
    stack = seeded_app(settings)
    try:
        import_shared_archive(stack.engine)
        with serving(stack.app) as url:
            assert stack.app.state.version_watcher.connected.wait(10), "the version watcher did not connect"
            yield LiveServer(url, str(settings.database_url))
    finally:
        stack.engine.dispose()
