"""Research queries: who held what, how much, since when, as of any day.

One rule underlies them all: on day D, a *claim series* (one source's statements about one side, status and
layer) is represented by its most recent observation on or before D. A series may draw several polygons for
one day; they are unioned before any area is measured, so nothing is counted twice. Areas and distances are
geodesic (PostGIS geography on the WGS84 ellipsoid).

``known_at`` answers "what did we know at time T": versions recorded by T and not superseded by T.

The unions, their areas and their cuts to regions and cases are made at write time (app.db.observed): the
queries here pick observations and read what is stored; only comparisons of two days compute geometry.
"""

from __future__ import annotations

from dataclasses import astuple, dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Connection,
    Date,
    FromClause,
    Select,
    Text,
    and_,
    bindparam,
    case,
    cast,
    func,
    literal,
    or_,
    select,
    text,
    true,
    tuple_,
)

from app.db.features import display_geojson, example_sources, feature_json, km
from app.db.models import EXAMPLE, areas, figures, regions, series, sides, sources
from app.db.observed import WHOLE, band_for, observations, observed_series, shapes
from app.db.rhythm import STALE_MIN_DAYS, same_series, series_stats, stale

GROUP = ("source_id", "side_code", "status", "layer")
STEPS = {"day": "1 day", "week": "1 week", "month": "1 month"}
EMPTY = func.ST_GeomFromText("MULTIPOLYGON EMPTY", 4326)


def series_row(t: FromClause) -> Any:
    """A control-area row's series as a comparable tuple (NULL side and layer as '-', as in series keys)."""
    return tuple_(t.c.source_id, func.coalesce(t.c.side_code, "-"), t.c.status, func.coalesce(t.c.layer, "-"))


def series_key_of(side: Any, status: Any, layer: Any) -> ColumnElement[str]:
    """A series' key from its source (joined as ``sources``), side, status and layer: ``slug/side/status/layer``."""
    return func.concat(sources.c.slug, "/", func.coalesce(side, "-"), "/", status, "/", func.coalesce(layer, "-"))


def series_title_of(side: Any, status: Any, layer: Any) -> ColumnElement[str]:
    """A series' title: its own (profile, seed or editor), else made from its source, side, status and layer."""
    named = series.alias("named")
    stored = select(named.c.title).where(named.c.key == series_key_of(side, status, layer)).scalar_subquery()
    side_name = select(sides.c.name).where(sides.c.code == side).scalar_subquery()
    held = case((side.is_(None), func.concat("ground of ", status, " status")),
                else_=func.concat("ground held by ", side_name, ", ", status))
    made = func.concat(sources.c.name, " — ", held, case((layer.is_not(None), func.concat(" (", layer, ")")), else_=""))
    return func.coalesce(stored, made)


def short_title_of(side: Any, status: Any, layer: Any) -> ColumnElement[str]:
    """A series' short title (at most 40 characters, for a map's layer list): its own, else its title without the
    source's name before "—" or ":" and cut to 40 characters with an ellipsis."""
    named = series.alias("short")
    stored = select(named.c.short_title).where(named.c.key == series_key_of(side, status, layer)).scalar_subquery()
    bare = func.regexp_replace(series_title_of(side, status, layer), "^[^—:]{1,60}(—|:) +", "")
    cut = case((func.char_length(bare) <= 40, bare), else_=func.concat(func.left(bare, 39), "…"))
    return func.coalesce(stored, cut)


def series_columns(side: Any, status: Any, layer: Any) -> list[ColumnElement[Any]]:
    """The ``series`` key and ``title`` output columns of a row that joins ``sources``."""
    return [series_key_of(side, status, layer).label("series"), series_title_of(side, status, layer).label("title")]


def _series_rows(*where: ColumnElement[bool]) -> Select[Any]:
    return select(series.c.source_id, func.coalesce(series.c.side_code, "-"), series.c.status,
                  func.coalesce(series.c.layer, "-")).where(*where)


@dataclass(frozen=True)
class Filters:
    """Which claim series to consider.

    By default: every series but the examples (``source=example`` asks for them) and the series that yield to
    a preferred one over the same ground. ``series`` names series by key, and then exactly those are taken.
    """

    side: list[str] | None = None
    source: list[str] | None = None
    status: list[str] | None = None
    known_at: datetime | None = None
    max_age: int | None = None  # days; older observations are left out
    series: list[str] | None = None
    every_series: bool = False  # keep the series that yield to a preferred one (the /series catalogue)

    def __hash__(self) -> int:
        """Filters key the cache of built statements (lists hashed as tuples)."""
        return hash(tuple(tuple(v) if isinstance(v, list) else v for v in astuple(self)))

    def where(self, t: FromClause = areas) -> list[ColumnElement[bool]]:
        """Conditions on control-area (or observation) rows: their version, and their series."""
        return [*self.version(t), *self.of_series(t)]

    def version(self, t: FromClause) -> list[ColumnElement[bool]]:
        """The rows current now, or at ``known_at``."""
        if self.known_at is None:
            return [t.c.superseded_at.is_(None)]
        return [t.c.recorded_at <= self.known_at, or_(t.c.superseded_at.is_(None), t.c.superseded_at > self.known_at)]

    def of_series(self, t: FromClause) -> list[ColumnElement[bool]]:
        """Conditions on a row's series (source_id, side_code, status, layer)."""
        conditions: list[ColumnElement[bool]] = []
        if self.side:
            conditions.append(t.c.side_code.in_(self.side))
        if self.status:
            conditions.append(t.c.status.in_(self.status))
        if self.source:
            conditions.append(t.c.source_id.in_(select(sources.c.id).where(sources.c.slug.in_(self.source))))
        conditions.append(self.series_condition(t))
        return conditions

    def series_condition(self, t: FromClause) -> ColumnElement[bool]:
        """The series asked for by key, or the default: no examples, no series that yields to a preferred one."""
        if self.series:
            return series_row(t).in_(_series_rows(series.c.key.in_(self.series)))
        conditions = []
        if not (self.source and EXAMPLE in self.source):
            conditions.append(t.c.source_id.not_in(example_sources()))
        if not self.every_series:
            others = series.alias("others")
            yields = series.c.same_ground_as.in_(select(others.c.key))
            conditions.append(series_row(t).not_in(_series_rows(yields)))
        return and_(true(), *conditions)

    def fresh(self, observed: ColumnElement[Any], day: Any) -> list[ColumnElement[bool]]:
        """Observations on or before ``day``, and not older than max_age days."""
        conditions = [observed <= day]
        if self.max_age is not None:
            conditions.append(observed >= cast(day, Date) - self.max_age)
        return conditions


def resolve_region(conn: Connection, value: str) -> str | None:
    """The key of the current region whose key, name or local name is ``value`` (names case-insensitive)."""
    wanted = value.strip().lower()
    stmt = select(regions.c.key).where(
        regions.c.superseded_at.is_(None),
        or_(regions.c.key == value.strip(), func.lower(regions.c.name) == wanted,
            func.lower(regions.c.local_name) == wanted),
    )
    return conn.execute(stmt).scalars().first()


def latest(day: date | BindParameter[date], filters: Filters) -> FromClause:
    """Each claim series' latest observation (app.db.observed) on or before ``day``: one row per series, each
    found by one backward probe of the (series, day) index, however long the history."""
    o, s = observations, observed_series
    pick = (select(o).where(o.c.series_id == s.c.id, *filters.version(o), *filters.fresh(o.c.observed_on, day))
            .order_by(o.c.observed_on.desc()).limit(1).lateral("pick"))
    return select(pick).select_from(s.join(pick, true())).where(*filters.of_series(s)).subquery("latest")


def shape_of(rows: FromClause, ground: str | None) -> tuple[FromClause, ColumnElement[bool]]:
    """The shapes table and the join condition for ``rows``' observations: whole, or cut to ``ground``."""
    return shapes, and_(shapes.c.observation_id == rows.c.id, shapes.c.ground == (ground or WHOLE))


def claim_area_km2(conn: Connection, key: str) -> float:
    """Geodesic area (km²) of the union of a claim's current polygons."""
    stmt = select(func.ST_Area(func.Geography(func.ST_Union(areas.c.geom))) / 1e6).where(
        areas.c.key == key, areas.c.superseded_at.is_(None))
    return float(conn.execute(stmt).scalar_one() or 0.0)


# -- control as of a day -----------------------------------------------------------------------------------

def control_as_of(conn: Connection, day: date, filters: Filters, simplify_m: float | None = None,
                  clip: str | None = None) -> list[str]:
    """GeoJSON features of every series' latest observation on or before ``day``, with its age and staleness.

    One feature per series: the union of its polygons that day (``parts`` of them, ``area_ids``). Its outline
    is simplified for display to the coarsest stored band not coarser than ``simplify_m`` metres; ``area_km2``
    is that of the full geometry. ``clip`` (a region or case key) cuts each area to that ground; ``area_km2``
    is then the part inside it, and a series with nothing inside is left out.
    """
    return list(conn.execute(_control_statement(filters, band_for(simplify_m), clip), {"day": day}).scalars())


@lru_cache(maxsize=256)
def _control_statement(filters: Filters, band: int | None, clip: str | None) -> Select[Any]:
    """The /control query for one set of filters, the day left as a parameter: built once, not per request (its
    construction cost more than PostgreSQL's answer)."""
    day = bindparam("day", type_=Date)
    rows = latest(day, filters)
    shape, on = shape_of(rows, clip)
    stats = series_stats()
    age = day - rows.c.observed_on
    key = series_key_of(rows.c.side_code, rows.c.status, rows.c.layer)
    properties = {
        "series": key, "series_title": series_title_of(rows.c.side_code, rows.c.status, rows.c.layer),
        "series_short_title": short_title_of(rows.c.side_code, rows.c.status, rows.c.layer),
        "source": sources.c.slug, "side": rows.c.side_code, "status": rows.c.status, "layer": rows.c.layer,
        "observed_on": rows.c.observed_on, "age_days": age, "stale": stale(age, stats.c.median_gap_days),
        "area_km2": km(shape.c.area_km2), "ground": literal(clip, Text),
        "key": func.concat(key, "/", rows.c.observed_on),
        "parts": func.cardinality(rows.c.area_ids), "area_ids": rows.c.area_ids,
        "illustrative": sources.c.kind == EXAMPLE, "recorded_at": rows.c.recorded_at,
    }
    geojson = shape.c[f"geojson_{band}m"] if band else shape.c.geojson
    return (select(feature_json(rows.c.id, geojson, properties))
            .select_from(rows.join(shape, on).join(sources, sources.c.id == rows.c.source_id)
                         .outerjoin(stats, same_series(stats, rows)))
            .where(shape.c.vertices > 0).order_by(sources.c.slug, rows.c.side_code, rows.c.status, rows.c.layer))


# -- area per series and day -------------------------------------------------------------------------------

def step_days(conn: Connection, start: date, end: date, step: str) -> list[date]:
    """The days of a series: ``start``, then every step up to ``end``."""
    days = func.generate_series(cast(literal(start), Date), cast(literal(end), Date), text(f"interval '{STEPS[step]}'"))
    return list(conn.execute(select(cast(days, Date))).scalars())


def _measured(filters: Filters, since: date, until: date, region: str | None) -> Select[Any]:
    """The observations a day in [since, until] can use, with their area (cut to ``region``), per series in order:
    each series' latest on or before ``since`` and the later ones up to ``until``."""
    o = observations
    floor = (select(*(o.c[c] for c in GROUP), func.max(o.c.observed_on).label("day"))
             .where(*filters.where(o), o.c.observed_on <= since).group_by(*(o.c[c] for c in GROUP)).subquery("floor"))
    shape, on = shape_of(o, region)
    stats = series_stats()
    threshold = func.greatest(func.coalesce(stats.c.median_gap_days * 2, 0), STALE_MIN_DAYS)
    return (select(*series_columns(o.c.side_code, o.c.status, o.c.layer), sources.c.slug.label("source"),
                   o.c.side_code.label("side"), o.c.status.label("status"), o.c.layer.label("layer"),
                   o.c.observed_on.label("observed_on"),
                   km(shape.c.area_km2).label("area_km2"), threshold.label("stale_after"))
            .select_from(o.join(shape, on).join(sources, sources.c.id == o.c.source_id)
                         .outerjoin(floor, same_series(floor, o)).outerjoin(stats, same_series(stats, o)))
            .where(*filters.where(o), o.c.observed_on <= until, o.c.observed_on >= func.coalesce(floor.c.day, since))
            .order_by(sources.c.slug, o.c.side_code.nulls_last(), o.c.status, o.c.layer.nulls_last(), o.c.observed_on))


def area_series(conn: Connection, start: date, end: date, step: str, filters: Filters,
                region: str | None) -> list[dict[str, Any]]:
    """Per step day: each series' latest observation on or before it, and its area (km²), stored at write time.

    The walk over the days is a merge of two sorted lists (days, a series' observations), done here: in SQL
    it was a join of every day with every observation, the slowest part of a daily series over the archive.
    """
    days = step_days(conn, start, end, step)
    by_series: dict[str, list[dict[str, Any]]] = {}
    for row in conn.execute(_measured(filters, start, end, region)):
        by_series.setdefault(row.series, []).append(dict(row._mapping))
    found: list[dict[str, Any]] = []
    for observed in by_series.values():  # in output order: source, side, status, layer
        at = -1
        for index, day in enumerate(days):
            while at + 1 < len(observed) and observed[at + 1]["observed_on"] <= day:
                at += 1
            if at < 0:
                continue
            latest_one = observed[at]
            age = (day - latest_one["observed_on"]).days
            if filters.max_age is not None and age > filters.max_age:
                continue
            found.append({"day": day, **{k: v for k, v in latest_one.items() if k != "stale_after"},
                          "age_days": age, "stale": age > latest_one["stale_after"], "_order": index})
    found.sort(key=lambda r: r.pop("_order"))  # stable: series order kept within a day
    return found


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
    """Per series: its latest observation on or before ``day`` as one geometry, cut to ``region`` if given."""
    rows = latest(day, filters)
    shape, on = shape_of(rows, region)
    return (select(*(rows.c[c] for c in GROUP), rows.c.observed_on, shape.c.geom, shape.c.area_km2)
            .select_from(rows.join(shape, on)).subquery(name))


def _snapshot(day: date, filters: Filters, region: str | None, name: str) -> FromClause:
    series = merged_latest(day, filters, region, f"{name}_series")
    # Empty strings for NULL side and layer: a FULL JOIN needs plain equality to match series.
    return select(*(func.coalesce(series.c[c], "").label(c) if c in ("side_code", "layer") else series.c[c]
                    for c in GROUP), series.c.observed_on, series.c.geom, series.c.area_km2).subquery(name)


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
                    func.coalesce(a.c.area_km2, 0.0).label("before_km2"),
                    func.coalesce(b.c.area_km2, 0.0).label("after_km2"),
                    gained.label("gained"), lost.label("lost"))
             # MATERIALIZED: each difference computed once, though measured and serialised below.
             .select_from(a.join(b, on, full=True)).cte("parts").prefix_with("MATERIALIZED"))

    def km2(geom: ColumnElement[Any]) -> ColumnElement[Any]:
        return func.coalesce(func.ST_Area(func.Geography(geom)), 0.0) / 1e6

    def geojson(geom: ColumnElement[Any]) -> ColumnElement[Any]:
        return display_geojson(geom, simplify) if simplify else func.ST_AsGeoJSON(func.ST_ForcePolygonCCW(geom), 7)

    side, layer = func.nullif(parts.c.side_code, ""), func.nullif(parts.c.layer, "")
    stmt = (select(*series_columns(side, parts.c.status, layer), sources.c.slug.label("source"), side.label("side"),
                   parts.c.status.label("status"), layer.label("layer"),
                   parts.c.before_observed_on.label("before_observed_on"),
                   parts.c.after_observed_on.label("after_observed_on"),
                   parts.c.before_km2.label("before_km2"), parts.c.after_km2.label("after_km2"),
                   km2(parts.c.gained).label("gained_km2"), km2(parts.c.lost).label("lost_km2"),
                   geojson(parts.c.gained).label("gained_geojson"), geojson(parts.c.lost).label("lost_geojson"))
            .select_from(parts.join(sources, sources.c.id == parts.c.source_id))
            .order_by(sources.c.slug, parts.c.side_code, parts.c.status))
    return [dict(r._mapping) for r in conn.execute(stmt)]


# -- depth from a line -------------------------------------------------------------------------------------

