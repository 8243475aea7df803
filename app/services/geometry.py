"""Cleaning geometries, from real files and from editors: Z dropped, invalid rings repaired, wrong types refused.

The importer and the write API apply the same rules: ``clean_polygonal`` for territory, ``prepare_geometry``
for any written geometry (it names the problem as a 413/422 an editor can act on).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy
import shapely
from shapely.geometry import MultiLineString, MultiPolygon, Polygon, shape
from shapely.geometry.polygon import orient

from app.errors import TooLarge, Unprocessable

POLYGONAL = ("Polygon", "MultiPolygon")
GeometryRule = Literal["polygonal", "point", "lineal", "any", "none"]  # what a resource's geometry may be

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


def _unprocessable(detail: str) -> Unprocessable:
    return Unprocessable(f"geometry: {detail}", field="geometry")


def _parse(geojson: dict[str, Any], max_vertices: int) -> shapely.Geometry:
    """A 2D geometry in lon/lat range from GeoJSON, or 413/422."""
    try:
        geom = shape(geojson)
    except Exception as exc:  # shapely raises several types for malformed GeoJSON; all mean "not a geometry"
        raise _unprocessable(f"not a valid GeoJSON geometry ({exc})") from None
    vertices = int(shapely.get_num_coordinates(geom))
    if vertices > max_vertices:
        raise TooLarge(f"geometry: {vertices:,} vertices; the limit is {max_vertices:,}", field="geometry")
    if geom.is_empty:
        raise _unprocessable("empty")
    geom = shapely.force_2d(geom)
    if not numpy.isfinite(shapely.get_coordinates(geom)).all() or out_of_range(geom):
        raise _unprocessable("coordinates outside longitude/latitude range (send lon/lat, EPSG:4326)")
    return geom


def prepare_geometry(rule: GeometryRule, geojson: dict[str, Any] | None, max_vertices: int
                     ) -> tuple[shapely.Geometry | None, str | None]:
    """The geometry to store (2D, valid, in range) and the repair made, if any; 413/422 naming the problem."""
    if rule == "none":
        if geojson is not None:
            raise _unprocessable("this resource has no geometry")
        return None, None
    if geojson is None:
        if rule == "any":
            return None, None
        raise _unprocessable("required")
    geom = _parse(geojson, max_vertices)
    kind = geom.geom_type
    if rule == "polygonal" or (rule == "any" and kind in POLYGONAL):
        try:
            cleaned = clean_polygonal(geom)
        except NotPolygonal:
            raise _unprocessable(f"a {kind} is not a control area (send a Polygon or MultiPolygon)") from None
        if cleaned.geom is None:
            raise _unprocessable("nothing polygonal is left after repair")
        return cleaned.geom, cleaned.repair
    if rule == "lineal":
        if kind not in ("LineString", "MultiLineString"):
            raise _unprocessable(f"a {kind} is not a line (send a LineString or MultiLineString)")
        return (MultiLineString([geom]) if kind == "LineString" else geom), None
    if kind != "Point":  # a point, or (rule "any") a point or an area
        raise _unprocessable(f"a {kind} is not allowed here (send a Point)")
    return geom, None
