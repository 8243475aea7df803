"""The research endpoints on the whole archive, each answer the first of its kind (issue 13).

The files in ../shared/data are replicated over dates to reach 800 DeepStateMap daily files and 40 raw
publications (the ISW layers as they are), imported through the shipped profiles into a throw-away embedded
cluster (fsync on). One server with its response cache off answers questions nobody asked before (after one
uncounted warm-up question per endpoint); the table gives p50 / p95 per endpoint against the targets. Then,
side by side in the same run, `/control` against tipg's items on the same table; then 64 clients each send a
distinct heavy query at once while one client measures cheap requests (`/healthz`, a cached collection page).

    make bench-archive    # or: .venv/bin/python bench/archive.py [--daily 800] [--raw 40] [--per-endpoint 40]

Replicated days are labelled as such: day N of the replica carries the polygons of real day N mod 175.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
from items_vs_tipg import free_port, seeded_cluster, serve
from sqlalchemy import text

from app.embedded import EmbeddedCluster
from app.services.importer import import_paths
from app.services.profiles import load_profile
from app.settings import PROJECT_ROOT

SHARED = Path(os.environ.get("FRONTLINE_SHARED_DATA", PROJECT_ROOT.parent / "shared" / "data"))
SALIENT = "deepstatemap/UA/assessed/kursk-salient"  # series of the real archive's profiles
GREY = "deepstatemap/-/unknown/unknown"
SALIENT_FROM = date(2024, 8, 12)  # its first full publication: days from here on have a salient to measure
TARGET_MS = {"research": 150, "daily series, all days": 300, "map": 400, "image": 1000}


def replicate(into: Path, daily: int, raw: int) -> dict[str, list[Path]]:
    """Symlinks to the real files under new dates: ``daily`` consecutive days, ``raw`` publications."""
    real_days = sorted((SHARED / "deepstate").glob("deepstatemap_data_*.geojson"))
    first = datetime.strptime(real_days[0].stem.rsplit("_", 1)[1], "%Y%m%d").date()
    (into / "daily").mkdir(parents=True)
    for n in range(daily):
        day = first + timedelta(days=n)
        (into / "daily" / f"deepstatemap_data_{day:%Y%m%d}.geojson").symlink_to(real_days[n % len(real_days)])
    real_raw = sorted((SHARED / "deepstate-raw").glob("*.geojson"), key=lambda p: int(p.stem))
    span = int(real_raw[-1].stem) - int(real_raw[0].stem) + 7 * 86400
    (into / "raw").mkdir()
    for n in range(raw):
        source = real_raw[n % len(real_raw)]
        (into / "raw" / f"{int(source.stem) + (n // len(real_raw)) * span}.geojson").symlink_to(source)
    return {"deepstate-daily": [into / "daily"], "deepstate-raw": [into / "raw"],
            "isw-kursk": [SHARED / "isw-kursk", SHARED / "isw-kursk-later"]}


def load(stack: ExitStack, folders: dict[str, list[Path]]) -> tuple[EmbeddedCluster, dict[str, tuple[int, float]]]:
    """A throw-away cluster, migrated, seeded, every folder imported with its profile: files and seconds each."""
    cluster, engine = seeded_cluster(stack, tcp_port=free_port())  # tipg (asyncpg) needs TCP
    timings = {}
    for profile, paths in folders.items():
        started = time.perf_counter()
        reports = import_paths(engine, paths, load_profile(profile),
                               on_file=lambda r: print(f"  {r.path.name}: {r.outcome}", end="\r"))
        timings[profile] = (len(reports), time.perf_counter() - started)
        print(f"{profile}: {len(reports)} files in {timings[profile][1]:.0f} s" + " " * 30)
    # What autovacuum would do soon after a bulk import; measuring while it runs measured autovacuum.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM (ANALYZE)"))
    engine.dispose()
    return cluster, timings


def spread(first: date, last: date, count: int) -> list[date]:
    """``count`` distinct days spread over [first, last]."""
    step = max(1, (last - first).days // count)
    return [first + timedelta(days=step * n) for n in range(count)]


@dataclass
class Endpoint:
    """One kind of question, asked with ``count`` different parameters: its name, target and URLs."""

    name: str
    target: str
    urls: Callable[[list[date]], list[str]]


def endpoints(first: date, last: date) -> list[Endpoint]:
    """What analysts and researchers ask, each URL different from the others."""
    return [
        Endpoint("/stats/area?date=D&region=kursk-oblast", "research",
                 lambda ds: [f"/stats/area?date={d}&region=kursk-oblast" for d in ds]),
        Endpoint("/stats/area?date=D&case=kursk-incursion", "research",
                 lambda ds: [f"/stats/area?date={d}&case=kursk-incursion" for d in ds]),
        Endpoint("/stats/area/series weekly, 9 months, kursk-oblast", "research",
                 lambda ds: [f"/stats/area/series?start={d}&end={d + timedelta(days=270)}&step=week"
                             f"&region=kursk-oblast" for d in ds]),
        Endpoint("/stats/area/series daily, all days, one source", "daily series, all days",
                 lambda ds: [f"/stats/area/series?start={first + timedelta(days=n)}&end={last}&source=deepstatemap"
                             for n in range(len(ds))]),
        Endpoint("/stats/area/series daily, all days, every series, region cut", "daily series, all days",
                 lambda ds: [f"/stats/area/series?start={first + timedelta(days=n)}&end={last}"
                             f"&region=kursk-oblast" for n in range(len(ds))]),
        Endpoint("/stats/changes?from=D&to=D+196", "research",
                 lambda ds: [f"/stats/changes?from={d}&to={d + timedelta(days=196)}" for d in ds]),
        Endpoint("/stats/changes?from&to&case=kursk-incursion", "research",
                 lambda ds: [f"/stats/changes?from={d}&to={d + timedelta(days=60)}&case=kursk-incursion"
                             for d in ds]),
        Endpoint("/stats/depth?date=D&side=UA&region=kursk-oblast", "research",
                 lambda ds: [f"/stats/depth?date={d}&side=UA&region=kursk-oblast" for d in ds]),
        Endpoint("/stats/settlements?from&to&case=kursk-incursion", "research",
                 lambda ds: [f"/stats/settlements?from={d}&to={d + timedelta(days=90)}&case=kursk-incursion"
                             for d in ds]),
        Endpoint("/places/sudzha/control?date=D", "research",
                 lambda ds: [f"/places/sudzha/control?date={d}" for d in ds]),
        Endpoint("/frontline?date=D&series=salient&case", "research",
                 lambda ds: [f"/frontline?date={SALIENT_FROM + timedelta(days=5 * n)}&series={SALIENT}"
                             f"&case=kursk-incursion" for n in range(len(ds))]),
        Endpoint("/stats/agreement?date=D, two series, case", "research",
                 lambda ds: [f"/stats/agreement?date={SALIENT_FROM + timedelta(days=5 * n)}&series={SALIENT},"
                             f"{GREY}&case=kursk-incursion" for n in range(len(ds))]),
        Endpoint("/control?date=D", "research", lambda ds: [f"/control?date={d}" for d in ds]),
        Endpoint("/control?date=D&case=kursk-incursion&simplify=150", "research",
                 lambda ds: [f"/control?date={d}&case=kursk-incursion&simplify=150" for d in ds]),
        Endpoint("/maps/snapshot?date=D", "map", lambda ds: [f"/maps/snapshot?date={d}" for d in ds]),
        Endpoint("/maps/compare?from&to", "map",
                 lambda ds: [f"/maps/compare?from={d}&to={d + timedelta(days=196)}" for d in ds]),
        Endpoint("/maps/timeline?start=D", "map", lambda ds: [f"/maps/timeline?start={d}" for d in ds]),
        Endpoint("/maps/snapshot?date=D&f=png (1600×1000)", "image",
                 lambda ds: [f"/maps/snapshot?date={d}&f=png" for d in ds]),
        Endpoint("/maps/compare?from&to&f=png", "image",
                 lambda ds: [f"/maps/compare?from={d}&to={d + timedelta(days=196)}&f=png" for d in ds]),
    ]


def timed(client: httpx.Client, url: str) -> float:
    """Milliseconds for one answer, which must be a 200."""
    started = time.perf_counter()
    response = client.get(url)
    elapsed = (time.perf_counter() - started) * 1000
    if response.status_code != 200:
        raise SystemExit(f"{url}: HTTP {response.status_code}: {response.text[:300]}")
    return elapsed


def p95(values: list[float]) -> float:
    """The 95th percentile, nearest rank: the ceil(0.95 n)-th smallest (the 19th of 20). Until 2026-11-26 this
    took round(0.95 n + 0.5), which Python rounds half to even: the 20th of 20, the maximum."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def research(base: str, first: date, last: date, count: int) -> list[tuple[Endpoint, list[float]]]:
    """Each endpoint asked ``count`` different questions, one at a time, after one more that is not counted: it
    primes the process and the database's plan caches (a new server's first statement of each shape), not the
    response cache, which is off."""
    days = spread(first, last - timedelta(days=200), count)
    results = []
    with httpx.Client(base_url=base, timeout=120) as client:
        for endpoint in endpoints(first, last):
            warm_up, *urls = endpoint.urls([first + timedelta(days=1), *days])
            timed(client, warm_up)
            results.append((endpoint, [timed(client, url) for url in urls]))
            print(f"  {endpoint.name}: p95 {p95(results[-1][1]):.0f} ms", end="\r")
    return results


def beside_tipg(base: str, tipg: str, days: list[date]) -> tuple[float, float]:
    """Median ms of /control?date=D (uncached) and of tipg's items of that day's DeepState polygon, alternating."""
    ours, theirs = [], []
    with httpx.Client(timeout=120) as client:
        for day in days:
            ours.append(timed(client, f"{base}/control?date={day}"))
            theirs.append(timed(client, f"{tipg}/collections/public.control_areas/items"
                                        f"?key=deepstatemap/RU/assessed/-/{day}"))
    return statistics.median(ours), statistics.median(theirs)


def under_load(base: str, first: date, last: date, clients: int = 64) -> dict[str, float]:
    """``clients`` distinct uncached heavy queries at once; meanwhile cheap requests, one after another."""
    kinds = [lambda d: f"/stats/area?date={d}&region=belgorod-oblast",
             lambda d: f"/stats/changes?from={d}&to={d + timedelta(days=30)}&case=kursk-incursion",
             lambda d: f"/maps/snapshot?date={d}&case=none",
             lambda d: f"/stats/area/series?start={d}&end={d + timedelta(days=120)}&region=ukraine"]
    days = spread(first + timedelta(days=3), last - timedelta(days=130), clients)
    heavy = [kinds[n % len(kinds)](day) for n, day in enumerate(days)]
    cheap_urls = ["/healthz", "/collections/places/items?limit=5"]
    done = threading.Event()
    cheap: list[float] = []
    per_url: dict[str, list[float]] = {url: [] for url in cheap_urls}
    with httpx.Client(base_url=base, timeout=60) as client:
        for url in cheap_urls:
            client.get(url)  # cached before the load starts

        def measure() -> None:
            n = 0
            while not done.is_set():
                url = cheap_urls[n % len(cheap_urls)]
                per_url[url].append(timed(client, url))
                cheap.append(per_url[url][-1])
                n += 1

        statuses: list[int] = []
        watcher = threading.Thread(target=measure)
        watcher.start()
        started = time.perf_counter()
        with ThreadPoolExecutor(clients) as pool, httpx.Client(base_url=base, timeout=120,
                                                               limits=httpx.Limits(max_connections=clients)) as c:
            statuses = list(pool.map(lambda url: c.get(url).status_code, heavy))
        wall = time.perf_counter() - started
        done.set()
        watcher.join()
    ordered = sorted(cheap)
    return {"wall_s": wall, "ok": statuses.count(200), "busy": statuses.count(503), "other": len(statuses)
            - statuses.count(200) - statuses.count(503), "cheap_n": len(cheap),
            "cheap_p50": statistics.median(ordered), "cheap_p99": p99(ordered),
            "health_p99": p99(per_url["/healthz"]), "hits_p99": p99(per_url[cheap_urls[1]])}


def p99(values: list[float]) -> float:
    """The 99th percentile (nearest rank below)."""
    ordered = sorted(values)
    return ordered[int(0.99 * (len(ordered) - 1))]


def report(timings: dict[str, tuple[int, float]], results: list[tuple[Endpoint, list[float]]],
           control: tuple[float, float], load: dict[str, float]) -> bool:
    """Print the tables; whether every target was met."""
    print(f"\n{os.cpu_count()} cores, {datetime.now(UTC):%Y-%m-%d}. Imports: "
          + "; ".join(f"{p} {n} files in {s:.0f} s" for p, (n, s) in timings.items()))
    print("\n| request (each different, uncached) | n | p50 ms | p95 ms | max ms | target ms |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    met = True
    for endpoint, values in results:
        target = TARGET_MS[endpoint.target]
        met &= p95(values) <= target
        print(f"| `{endpoint.name}` | {len(values)} | {statistics.median(values):.0f} | {p95(values):.0f} | "
              f"{max(values):.0f} | ≤ {target} |")
    ours, theirs = control
    met &= theirs / ours >= 3
    print(f"\n/control?date=D uncached: median {ours:.1f} ms; tipg items of the day: {theirs:.1f} ms; "
          f"{theirs / ours:.1f}× (target ≥ 3×)")
    met &= load["wall_s"] <= 10 and load["cheap_p99"] <= 50 and load["other"] == 0
    print(f"64 distinct heavy queries at once: all answered in {load['wall_s']:.1f} s (target ≤ 10 s): "
          f"{load['ok']:.0f} × 200, {load['busy']:.0f} × 503 busy, {load['other']:.0f} other; cheap requests "
          f"meanwhile: {load['cheap_n']:.0f}, p50 {load['cheap_p50']:.1f} ms, p99 {load['cheap_p99']:.1f} ms "
          f"(target ≤ 50 ms): cache hits p99 {load['hits_p99']:.1f} ms, /healthz (a database round trip) p99 "
          f"{load['health_p99']:.1f} ms")
    return met


def main() -> None:
    """Replicate, import, serve, ask, print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--daily", type=int, default=800)
    parser.add_argument("--raw", type=int, default=40)
    parser.add_argument("--per-endpoint", type=int, default=40)
    options = parser.parse_args()
    if not (SHARED / "deepstate").exists():
        sys.exit(f"{SHARED} is absent: this benchmark needs ../shared/data")
    with ExitStack() as stack, tempfile.TemporaryDirectory(prefix="frontline-replica-") as replica:
        folders = replicate(Path(replica), options.daily, options.raw)
        cluster, timings = load(stack, folders)
        first = date(2024, 7, 8)
        last = first + timedelta(days=options.daily - 1)
        app = ["app.main:create_app", "--factory"]
        base = serve(stack, app, {"DATABASE_URL": cluster.url, "FRONTLINE_CACHE_MB": "0",
                                  "FRONTLINE_FETCH_ON_START": "false"}, "/healthz")
        tipg = serve(stack, ["tipg.main:app"], {
            "DATABASE_URL": f"postgresql://frontline@127.0.0.1:{cluster.tcp_port}/frontline",
            "TIPG_DB_SCHEMAS": '["public"]', "TIPG_MAX_FEATURES_PER_QUERY": "10000"}, "/collections")
        results = research(base, first, last, options.per_endpoint)
        control = beside_tipg(base, tipg, spread(first, last, 50))
        cached = serve(stack, app, {"DATABASE_URL": cluster.url, "FRONTLINE_FETCH_ON_START": "false"}, "/healthz")
        load_figures = under_load(cached, first, last)
    sys.exit(0 if report(timings, results, control, load_figures) else 1)


if __name__ == "__main__":
    main()
