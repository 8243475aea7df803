"""`frontline archives` and `frontline fetch`: the public archives, fetched and imported with a progress bar.

The work is ``app.services.fetch``'s; this module draws it (rich) and turns outcomes into exit codes: 0 when
every file is in, 1 when a file was rejected or failed, 2 when a host cannot be reached (nothing written).
"""

from __future__ import annotations

import re
import time
from datetime import date, datetime, timedelta
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TransferSpeedColumn,
)
from rich.table import Table
from sqlalchemy import func, select

from app.db.engine import make_engine
from app.db.models import EXAMPLE, areas, sources
from app.services import fetch as fetching
from app.settings import Settings

console = Console()
err = Console(stderr=True)

#: What a first `make run` fetches: the Kursk case's archives over the life of the salient.
FIRST_RUN = ("deepstate-raw", "isw-kursk")
FIRST_RUN_DAYS = (date(2024, 8, 1), date(2025, 4, 30))


class Bar:
    """A rich progress bar over files (and bytes, when the listing says how many)."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.files: TaskID | None = None
        self.bytes: TaskID | None = None

    def planned(self, archive: str, files: int, total_bytes: int | None) -> None:
        """A new archive: reset the bars."""
        for task in (self.files, self.bytes):
            if task is not None:
                self.progress.remove_task(task)
        self.files = self.progress.add_task(f"{archive}: files", total=files)
        self.bytes = self.progress.add_task(f"{archive}: bytes", total=total_bytes)

    def advanced(self, nbytes: int) -> None:
        """Bytes received."""
        if self.bytes is not None:
            self.progress.advance(self.bytes, nbytes)

    def done(self, path: str, outcome: str) -> None:
        """A file finished."""
        if self.files is not None:
            self.progress.advance(self.files)
        if outcome not in ("downloaded", "missing"):
            self.progress.console.print(f"[yellow]{outcome}[/]: {path}")


def _progress() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), DownloadColumn(),
                    TransferSpeedColumn(), TimeElapsedColumn(), console=err, transient=True)


def archives(ctx: typer.Context) -> None:
    """List the public archives `frontline fetch` knows: what each holds, its home, licence or terms, the
    import profile that reads it, how many files are fetched already and the latest day held."""
    settings: Settings = ctx.obj
    table = Table("name", "holds", "home", "licence / terms", "profile", "fetched", "latest day", title="archives")
    for archive in fetching.catalogue().values():
        count, latest = fetching.cached_days(settings.data_dir, archive)
        table.add_row(archive.name, archive.holds, archive.home, archive.licence, archive.profile, str(count),
                      str(latest or "—"))
    console.print(table)


def _day(value: str | None, option: str) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        raise typer.BadParameter(f"'{value}' is not a day (YYYY-MM-DD)", param_hint=option) from None


def _interval(value: str) -> timedelta:
    match = re.fullmatch(r"(\d+)\s*([smhd])", value.strip())
    if not match:
        raise typer.BadParameter(f"'{value}' is not an interval such as 30m, 6h or 1d", param_hint="--watch")
    unit = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}[match.group(2)]
    return timedelta(**{unit: int(match.group(1))})


def fetch(
    ctx: typer.Context,
    names: Annotated[list[str], typer.Argument(help="Archives (`frontline archives` lists them).")],
    since: Annotated[str | None, typer.Option(help="First day, YYYY-MM-DD (default: the archive's first).")] = None,
    until: Annotated[str | None, typer.Option(help="Last day, YYYY-MM-DD (default: today).")] = None,
    mirror: Annotated[str | None, typer.Option(help=(
        "Base URL of a copy laid out like the public repository (an institution's mirror, an air-gapped "
        "copy); listed archives need its directory index."))] = None,
    no_import: Annotated[bool, typer.Option("--no-import", help="Download into the cache only.")] = False,
    watch: Annotated[str | None, typer.Option(help=(
        "Keep fetching every interval (30m, 6h, 1d) to keep a running server current."))] = None,
) -> None:
    """Download what is not yet cached of public archives, check each file, and import it with its profile.

    Idempotent (a second run downloads and writes nothing) and resumable (an interrupted run leaves no partial
    file and no partial import). Exit code 1 when a file was rejected or failed, 2 when a host is unreachable.
    """
    settings: Settings = ctx.obj
    chosen = fetching.archives_named(names)
    first, last = _day(since, "--since"), _day(until, "--until")
    every = _interval(watch) if watch else None
    while True:
        code = run_fetch(settings, chosen, first, last, mirror, not no_import)
        if every is None:
            raise typer.Exit(code)
        console.print(f"next fetch at {datetime.now() + every:%Y-%m-%d %H:%M}")
        time.sleep(every.total_seconds())


def run_fetch(settings: Settings, chosen: list[fetching.Archive], since: date | None, until: date | None,
              mirror: str | None, do_import: bool) -> int:
    """One fetch of the archives, with progress and summary; the exit code."""
    engine = make_engine(settings) if do_import else None
    started = time.perf_counter()
    runs: list[fetching.ArchiveRun] = []
    try:
        with _progress() as progress:
            fetching.fetch_and_import(engine, fetching.Fetcher(settings.data_dir, mirror), chosen, since, until,
                                      settings.profiles_dir, Bar(progress), runs=runs)
    except fetching.Unreachable as exc:
        done = [r.fetched.archive for r in runs if r.fetched.downloaded or r.imported]
        kept = f"; {', '.join(done)} fetched before it stay" if done else "; nothing was written"
        err.print(f"[red]error[/]: cannot reach {exc.detail}{kept}", soft_wrap=True)
        return 2
    finally:
        if engine is not None:
            engine.dispose()
    _summary(runs, time.perf_counter() - started)
    troubled = any(r.fetched.rejected or r.fetched.failed or
                   any(f.outcome == "rejected" for f in r.imported or []) for r in runs)
    return 1 if troubled else 0


def _summary(runs: list[fetching.ArchiveRun], seconds: float) -> None:
    table = Table("archive", "files", "had", "new", "MB", "404", "retried", "rejected", "failed", "imported",
                  "unchanged", "rows", title=f"fetch summary ({seconds:.1f} s): files in the range; had: cached "
                  "before; 404: days the archive does not have; rows: control areas written")
    for run in runs:
        f, imported = run.fetched, run.imported or []
        table.add_row(f.archive, str(f.files), str(f.cached), str(len(f.downloaded)), f"{f.bytes / 1e6:.1f}",
                      str(len(f.missing)), str(len(f.retried)), str(len(f.rejected)), str(len(f.failed)),
                      str(sum(r.outcome == "imported" for r in imported)),
                      str(sum(r.outcome == "unchanged" for r in imported)), str(sum(r.inserted for r in imported)))
    console.print(table)
    for run in runs:
        f = run.fetched
        for label, items in (("missing (the archive has no such day)", f.missing), ("retried", f.retried),
                             ("rejected", f.rejected), ("failed", f.failed)):
            if items:
                shown = ", ".join(items[:20]) + (f" and {len(items) - 20} more" if len(items) > 20 else "")
                console.print(f"{f.archive}: {label}: {shown}")
        for report in run.imported or []:
            if report.outcome == "rejected":
                console.print(f"{f.archive}: import rejected {report.path.name}: {report.error}")


def first_run(settings: Settings) -> None:
    """On a store with no real control areas, fetch the Kursk case's archives before serving (make run)."""
    if not settings.fetch_on_start:
        return
    engine = make_engine(settings)
    with engine.connect() as conn:
        real = conn.execute(select(func.count()).select_from(areas.join(sources, sources.c.id == areas.c.source_id))
                            .where(sources.c.kind != EXAMPLE).limit(1)).scalar_one()
    engine.dispose()
    if real:
        return
    err.print("No real claims stored yet: fetching the Kursk case's archives (FRONTLINE_FETCH_ON_START=false "
              "turns this off)", soft_wrap=True)
    code = run_fetch(settings, fetching.archives_named(list(FIRST_RUN)), *FIRST_RUN_DAYS, settings.fetch_mirror,
                     True)
    if code == 2:
        err.print("Serving what is stored (the seed's examples); run `frontline fetch` once the network is back.",
                  soft_wrap=True)
