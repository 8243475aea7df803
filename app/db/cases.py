"""Cases: named ground a question is about. The geometry is made in PostGIS from a recipe (regions, and a band
of given width along a line inside another region), measured on the ellipsoid like everything else."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Connection, Double, Numeric, cast, func, select
from sqlalchemy.dialects.postgresql import array
from sqlalchemy.dialects.postgresql import insert as pg_insert

from app.db.models import cases, lines, regions


def _region(key: str) -> Any:
    return select(regions.c.geom).where(regions.c.key == key, regions.c.superseded_at.is_(None)).scalar_subquery()


def recipe_geom(recipe: dict[str, Any]) -> ColumnElement[Any]:
    """The case's ground: the union of its regions and of the band: ``km`` (geodesic) either side of ``line``,
    kept where it lies in region ``within``."""
    parts: list[Any] = [_region(key) for key in recipe.get("regions", [])]
    if band := recipe.get("band"):
        line = (select(lines.c.geom).where(lines.c.key == band["line"], lines.c.superseded_at.is_(None))
                .scalar_subquery())
        buffer = func.geometry(func.ST_Buffer(func.Geography(line), band["km"] * 1000.0))
        parts.append(func.ST_Intersection(buffer, _region(band["within"])))
    union = func.ST_Union(array(parts)) if len(parts) > 1 else parts[0]
    return func.ST_Multi(func.ST_CollectionExtract(func.ST_MakeValid(union), 3))


def upsert_case(conn: Connection, definition: dict[str, Any], position: int) -> None:
    """Make or remake a case from its definition (geodata/cases.json)."""
    values = {k: definition.get(k) for k in ("key", "title", "description", "starts_on", "ends_on")}
    values.update(view=definition.get("view", {}), key_places=definition.get("key_places", []),
                  featured=definition.get("featured", []),
                  territory=definition.get("territory", {}), recipe=definition["recipe"], position=position)
    row = select(recipe_geom(definition["recipe"])).scalar_subquery()
    stmt = pg_insert(cases).values(**values, geom=row)
    conn.execute(stmt.on_conflict_do_update(index_elements=["key"], set_={
        c: stmt.excluded[c] for c in (*values, "geom") if c != "key"}))


def case_list(conn: Connection) -> list[dict[str, Any]]:
    """Every case, the default first: key, title, description, days, km², view, key places, featured series,
    territory."""
    stmt = (select(cases.c.key, cases.c.title, cases.c.description, cases.c.starts_on, cases.c.ends_on,
                   cast(func.round(cast(cases.c.area_km2, Numeric), 1), Double).label("area_km2"),
                   cases.c.view, cases.c.key_places, cases.c.featured, cases.c.territory, cases.c.recipe,
                   func.ST_AsGeoJSON(cases.c.geom, 5).label("geojson"))
            .order_by(cases.c.position, cases.c.key))
    return [dict(r._mapping) for r in conn.execute(stmt)]


def case_keys(conn: Connection) -> list[str]:
    """The case keys, the default first."""
    return list(conn.execute(select(cases.c.key).order_by(cases.c.position, cases.c.key)).scalars())


def case_geom(key: str) -> ColumnElement[Any]:
    """A case's geometry, by key (scalar subquery)."""
    return select(cases.c.geom).where(cases.c.key == key).scalar_subquery()
