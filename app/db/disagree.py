"""Where two claim series disagree (issue 15): the ground they give to the same side, to opposite sides, and the
ground only one of them draws.

Each series is taken as it stood on a day: its latest observation on or before it (app.db.asof), cut to a region
or case when asked. A series draws the ground it gives to its side; a series without a side (grey zones, unknown
status) gives it to nobody, so ground it shares with the other series is **undetermined**, neither agreed nor
opposed. Everything is measured on the WGS84 ellipsoid by PostGIS, and

    agreed + opposed + undetermined + only_a = area of A   (and the same with only_b for B).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, func, select, true

from app.db.asof import EMPTY, Filters, merged_latest, series_columns
from app.db.features import display_geojson, km
from app.db.models import sources

KINDS = ("agreed", "opposed", "undetermined", "only_a", "only_b")


def _km2(geom: ColumnElement[Any]) -> ColumnElement[Any]:
    return func.coalesce(func.ST_Area(func.Geography(geom)), 0.0) / 1e6


def disagreement(conn: Connection, day: date, a: str, b: str, clip: str | None, known_at: datetime | None,
                 simplify: float = 0.0) -> dict[str, Any] | None:
    """The two series on ``day`` and their common and separate ground, in km² and as GeoJSON text
    (``simplify`` degrees thins the outlines, never the areas); None when either has no observation yet."""
    sides = {name: merged_latest(day, Filters(series=[key], known_at=known_at), clip, f"series_{name}")
             for name, key in (("a", a), ("b", b))}
    one, other = sides["a"], sides["b"]
    shapes = (select(one.c.side_code.label("a_side"), other.c.side_code.label("b_side"),
                     func.ST_CollectionExtract(func.ST_Intersection(one.c.geom, other.c.geom), 3).label("both"),
                     func.ST_CollectionExtract(func.ST_Difference(one.c.geom, other.c.geom), 3).label("only_a"),
                     func.ST_CollectionExtract(func.ST_Difference(other.c.geom, one.c.geom), 3).label("only_b"))
              .select_from(one.join(other, true())).cte("shapes").prefix_with("MATERIALIZED"))
    columns = [shapes.c.a_side, shapes.c.b_side]
    for kind in ("both", "only_a", "only_b"):
        geom = func.coalesce(shapes.c[kind], EMPTY)
        columns += [_km2(geom).label(f"{kind}_km2"), display_geojson(geom, simplify).label(f"{kind}_geojson")]
    row = conn.execute(select(*columns)).first()
    if row is None:
        return None
    found = dict(row._mapping)
    same = found["a_side"] is not None and found["a_side"] == found["b_side"]
    determined = found["a_side"] is not None and found["b_side"] is not None
    both = found["both_km2"]
    return {
        "series": {name: _describe(conn, sides[name], name) for name in ("a", "b")},
        "km2": {"agreed": both if same else 0.0, "opposed": both if determined and not same else 0.0,
                "undetermined": 0.0 if determined else both, "only_a": found["only_a_km2"],
                "only_b": found["only_b_km2"]},
        "geojson": {"agreed": found["both_geojson"] if same else None,
                    "opposed": found["both_geojson"] if determined and not same else None,
                    "undetermined": None if determined else found["both_geojson"],
                    "only_a": found["only_a_geojson"], "only_b": found["only_b_geojson"]},
    }


def _describe(conn: Connection, series: Any, name: str) -> dict[str, Any]:
    """What one series contributed: its id, title, side, observation day and area (cut as asked)."""
    stmt = (select(*series_columns(series.c.side_code, series.c.status, series.c.layer),
                   sources.c.slug.label("source"), series.c.side_code.label("side"), series.c.status,
                   series.c.observed_on,
                   km(series.c.area_km2).label("area_km2"))
            .select_from(series.join(sources, sources.c.id == series.c.source_id)))
    found = {str(k): v for k, v in conn.execute(stmt).one()._mapping.items()}
    return {"role": name, **found, "area_km2": float(found["area_km2"])}
