"""Agreement among many claim series (issue 15): for every piece of ground, how many of the chosen series give
it to each side, and the km² of each such level of agreement.

Each series is taken as of its latest observation on or before the day (app.db.asof), cut to a region or case.
Their outlines, noded together, cut the ground into pieces no outline crosses (``ST_Polygonize``); a point
inside each piece says which series draw it and for which side (none: a grey zone, ``unknown``). Pieces with
the same votes are merged and measured on the WGS84 ellipsoid. A level is

- ``consensus``: every chosen series gives the ground to the same side (the ground every source concedes);
- ``disputed``: some give it to one side and some to another;
- ``partial``: some give it to one side, the others draw nothing there or give it to no side;
- ``undetermined``: those that draw it give it to no side.
"""

from __future__ import annotations

from collections import Counter
from datetime import date
from typing import Any

from sqlalchemy import Connection, func, literal_column, select, true
from sqlalchemy.dialects.postgresql import aggregate_order_by

from app.db.asof import Filters, merged_latest, series_columns
from app.db.features import display_geojson, km
from app.db.models import sources

UNKNOWN = "unknown"  # the vote of a series that draws the ground without giving it to a side
LEVELS = ("consensus", "disputed", "partial", "undetermined")


def agreement(conn: Connection, day: date, filters: Filters, clip: str | None, simplify: float = 0.0
              ) -> dict[str, Any]:
    """The chosen series as of ``day`` and the ground per level of agreement, with km² and GeoJSON text
    (``simplify`` degrees thins the outlines, never the areas). A series without an observation yet is left
    out of ``series`` (the caller says so)."""
    chosen = merged_latest(day, filters, clip, "chosen")
    claims = (select(*series_columns(chosen.c.side_code, chosen.c.status, chosen.c.layer),
                     sources.c.slug.label("source"), chosen.c.side_code.label("side"), chosen.c.status,
                     chosen.c.layer, chosen.c.observed_on, chosen.c.area_km2, chosen.c.geom)
              .select_from(chosen.join(sources, sources.c.id == chosen.c.source_id))
              .cte("claims").prefix_with("MATERIALIZED"))
    drawn = claims.c.geom.is_not(None) & func.ST_IsEmpty(claims.c.geom).is_(False)
    edges = select(func.ST_Union(func.ST_Boundary(claims.c.geom)).label("geom")).where(drawn).subquery("edges")
    faces = select(func.ST_Polygonize(edges.c.geom)).scalar_subquery()  # an aggregate: not allowed in FROM
    dumped = func.ST_Dump(faces).table_valued("path", "geom").render_derived("piece")
    pieces = (select(dumped.c.geom, func.ST_PointOnSurface(dumped.c.geom).label("inside"))
              .cte("pieces").prefix_with("MATERIALIZED"))
    vote = func.coalesce(claims.c.side, UNKNOWN)
    votes = (select(func.array_agg(aggregate_order_by(vote, vote)).label("votes"))
             .where(drawn, func.ST_Intersects(claims.c.geom, pieces.c.inside)).lateral("votes"))
    levels = (select(votes.c.votes, func.ST_Union(pieces.c.geom).label("geom"))
              .select_from(pieces.join(votes, true())).where(votes.c.votes.is_not(None))
              .group_by(votes.c.votes).subquery("levels"))
    rows = conn.execute(select(levels.c.votes, km(func.ST_Area(func.Geography(levels.c.geom)) / 1e6).label("km2"),
                               display_geojson(levels.c.geom, simplify).label("geojson"))
                        .order_by(literal_column("km2").desc())).all()
    described = [{str(k): v for k, v in r._mapping.items() if str(k) != "geom"}
                 for r in conn.execute(select(claims).order_by(claims.c.series))]
    return {"series": [{**d, "area_km2": float(d["area_km2"])} for d in described],
            "levels": [_level(list(r.votes), len(described), float(r.km2), r.geojson) for r in rows]}


def _level(votes: list[str], present: int, km2: float, geojson: str) -> dict[str, Any]:
    """One level of agreement: the votes per side, the series silent there, its kind, km² and outline."""
    counts = Counter(votes)
    sides = sorted(s for s in counts if s != UNKNOWN)
    if len(sides) > 1:
        kind = "disputed"
    elif sides:
        kind = "consensus" if counts[sides[0]] == present else "partial"
    else:
        kind = "undetermined"
    return {"agreement": kind, "side": sides[0] if len(sides) == 1 else None,
            "votes": {**dict(sorted(counts.items())), "silent": present - len(votes)}, "km2": km2,
            "geojson": geojson}
