"""The front line of a claim series on a day (issue 15): the edge of the ground it holds, less the edges that
are not a front.

The held ground is the series' latest observation on or before the day, uncut (app.db.asof). Its outline runs
partly along the international border (the edge of the country, not a front: within ``BORDER_TOLERANCE_M`` of
any current line of kind ``international_border``); what remains is the contact line. With a case, the line is
clipped to the case's ground, so a cut never adds an edge of its own. Lengths are geodesic (PostGIS geography).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, func, literal_column, select

from app.db.asof import Filters, merged_latest, series_columns
from app.db.features import km
from app.db.models import lines, sources

BORDER_TOLERANCE_M = 500.0  # a held edge this close to the border is the border (the sources draw it apart)
BORDER_KIND = "international_border"


def front_line(conn: Connection, day: date, series_key: str, case_ground: str | None,
               known_at: datetime | None) -> dict[str, Any] | None:
    """The series' front line on ``day`` as GeoJSON (MultiLineString) text with its geodesic length, the
    observation day it comes from and the border length left out; None when the series has no observation."""
    held = merged_latest(day, Filters(series=[series_key], known_at=known_at), None, "held")
    border = (select(func.ST_Union(lines.c.geom).label("geom"))
              .where(lines.c.kind == BORDER_KIND, lines.c.superseded_at.is_(None)).scalar_subquery())
    near_border = func.geometry(func.ST_Buffer(func.Geography(func.coalesce(border, func.ST_GeomFromText(
        "LINESTRING EMPTY", 4326))), BORDER_TOLERANCE_M))
    outline = func.ST_Boundary(held.c.geom)
    front = func.ST_Difference(outline, near_border)
    if case_ground is not None:
        ground = (select(literal_column("g.geom")).select_from(func.frontline_grounds().alias("g"))
                  .where(literal_column("g.key") == case_ground).scalar_subquery())
        front = func.ST_Intersection(front, ground)
        outline = func.ST_Intersection(outline, ground)
    line = func.ST_Multi(func.ST_LineMerge(func.ST_CollectionExtract(front, 2)))
    stmt = (select(*series_columns(held.c.side_code, held.c.status, held.c.layer), held.c.side_code.label("side"),
                   held.c.observed_on, km(func.ST_Length(func.Geography(line)) / 1000).label("length_km"),
                   km(func.ST_Length(func.Geography(outline)) / 1000).label("outline_km"),
                   func.ST_AsGeoJSON(line, 6).label("geojson"))
            .select_from(held.join(sources, sources.c.id == held.c.source_id)))
    row = conn.execute(stmt).first()
    return {str(k): v for k, v in row._mapping.items()} if row else None
