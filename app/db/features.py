"""OGC API – Features collections: what each exposes, and the queries that page through it.

PostGIS writes every feature's GeoJSON (RFC 7946: lon/lat, exterior rings counter-clockwise); Python only
joins the features into a FeatureCollection. Feature ids are row ids: a version keeps its id forever.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import cache, lru_cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Date,
    Dialect,
    Float,
    FromClause,
    Integer,
    Numeric,
    Select,
    Table,
    Text,
    and_,
    bindparam,
    cast,
    func,
    literal,
    null,
    or_,
    select,
    true,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from app.crs import STORAGE, Crs
from app.db.cql import Queryable, queryables
from app.db.history import row_id
from app.db.models import EXAMPLE, STATUSES, areas, events, lines, places, regions, sources
from app.params import DayRange

Properties = Callable[[Table], dict[str, ColumnElement[Any]]]


def example_sources() -> Select[Any]:
    """The ids of the sources of illustrative shapes (left out unless asked for by name)."""
    return select(sources.c.id).where(sources.c.kind == EXAMPLE)


def km(column: ColumnElement[Any]) -> ColumnElement[Any]:
    """A length or area rounded to 3 decimals for output."""
    return func.round(cast(column, Numeric), 3, type_=Numeric)


def feature_json(row_id: ColumnElement[Any], geojson: ColumnElement[Any],
                 properties: Mapping[str, ColumnElement[Any]]) -> ColumnElement[str]:
    """One GeoJSON Feature, as text: the geometry's GeoJSON was written by PostGIS when the row was stored.

    Concatenated rather than built with json_build_object, so PostgreSQL does not parse every geometry's
    GeoJSON again as a json value.
    """
    pairs: list[Any] = []
    for name, expr in properties.items():
        pairs.extend((literal(name), expr))
    geometry = func.coalesce(geojson, "null")
    return func.concat('{"type":"Feature","id":', cast(row_id, Text), ',"geometry":', geometry,
                       ',"properties":', cast(func.json_build_object(*pairs), Text), "}")


def display_geojson(geom: ColumnElement[Any], tolerance: float) -> ColumnElement[str]:
    """RFC 7946 GeoJSON of a geometry simplified for display (``tolerance`` in degrees, topology kept; 5
    decimals, about 1 m). Areas and lengths are always measured on the full geometry, never on this."""
    shape = func.ST_SimplifyPreserveTopology(geom, tolerance) if tolerance > 0 else geom
    return func.ST_AsGeoJSON(func.ST_ForcePolygonCCW(shape), 5)


def common_properties(t: FromClause) -> dict[str, ColumnElement[Any]]:
    """Provenance every history feature shows."""
    return {"key": t.c.key, "source": sources.c.slug, "notes": t.c.notes, "recorded_at": t.c.recorded_at,
            "superseded_at": t.c.superseded_at}


def control_properties(t: FromClause) -> dict[str, ColumnElement[Any]]:
    """Properties of a control area feature."""
    return {
        "side": t.c.side_code, "status": t.c.status, "observed_on": func.lower(t.c.valid, type_=Date),
        "valid_from": func.lower(t.c.valid, type_=Date), "valid_until": func.upper(t.c.valid, type_=Date),
        "layer": t.c.layer,
        "name": t.c.name, "area_km2": km(t.c.area_km2),
        "series": func.concat(sources.c.slug, "/", func.coalesce(t.c.side_code, "-"), "/", t.c.status, "/",
                              func.coalesce(t.c.layer, "-")),
        "illustrative": func.coalesce(t.c.properties["illustrative"].as_boolean(), False),
        "attributes": t.c.properties, **common_properties(t),
    }


@dataclass(frozen=True)
class Collection:
    """A feature collection: its table, the properties it shows, the filters and time semantics it has."""

    id: str
    title: str
    description: str
    table: Table
    properties: Properties
    filters: dict[str, str]  # query parameter -> column ("source" is the source's slug)
    temporal: str | None  # "valid": daterange; "valid-or-always": NULL valid = always; "occurred_on": date

    def queryables(self) -> dict[str, Queryable]:
        """What a CQL2 filter or ``sortby`` may name (app.db.cql)."""
        return _queryables(self.id)

    def filter_column(self, name: str) -> ColumnElement[Any]:
        """The column a property filter compares."""
        return sources.c.slug if name == "source" else self.table.c[self.filters[name]]

    def temporal_match(self, start: ColumnElement[Any] | None, end: ColumnElement[Any] | None
                       ) -> ColumnElement[bool]:
        """Rows whose days overlap the closed interval [start, end]; None is an open end."""
        t = self.table
        if self.temporal is None:
            return true()
        if self.temporal == "occurred_on":
            bounds = []
            if start is not None:
                bounds.append(t.c.occurred_on >= start)
            if end is not None:
                bounds.append(t.c.occurred_on <= end)
            return and_(*bounds)
        wanted = func.daterange(cast(start if start is not None else null(), Date),
                                cast(end if end is not None else null(), Date), "[]")
        overlaps = t.c.valid.op("&&")(wanted)
        return overlaps if self.temporal == "valid" else or_(t.c.valid.is_(None), overlaps)


COLLECTIONS: dict[str, Collection] = {c.id: c for c in (
    Collection(
        "control-areas", "Control areas",
        "Territory a source says a side holds, or that is contested / of unknown status, per day. "
        "`datetime` matches the days a claim is valid for.",
        areas, control_properties,
        {"side": "side_code", "source": "", "status": "status", "layer": "layer"}, "valid",
    ),
    Collection(
        "places", "Places", "Settlements and sites (points).", places,
        lambda t: {"name": t.c.name, "alt_names": t.c.alt_names, "kind": t.c.kind, "population": t.c.population,
                   "region": t.c.properties["region"].astext, **common_properties(t)},
        {"kind": "kind", "source": ""}, "valid-or-always",
    ),
    Collection(
        "lines", "Lines", "International borders, administrative boundaries and front lines.", lines,
        lambda t: {"name": t.c.name, "kind": t.c.kind, "side": t.c.side_code, "status": t.c.status,
                   "length_km": km(t.c.length_km), **common_properties(t)},
        {"kind": "kind", "side": "side_code", "source": ""}, "valid-or-always",
    ),
    Collection(
        "regions", "Regions", "Administrative areas, for clipping statistics.", regions,
        lambda t: {"name": t.c.name, "local_name": t.c.local_name, "kind": t.c.kind, "country": t.c.country,
                   "area_km2": km(t.c.area_km2), **common_properties(t)},
        {"kind": "kind", "country": "country", "source": ""}, None,
    ),
    Collection(
        "events", "Events", "Dated happenings at a point or over an area, as a source reported them.",
        events,
        lambda t: {"occurred_on": t.c.occurred_on, "title": t.c.title, "description": t.c.description,
                   "side": t.c.side_code, "status": t.c.status, "url": t.c.url, **common_properties(t)},
        {"side": "side_code", "source": "", "status": "status"}, "occurred_on",
    ),
)}


def _row_columns(collection: Collection, crs: Crs) -> list[ColumnElement[Any]]:
    """A feature's id, its properties as columns (JSON ones as JSON text) and its geometry as WKB in ``crs``,
    easting first."""
    t = collection.table
    columns: list[ColumnElement[Any]] = [t.c.id.label("id")]
    for name, expression in collection.properties(t).items():
        plain = isinstance(expression.type, JSONB | ARRAY)
        columns.append((cast(expression, Text) if plain else expression).label(name))
    geometry = t.c.geom if crs.is_storage else func.ST_Transform(t.c.geom, crs.srid)
    return [*columns, func.ST_AsBinary(geometry).label("geometry")]


def geojson_in(t: FromClause, crs: Crs) -> ColumnElement[str]:
    """A row's GeoJSON geometry in ``crs``: as stored for CRS84, else transformed by PostGIS, in the CRS's axis
    order."""
    if crs.is_storage:
        return t.c.geojson
    geom = func.ST_Transform(t.c.geom, crs.srid)
    if crs.northing_first:
        geom = func.ST_FlipCoordinates(geom)
    return func.ST_AsGeoJSON(func.ST_ForcePolygonCCW(geom), crs.digits, 0)


def envelope(crs: Crs) -> ColumnElement[Any]:
    """The bbox (bound as minx, miny, maxx, maxy in ``crs``, x/y order) as a CRS84 polygon; its edges are
    densified before the transformation, so that they follow the box's straight sides in ``crs``."""
    box = func.ST_MakeEnvelope(*(bindparam(b, type_=Float) for b in ("minx", "miny", "maxx", "maxy")), crs.srid)
    if crs.srid == 4326:
        return box
    side = func.greatest(bindparam("maxx", type_=Float) - bindparam("minx", type_=Float),
                         bindparam("maxy", type_=Float) - bindparam("miny", type_=Float))
    return func.ST_Transform(func.ST_Segmentize(box, side / 32), 4326)


def geometry_type(collection: Collection) -> str:
    """The collection's geometry type as GDAL names it (``MultiPolygon``, ``Point``, ``Unknown``...)."""
    declared = str(getattr(collection.table.c.geom.type, "geometry_type", "GEOMETRY")).upper()
    names = {"POINT": "Point", "MULTIPOINT": "MultiPoint", "LINESTRING": "LineString",
             "MULTILINESTRING": "MultiLineString", "POLYGON": "Polygon", "MULTIPOLYGON": "MultiPolygon"}
    return names.get(declared, "Unknown")


@cache
def _queryables(collection_id: str) -> dict[str, Queryable]:
    c = COLLECTIONS[collection_id]
    return queryables(c.table, c.properties(c.table), c.temporal, {"status": STATUSES})


@dataclass
class Page:
    """One page of features (GeoJSON text each) and how many match in all."""

    features: list[Any]  # GeoJSON text, or dicts of properties and WKB (``rows``)
    matched: int


def _from(collection: Collection, columns: Sequence[Any]) -> Select[Any]:
    t = collection.table
    return select(*columns).select_from(t.join(sources, sources.c.id == t.c.source_id))


@dataclass(frozen=True)
class PageShape:
    """Which conditions an items query has; their values are bound when it runs."""

    collection_id: str
    start: bool
    end: bool
    bbox: bool
    filters: tuple[str, ...]
    crs: Crs = STORAGE
    bbox_crs: Crs = STORAGE
    rows: bool = False  # properties as columns and WKB, not GeoJSON features


@lru_cache(maxsize=256)
def _page_sql(shape: PageShape, dialect: Dialect) -> tuple[str, dict[str, Any]]:
    """The SQL of one query shape, compiled once: building and compiling it cost more than running it."""
    return _compiled(_page_statement(shape, rows=shape.rows), dialect)


def _compiled(stmt: Select[Any], dialect: Dialect) -> tuple[str, dict[str, Any]]:
    compiled = stmt.compile(dialect=dialect)
    return compiled.string, dict(compiled.params)


def _page_statement(shape: PageShape, condition: ColumnElement[bool] | None = None,
                    order: Sequence[ColumnElement[Any]] = (), rows: bool = False) -> Select[Any]:
    """One page of a collection's current versions: the shape's conditions, a CQL2 ``condition`` and
    ``order`` (then id) if given. Each a GeoJSON Feature (text), or with ``rows`` its properties as columns and
    its geometry as WKB (for the bulk formats)."""
    collection = COLLECTIONS[shape.collection_id]
    t = collection.table
    where: list[ColumnElement[bool]] = [t.c.superseded_at.is_(None)]
    if shape.start or shape.end:
        where.append(collection.temporal_match(bindparam("start", type_=Date) if shape.start else None,
                                               bindparam("end", type_=Date) if shape.end else None))
    if shape.bbox:
        where.append(func.ST_Intersects(t.c.geom, envelope(shape.bbox_crs)))
    where.extend(collection.filter_column(name) == func.any(bindparam(f"filter_{name}", type_=ARRAY(Text)))
                 for name in shape.filters)
    if "source" not in shape.filters:  # illustrative shapes only when their source is asked for by name
        where.append(t.c.source_id.not_in(example_sources()))
    # A feature collection promises geometry (GDAL and QGIS make a layer of it; the OGC schema has no null):
    # an event without a location is reachable by its id, not listed.
    where.append(t.c.geom.is_not(None))
    if condition is not None:
        where.append(condition)
    columns = _row_columns(collection, shape.crs) if rows else [
        feature_json(t.c.id, geojson_in(t, shape.crs), collection.properties(t))]
    return (_from(collection, [*columns, func.count().over().label("matched")]).where(*where)
            .order_by(*order, t.c.id).limit(bindparam("limit", type_=Integer))
            .offset(bindparam("offset", type_=Integer)))


@dataclass(frozen=True)
class Selection:
    """What a page of items asks for, besides its place in the order (``limit``, ``offset``): the items'
    parameters, parsed, and a CQL2 ``condition`` and ``order`` compiled (app.db.cql)."""

    interval: DayRange | None = None
    bbox: tuple[float, float, float, float] | None = None  # x/y order, in bbox_crs
    filters: Mapping[str, list[str]] = field(default_factory=dict)
    crs: Crs = STORAGE
    bbox_crs: Crs = STORAGE
    condition: ColumnElement[bool] | None = None
    order: Sequence[ColumnElement[Any]] = ()


def _page_query(conn: Connection, collection: Collection, selection: Selection, limit: int, offset: int,
                rows: bool) -> tuple[str, dict[str, Any]]:
    """The SQL and the parameters of one page."""
    s = selection
    shape = PageShape(collection.id, bool(s.interval and s.interval.start), bool(s.interval and s.interval.end),
                      s.bbox is not None, tuple(sorted(s.filters)), s.crs, s.bbox_crs, rows)
    if s.condition is None and not s.order:
        sql, params = _page_sql(shape, conn.dialect)
    else:  # a filter's own statement: its values are bound parameters, compiled with it
        sql, params = _compiled(_page_statement(shape, s.condition, s.order, rows), conn.dialect)
    params = {**params, "limit": limit, "offset": offset, **{f"filter_{k}": v for k, v in s.filters.items()}}
    if s.interval:
        params.update(start=s.interval.start, end=s.interval.end)
    if s.bbox:
        params.update(zip(("minx", "miny", "maxx", "maxy"), s.bbox, strict=True))
    return sql, params


def page_items(conn: Connection, collection: Collection, selection: Selection, limit: int, offset: int,
               rows: bool = False) -> Page:
    """Current versions matching the selection, in its order then id order, one page of them, and how many
    match in all. The features are GeoJSON text, or with ``rows`` dicts of properties and WKB ``geometry``."""
    sql, params = _page_query(conn, collection, selection, limit, offset, rows)
    found = conn.exec_driver_sql(sql, params).all()
    if found:
        features = [{k: v for k, v in r._mapping.items() if k != "matched"} for r in found] if rows else \
            [r[0] for r in found]
        return Page(features, found[0][-1])
    return Page([], _matched(conn, sql, params, offset))


def stream_items(conn: Connection, collection: Collection, selection: Selection, limit: int, offset: int,
                 rows: bool = False, batch: int = 500) -> Iterator[Page]:
    """The page of ``page_items`` in batches of ``batch``, read from a server-side cursor: memory holds one
    batch, not the page. Every batch says how many match in all; an empty page is one empty batch."""
    sql, params = _page_query(conn, collection, selection, limit, offset, rows)
    driver = conn.connection.driver_connection
    assert driver is not None
    # WITH HOLD: the connection is in autocommit (reads), where a cursor without it would end at once.
    with driver.cursor(name=f"items_{id(params)}", withhold=True) as cursor:
        cursor.execute(sql, params)
        sent = False
        names = None
        while found := cursor.fetchmany(batch):
            sent = True
            names = names or [c.name for c in cursor.description or []]
            yield Page([dict(zip(names[:-1], r[:-1], strict=True)) for r in found] if rows else [r[0] for r in found],
                       found[0][-1])
    if not sent:
        yield Page([], _matched(conn, sql, params, offset))


def _matched(conn: Connection, sql: str, params: dict[str, Any], offset: int) -> int:
    """How many match, for a page that came back empty: none, or the page lies past the last one."""
    if offset == 0:
        return 0
    first = conn.exec_driver_sql(sql, {**params, "offset": 0, "limit": 1}).first()
    return int(first[-1]) if first else 0


@dataclass(frozen=True)
class Item:
    """One stored version: its row id, key, whether it is current, and its GeoJSON Feature."""

    id: int
    key: str
    current: bool
    feature: str


def get_item(conn: Connection, collection: Collection, feature_id: str, crs: Crs = STORAGE) -> Item | None:
    """A feature by row id (any version, current or superseded), or by key (its current version; the first
    polygon when a claim is drawn as several); its geometry in ``crs``."""
    t = collection.table
    number = row_id(feature_id)
    match = t.c.id == number if number is not None else and_(t.c.key == feature_id, t.c.superseded_at.is_(None))
    stmt = _from(collection, [t.c.id, t.c.key, t.c.superseded_at.is_(None),
                              feature_json(t.c.id, geojson_in(t, crs), collection.properties(t))]).where(match)
    row = conn.execute(stmt.order_by(t.c.id).limit(1)).first()
    return Item(*row) if row else None


def extent(conn: Connection, collection: Collection) -> tuple[list[float] | None, list[date | None] | None]:
    """Spatial (CRS84 bbox) and temporal extent of the current versions."""
    t = collection.table
    box = func.ST_Extent(t.c.geom)
    columns: list[Any] = [func.ST_XMin(box), func.ST_YMin(box), func.ST_XMax(box), func.ST_YMax(box)]
    if collection.temporal in ("valid", "valid-or-always"):
        columns += [func.min(func.lower(t.c.valid)), func.max(func.upper(t.c.valid) - 1)]
    elif collection.temporal == "occurred_on":
        columns += [func.min(t.c.occurred_on), func.max(t.c.occurred_on)]
    row = conn.execute(select(*columns).where(t.c.superseded_at.is_(None),
                                              t.c.source_id.not_in(example_sources()))).one()
    spatial = [float(v) for v in row[:4]] if row[0] is not None else None
    temporal = [row[4], row[5]] if len(row) > 4 and row[4] is not None else None
    return spatial, temporal
