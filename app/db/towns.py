"""Settlements: which claim series' areas cover a place on each of its observation days, and whose territory
a place is by default (the case's ``territory``: region → side) where no series says otherwise.

Coverage is one spatial join of the control areas with the places (GiST on both), not a query per place.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, case, collate, exists, func, select, true

from app.db.asof import Filters, series_columns, series_key_of
from app.db.history import row_id
from app.db.models import areas, cases, places, regions, sources

Observation = dict[str, Any]  # series, title, source, side, status, layer, day, holds


def find_place(conn: Connection, place_id: str) -> dict[str, Any] | None:
    """A place's current version by key (slug such as ``sudzha``) or row id."""
    number = row_id(place_id)
    match = places.c.id == number if number is not None else places.c.key == place_id
    row = conn.execute(select(places.c.id, places.c.key, places.c.name, places.c.alt_names,
                              func.ST_X(places.c.geom).label("lon"), func.ST_Y(places.c.geom).label("lat"))
                       .where(match, places.c.superseded_at.is_(None))).first()
    return dict(row._mapping) if row else None


def _folded(column: Any) -> ColumnElement[str]:
    """Text in lower case by Unicode's rules (the ICU collation): Cyrillic too, whatever the database's locale."""
    return func.lower(collate(column, "und-x-icu"))


def search_places(conn: Connection, text_: str, limit: int) -> list[dict[str, Any]]:
    """Current places whose name or an alternative name (Cyrillic ones among them) holds ``text_``, in any case:
    a name equal to it first, then names that start with it, then names that hold it, then alternative names;
    within each, the most populous first, then by name. Key, name, alternative names, kind, population, region,
    lon, lat."""
    wanted = text_.lower()
    pattern = "%" + wanted.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    alt = func.jsonb_array_elements_text(places.c.alt_names).table_valued("value").alias("alt")
    in_alt = exists(select(alt.c.value).where(_folded(alt.c.value).like(pattern, escape="\\")))
    name = _folded(places.c.name)
    rank = case((name == wanted, 0), (name.like(pattern[1:], escape="\\"), 1), (name.like(pattern, escape="\\"), 2),
                else_=3)
    stmt = (select(places.c.key, places.c.name, places.c.alt_names, places.c.kind, places.c.population,
                   places.c.properties["region"].astext.label("region"),
                   func.ST_X(places.c.geom).label("lon"), func.ST_Y(places.c.geom).label("lat"))
            .where(places.c.superseded_at.is_(None), name.like(pattern, escape="\\") | in_alt)
            .order_by(rank, places.c.population.desc().nulls_last(), places.c.name, places.c.key).limit(limit))
    return [dict(r._mapping) for r in conn.execute(stmt)]


def observations(conn: Connection, place_ids: list[int], filters: Filters, until: date | None = None
                 ) -> dict[int, list[Observation]]:
    """Per place: every observation (series and day, in series then day order) with whether it covers it."""
    observed = func.lower(areas.c.valid)
    where = filters.where()
    if until is not None:
        where.append(observed <= until)
    group = (areas.c.source_id, areas.c.side_code, areas.c.status, areas.c.layer)
    days = conn.execute(
        select(*series_columns(areas.c.side_code, areas.c.status, areas.c.layer), sources.c.slug.label("source"),
               areas.c.side_code.label("side"), areas.c.status, areas.c.layer, observed.label("day"))
        .select_from(areas.join(sources, sources.c.id == areas.c.source_id)).where(*where)
        .group_by(sources.c.slug, sources.c.name, *group, observed)
        .order_by(sources.c.slug, areas.c.side_code, areas.c.status, areas.c.layer, observed)).all()
    hits = conn.execute(
        select(places.c.id, series_key_of(areas.c.side_code, areas.c.status, areas.c.layer), observed).distinct()
        .select_from(areas.join(sources, sources.c.id == areas.c.source_id)
                     .join(places, func.ST_Covers(areas.c.geom, places.c.geom)))
        .where(*where, places.c.id.in_(place_ids))).all()
    covered = {(place, key, day) for place, key, day in hits}
    rows = [dict(r._mapping) for r in days]  # once, not once per place
    found: dict[int, list[Observation]] = defaultdict(list)
    for place in place_ids:
        found[place] = [{**r, "holds": (place, r["series"], r["day"]) in covered} for r in rows]
    return found


def place_observations(conn: Connection, place_row_id: int, filters: Filters,
                       until: date | None = None) -> list[Observation]:
    """One place's observations (see ``observations``)."""
    return observations(conn, [place_row_id], filters, until)[place_row_id]


def default_holders(conn: Connection, place_ids: list[int], case: str | None = None) -> dict[int, dict[str, Any]]:
    """Per place inside a case: the side whose territory it is by default (from the case's ``territory``), with
    the region and case that say so (only ``case``'s, if given). Places outside every case have none."""
    territory = func.jsonb_each_text(cases.c.territory).table_valued("key", "value").lateral("territory")
    stmt = (select(places.c.id, territory.c.value.label("side"), regions.c.key.label("region"),
                   cases.c.key.label("case"))
            .select_from(places.join(cases, func.ST_Covers(cases.c.geom, places.c.geom))
                         .join(territory, true())
                         .join(regions, and_(regions.c.key == territory.c.key, regions.c.superseded_at.is_(None),
                                             func.ST_Covers(regions.c.geom, places.c.geom))))
            .where(places.c.id.in_(place_ids), *([cases.c.key == case] if case else []))
            .order_by(places.c.id, cases.c.position))
    found: dict[int, dict[str, Any]] = {}
    for row in conn.execute(stmt):
        found.setdefault(row.id, {"side": row.side, "region": row.region, "case": row.case})
    return found


def places_in(conn: Connection, case: str | None) -> list[dict[str, Any]]:
    """Current places (inside the case's ground, if given): id, key, name."""
    where: list[ColumnElement[bool]] = [places.c.superseded_at.is_(None)]
    if case:
        where.append(func.ST_Covers(select(cases.c.geom).where(cases.c.key == case).scalar_subquery(),
                                    places.c.geom))
    stmt = select(places.c.id, places.c.key, places.c.name).where(*where).order_by(places.c.key)
    return [dict(r._mapping) for r in conn.execute(stmt)]
