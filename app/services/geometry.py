"""Cleaning geometries from real files: Z dropped, invalid rings repaired, non-polygonal input refused."""

from __future__ import annotations

from dataclasses import dataclass

import shapely
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.polygon import orient

POLYGONAL = ("Polygon", "MultiPolygon")


class NotPolygonal(ValueError):
    """The geometry is a point, a line or a collection without polygons."""


@dataclass
class Cleaned:
    """A cleaned MultiPolygon, or None when it was empty; ``repair`` says what was wrong, if anything."""

    geom: MultiPolygon | None
    repair: str | None = None


def polygon_parts(geom: shapely.Geometry) -> list[Polygon]:
    """The polygons inside any geometry (a collection from make_valid may mix lines and points in)."""
    if isinstance(geom, Polygon):
        return [] if geom.is_empty else [geom]
    if hasattr(geom, "geoms"):
        return [p for part in geom.geoms for p in polygon_parts(part)]
    return []


def clean_polygonal(geom: shapely.Geometry | None) -> Cleaned:
    """Make a 2D, valid, counter-clockwise MultiPolygon of ``geom``; raise NotPolygonal for other types."""
    if geom is None or geom.is_empty:
        return Cleaned(None)
    if geom.geom_type not in POLYGONAL:
        raise NotPolygonal(geom.geom_type)
    geom = shapely.force_2d(geom)
    repair = None
    if not geom.is_valid:
        repair = shapely.is_valid_reason(geom)
        geom = shapely.make_valid(geom)
    parts = [orient(p, sign=1.0) for p in polygon_parts(geom)]
    if not parts:
        return Cleaned(None, repair)
    return Cleaned(MultiPolygon(parts), repair)


def out_of_range(geom: shapely.Geometry) -> bool:
    """True when coordinates fall outside lon/lat bounds (usually a wrong or missing CRS)."""
    minx, miny, maxx, maxy = geom.bounds
    return minx < -180 or maxx > 180 or miny < -90 or maxy > 90
