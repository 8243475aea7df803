"""Research queries: who held what, how much, since when, as of any day.

One rule underlies them all: on day D, a *claim series* (one source's statements about one side, status and
layer) is represented by its most recent observation on or before D. A series may draw several polygons for
one day; they are unioned before any area is measured, so nothing is counted twice. Areas and distances are
geodesic (PostGIS geography on the WGS84 ellipsoid).

``known_at`` answers "what did we know at time T": versions recorded by T and not superseded by T.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Date,
    FromClause,
    Integer,
    Numeric,
    Select,
    and_,
    case,
    cast,
    func,
    literal,
    literal_column,
    or_,
    select,
    text,
    true,
)
from sqlalchemy.dialects.postgresql import array_agg, distinct_on

from app.db.features import control_properties, display_geojson, feature_json
from app.db.history import row_id
from app.db.models import areas, figures, lines, places, regions, sources

GROUP = ("source_id", "side_code", "status", "layer")
STEPS = {"day": "1 day", "week": "1 week", "month": "1 month"}
EMPTY = func.ST_GeomFromText("MULTIPOLYGON EMPTY", 4326)


@dataclass(frozen=True)
class Filters:
    """Which claim series to consider."""

    side: list[str] | None = None
    source: list[str] | None = None
    status: list[str] | None = None
    known_at: datetime | None = None
    max_age: int | None = None  # days; older observations are left out

    def where(self, t: FromClause = areas) -> list[ColumnElement[bool]]:
        """Conditions on control-area rows."""
        if self.known_at is None:
            conditions: list[ColumnElement[bool]] = [t.c.superseded_at.is_(None)]
        else:
            conditions = [t.c.recorded_at <= self.known_at,
                          or_(t.c.superseded_at.is_(None), t.c.superseded_at > self.known_at)]
        if self.side:
            conditions.append(t.c.side_code.in_(self.side))
        if self.status:
            conditions.append(t.c.status.in_(self.status))
        if self.source:
            conditions.append(t.c.source_id.in_(select(sources.c.id).where(sources.c.slug.in_(self.source))))
        return conditions

    def fresh(self, observed: ColumnElement[Any], day: Any) -> list[ColumnElement[bool]]:
        """Observations on or before ``day``, and not older than max_age days."""
        conditions = [observed <= day]
        if self.max_age is not None:
            conditions.append(observed >= cast(day, Date) - self.max_age)
        return conditions


def region_geom(key: str) -> ColumnElement[Any]:
    """The current geometry of a region, by key (scalar subquery)."""
    return (select(regions.c.geom).where(regions.c.key == key, regions.c.superseded_at.is_(None))
            .scalar_subquery())


def resolve_region(conn: Connection, value: str) -> str | None:
    """The key of the current region whose key, name or local name is ``value`` (names case-insensitive)."""
    wanted = value.strip().lower()
    stmt = select(regions.c.key).where(
        regions.c.superseded_at.is_(None),
        or_(regions.c.key == value.strip(), func.lower(regions.c.name) == wanted,
            func.lower(regions.c.local_name) == wanted),
    )
    return conn.execute(stmt).scalars().first()


def latest(day: date, filters: Filters) -> FromClause:
    """Rows of each claim series' latest observation on or before ``day``."""
    observed = func.lower(areas.c.valid)
    rank = func.rank().over(partition_by=[areas.c[c] for c in GROUP], order_by=observed.desc())
    ranked = select(areas, rank.label("rank")).where(*filters.where(), *filters.fresh(observed, day)).subquery()
    return select(ranked).where(ranked.c.rank == 1).subquery("latest")


def merged(rows: FromClause) -> ColumnElement[Any]:
    """Aggregate: the union of a group's geometries; a lone geometry is taken as it is.

    Aggregates are all computed before a CASE picks its branch, so the union runs in a scalar subquery that
    PostgreSQL evaluates only for groups of several rows (ST_Union of a 3,000-vertex DeepState day: ~17 ms).
    """
    others = areas.alias("merged_rows")
    union = (select(func.ST_Union(others.c.geom))
             .where(others.c.id == func.any(array_agg(rows.c.id))).scalar_subquery())
    return case((func.count() == 1, array_agg(rows.c.geom)[1]), else_=union)


def claim_area_km2(conn: Connection, key: str) -> float:
    """Geodesic area (km²) of the union of a claim's current polygons."""
    stmt = select(func.ST_Area(func.Geography(func.ST_Union(areas.c.geom))) / 1e6).where(
        areas.c.key == key, areas.c.superseded_at.is_(None))
    return float(conn.execute(stmt).scalar_one() or 0.0)


# -- control as of a day -----------------------------------------------------------------------------------

def control_as_of(conn: Connection, day: date, filters: Filters, simplify: float | None = None) -> list[str]:
    """GeoJSON features of every series' latest observation on or before ``day``, with its age.

    ``simplify`` (degrees) thins the outlines for display; ``area_km2`` stays that of the full geometry.
    """
    rows = latest(day, filters)
    properties = {**control_properties(rows), "age_days": literal(day) - func.lower(rows.c.valid)}
    geojson: ColumnElement[Any] = rows.c.geojson
    if simplify:
        geojson = display_geojson(rows.c.geom, simplify)
    stmt = (select(feature_json(rows.c.id, geojson, properties))
            .select_from(rows.join(sources, sources.c.id == rows.c.source_id))
            .order_by(sources.c.slug, rows.c.side_code, rows.c.status, rows.c.id))
    return list(conn.execute(stmt).scalars())


# -- area per series and day -------------------------------------------------------------------------------

def _observations(filters: Filters, until: date, region: str | None) -> Select[Any]:
    """One row per observation (series and day) with its geodesic area, clipped to a region if asked."""
    observed = func.lower(areas.c.valid)
    union = merged(areas)
    if region:
        clip = region_geom(region)
        area = case((func.ST_Intersects(union, clip), func.ST_Area(func.Geography(func.ST_Intersection(union, clip)))),
                    else_=0.0) / 1e6
    else:
        area = case((func.count() == 1, func.max(areas.c.area_km2)),
                    else_=func.ST_Area(func.Geography(union)) / 1e6)
    return (select(*(areas.c[c] for c in GROUP), observed.label("observed_on"), area.label("area_km2"))
            .where(*filters.where(), observed <= until)
            .group_by(*(areas.c[c] for c in GROUP), observed))


def area_series(conn: Connection, start: date, end: date, step: str, filters: Filters,
                region: str | None) -> list[dict[str, Any]]:
    """Per step day: each series' latest observation and its area (km²)."""
    # MATERIALIZED: computed once, not once per day inside the LATERAL join below.
    obs = _observations(filters, end, region).cte("obs").prefix_with("MATERIALIZED")
    days = select(cast(func.generate_series(cast(literal(start), Date), cast(literal(end), Date),
                                            text(f"interval '{STEPS[step]}'")), Date).label("day")).subquery("days")
    group = [obs.c[c] for c in GROUP]
    latest_obs = (select(obs).where(*filters.fresh(obs.c.observed_on, days.c.day))
                  .ext(distinct_on(*group)).order_by(*group, obs.c.observed_on.desc()).lateral("latest_obs"))
    stmt = (select(days.c.day, sources.c.slug.label("source"), latest_obs.c.side_code.label("side"),
                   latest_obs.c.status, latest_obs.c.layer, latest_obs.c.observed_on,
                   cast(days.c.day - latest_obs.c.observed_on, Integer).label("age_days"),
                   func.round(cast(latest_obs.c.area_km2, Numeric), 3).label("area_km2"))
            .select_from(days.join(latest_obs, true()).join(sources, sources.c.id == latest_obs.c.source_id))
            .order_by(days.c.day, sources.c.slug, latest_obs.c.side_code, latest_obs.c.status))
    return [dict(r._mapping) for r in conn.execute(stmt)]


def reported_figures(conn: Connection, start: date, end: date, filters: Filters,
                     region: str | None) -> list[dict[str, Any]]:
    """Figures reported about days in [start, end] (claims without geometry), same filters."""
    f = figures
    where = [f.c.superseded_at.is_(None), f.c.refers_to >= start, f.c.refers_to <= end]
    if filters.side:
        where.append(f.c.side_code.in_(filters.side))
    if filters.source:
        where.append(sources.c.slug.in_(filters.source))
    if filters.status:
        where.append(f.c.status.in_(filters.status))
    if region:
        where.append(f.c.region_key == region)
    stmt = (select(f.c.refers_to.label("day"), sources.c.slug.label("source"), f.c.side_code.label("side"),
                   f.c.status, f.c.metric, f.c.value, f.c.unit, f.c.region_key.label("region"), f.c.quote,
                   f.c.published_in, f.c.url, f.c.key,
                   # A publisher's own figure imported beside our measurement of the same claim (profiles).
                   f.c.properties["measured_km2"].as_float().label("measured_km2"),
                   f.c.properties["difference_pct"].as_float().label("difference_pct"))
            .select_from(f.join(sources, sources.c.id == f.c.source_id)).where(*where)
            .order_by(f.c.refers_to, sources.c.slug))
    return [dict(r._mapping) for r in conn.execute(stmt)]


def figure_by_key(conn: Connection, key: str) -> dict[str, Any] | None:
    """A reported figure's current version, by key."""
    f = figures
    stmt = (select(f.c.id, f.c.key, sources.c.slug.label("source"), f.c.refers_to, f.c.published_on,
                   f.c.side_code.label("side"), f.c.region_key.label("region"), f.c.metric, f.c.value, f.c.unit,
                   f.c.status, f.c.quote, f.c.published_in, f.c.url, f.c.notes, f.c.properties.label("attributes"),
                   f.c.recorded_at)
            .select_from(f.join(sources, sources.c.id == f.c.source_id))
            .where(f.c.key == key, f.c.superseded_at.is_(None)).order_by(f.c.id))
    row = conn.execute(stmt).first()
    return dict(row._mapping) if row else None


# -- changes between two days ------------------------------------------------------------------------------

def merged_latest(day: date, filters: Filters, region: str | None, name: str) -> FromClause:
    """Per series: its latest observation on or before ``day`` as one geometry, clipped to ``region`` if given."""
    rows = latest(day, filters)
    geom = merged(rows)
    if region:
        geom = func.ST_CollectionExtract(func.ST_Intersection(geom, region_geom(region)), 3)
    return (select(*(rows.c[c] for c in GROUP), func.max(func.lower(rows.c.valid)).label("observed_on"),
                   geom.label("geom"))
            .group_by(*(rows.c[c] for c in GROUP)).subquery(name))


def _snapshot(day: date, filters: Filters, region: str | None, name: str) -> FromClause:
    series = merged_latest(day, filters, region, f"{name}_series")
    # Empty strings for NULL side and layer: a FULL JOIN needs plain equality to match series.
    return select(*(func.coalesce(series.c[c], "").label(c) if c in ("side_code", "layer") else series.c[c]
                    for c in GROUP), series.c.observed_on, series.c.geom).subquery(name)


def changes(conn: Connection, before_day: date, after_day: date, filters: Filters,
            region: str | None, simplify: float = 0.0) -> list[dict[str, Any]]:
    """Per series: area before and after, and the gained and lost parts (GeoJSON text) with their areas.

    ``simplify`` (degrees) thins the parts' outlines for display; their areas come from the full geometry.
    """
    a = _snapshot(before_day, filters, region, "before")
    b = _snapshot(after_day, filters, region, "after")
    on = and_(*(a.c[c] == b.c[c] for c in GROUP))
    before_geom, after_geom = func.coalesce(a.c.geom, EMPTY), func.coalesce(b.c.geom, EMPTY)
    gained = func.ST_CollectionExtract(func.ST_Difference(after_geom, before_geom), 3)
    lost = func.ST_CollectionExtract(func.ST_Difference(before_geom, after_geom), 3)
    parts = (select(func.coalesce(a.c.source_id, b.c.source_id).label("source_id"),
                    func.coalesce(a.c.side_code, b.c.side_code).label("side_code"),
                    func.coalesce(a.c.status, b.c.status).label("status"),
                    func.coalesce(a.c.layer, b.c.layer).label("layer"),
                    a.c.observed_on.label("before_observed_on"), b.c.observed_on.label("after_observed_on"),
                    before_geom.label("before_geom"), after_geom.label("after_geom"),
                    gained.label("gained"), lost.label("lost"))
             .select_from(a.join(b, on, full=True)).subquery("parts"))

    def km2(geom: ColumnElement[Any]) -> ColumnElement[Any]:
        return func.coalesce(func.ST_Area(func.Geography(geom)), 0.0) / 1e6

    def geojson(geom: ColumnElement[Any]) -> ColumnElement[Any]:
        return display_geojson(geom, simplify) if simplify else func.ST_AsGeoJSON(func.ST_ForcePolygonCCW(geom), 7)

    stmt = (select(sources.c.slug.label("source"), func.nullif(parts.c.side_code, "").label("side"),
                   parts.c.status, func.nullif(parts.c.layer, "").label("layer"),
                   parts.c.before_observed_on, parts.c.after_observed_on,
                   km2(parts.c.before_geom).label("before_km2"), km2(parts.c.after_geom).label("after_km2"),
                   km2(parts.c.gained).label("gained_km2"), km2(parts.c.lost).label("lost_km2"),
                   geojson(parts.c.gained).label("gained_geojson"), geojson(parts.c.lost).label("lost_geojson"))
            .select_from(parts.join(sources, sources.c.id == parts.c.source_id))
            .order_by(sources.c.slug, parts.c.side_code, parts.c.status))
    return [dict(r._mapping) for r in conn.execute(stmt)]


# -- depth from a line -------------------------------------------------------------------------------------

def depth(conn: Connection, day: date, filters: Filters, line: str, region: str | None,
          segment_m: float = 1000.0) -> list[dict[str, Any]]:
    """Per series: the greatest geodesic distance (km) of its area from a line, and where that point is.

    Measured at the vertices of the area's outline after segmentizing it every ``segment_m`` metres along the
    ellipsoid, so long straight edges do not hide a far point.
    """
    unioned = merged_latest(day, filters, region, "unioned")
    border = (select(func.Geography(lines.c.geom)).where(lines.c.key == line, lines.c.superseded_at.is_(None))
              .scalar_subquery())
    points = select(literal_column("(dp).geom").label("geom")).select_from(
        func.ST_DumpPoints(func.geometry(func.ST_Segmentize(func.Geography(unioned.c.geom), segment_m)))
        .alias("dp")).lateral("points")
    distance = func.ST_Distance(func.Geography(points.c.geom), border)
    group = [unioned.c[c] for c in GROUP]
    stmt = (select(sources.c.slug.label("source"), unioned.c.side_code.label("side"), unioned.c.status,
                   unioned.c.layer, unioned.c.observed_on, (distance / 1000).label("depth_km"),
                   func.ST_X(points.c.geom).label("lon"), func.ST_Y(points.c.geom).label("lat"))
            .select_from(unioned.join(points, true()).join(sources, sources.c.id == unioned.c.source_id))
            .where(func.ST_IsEmpty(unioned.c.geom).is_(False))
            .ext(distinct_on(*group)).order_by(*group, distance.desc()))
    return [dict(r._mapping) for r in conn.execute(stmt)]


def line_exists(conn: Connection, key: str) -> bool:
    """Whether a current line has this key."""
    return conn.execute(select(lines.c.id).where(lines.c.key == key, lines.c.superseded_at.is_(None))
                        ).first() is not None


# -- settlements -------------------------------------------------------------------------------------------

def find_place(conn: Connection, place_id: str) -> dict[str, Any] | None:
    """A place's current version by key (slug such as ``sudzha``) or row id."""
    number = row_id(place_id)
    match = places.c.id == number if number is not None else places.c.key == place_id
    row = conn.execute(select(places.c.id, places.c.key, places.c.name, places.c.alt_names,
                              func.ST_X(places.c.geom).label("lon"), func.ST_Y(places.c.geom).label("lat"))
                       .where(match, places.c.superseded_at.is_(None))).first()
    return dict(row._mapping) if row else None


def place_observations(conn: Connection, place_row_id: int, filters: Filters,
                       until: date | None = None) -> list[dict[str, Any]]:
    """Every observation (series and day), in day order, with whether its areas cover the place."""
    point = select(places.c.geom).where(places.c.id == place_row_id).scalar_subquery()
    observed = func.lower(areas.c.valid)
    where = filters.where()
    if until is not None:
        where.append(observed <= until)
    stmt = (select(sources.c.slug.label("source"), areas.c.side_code.label("side"), areas.c.status,
                   areas.c.layer, observed.label("day"), func.bool_or(func.ST_Covers(areas.c.geom, point))
                   .label("holds"))
            .select_from(areas.join(sources, sources.c.id == areas.c.source_id)).where(*where)
            .group_by(sources.c.slug, areas.c.side_code, areas.c.status, areas.c.layer, observed)
            .order_by(sources.c.slug, areas.c.side_code, areas.c.status, areas.c.layer, observed))
    return [dict(r._mapping) for r in conn.execute(stmt)]
