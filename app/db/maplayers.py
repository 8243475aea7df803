"""What the analyst maps draw besides the claims: regions, lines, settlements, sides, sources, days with data.

Geometries come out simplified for display (``tolerance`` in degrees, topology kept) and as GeoJSON written by
PostGIS; every area and length a map prints is measured on the full geometry elsewhere.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Connection, func, literal, select

from app.db.asof import Filters
from app.db.cases import case_geom
from app.db.features import display_geojson
from app.db.models import lines, places, regions, sides, sources
from app.db.observed import METRES_PER_DEGREE, observations


def degrees(metres: float) -> float:
    """A display tolerance in metres, as degrees."""
    return metres / METRES_PER_DEGREE


@dataclass(frozen=True)
class SideStyle:
    """A side's display name and colour."""

    code: str
    name: str
    color: str


def side_styles(conn: Connection) -> dict[str, SideStyle]:
    """Every side, by code."""
    return {r.code: SideStyle(r.code, r.name, r.color) for r in conn.execute(select(sides))}


def source_list(conn: Connection) -> list[dict[str, Any]]:
    """Every source: slug, name, kind, affiliation, url."""
    stmt = select(sources.c.slug, sources.c.name, sources.c.kind, sources.c.side_code, sources.c.url)
    return [dict(r._mapping) for r in conn.execute(stmt.order_by(sources.c.slug))]


def attributions(conn: Connection, slugs: Iterable[str]) -> list[str]:
    """The attribution of each named source and of the sources of the base layers (current regions, lines and
    places), each once, the named first."""
    named = select(sources.c.attribution, sources.c.slug, literal(0).label("rank")).where(
        sources.c.slug.in_(list(slugs)))
    base = [select(sources.c.attribution, sources.c.slug, literal(1)).where(
        sources.c.id.in_(select(t.c.source_id).where(t.c.superseded_at.is_(None)))) for t in (regions, lines, places)]
    every = named.union(*base).subquery("every")
    found: list[str] = []
    for row in conn.execute(select(every).order_by(every.c.rank, every.c.slug)):
        text_ = row.attribution or row.slug
        if text_ not in found:
            found.append(text_)
    return found


def region_features(conn: Connection, tolerance: float) -> list[dict[str, Any]]:
    """Current regions: key, name, local name, km² (full geometry) and simplified GeoJSON."""
    stmt = (select(regions.c.key, regions.c.name, regions.c.local_name, regions.c.area_km2,
                   display_geojson(regions.c.geom, tolerance).label("geojson"))
            .where(regions.c.superseded_at.is_(None)).order_by(regions.c.key))
    return [dict(r._mapping) for r in conn.execute(stmt)]


def line_features(conn: Connection, day: date | None, tolerance: float) -> list[dict[str, Any]]:
    """Current lines valid on ``day`` (or always valid): key, name, kind, km and simplified GeoJSON."""
    where: list[ColumnElement[bool]] = [lines.c.superseded_at.is_(None)]
    if day is not None:
        where.append((lines.c.valid.is_(None)) | lines.c.valid.contains(day))
    stmt = (select(lines.c.key, lines.c.name, lines.c.kind, lines.c.length_km,
                   display_geojson(lines.c.geom, tolerance).label("geojson"))
            .where(*where).order_by(lines.c.key))
    return [dict(r._mapping) for r in conn.execute(stmt)]


def place_points(conn: Connection, case: str | None = None) -> list[dict[str, Any]]:
    """Current places (inside the case's ground, if given): row id, key, name, alternative names, kind,
    population, lon, lat."""
    where: list[ColumnElement[bool]] = [places.c.superseded_at.is_(None)]
    if case:
        where.append(func.ST_Covers(case_geom(case), places.c.geom))
    stmt = (select(places.c.id, places.c.key, places.c.name, places.c.alt_names, places.c.kind,
                   places.c.population, func.ST_X(places.c.geom).label("lon"), func.ST_Y(places.c.geom).label("lat"))
            .where(*where).order_by(places.c.key))
    return [dict(r._mapping) for r in conn.execute(stmt)]


def data_days(conn: Connection, start: date | None, end: date | None, filters: Filters) -> list[date]:
    """The days on which at least one claim series has an observation, in order."""
    observed = observations.c.observed_on
    where = filters.where(observations)
    if start is not None:
        where.append(observed >= start)
    if end is not None:
        where.append(observed <= end)
    return list(conn.execute(select(observed).where(*where).distinct().order_by(observed)).scalars())
