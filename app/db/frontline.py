"""The front line of a claim series on a day (issue 15): the edge of the ground it holds, less the edges that
are not a front.

The held ground is the series' latest observation on or before the day, uncut (app.db.asof). Its outline runs
partly along the international border, which is the edge of the country, not a front. Two rules take it out:

- the outline within ``BORDER_TOLERANCE_M`` of any current line of kind ``international_border`` is cut away;
- a piece left by that cut that never gets farther than ``border_drawing_m`` from the border (the setting
  ``FRONTLINE_BORDER_DRAWING_M``, default ``BORDER_DRAWING_M``) is the source's own drawing of the border, offset
  from ours, and is dropped whole. A front piece reaches farther, and is kept whole.

What remains is the contact line. With a case, the line is clipped to the case's ground, so a cut never adds an
edge of its own. Lengths are geodesic (PostGIS geography). docs/frontline.md gives the figures behind the default.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pyproj import Geod
from shapely.geometry import LineString
from sqlalchemy import Connection, func, literal_column, not_, select, true
from sqlalchemy.dialects.postgresql import array

from app.db.asof import Filters, changes, merged_latest, series_columns
from app.db.features import km
from app.db.models import lines, sources

Axis = tuple[tuple[float, float], tuple[float, float]]  # (lon, lat) of its start and of its end
GEOD = Geod(ellps="WGS84")
BORDER_TOLERANCE_M = 500.0  # a held edge this close to the border is the border (the sources draw it apart)
#: A piece of outline that stays this close to the border along its whole length is the source's drawing of the
#: border. On the real archive DeepStateMap's drawings of the Kursk–Sumy border reach at most 843 m from ours and
#: the least deep front piece, the Tetkino bridgehead's, 1,906 m (docs/frontline.md).
BORDER_DRAWING_M = 1500.0
BORDER_KIND = "international_border"
EMPTY_LINE = "LINESTRING EMPTY"


def front_line(conn: Connection, day: date, series_key: str, case_ground: str | None,
               known_at: datetime | None, border_drawing_m: float = BORDER_DRAWING_M) -> dict[str, Any] | None:
    """The series' front line on ``day`` as GeoJSON (MultiLineString) text with its geodesic length, the
    outline's length and the observation day it comes from; None when the series has no observation.

    The outline's parts within the tolerance of the border are left out, and so are the pieces that stay within
    ``border_drawing_m`` of it all along; each end of the front that the cut left short of the border is joined
    to it again by its shortest line, so the front keeps its full length.
    """
    held = merged_latest(day, Filters(series=[series_key], known_at=known_at), None, "held")
    border = func.coalesce(select(func.ST_Union(lines.c.geom)).where(
        lines.c.kind == BORDER_KIND, lines.c.superseded_at.is_(None)).scalar_subquery(),
        func.ST_GeomFromText(EMPTY_LINE, 4326))

    def band(metres: float) -> Any:
        return func.geometry(func.ST_Buffer(func.Geography(border), metres))

    parts = (select(held, func.ST_Boundary(held.c.geom).label("outline"), border.label("border"),
                    band(BORDER_TOLERANCE_M).label("near"), band(border_drawing_m).label("drawn"))
             .cte("parts").prefix_with("MATERIALIZED"))
    away = func.ST_Difference(parts.c.outline, parts.c.near)
    piece = func.ST_Dump(func.ST_LineMerge(func.ST_CollectionExtract(away, 2))).table_valued("path", "geom") \
        .render_derived(name="piece").lateral()
    kept = (select(piece.c.geom).select_from(parts.join(piece, true()))
            .where(not_(func.ST_CoveredBy(piece.c.geom, parts.c.drawn))).cte("kept"))
    ends = func.unnest(array([func.ST_StartPoint(kept.c.geom), func.ST_EndPoint(kept.c.geom)])) \
        .table_valued("point").render_derived(name="ends").lateral()
    end = ends.c.point
    # A cut end lies on the buffer's outline, a polygon drawn around the band: a few metres past the tolerance.
    joins = (select(func.ST_Union(func.ST_ShortestLine(end, parts.c.border)))
             .select_from(kept.join(ends, true()))
             .where(func.ST_DWithin(func.Geography(end), func.Geography(parts.c.border), 1.1 * BORDER_TOLERANCE_M))
             .scalar_subquery())
    empty = func.ST_GeomFromText(EMPTY_LINE, 4326)
    front = func.ST_Union(func.coalesce(select(func.ST_Union(kept.c.geom)).scalar_subquery(), empty),
                          func.coalesce(joins, empty))
    outline: Any = parts.c.outline
    if case_ground is not None:
        ground = (select(literal_column("g.geom")).select_from(func.frontline_grounds().alias("g"))
                  .where(literal_column("g.key") == case_ground).scalar_subquery())
        front = func.ST_Intersection(front, ground)
        outline = func.ST_Intersection(outline, ground)
    line = func.ST_Multi(func.ST_LineMerge(func.ST_CollectionExtract(front, 2)))
    stmt = (select(*series_columns(parts.c.side_code, parts.c.status, parts.c.layer), parts.c.side_code.label("side"),
                   parts.c.observed_on, km(func.ST_Length(func.Geography(line)) / 1000).label("length_km"),
                   km(func.ST_Length(func.Geography(outline)) / 1000).label("outline_km"),
                   func.ST_AsGeoJSON(line, 6).label("geojson"))
            .select_from(parts.join(sources, sources.c.id == parts.c.source_id)))
    row = conn.execute(stmt).first()
    return {str(k): v for k, v in row._mapping.items()} if row else None


def reach_along(conn: Connection, day: date, series_key: str, axis: Axis, case_ground: str | None,
                known_at: datetime | None) -> float | None:
    """How far along ``axis`` (from its first point, geodesic km) the series' ground reaches on ``day``: the
    farthest point of the axis inside it; None when the axis does not cross it."""
    held = merged_latest(day, Filters(series=[series_key], known_at=known_at), case_ground, "held")
    line = func.ST_GeomFromText(LineString(axis).wkt, 4326)
    inside = func.ST_DumpPoints(func.ST_Intersection(held.c.geom, line)).table_valued("path", "geom") \
        .render_derived("inside").lateral()
    reach = func.max(func.ST_Distance(func.Geography(func.ST_StartPoint(line)), func.Geography(inside.c.geom)))
    found = conn.execute(select(reach / 1000).select_from(held.join(inside, true()))).scalar()
    return None if found is None else float(found)


def along_axis(conn: Connection, first: dict[str, Any], last: dict[str, Any], series_key: str, axis: Axis,
               case_ground: str | None, known_at: datetime | None) -> dict[str, Any]:
    """The reach along the axis on the two observation days, how far it moved, and how fast."""
    reach = [reach_along(conn, f["observed_on"], series_key, axis, case_ground, known_at) for f in (first, last)]
    days = (last["observed_on"] - first["observed_on"]).days
    moved = None if None in reach else reach[1] - reach[0]  # type: ignore[operator]
    return {"from": list(axis[0]), "to": list(axis[1]),
            "length_km": round(GEOD.inv(*axis[0], *axis[1])[2] / 1000, 3),
            "reach_km": [None if r is None else round(r, 3) for r in reach],
            "moved_km": None if moved is None else round(moved, 3),
            "km_per_day": None if moved is None or days <= 0 else round(moved / days, 4)}


def advance(conn: Connection, start: date, end: date, series_key: str, case_ground: str | None,
            known_at: datetime | None, axis: Axis | None = None,
            border_drawing_m: float = BORDER_DRAWING_M) -> dict[str, Any] | None:
    """How fast a series' front moved between two days: the ground its side gained and lost (geodesic km²),
    the mean length of its front line on the two observation days, and the mean advance, net area ÷ mean front
    length ÷ days between the observations (negative when the side lost ground). None when the series has no
    observation on or before ``start``."""
    first = front_line(conn, start, series_key, case_ground, known_at, border_drawing_m)
    last = front_line(conn, end, series_key, case_ground, known_at, border_drawing_m)
    if first is None or last is None:
        return None
    found = changes(conn, start, end, Filters(series=[series_key], known_at=known_at), case_ground)
    gained, lost = (float(found[0]["gained_km2"]), float(found[0]["lost_km2"])) if found else (0.0, 0.0)
    days = (last["observed_on"] - first["observed_on"]).days
    mean_front = (float(first["length_km"]) + float(last["length_km"])) / 2
    per_day = (gained - lost) / mean_front / days if days > 0 and mean_front > 0 else None
    return {
        "series": first["series"], "title": first["title"], "side": first["side"],
        "from_observed_on": first["observed_on"], "to_observed_on": last["observed_on"], "days": days,
        "gained_km2": round(gained, 3), "lost_km2": round(lost, 3), "net_km2": round(gained - lost, 3),
        "front_km": [float(first["length_km"]), float(last["length_km"])], "mean_front_km": round(mean_front, 3),
        "km_per_day": None if per_day is None else round(per_day, 4),
        "m_per_day": None if per_day is None else round(per_day * 1000, 1),
        **({"axis": along_axis(conn, first, last, series_key, axis, case_ground, known_at)} if axis else {}),
    }
