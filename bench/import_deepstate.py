"""Time `frontline import` of ../shared/data/deepstate (175 daily files) into a fresh database.

Runs against a throw-away embedded cluster (or DATABASE_URL, whose database must be disposable), migrated and
seeded first; prints files, rows and seconds. Target from the foundation issue: under 60 s on 2 cores.
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
from app.services.importer import ImportOptions, discover, import_paths
from app.services.migrate import upgrade
from app.services.seed import seed
from app.settings import PROJECT_ROOT, Settings

DATA = Path(os.environ.get("FRONTLINE_SHARED_DATA", PROJECT_ROOT.parent / "shared" / "data")) / "deepstate"


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
        files = discover([DATA])
        started = time.perf_counter()
        reports = import_paths(engine, files, ImportOptions("deepstatemap", "RU", "assessed"))
        seconds = time.perf_counter() - started
        rows = sum(r.inserted for r in reports)
        rejected = sum(r.outcome == "rejected" for r in reports)
        print(f"import deepstate: {len(files)} files, {rows} rows, {rejected} rejected, {seconds:.1f} s "
              f"({len(files) / seconds:.0f} files/s) on {os.cpu_count()} cores, Python {platform.python_version()}")
        engine.dispose()
    finally:
        if cluster:
            cluster.stop()
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
