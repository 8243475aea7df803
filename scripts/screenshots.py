"""The README's screenshots of the real archive: docs/archive-*.png, at 1366×768 and 390×844.

Run against a server that holds every file of ../shared/data imported with the shipped profiles:

    .venv/bin/python scripts/screenshots.py http://127.0.0.1:8000

Headless Chromium from Debian (`make test` installs it), driven by Playwright; nothing is downloaded.
"""

from __future__ import annotations

import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

DOCS = Path(__file__).resolve().parent.parent / "docs"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SALIENT, ISW = "deepstatemap/UA/assessed/kursk-salient", "isw/RU/assessed/kursk-ru-advances"
#: name: (path, sizes, open the drawer)
SHOTS = {
    "archive-snapshot": ("/maps/snapshot?date=2024-11-24", ((1366, 768),), False),
    "archive-snapshot-phone": ("/maps/snapshot?date=2024-11-24", ((390, 844),), False),
    "archive-snapshot-drawer": ("/maps/snapshot?date=2024-11-24", ((1366, 768),), True),
    "archive-timeline": ("/maps/timeline?day=2024-09-01", ((1366, 768),), False),
    "archive-compare": ("/maps/compare?from=2024-09-01&to=2024-11-24", ((1366, 768),), False),
    "archive-disagreement": (f"/maps/disagreement?date=2024-11-24&a={SALIENT}&b={ISW}", ((1366, 768),), False),
    "archive-front": (f"/maps/snapshot?date=2024-10-06&front={SALIENT}", ((1366, 768),), False),
}


def main(base: str) -> None:
    """Write each screenshot of SHOTS into docs/."""
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        for name, (path, sizes, drawer) in SHOTS.items():
            for width, height in sizes:
                page = browser.new_page(viewport={"width": width, "height": height})
                page.goto(base + path)
                page.wait_for_load_state("networkidle")
                if drawer:
                    page.click("#fl-menu")
                page.wait_for_timeout(300)  # the labels' declutter frame, the drawer's layout
                page.screenshot(path=str(DOCS / f"{name}.png"))
                page.close()
                print(f"docs/{name}.png")
        browser.close()


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8000")
