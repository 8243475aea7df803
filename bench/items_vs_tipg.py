"""Throughput of our items endpoint against tipg and against the same bytes served from memory.

One throw-away embedded cluster (fsync on) holds the seed and all 175 DeepState days. Four single-process
uvicorn servers (no access log) read it: Frontline with its cache, Frontline with the cache off (every request
built by PostGIS), tipg on the same table, and a bare ASGI app that returns our response's bytes from memory.
wrk loads each in turn over loopback. Targets (issue 3): cached ≥ 10× tipg; uncached ≥ 1.5× tipg; cached ≥ 50%
of from-memory; the area series over every DeepState day under 200 ms.

    make bench-api        # or: .venv/bin/python bench/items_vs_tipg.py [--seconds 10] [--connections 8]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

import httpx
from sqlalchemy import Engine

from app.db.engine import make_engine
from app.embedded import EmbeddedCluster
from app.services.importer import ImportOptions, discover, import_paths
from app.services.migrate import upgrade
from app.services.seed import seed
from app.settings import PROJECT_ROOT, Settings

DATA = Path(os.environ.get("FRONTLINE_SHARED_DATA", PROJECT_ROOT.parent / "shared" / "data")) / "deepstate"
DAY = "2024-10-18"
OURS = f"/collections/control-areas/items?datetime={DAY}&source=deepstatemap"
TIPG = f"/collections/public.control_areas/items?key=deepstatemap/RU/assessed/-/{DAY}"
SERIES = "/stats/area/series?start=2024-07-08&end=2024-12-31&source=deepstatemap"
MEMORY_APP = Path(__file__).with_name("memory_app.py")


def free_port() -> int:
    """An unused loopback port."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(stack: ExitStack, args: list[str], env: dict[str, str], probe: str) -> str:
    """Start a uvicorn server in its own process; return its base URL once ``probe`` answers 200."""
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", *args, "--host", "127.0.0.1", "--port", str(port),
               "--no-access-log", "--log-level", "warning"]
    process = subprocess.Popen(command, env={**os.environ, **env}, cwd=PROJECT_ROOT)
    stack.callback(process.wait, 10)
    stack.callback(process.terminate)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(base + probe, timeout=30).status_code == 200:
                return base
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline or process.poll() is not None:
            raise SystemExit(f"server {' '.join(args)} did not start")
        time.sleep(0.3)


def wrk(url: str, seconds: int, connections: int) -> float:
    """Requests per second reported by wrk (one thread), after checking every response was a 2xx."""
    out = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", url],
                         capture_output=True, text=True, check=True).stdout
    if "Non-2xx" in out or "Socket errors" in out:
        raise SystemExit(f"errors while loading {url}:\n{out}")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]


def check_requirements() -> None:
    """Exit with a message when the DeepState files or wrk are missing."""
    if not DATA.exists():
        sys.exit(f"{DATA} is absent: this benchmark needs the DeepStateMap daily files")
    if not shutil.which("wrk"):
        sys.exit("wrk is missing: apt-get install wrk")


def seeded_cluster(stack: ExitStack, tcp_port: int | None = None) -> tuple[EmbeddedCluster, Engine]:
    """A throw-away embedded cluster (fsync on), migrated and seeded, and an engine on it (the caller disposes
    of it); both go when ``stack`` closes."""
    scratch = Path(tempfile.mkdtemp(prefix="frontline-bench-", dir="/tmp"))
    scratch.chmod(0o755)
    stack.callback(shutil.rmtree, scratch, True)
    cluster = EmbeddedCluster(scratch, tcp_port=tcp_port)
    cluster.start()
    stack.callback(cluster.stop)
    settings = Settings(database_url=cluster.url, data_dir=scratch)
    upgrade(settings)
    engine = make_engine(settings)
    with engine.begin() as conn:
        seed(conn, settings.geodata_dir)
    return cluster, engine


def deepstate_cluster(stack: ExitStack, tcp_port: int | None = None) -> EmbeddedCluster:
    """A throw-away embedded cluster (fsync on), migrated, seeded and holding every DeepState day."""
    cluster, engine = seeded_cluster(stack, tcp_port)
    import_paths(engine, discover([DATA]), ImportOptions("deepstatemap", "RU", "assessed"))
    engine.dispose()
    return cluster


def main() -> None:
    """Prepare the database, start the servers, load each, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=8)
    options = parser.parse_args()
    check_requirements()
    with ExitStack() as stack:
        cluster = deepstate_cluster(stack, tcp_port=free_port())  # tipg (asyncpg) needs TCP
        body_file = Path(tempfile.mkstemp(suffix=".geojson")[1])
        stack.callback(body_file.unlink)
        app = ["app.main:create_app", "--factory"]
        database = {"DATABASE_URL": cluster.url}
        cached = serve(stack, app, {**database, "FRONTLINE_CACHE_MB": "256"}, OURS)
        uncached = serve(stack, app, {**database, "FRONTLINE_CACHE_MB": "0"}, OURS)
        tipg = serve(stack, ["tipg.main:app"], {
            "DATABASE_URL": f"postgresql://frontline@127.0.0.1:{cluster.tcp_port}/frontline",
            "TIPG_DB_SCHEMAS": '["public"]', "TIPG_MAX_FEATURES_PER_QUERY": "10000"}, TIPG)
        body = httpx.get(cached + OURS).content
        body_file.write_bytes(body)
        memory = serve(stack, ["memory_app:app", "--app-dir", str(MEMORY_APP.parent)],
                       {"MEMORY_BODY": str(body_file)}, "/")

        tipg_body = httpx.get(tipg + TIPG).json()
        assert tipg_body["numberReturned"] == 1, "tipg should return the one DeepState feature of the day"
        first = [httpx.get(uncached + SERIES).elapsed.total_seconds() for _ in range(5)]

        results = {
            "frontline, cached": wrk(cached + OURS, options.seconds, options.connections),
            "frontline, uncached (built by PostGIS each time)": wrk(uncached + OURS, options.seconds,
                                                                    options.connections),
            "tipg": wrk(tipg + TIPG, options.seconds, options.connections),
            "same bytes from memory (bare ASGI)": wrk(memory + "/", options.seconds, options.connections),
        }
    base = results["tipg"]
    print(f"\nitems of one DeepState day ({DAY}, {len(body):,} bytes), wrk -t1 -c{options.connections} "
          f"-d{options.seconds}s, {os.cpu_count()} cores:\n")
    print("| server | requests/s | × tipg |\n| --- | ---: | ---: |")
    for name, rps in results.items():
        print(f"| {name} | {rps:,.0f} | {rps / base:.1f} |")
    cached_rps, memory_rps = results["frontline, cached"], results["same bytes from memory (bare ASGI)"]
    print(f"\ncached / from-memory: {cached_rps / memory_rps:.0%} (target ≥ 50%)")
    print(f"cached / tipg: {cached_rps / base:.1f}× (target ≥ 10×); "
          f"uncached / tipg: {results['frontline, uncached (built by PostGIS each time)'] / base:.1f}× "
          "(target ≥ 1.5×)")
    print(f"area series, all 177 days of DeepState, uncached: median {statistics.median(first) * 1000:.0f} ms "
          f"of 5 (target < 200 ms)")


if __name__ == "__main__":
    main()
