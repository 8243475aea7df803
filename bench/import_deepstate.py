"""Time `frontline import` of the shared folders into a fresh database.

Runs against a throw-away embedded cluster (or DATABASE_URL, whose database must be disposable), migrated and
seeded first; prints files, rows and seconds for: the 175 DeepStateMap daily files with plain options (target
from the foundation issue: under 60 s on 2 cores), and the raw DeepStateMap exports and the ISW layers with
their shipped import profiles.
"""

from __future__ import annotations

import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

from app.db.engine import make_engine
from app.embedded import EmbeddedCluster
from app.services.importer import ImportOptions, Plan, discover, import_paths
from app.services.migrate import upgrade
from app.services.profiles import load_profile
from app.services.seed import seed
from app.settings import PROJECT_ROOT, Settings

SHARED = Path(os.environ.get("FRONTLINE_SHARED_DATA", PROJECT_ROOT.parent / "shared" / "data"))
DATA = SHARED / "deepstate"
RUNS: list[tuple[str, Path, Plan]] = [
    ("deepstate (options)", DATA, ImportOptions("deepstatemap", "RU", "assessed")),
    ("deepstate-raw (profile)", SHARED / "deepstate-raw", load_profile("deepstate-raw")),
    ("isw-kursk (profile)", SHARED / "isw-kursk", load_profile("isw-kursk")),
]


def main() -> None:
    """Run the benchmark once and print the figures."""
    if not DATA.exists():
        sys.exit(f"{DATA} is absent: this benchmark needs the DeepStateMap daily files")
    scratch = Path(tempfile.mkdtemp(prefix="frontline-bench-", dir="/tmp"))
    scratch.chmod(0o755)
    cluster = None
    try:
        if os.environ.get("DATABASE_URL"):
            settings = Settings()
        else:
            cluster = EmbeddedCluster(scratch)  # fsync on, as in production
            cluster.start()
            settings = Settings(database_url=cluster.url, data_dir=scratch)
        upgrade(settings)
        engine = make_engine(settings)
        with engine.begin() as conn:
            seed(conn, settings.geodata_dir)
        for label, folder, plan in RUNS:
            files = discover([folder])
            started = time.perf_counter()
            reports = import_paths(engine, files, plan)
            seconds = time.perf_counter() - started
            rows = sum(r.inserted for r in reports)
            features = sum(r.features for r in reports)
            rejected = sum(r.outcome == "rejected" for r in reports)
            print(f"import {label}: {len(files)} files, {features} features read, {rows} rows, {rejected} "
                  f"rejected, {seconds:.1f} s ({len(files) / seconds:.0f} files/s) on {os.cpu_count()} cores, "
                  f"Python {platform.python_version()}")
        engine.dispose()
    finally:
        if cluster:
            cluster.stop()
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
