"""Import control areas from GeoJSON (also gzipped), GeoPackage, Shapefile and KML files.

One file is one transaction: a file that fails writes nothing, and a file imported before (same bytes, same
options) writes nothing either. Each file is read with pyogrio, reprojected to EPSG:4326, cleaned (Z dropped,
invalid rings repaired, empty geometries skipped with a warning) and recorded as new versions of the claim
``source / side / status / layer / day`` — a second publication of the same claim supersedes the first in
transaction time, and both stay in history.

A file is read either with fixed options (``ImportOptions``: one source, side, status and layer for every
feature) or with an import profile (``app.services.profiles``), whose rules sort each feature into a claim
series or skip it, counted either way.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import geopandas as gpd
import orjson
import pyogrio
from sqlalchemy import Connection, Engine
from sqlalchemy.dialects.postgresql import Range

from app.db import models, reference
from app.db.asof import claim_area_km2
from app.db.history import record_versions
from app.db.models import STATUSES, claim_key
from app.errors import ImportRejected, InvalidParameter
from app.services.dates import DATE_COLUMNS, BadDate, check_plausible, date_from_name, parse_date
from app.services.geometry import NotPolygonal, clean_polygonal, out_of_range
from app.services.profiles import Profile, Rule, check_against_database

SUFFIXES = (".geojson", ".json", ".geojson.gz", ".json.gz", ".gpkg", ".shp", ".kml", ".kmz")


@dataclass(frozen=True)
class ImportOptions:
    """What the command line says about the files: whose claim, which side, which status, which day."""

    source: str  # a source's slug or name; with new_source, the new source's slug
    side: str | None
    status: str
    layer: str | None = None
    day: date | None = None
    source_kind: str = "osint"
    new_source: str | None = None  # the name of a source to create (asked for with --new-source)
    source_url: str | None = None



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
    unmatched: int = 0  # features no profile rule matched (counted, not written)
    by_rule: dict[str, int] = field(default_factory=dict)  # profile rule label -> features (kept or skipped)
    figures: list[dict[str, Any]] = field(default_factory=list)  # publisher's figure beside our geodesic area
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


Plan = ImportOptions | Profile


def validate_options(conn: Connection, options: Plan) -> Plan:
    """Refuse bad options, or a profile naming an unknown side, before any file is read; return them with the
    source named by its slug (a source is matched by slug or name, and created only when asked for)."""
    if isinstance(options, Profile):
        check_against_database(conn, options)
        slug = reference.resolve_source(conn, options.source, parameter="source")
        return options.model_copy(update={"source": slug}) if slug else options  # a profile declares its source
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
    return replace(options, source=_source_slug(conn, options))


def _source_slug(conn: Connection, options: ImportOptions) -> str:
    """The existing source the options name, or the new one they ask for (never a near-duplicate)."""
    if options.new_source:
        for given in (options.new_source, options.source):
            existing = reference.resolve_source(conn, given, parameter="new-source")
            if existing:
                raise InvalidParameter(f"--new-source: '{given}' exists already as source '{existing}': "
                                       f"use --source {existing}", parameter="new-source")
        return options.source
    slug = reference.resolve_source(conn, options.source)
    if slug is None:
        raise InvalidParameter(f"--source: no source '{options.source}'; sources are "
                               f"{reference.source_choices(conn)}. To add one: --new-source NAME "
                               "(with --source-kind and --source-url)", parameter="source")
    return slug


def import_paths(
    engine: Engine,
    paths: Sequence[Path],
    options: Plan,
    on_file: Callable[[FileReport], None] | None = None,
) -> list[FileReport]:
    """Import every file under ``paths``, each in its own transaction; report on each."""
    files = discover(paths)
    with engine.begin() as conn:
        options = validate_options(conn, options)
        if isinstance(options, Profile):  # titles and preferences of series already stored, files or not
            reference.describe_series(conn, options.series())
    reports = []
    for path in files:
        with engine.connect() as conn:
            report = import_file(conn, path, options)
            conn.commit()
        reports.append(report)
        if on_file:
            on_file(report)
    return reports


def import_file(conn: Connection, path: Path, options: Plan) -> FileReport:
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


def _options_json(options: Plan) -> dict[str, Any]:
    if isinstance(options, Profile):
        return {"profile": options.name, **orjson.loads(options.model_dump_json(by_alias=True))}
    return orjson.loads(orjson.dumps(asdict(options), default=str))


#: Options that name or describe things without changing what a file's rows are: left out of its hash, so
#: giving a series a title, or creating the source on the first run, does not make a file new again.
PRESENTATION = ("new_source", "source_url", "title", "short_title", "same_ground_as")


def _without_presentation(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_presentation(v) for k, v in value.items() if k not in PRESENTATION}
    if isinstance(value, list):
        return [_without_presentation(v) for v in value]
    return value


def file_digest(path: Path, options: Plan) -> str:
    """Hash of the file's bytes and the options (or profile) it is imported with, and of its name when the day
    may come from the name (two days of a daily archive can be byte-identical, and both are observations)."""
    digest = hashlib.sha256(orjson.dumps(_without_presentation(_options_json(options)), option=orjson.OPT_SORT_KEYS))
    day_from_name = options.dates.from_.startswith("filename") if isinstance(options, Profile) else options.day is None
    if day_from_name:
        digest.update(b"name:" + path.name.encode())
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


def _count(counter: dict[str, int], label: str) -> None:
    counter[label] = counter.get(label, 0) + 1


@dataclass
class _Reading:
    """One file being read: what it is read with, and the rows and publisher figures found so far."""

    path: Path
    options: Plan
    report: FileReport
    profile: Profile | None
    fixed: ImportOptions | None
    date_columns: list[str] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)
    figures: dict[str, dict[str, Any]] = field(default_factory=dict)
    unmatched: list[str] = field(default_factory=list)


def _write(conn: Connection, path: Path, options: Plan, digest: str, report: FileReport) -> None:
    profile = options if isinstance(options, Profile) else None
    fixed = options if isinstance(options, ImportOptions) else None
    frame = read_frame(path, fixed.layer if fixed else None)
    reading = _Reading(path, options, report, profile, fixed, [c for c in DATE_COLUMNS if c in frame.columns])
    for index, row in frame.iterrows():
        _read_feature(reading, index, row)
    report.features = len(frame)
    if profile and reading.unmatched:
        report.messages.append(f"{path.name}: {len(reading.unmatched)} features matched no rule of profile "
                               f"'{profile.name}' and were not written, e.g. {reading.unmatched[0]!r}")
    if not reading.rows:
        raise ImportRejected(f"{path.name}: no polygon to import ({report.skipped} skipped, "
                             f"{report.unmatched} matched no rule)")
    _store(conn, reading, digest)


def _read_feature(reading: _Reading, index: Any, row: gpd.pd.Series) -> None:
    """Clean and classify one feature; add its row (and publisher figure) or count why it was left out."""
    report, label = reading.report, f"{reading.path.name} feature {index}"
    properties = {k: _jsonable(v) for k, v in row.items() if k != "geometry"}
    try:
        cleaned = clean_polygonal(row.geometry)
    except NotPolygonal as exc:
        if reading.fixed:
            raise ImportRejected(f"{label}: a {exc} is not a control area (only Polygon and MultiPolygon are)"
                                 ) from None
        report.skipped += 1
        _count(report.by_rule, f"skipped: {exc} (not territory)")
        return
    if cleaned.geom is None:
        report.skipped += 1
        report.messages.append(f"{label}: skipped, null or empty geometry")
        return
    if out_of_range(cleaned.geom):
        raise ImportRejected(f"{label}: coordinates outside longitude/latitude range: is the CRS declared?")
    target = reading.profile.classify(properties, cleaned.geom) if reading.profile else reading.fixed
    if target is None:
        report.unmatched += 1
        reading.unmatched.append(str(properties.get("name") or index)[:60])
        return
    if isinstance(target, Rule):
        _count(report.by_rule, f"skipped: {target.label}" if target.skip else target.label)
        if target.skip:
            report.skipped += 1
            return
    if cleaned.repair:
        report.repaired += 1
        report.messages.append(f"{label}: repaired ({cleaned.repair})")
    day = _day_of(reading, row, properties, label)
    assert target.status is not None
    key = claim_key(reading.options.source, target.side, target.status, target.layer, day)
    reading.rows.append({
        "key": key, "side_code": target.side, "status": target.status,
        "valid": Range(day, day + timedelta(days=1)), "layer": target.layer,
        "name": properties.get("name") if isinstance(properties.get("name"), str) else None,
        "geom": cleaned.geom, "properties": properties, "notes": None,
    })
    if isinstance(target, Rule) and target.figure:
        _add_figure(reading.figures, key, target, day, properties, label)


def _day_of(reading: _Reading, row: gpd.pd.Series, properties: dict[str, Any], label: str) -> date:
    """The day a feature describes, from the profile or the fixed options; the file is refused without one."""
    try:
        if reading.profile:
            day, published = reading.profile.day(reading.path, properties)
            if day is None:
                raise BadDate(f"no date (the profile reads it from {reading.profile.dates.from_})")
            if published:
                properties["published_at"] = published.isoformat()
        else:
            assert reading.fixed is not None
            day = _feature_day(row, reading.date_columns, date_from_name(reading.path), reading.fixed)
        check_plausible(day)
    except BadDate as exc:
        raise ImportRejected(f"{label}: {exc}") from None
    return day


def _store(conn: Connection, reading: _Reading, digest: str) -> None:
    """Record the file's batch, its rows as versions, and its publisher figures beside our areas."""
    options, report, profile = reading.options, reading.report, reading.profile
    name = profile.source_name if profile else reading.fixed.new_source if reading.fixed else None
    source_id = reference.get_or_create_source(conn, options.source, name, kind=options.source_kind,
                                               url=reading.fixed.source_url if reading.fixed else None)
    for row in reading.rows:
        row["source_id"] = source_id
    report.days = sorted({r["valid"].lower.isoformat() for r in reading.rows})
    batch = reference.add_batch(
        conn, content_hash=digest, file_name=reading.path.name, source_id=source_id,
        options=_options_json(options), features=report.features, repaired=report.repaired,
        skipped=report.skipped, report=report.messages,
    )
    counts = record_versions(conn, models.areas, reading.rows, batch)
    report.inserted, report.superseded = counts.inserted, counts.superseded
    if profile:
        reference.describe_series(conn, profile.series())
    if reading.figures:
        report.figures = _record_figures(conn, reading.figures, source_id, batch, reading.path)


def _add_figure(figures: dict[str, dict[str, Any]], key: str, rule: Rule, day: date, properties: dict[str, Any],
                label: str) -> None:
    """Add a feature's publisher figure to its claim's total (a claim may be drawn as several polygons)."""
    assert rule.figure is not None
    value = properties.get(rule.figure.attribute)
    if not isinstance(value, int | float):
        raise ImportRejected(f"{label}: attribute '{rule.figure.attribute}' is {value!r}, not a number")
    entry = figures.setdefault(key, {"rule": rule, "day": day, "value": 0.0, "features": 0})
    entry["value"] += float(value)
    entry["features"] += 1


def _record_figures(conn: Connection, figures: dict[str, dict[str, Any]], source_id: int, batch: int,
                    path: Path) -> list[dict[str, Any]]:
    """Write each claim's publisher figure beside our geodesic area of the same claim; return the comparison."""
    compared, rows = [], []
    for key, entry in figures.items():
        rule, figure = entry["rule"], entry["rule"].figure
        measured = claim_area_km2(conn, key)
        difference = (entry["value"] - measured) / measured * 100 if measured else None
        comparison = {"key": key, "day": entry["day"].isoformat(), "metric": figure.metric,
                      "reported": round(entry["value"], 3), "measured_km2": round(measured, 3),
                      "difference_pct": None if difference is None else round(difference, 2)}
        compared.append(comparison)
        rows.append({
            "key": f"{key}#{figure.metric}", "source_id": source_id, "refers_to": entry["day"],
            "published_on": None, "side_code": rule.side, "region_key": figure.region, "metric": figure.metric,
            "value": entry["value"], "unit": figure.unit, "status": rule.status, "quote": None,
            "published_in": path.name, "url": None,
            "notes": f"The publisher's own figure, summed over {entry['features']} feature(s); our geodesic area "
                     "of the same claim is in properties.measured_km2.",
            "properties": {"claim_key": key, "measured_km2": comparison["measured_km2"],
                           "difference_pct": comparison["difference_pct"]},
        })
    record_versions(conn, models.figures, rows, batch)
    return compared


def _jsonable(value: object) -> object:
    """Attribute values as JSON: NaN and NaT become null, arrays lists, anything else unknown a string."""
    if hasattr(value, "tolist"):  # numpy scalars and arrays
        value = value.tolist()
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if value is None or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, str | int | float | bool):
        return value
    return str(value)
