"""How long the analyst map pages take to load in headless Chromium, against a running Frontline.

Import the DeepStateMap daily files first (`frontline import ../shared/data/deepstate --source deepstatemap
--side RU --status assessed`), so the snapshot draws the full DeepState polygon of the day. Target (issue 4):
a snapshot page with the full DeepState polygon loads in under a second.

    .venv/bin/python bench/maps_load.py [--url http://127.0.0.1:8000] [--date 2024-10-18]
"""

from __future__ import annotations

import argparse
import statistics
import time

from playwright.sync_api import sync_playwright

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def main() -> None:
    """Load each page five times (the first uncached), print sizes and median load times."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--date", default="2024-10-18")
    options = parser.parse_args()
    pages = {"snapshot": f"/maps/snapshot?date={options.date}&source=deepstatemap",
             "timeline": "/maps/timeline?source=deepstatemap",
             "compare": "/maps/compare?from=2024-08-20&to=2024-11-20&source=deepstatemap"}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        print("| page | HTML bytes | first load (ms) | median of 5 (ms) |\n| --- | ---: | ---: | ---: |")
        for name, path in pages.items():
            times, size = [], 0
            for _ in range(5):
                page = browser.new_page()
                start = time.perf_counter()
                response = page.goto(options.url + path, wait_until="load")
                if name == "timeline":
                    page.wait_for_selector("body[data-day-shown]", state="attached")
                times.append((time.perf_counter() - start) * 1000)
                assert response is not None and response.ok, f"{path}: {response and response.status}"
                size = len(response.body())
                page.close()
            print(f"| {name} | {size:,} | {times[0]:.0f} | {statistics.median(times):.0f} |")
        browser.close()


if __name__ == "__main__":
    main()
