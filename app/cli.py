"""The `frontline` command: a thin shell over the same services the API uses."""

from __future__ import annotations

import re
import time
import unicodedata
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import Connection, text
from sqlalchemy.exc import OperationalError

from app import auth, cli_fetch
from app.db import catalog, tokens
from app.db.engine import database_url, make_engine
from app.embedded import EmbeddedCluster
from app.errors import FrontlineError
from app.services import importer, profiles
from app.services import migrate as migrations
from app.services import seed as seeding
from app.settings import Settings

app = typer.Typer(help="Frontline: who holds which territory on which date.", no_args_is_help=True)
db_app = typer.Typer(help="The embedded PostgreSQL + PostGIS cluster in the data directory.", no_args_is_help=True)
app.add_typer(db_app, name="db")
token_app = typer.Typer(help="API tokens: reads are public by default, writes need a write token.",
                        no_args_is_help=True)
app.add_typer(token_app, name="token")
console = Console()
err = Console(stderr=True)


def _settings(ctx: typer.Context) -> Settings:
    settings: Settings = ctx.obj
    return settings


def _read(ctx: typer.Context, query: Callable[[Connection], list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Rows a query of app/db returns, on a connection of its own."""
    engine = make_engine(_settings(ctx))
    with engine.connect() as conn:
        rows = query(conn)
    engine.dispose()
    return rows


def _cluster(settings: Settings) -> EmbeddedCluster:
    return EmbeddedCluster(settings.data_dir, settings.db_os_user)


@app.callback()
def _main(ctx: typer.Context) -> None:
    ctx.obj = Settings()


@db_app.command("start")
def db_start(ctx: typer.Context) -> None:
    """Start the embedded cluster (created on first use; reused when already running)."""
    settings = _settings(ctx)
    if not settings.uses_embedded_db:
        console.print("DATABASE_URL is set: the embedded cluster is not used.")
        return
    cluster = _cluster(settings)
    outcome = cluster.start()
    console.print(f"embedded PostGIS {outcome}: {cluster.pgdata} (socket {cluster.socket_dir})")


@db_app.command("stop")
def db_stop(ctx: typer.Context) -> None:
    """Stop the embedded cluster."""
    stopped = _cluster(_settings(ctx)).stop()
    console.print("stopped" if stopped else "not running")


@db_app.command("status")
def db_status(ctx: typer.Context) -> None:
    """Say whether the embedded cluster runs, where, and its URL."""
    settings = _settings(ctx)
    if not settings.uses_embedded_db:
        console.print(f"DATABASE_URL is set: {database_url(settings)}")
        return
    status = _cluster(settings).status()
    table = Table(show_header=False)
    for label, value in (("running", "yes" if status.running else "no"), ("pid", str(status.pid or "-")),
                         ("data", str(status.pgdata)), ("url", status.url), ("log", str(status.log))):
        table.add_row(label, value)
    console.print(table)
    raise typer.Exit(0 if status.running else 3)


@app.command()
def migrate(ctx: typer.Context) -> None:
    """Apply the Alembic migrations up to head."""
    migrations.upgrade(_settings(ctx))
    console.print("schema at head")


@app.command()
def seed(ctx: typer.Context) -> None:
    """Load the seed geodata (idempotent: unchanged files write nothing)."""
    settings = _settings(ctx)
    engine = make_engine(settings)
    with engine.begin() as conn:
        results = seeding.seed(conn, settings.geodata_dir)
    table = Table("file", "inserted", "unchanged", "superseded", title="seed")
    for name, counts in results.items():
        table.add_row(name, str(counts.inserted), str(counts.unchanged), str(counts.superseded))
    console.print(table)
    engine.dispose()


@app.command()
def prestart(
    ctx: typer.Context,
    wait: Annotated[float, typer.Option(help="Seconds to wait for an external database.")] = 60.0,
) -> None:
    """Everything before serving: start the embedded cluster (if used), wait for the database, migrate, seed,
    and on a store with no real claims fetch the Kursk case's public archives (FRONTLINE_FETCH_ON_START)."""
    settings = _settings(ctx)
    if settings.uses_embedded_db:
        db_start(ctx)
    _wait_for_database(settings, wait)
    migrate(ctx)
    seed(ctx)
    cli_fetch.first_run(settings)


def _wait_for_database(settings: Settings, seconds: float) -> None:
    engine = make_engine(settings)
    deadline = time.monotonic() + seconds
    while True:
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            break
        except OperationalError as exc:
            if time.monotonic() > deadline:
                raise FrontlineError(f"the database did not answer within {seconds:.0f} s: {exc.orig}") from None
            time.sleep(1)
    engine.dispose()


@app.command("import")
def import_(
    ctx: typer.Context,
    paths: Annotated[list[Path], typer.Argument(help="Files or directories (GeoJSON[.gz], GPKG, SHP, KML).")],
    profile: Annotated[str | None, typer.Option(help=(
        "Import profile: a name (`frontline profiles` lists them) or a .toml file. Replaces the options "
        "below."))] = None,
    source: Annotated[str | None, typer.Option(help=(
        "An existing source, by slug or name (case and punctuation ignored): `frontline sources` lists them."
    ))] = None,
    new_source: Annotated[str | None, typer.Option(help=(
        "Create this source (its name; the slug is --source, or made from the name), with --source-kind and "
        "--source-url. Refused when a source of that name exists."))] = None,
    source_url: Annotated[str | None, typer.Option(help="Home page of a new source.")] = None,
    status: Annotated[str | None, typer.Option(help="claimed | assessed | confirmed | contested | unknown")] = None,
    side: Annotated[str | None, typer.Option(help="Side code (must exist, e.g. UA, RU).")] = None,
    layer: Annotated[str | None, typer.Option(help="Layer to read, and recorded with the areas.")] = None,
    on: Annotated[datetime | None, typer.Option("--date", formats=["%Y-%m-%d"],
                                                help="Day the files describe (else attribute or file name).")] = None,
    source_kind: Annotated[str, typer.Option(help="Kind of a newly created source.")] = "osint",
) -> None:
    """Import control areas; one transaction per file; exit 1 when any file was rejected."""
    settings = _settings(ctx)
    plan: importer.Plan
    if profile:
        given = [f"--{n}" for n, v in (("source", source), ("new-source", new_source), ("status", status),
                                        ("side", side), ("layer", layer), ("date", on)) if v is not None]
        if given:
            raise FrontlineError(f"--profile decides {', '.join(given)} itself: give one or the other")
        plan = profiles.load_profile(profile, settings.profiles_dir)
    else:
        if (source is None and new_source is None) or status is None:
            raise FrontlineError("give --profile NAME, or --source (or --new-source) and --status (and --side)")
        plan = importer.ImportOptions(source or slugify(new_source or ""), side, status, layer,
                                      on.date() if on else None, source_kind, new_source, source_url)
    files = importer.discover(paths)
    engine = make_engine(settings)
    started = time.perf_counter()
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=err, transient=True) as progress:
        task = progress.add_task("importing", total=len(files))

        def on_file(report: importer.FileReport) -> None:
            progress.advance(task)
            for message in report.messages:
                progress.console.print(f"[yellow]warning[/]: {message}")
            if report.error:
                progress.console.print(f"[red]rejected[/]: {report.error}")

        reports = importer.import_paths(engine, files, plan, on_file)
    engine.dispose()
    _summary(reports, time.perf_counter() - started)
    if any(r.outcome == "rejected" for r in reports):
        raise typer.Exit(1)


@app.command("profiles")
def list_profiles(ctx: typer.Context) -> None:
    """List the import profiles: shipped ones and those in FRONTLINE_PROFILES_DIR."""
    table = Table("name", "source", "date from", "rules", "description", title="import profiles")
    for p in profiles.available(_settings(ctx).profiles_dir):
        table.add_row(p.name, p.source, p.dates.from_, str(len(p.rule)), p.description)
    console.print(table)


@app.command("sources")
def list_sources(ctx: typer.Context) -> None:
    """List the sources (as GET /sources does): slug, name, kind, series and the days observed."""
    rows = _read(ctx, catalog.source_rows)
    table = Table("slug", "name", "kind", "series", "first", "last", title="sources")
    for r in rows:
        table.add_row(r["slug"], r["name"], r["kind"], str(r["series"]), str(r["first_observed"] or "—"),
                      str(r["last_observed"] or "—"))
    console.print(table)


def slugify(name: str) -> str:
    """A slug for a new source's name: lower-case ASCII letters and digits joined by hyphens."""
    words = re.findall(r"[a-z0-9]+", unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower())
    return "-".join(words) or "source"


def _summary(reports: list[importer.FileReport], seconds: float) -> None:
    outcomes = {o: sum(r.outcome == o for r in reports) for o in ("imported", "unchanged", "rejected")}
    table = Table("", "count", title="import summary")
    for label, value in (
        ("files", len(reports)), *outcomes.items(), ("features read", sum(r.features for r in reports)),
        ("rows written", sum(r.inserted for r in reports)), ("repaired", sum(r.repaired for r in reports)),
        ("skipped", sum(r.skipped for r in reports)), ("matched no rule", sum(r.unmatched for r in reports)),
        ("superseded", sum(r.superseded for r in reports)),
    ):
        table.add_row(label, str(value))
    table.add_row("seconds", f"{seconds:.1f}")
    console.print(table)
    by_rule: dict[str, int] = {}
    for report in reports:
        for label, count in report.by_rule.items():
            by_rule[label] = by_rule.get(label, 0) + count
    if by_rule:
        rules = Table("profile rule", "features", title="features per rule")
        for label, count in by_rule.items():
            rules.add_row(label, str(count))
        console.print(rules)
    figures = [f for r in reports for f in r.figures]
    if figures:
        compared = Table("day", "claim", "publisher's figure", "our geodesic km²", "difference",
                         title="publisher's figures beside our geodesic areas")
        for f in figures:
            difference = "-" if f["difference_pct"] is None else f"{f['difference_pct']:+.2f} %"
            compared.add_row(f["day"], f["key"], f"{f['reported']:,.2f}", f"{f['measured_km2']:,.2f}", difference)
        console.print(compared)


@token_app.command("create")
def token_create(
    ctx: typer.Context,
    name: Annotated[str, typer.Option(help="Who uses it (shown in the audit log).")],
    scope: Annotated[str, typer.Option(help="read | write | admin (each includes the ones before it).")] = "write",
) -> None:
    """Make a token and print it: it is shown this once, and stored only as a keyed hash."""
    settings = _settings(ctx)
    engine = make_engine(settings)
    with engine.begin() as conn:
        token = auth.create_token(conn, settings.secret_key, name, scope)
    engine.dispose()
    err.print(f"token '{name}' ({scope}) created; copy it now, it is not shown again:")
    console.print(token)


@token_app.command("list")
def token_list(ctx: typer.Context) -> None:
    """List the tokens (names, scopes, when made and revoked; never the secrets)."""
    rows = _read(ctx, tokens.list_tokens)
    table = Table("name", "scope", "created", "revoked", title="API tokens")
    for row in rows:
        table.add_row(row["name"], row["scope"], f"{row['created_at']:%Y-%m-%d %H:%M}",
                      f"{row['revoked_at']:%Y-%m-%d %H:%M}" if row["revoked_at"] else "")
    console.print(table)


@token_app.command("revoke")
def token_revoke(ctx: typer.Context, name: Annotated[str, typer.Argument(help="The token's name.")]) -> None:
    """Revoke a token: it stops working at once; its name stays in the audit log."""
    engine = make_engine(_settings(ctx))
    with engine.begin() as conn:
        revoked = tokens.revoke_token(conn, name)
    engine.dispose()
    if not revoked:
        raise FrontlineError(f"no live token named '{name}'")
    console.print(f"token '{name}' revoked")


@app.command()
def serve(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option(help="Default: FRONTLINE_HOST or 127.0.0.1.")] = None,
    port: Annotated[int | None, typer.Option(help="Default: FRONTLINE_PORT or 8000.")] = None,
    reload: Annotated[bool, typer.Option(help="Reload on code changes (development).")] = False,
    workers: Annotated[int, typer.Option(min=1, max=64, help=(
        "Server processes on one port. Each keeps its own response cache, emptied by the NOTIFY every write "
        "sends, so all serve the same data version."))] = 1,
) -> None:
    """Serve the API with uvicorn."""
    import uvicorn

    if reload and workers > 1:
        raise typer.BadParameter("--reload serves one process: drop --workers", param_hint="--workers")
    settings = _settings(ctx)
    uvicorn.run("app.main:create_app", factory=True, host=host or settings.host, port=port or settings.port,
                reload=reload, workers=workers)


app.command("archives")(cli_fetch.archives)
app.command("fetch")(cli_fetch.fetch)


def main() -> None:
    """Console-script entry point: domain and configuration errors print as clear lines and exit 2."""
    try:
        app()
    except FrontlineError as exc:
        err.print(f"[red]error[/]: {exc.detail}")
        raise SystemExit(2) from None
    except ValidationError as exc:  # settings from the environment
        for problem in exc.errors():
            err.print(f"[red]configuration error[/]: {problem['msg'].removeprefix('Value error, ')}", soft_wrap=True)
        raise SystemExit(2) from None
