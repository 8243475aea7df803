"""64 concurrent readers for 30 s against the main read endpoints: errors, p50/p99 latency, throughput.

A throw-away embedded cluster (fsync on) holds the seed and all 175 DeepState days; one uvicorn process serves
it as `frontline serve` would. wrk (64 connections, 2 threads) cycles through items, as-of control, area,
series, settlement and map URLs over many days, so the cache sees both misses and hits. Target (issue 6):
zero errors.

    make bench-load       # or: .venv/bin/python bench/load_readers.py [--seconds 30] [--connections 64]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from contextlib import ExitStack
from datetime import date, timedelta
from pathlib import Path

from items_vs_tipg import check_requirements, deepstate_cluster, serve

LUA = """
paths = {%s}
counter = 0
request = function()
  counter = counter + 1
  return wrk.format("GET", paths[(counter %% #paths) + 1])
end
"""


def urls() -> list[str]:
    """The mix of read requests: 30 days, six endpoints each."""
    days = [date(2024, 8, 6) + timedelta(days=5 * n) for n in range(30)]
    paths = []
    for day in days:
        paths += [f"/collections/control-areas/items?datetime={day}", f"/control?date={day}",
                  f"/stats/area?date={day}&region=kursk-oblast", f"/places/sudzha/control?date={day}",
                  f"/collections/places/items?limit=5&offset={day.day % 5}", f"/maps/snapshot?date={day}"]
    return paths + ["/stats/area/series?start=2024-08-01&end=2024-12-31&step=week", "/collections"]


def main() -> None:
    """Prepare the database, start the server, load it, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--connections", type=int, default=64)
    options = parser.parse_args()
    check_requirements()
    with ExitStack() as stack:
        cluster = deepstate_cluster(stack)
        script = Path(tempfile.mkstemp(suffix=".lua")[1])
        stack.callback(script.unlink)
        base = serve(stack, ["app.main:create_app", "--factory"], {"DATABASE_URL": cluster.url}, "/healthz")
        script.write_text(LUA % ", ".join(f'"{u}"' for u in urls()))
        out = subprocess.run(["wrk", "-t2", f"-c{options.connections}", f"-d{options.seconds}s", "--latency",
                              "--timeout", "10s", "-s", str(script), base], capture_output=True, text=True,
                             check=True).stdout
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sockets = re.search(r"Socket errors: (.*)", out)
    latency = dict(re.findall(r"^\s+(50|75|90|99)%\s+(\S+)", out, re.MULTILINE))
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    total = re.search(r"(\d+) requests in", out)
    print(out)
    print("| readers | seconds | requests | errors | p50 | p99 | requests/s |\n"
          "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n"
          f"| {options.connections} | {options.seconds} | {total.group(1) if total else '?'} | "
          f"{(errors.group(1) if errors else '0')} non-2xx, {sockets.group(1) if sockets else 'no socket errors'} | "
          f"{latency.get('50')} | {latency.get('99')} | {rps.group(1) if rps else '?'} |  ({os.cpu_count()} cores)")
    if errors or sockets:
        sys.exit(1)


if __name__ == "__main__":
    main()
