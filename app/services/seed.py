"""Load the seed geodata in ``geodata/``: idempotent, and an edited file adds versions instead of overwriting."""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import shapely
from shapely.geometry import MultiLineString, MultiPolygon, shape
from sqlalchemy import Connection, Table
from sqlalchemy.dialects.postgresql import Range

from app.db import reference
from app.db.history import VersionCounts, record_versions
from app.db.models import ControlArea, Event, Line, Place, Region, ReportedFigure, table_of

Loader = Callable[[Path, dict[str, int]], Iterator[dict[str, Any]]]


def _features(path: Path) -> Iterator[tuple[dict[str, Any], shapely.Geometry | None]]:
    for feat in json.loads(path.read_text())["features"]:
        yield feat["properties"], shape(feat["geometry"]) if feat["geometry"] else None


def _multi(geom: shapely.Geometry) -> shapely.Geometry:
    if geom.geom_type == "Polygon":
        return MultiPolygon([geom])
    if geom.geom_type == "LineString":
        return MultiLineString([geom])
    return geom


def _day(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def _common(p: dict[str, Any], sources: dict[str, int]) -> dict[str, Any]:
    return {"key": p["key"], "source_id": sources[p["source"]], "notes": p.get("notes")}


def regions(path: Path, sources: dict[str, int]) -> Iterator[dict[str, Any]]:
    """Rows of regions.geojson."""
    for p, geom in _features(path):
        yield {**_common(p, sources), "name": p["name"], "local_name": p.get("local_name"), "kind": p["kind"],
               "country": p.get("country"), "geom": _multi(geom), "properties": {}}


def lines(path: Path, sources: dict[str, int]) -> Iterator[dict[str, Any]]:
    """Rows of lines.geojson."""
    for p, geom in _features(path):
        yield {**_common(p, sources), "name": p["name"], "kind": p["kind"], "side_code": p.get("side"),
               "status": p.get("status"), "valid": None, "geom": _multi(geom), "properties": {}}


def places(path: Path, sources: dict[str, int]) -> Iterator[dict[str, Any]]:
    """Rows of places.geojson."""
    for p, geom in _features(path):
        yield {**_common(p, sources), "name": p["name"], "alt_names": p.get("alt_names", []), "kind": p["kind"],
               "population": p.get("population"), "valid": None, "geom": geom,
               "properties": {"region": p.get("region")}}


def events(path: Path, sources: dict[str, int]) -> Iterator[dict[str, Any]]:
    """Rows of events.geojson."""
    for p, geom in _features(path):
        yield {**_common(p, sources), "occurred_on": _day(p["occurred_on"]), "title": p["title"],
               "description": p.get("description"), "side_code": p.get("side"), "status": p["status"],
               "url": p.get("url"), "geom": geom, "properties": {}}


def control_areas(path: Path, sources: dict[str, int]) -> Iterator[dict[str, Any]]:
    """Rows of control_areas.geojson (the illustrative timeline)."""
    for p, geom in _features(path):
        start = _day(p["valid_from"])
        assert start is not None
        end = _day(p.get("valid_to")) or start + timedelta(days=1)
        yield {**_common(p, sources), "side_code": p.get("side"), "status": p["status"], "valid": Range(start, end),
               "layer": p.get("layer"), "name": p.get("name"), "geom": _multi(geom),
               "properties": {"illustrative": p.get("illustrative", False), "figure": p.get("figure")}}


def reported_figures(path: Path, sources: dict[str, int]) -> Iterator[dict[str, Any]]:
    """Rows of reported_figures.csv."""
    with path.open(newline="") as handle:
        for r in csv.DictReader(handle):
            yield {"key": r["key"], "source_id": sources[r["source"]], "side_code": r["side"] or None,
                   "region_key": r["region"] or None, "metric": r["metric"], "value": float(r["value"]),
                   "unit": r["unit"], "status": r["status"], "refers_to": _day(r["refers_to"]),
                   "published_on": _day(r["published_on"]), "published_in": r["published_in"] or None,
                   "url": r["url"] or None, "quote": r["quote"] or None, "notes": r["notes"] or None,
                   "properties": {}}


#: Seed files in load order, with the table each fills.
SEED_FILES: list[tuple[str, Table, Loader]] = [
    ("regions.geojson", table_of(Region), regions),
    ("lines.geojson", table_of(Line), lines),
    ("places.geojson", table_of(Place), places),
    ("events.geojson", table_of(Event), events),
    ("control_areas.geojson", table_of(ControlArea), control_areas),
    ("reported_figures.csv", table_of(ReportedFigure), reported_figures),
]


def seed(conn: Connection, geodata_dir: Path) -> dict[str, VersionCounts]:
    """Load every seed file not loaded before; return what each file wrote."""
    catalog = json.loads((geodata_dir / "sources.json").read_text())
    reference.upsert_sides(conn, catalog["sides"])
    sources = reference.upsert_sources(conn, [
        {"slug": s["slug"], "name": s["name"], "kind": s["kind"], "side_code": s["side"], "url": s["url"],
         "notes": s["notes"]} for s in catalog["sources"]
    ])
    results: dict[str, VersionCounts] = {}
    for name, table, loader in SEED_FILES:
        path = geodata_dir / name
        digest = hashlib.sha256(b"seed:" + path.read_bytes()).hexdigest()
        if reference.find_batch(conn, digest) is not None:
            results[name] = VersionCounts()
            continue
        rows = list(loader(path, sources))
        batch = reference.add_batch(conn, content_hash=digest, file_name=f"geodata/{name}", source_id=None,
                                    options={"seed": True}, features=len(rows), repaired=0, skipped=0)
        results[name] = record_versions(conn, table, rows, batch)
    return results
