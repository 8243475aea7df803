"""How far a side's ground reaches from a line (``/stats/depth``): on a day, and over time.

Each series is taken as of its latest observation on or before the day (app.db.asof), cut to a region or case
when asked; distances are geodesic (PostGIS geography).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Connection, func, literal_column, select, true
from sqlalchemy.dialects.postgresql import distinct_on

from app.db.asof import GROUP, Filters, merged_latest, series_columns, step_days
from app.db.models import lines, sources
from app.db.observed import observations

DEPTH_CANDIDATES = 25  # points per series measured on the ellipsoid, of those farthest on the scaled plane


def depth(conn: Connection, day: date, filters: Filters, line: str, region: str | None,
          segment_m: float = 1000.0) -> list[dict[str, Any]]:
    """Per series: the greatest geodesic distance (km) of its area from a line, and where that point is.

    Measured at the vertices of the area's outline after segmentizing it every ``segment_m`` metres along the
    ellipsoid, so long straight edges do not hide a far point. Ranking thousands of vertices by geodesic
    distance cost up to half a second, so they are ranked on the plane with longitudes scaled by the cosine of
    the line's latitude (within about 1 % of the geodesic distance over a region), and only the farthest
    ``DEPTH_CANDIDATES`` of each series are measured on the ellipsoid.
    """
    unioned = merged_latest(day, filters, region, "unioned")
    geom = select(lines.c.geom).where(lines.c.key == line, lines.c.superseded_at.is_(None)).scalar_subquery()
    scale = func.cos(func.radians(func.ST_Y(func.ST_Centroid(geom))))
    border = (select(func.Geography(geom).label("exact"), func.ST_Scale(geom, scale, 1.0).label("plane"),
                     scale.label("scale")).cte("border").prefix_with("MATERIALIZED"))
    points = select(literal_column("(dp).geom").label("geom")).select_from(
        func.ST_DumpPoints(func.geometry(func.ST_Segmentize(func.Geography(unioned.c.geom), segment_m)))
        .alias("dp")).lateral("points")
    group = [unioned.c[c] for c in GROUP]
    plane = func.ST_Distance(func.ST_Scale(points.c.geom, border.c.scale, 1.0), border.c.plane)
    ranked = (select(*group, unioned.c.observed_on, points.c.geom,
                     func.row_number().over(partition_by=group, order_by=plane.desc()).label("rank"))
              .select_from(unioned.join(points, true()).join(border, true()))
              .where(func.ST_IsEmpty(unioned.c.geom).is_(False)).subquery("ranked"))
    distance = func.ST_Distance(func.Geography(ranked.c.geom), border.c.exact)
    near = [ranked.c[c] for c in GROUP]
    stmt = (select(*series_columns(ranked.c.side_code, ranked.c.status, ranked.c.layer),
                   sources.c.slug.label("source"), ranked.c.side_code.label("side"),
                   ranked.c.status.label("status"), ranked.c.layer.label("layer"),
                   ranked.c.observed_on.label("observed_on"), (distance / 1000).label("depth_km"),
                   func.ST_X(ranked.c.geom).label("lon"), func.ST_Y(ranked.c.geom).label("lat"))
            .select_from(ranked.join(border, true()).join(sources, sources.c.id == ranked.c.source_id))
            .where(ranked.c.rank <= DEPTH_CANDIDATES)
            .ext(distinct_on(*near)).order_by(*near, distance.desc()))
    return [dict(r._mapping) for r in conn.execute(stmt)]


def depth_series(conn: Connection, start: date, end: date, step: str, filters: Filters, line: str,
                 region: str | None) -> list[dict[str, Any]]:
    """``depth`` on every step day from ``start`` to ``end``, each row with its ``day``.

    The depth on a day depends only on each series' latest observation, which changes on observation days
    alone: it is measured on the first step day and on the days a chosen series was observed, and carried to
    the step days between (with ``max_age`` the answer depends on the day itself, so every step day is measured).
    """
    days = step_days(conn, start, end, step)
    if filters.max_age is None:
        where = [*filters.where(observations), observations.c.observed_on > start, observations.c.observed_on <= end]
        changed = set(conn.execute(select(observations.c.observed_on).where(*where).distinct()).scalars())
    else:
        changed = set(days)
    rows: list[dict[str, Any]] = []
    measured: list[dict[str, Any]] = []
    since: date | None = None
    for day in days:
        if since is None or any(since < d <= day for d in changed):
            measured, since = depth(conn, day, filters, line, region), day
        rows += [{"day": day, **row} for row in measured]
    return rows


def line_exists(conn: Connection, key: str) -> bool:
    """Whether a current line has this key."""
    return conn.execute(select(lines.c.id).where(lines.c.key == key, lines.c.superseded_at.is_(None))
                        ).first() is not None
