"""Import control areas from GeoJSON (also gzipped), GeoPackage, Shapefile and KML files.

One file is one transaction: a file that fails writes nothing, and a file imported before (same bytes, same
options) writes nothing either. Each file is read with pyogrio, reprojected to EPSG:4326, cleaned (Z dropped,
invalid rings repaired, empty geometries skipped with a warning) and recorded as new versions of the claim
``source / side / status / layer / day`` — a second publication of the same claim supersedes the first in
transaction time, and both stay in history.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from pathlib import Path

import geopandas as gpd
import orjson
import pyogrio
from sqlalchemy import Connection, Engine
from sqlalchemy.dialects.postgresql import Range

from app.db import reference
from app.db.history import record_versions
from app.db.models import STATUSES, ControlArea, table_of
from app.errors import ImportRejected, InvalidParameter
from app.services.dates import DATE_COLUMNS, BadDate, check_plausible, date_from_name, parse_date
from app.services.geometry import NotPolygonal, clean_polygonal, out_of_range

SUFFIXES = (".geojson", ".json", ".geojson.gz", ".json.gz", ".gpkg", ".shp", ".kml", ".kmz")


@dataclass(frozen=True)
class ImportOptions:
    """What the command line says about the files: whose claim, which side, which status, which day."""

    source: str
    side: str | None
    status: str
    layer: str | None = None
    day: date | None = None
    source_kind: str = "osint"

    def key_for(self, day: date) -> str:
        """The claim key: one source's statement about one side, status and layer on one day."""
        return f"{self.source}/{self.side or '-'}/{self.status}/{self.layer or '-'}/{day.isoformat()}"


@dataclass
class FileReport:
    """The outcome of one file, as the summary table and the exit code need it."""

    path: Path
    outcome: str = "imported"  # imported | unchanged | rejected
    features: int = 0
    repaired: int = 0
    skipped: int = 0
    inserted: int = 0
    superseded: int = 0
    days: list[str] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    error: str | None = None
    seconds: float = 0.0


def discover(paths: Iterable[Path]) -> list[Path]:
    """The importable files among ``paths``; directories are searched recursively, in name order."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*") if p.is_file() and p.name.lower().endswith(SUFFIXES)))
        elif path.exists():
            found.append(path)
        else:
            raise InvalidParameter(f"{path}: no such file or directory", parameter="path")
    return found


def validate_options(conn: Connection, options: ImportOptions) -> None:
    """Refuse bad options before any file is read."""
    if options.status not in STATUSES:
        raise InvalidParameter(f"unknown status '{options.status}': use one of {', '.join(STATUSES)}",
                               parameter="status")
    if options.side is None and options.status not in ("contested", "unknown"):
        raise InvalidParameter("--side is required unless the status is contested or unknown", parameter="side")
    reference.require_side(conn, options.side)
    if options.day is not None:
        try:
            check_plausible(options.day)
        except BadDate as exc:
            raise InvalidParameter(f"--date: {exc}", parameter="date") from None


def import_paths(
    engine: Engine,
    paths: Sequence[Path],
    options: ImportOptions,
    on_file: Callable[[FileReport], None] | None = None,
) -> list[FileReport]:
    """Import every file under ``paths``, each in its own transaction; report on each."""
    files = discover(paths)
    with engine.begin() as conn:
        validate_options(conn, options)
    reports = []
    for path in files:
        with engine.connect() as conn:
            report = import_file(conn, path, options)
            conn.commit()
        reports.append(report)
        if on_file:
            on_file(report)
    return reports


def import_file(conn: Connection, path: Path, options: ImportOptions) -> FileReport:
    """Import one file inside a savepoint on ``conn``: all of it, or (rejected) nothing of it."""
    started = time.perf_counter()
    report = FileReport(path)
    digest = file_digest(path, options)
    try:
        with conn.begin_nested():
            if reference.find_batch(conn, digest) is not None:
                report.outcome = "unchanged"
            else:
                _write(conn, path, options, digest, report)
    except (ImportRejected, InvalidParameter) as exc:
        report.outcome, report.error = "rejected", exc.detail
        report.inserted = report.superseded = 0
    report.seconds = time.perf_counter() - started
    return report


def file_digest(path: Path, options: ImportOptions) -> str:
    """Hash of the file's bytes and the options it is imported with."""
    digest = hashlib.sha256(orjson.dumps(asdict(options), default=str, option=orjson.OPT_SORT_KEYS))
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def read_frame(path: Path, layer: str | None) -> gpd.GeoDataFrame:
    """Read a vector file with pyogrio (gzip through GDAL's /vsigzip/), in EPSG:4326."""
    source = f"/vsigzip/{path}" if path.name.lower().endswith(".gz") else str(path)
    try:
        frame = pyogrio.read_dataframe(source, layer=layer, datetime_as_string=True)
    except Exception as exc:  # pyogrio raises several DataSourceError/DataLayerError types; all mean "unreadable"
        raise ImportRejected(f"{path.name}: cannot be read as a vector file: {exc}") from None
    if frame.crs is None:
        frame = frame.set_crs(4326)
    elif not frame.crs.equals("EPSG:4326") and not frame.crs.equals("OGC:CRS84"):
        frame = frame.to_crs(4326)
    return frame


def _feature_day(row: gpd.pd.Series, columns: list[str], fallback: date | None, options: ImportOptions) -> date:
    if options.day is not None:
        return options.day
    for column in columns:
        day = parse_date(row[column])
        if day is not None:
            return day
    if fallback is None:
        raise BadDate("no date: give --date, a 'date' attribute, or a date in the file name")
    return fallback


def _write(conn: Connection, path: Path, options: ImportOptions, digest: str, report: FileReport) -> None:
    frame = read_frame(path, options.layer)
    name_day = date_from_name(path)
    date_columns = [c for c in DATE_COLUMNS if c in frame.columns]
    rows = []
    for index, row in frame.iterrows():
        label = f"{path.name} feature {index}"
        try:
            cleaned = clean_polygonal(row.geometry)
        except NotPolygonal as exc:
            raise ImportRejected(
                f"{label}: a {exc} is not a control area (only Polygon and MultiPolygon are)"
            ) from None
        if cleaned.geom is None:
            report.skipped += 1
            report.messages.append(f"{label}: skipped, null or empty geometry")
            continue
        if out_of_range(cleaned.geom):
            raise ImportRejected(f"{label}: coordinates outside longitude/latitude range: is the CRS declared?")
        if cleaned.repair:
            report.repaired += 1
            report.messages.append(f"{label}: repaired ({cleaned.repair})")
        try:
            day = check_plausible(_feature_day(row, date_columns, name_day, options))
        except BadDate as exc:
            raise ImportRejected(f"{label}: {exc}") from None
        properties = {k: _jsonable(v) for k, v in row.items() if k != "geometry"}
        rows.append({
            "key": options.key_for(day), "side_code": options.side, "status": options.status,
            "valid": Range(day, day + timedelta(days=1)), "layer": options.layer,
            "name": properties.get("name") if isinstance(properties.get("name"), str) else None,
            "geom": cleaned.geom, "properties": properties, "notes": None,
        })
    report.features = len(frame)
    if not rows:
        raise ImportRejected(f"{path.name}: no polygon to import ({report.skipped} empty geometries skipped)")
    source_id = reference.get_or_create_source(conn, options.source, kind=options.source_kind)
    for row in rows:
        row["source_id"] = source_id
    report.days = sorted({r["valid"].lower.isoformat() for r in rows})
    batch = reference.add_batch(
        conn, content_hash=digest, file_name=path.name, source_id=source_id,
        options=orjson.loads(orjson.dumps(asdict(options), default=str)),
        features=report.features, repaired=report.repaired, skipped=report.skipped, report=report.messages,
    )
    counts = record_versions(conn, table_of(ControlArea), rows, batch)
    report.inserted, report.superseded = counts.inserted, counts.superseded


def _jsonable(value: object) -> object:
    """Attribute values as JSON: NaN and NaT become null, everything else passes or becomes a string."""
    if hasattr(value, "item"):  # numpy scalars
        value = value.item()
    if value is None or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, str | int | float | bool):
        return value
    return str(value)
