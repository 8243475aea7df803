"""Load the seed geodata in ``geodata/``: idempotent, and an edited file adds versions instead of overwriting."""

from __future__ import annotations

import csv
import hashlib
import json
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import shapely
from pyproj import Geod
from shapely.geometry import MultiLineString, MultiPolygon, Point, shape
from sqlalchemy import Connection, Table
from sqlalchemy.dialects.postgresql import Range

from app.db import reference
from app.db.cases import upsert_case
from app.db.history import VersionCounts, record_versions
from app.db.models import ControlArea, Event, Line, Place, Region, ReportedFigure, series_key, table_of

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
               "properties": {"illustrative": p.get("illustrative", False), "figure": p.get("figure"),
                              "illustrates": p.get("illustrates")}}


#: GeoNames' first-level divisions (admin1) and the regions.geojson outline each lies in.
GEONAMES_REGIONS = {"Kursk": "kursk-oblast", "Belgorod": "belgorod-oblast", "Brjansk": "bryansk-oblast",
                    "Sumy": "ukraine", "Chernihiv": "ukraine"}
#: A town this close to the editors' place of the same slug is that place (two centres of one town).
SAME_PLACE_M = 5000.0
_GEOD = Geod(ellps="WGS84")


def slug(name: str) -> str:
    """An ASCII, lower-case, hyphenated key for a name ("Ryl'sk" -> "rylsk", "Novhorod-Sivers'kyy" likewise)."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "-", re.sub(r"['`]", "", ascii_name)).strip("-")


def editors_place(town: dict[str, str], editors: dict[str, shapely.Geometry]) -> str | None:
    """The key of the places.geojson place a GeoNames town is (same slug, within ``SAME_PLACE_M``), if any."""
    key = slug(town["name"])
    if key not in editors:
        return None
    here = editors[key]
    metres = _GEOD.inv(float(town["lon"]), float(town["lat"]), here.x, here.y)[2]
    return key if metres < SAME_PLACE_M else None


def _town_keys(towns: list[dict[str, str]], taken: set[str]) -> list[str]:
    """Each town's key: its slug; slug and region when it is shared (by towns or an editors' place); then -2, -3."""
    shared = Counter(slug(t["name"]) for t in towns)
    keys: list[str] = []
    used = set(taken)
    for t in towns:
        key = slug(t["name"])
        if not key:
            raise ValueError(f"towns-geonames.csv: {t['name']!r} has no ASCII letters to make a key of")
        if shared[key] > 1 or key in taken:
            key = f"{key}-{slug(t['admin1'])}"
        base, number = key, 1
        while key in used:
            number += 1
            key = f"{base}-{number}"
        used.add(key)
        keys.append(key)
    return keys


def towns(path: Path, sources: dict[str, int]) -> Iterator[dict[str, Any]]:
    """Rows of towns-geonames.csv (GeoNames), without the towns places.geojson already has."""
    editors = {p["key"]: geom for p, geom in _features(path.parent / "places.geojson") if geom is not None}
    with path.open(newline="", encoding="utf-8") as handle:
        found = [t for t in csv.DictReader(handle) if editors_place(t, editors) is None]
    for t in found:
        if t["admin1"] not in GEONAMES_REGIONS:
            raise ValueError(f"towns-geonames.csv: {t['name']!r} is in {t['admin1']!r}, a region we have no outline of")
    for t, key in zip(found, _town_keys(found, set(editors)), strict=True):
        yield {"key": key, "source_id": sources["geonames"], "notes": None, "name": t["name"], "alt_names": [],
               "kind": "town", "population": None, "valid": None, "geom": Point(float(t["lon"]), float(t["lat"])),
               "properties": {"region": GEONAMES_REGIONS[t["admin1"]], "admin1": t["admin1"], "geonames": True}}


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
    ("towns-geonames.csv", table_of(Place), towns),
    ("events.geojson", table_of(Event), events),
    ("control_areas.geojson", table_of(ControlArea), control_areas),
    ("reported_figures.csv", table_of(ReportedFigure), reported_figures),
]


#: Seed files whose rows also depend on other seed files: hashed together, so editing either reloads them.
SEED_DEPENDS: dict[str, tuple[str, ...]] = {"towns-geonames.csv": ("places.geojson",)}


def seed(conn: Connection, geodata_dir: Path) -> dict[str, VersionCounts]:
    """Load every seed file not loaded before; return what each file wrote."""
    catalog = json.loads((geodata_dir / "sources.json").read_text())
    reference.upsert_sides(conn, catalog["sides"])
    sources = reference.upsert_sources(conn, [
        {"slug": s["slug"], "name": s["name"], "kind": s["kind"], "side_code": s["side"], "url": s["url"],
         "notes": s["notes"], "terms": s.get("terms"), "attribution": s.get("attribution")} for s in catalog["sources"]
    ])
    results: dict[str, VersionCounts] = {}
    for name, table, loader in SEED_FILES:
        path = geodata_dir / name
        content = path.read_bytes() + b"".join(b"\0" + (geodata_dir / dependency).read_bytes()
                                               for dependency in SEED_DEPENDS.get(name, ()))
        digest = hashlib.sha256(b"seed:" + content).hexdigest()
        if reference.find_batch(conn, digest) is not None:
            results[name] = VersionCounts()
            continue
        rows = list(loader(path, sources))
        batch = reference.add_batch(conn, content_hash=digest, file_name=f"geodata/{name}", source_id=None,
                                    options={"seed": True}, features=len(rows), repaired=0, skipped=0)
        results[name] = record_versions(conn, table, rows, batch)
    reference.describe_series(conn, list(_series_titles(geodata_dir / "control_areas.geojson")))
    for position, definition in enumerate(json.loads((geodata_dir / "cases.json").read_text())["cases"]):
        upsert_case(conn, definition, position)
    return results


def _series_titles(path: Path) -> Iterator[dict[str, Any]]:
    """The titles the seed's control areas give their series (the examples say they are examples)."""
    for p, _ in _features(path):
        if p.get("series_title"):
            yield {"key": series_key(p["source"], p.get("side"), p["status"], p.get("layer")),
                   "title": p["series_title"], "short_title": p.get("series_short_title")}
