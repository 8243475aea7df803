"""Vector tiles (OGC API – Tiles, Mapbox Vector Tile) of a collection, made by PostGIS.

One tile of the WebMercatorQuad grid: the current features that meet it (the GiST index on the stored CRS84
geometry finds them, against the tile's envelope transformed back to CRS84), clipped and quantised by
``ST_AsMVTGeom`` and encoded by ``ST_AsMVT``. The same filters as the items apply (``datetime``, properties,
a CQL2 condition), so a map can draw one day of one series from tiles.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import ColumnElement, Connection, Date, DateTime, Double, Numeric, Text, cast, func, literal, select
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from app.db.features import Collection, example_sources
from app.db.models import sources
from app.params import DayRange

EXTENT = 4096  # tile coordinates per side
BUFFER = 64  # tile coordinates drawn beyond each edge, so that outlines meet across tiles
MAX_ZOOM = 22


def tile(conn: Connection, collection: Collection, z: int, x: int, y: int, *, interval: DayRange | None,
         filters: Mapping[str, list[str]], condition: ColumnElement[bool] | None) -> bytes:
    """The Mapbox Vector Tile of one tile (empty bytes when no feature meets it); its layer is the
    collection's id."""
    t = collection.table
    envelope = func.ST_TileEnvelope(z, x, y)
    where: list[ColumnElement[bool]] = [
        t.c.superseded_at.is_(None), t.c.geom.is_not(None),
        t.c.geom.op("&&")(func.ST_Transform(envelope, 4326)),
    ]
    if interval is not None:
        where.append(collection.temporal_match(*(None if d is None else literal(d, Date)
                                                 for d in (interval.start, interval.end))))
    where.extend(collection.filter_column(name).in_(values) for name, values in filters.items())
    if "source" not in filters:
        where.append(t.c.source_id.not_in(example_sources()))
    if condition is not None:
        where.append(condition)
    shape = func.ST_AsMVTGeom(func.ST_Transform(t.c.geom, 3857), envelope, EXTENT, BUFFER, True).label("geom")
    features = (select(t.c.id.label("id"), *_properties(collection), shape)
                .select_from(t.join(sources, sources.c.id == t.c.source_id)).where(*where).subquery("features"))
    stmt = select(func.ST_AsMVT(features.table_valued(), collection.id, EXTENT, "geom", "id")) \
        .select_from(features).where(features.c.geom.is_not(None))
    return bytes(conn.execute(stmt).scalar_one() or b"")


def _properties(collection: Collection) -> list[ColumnElement[Any]]:
    """The feature properties a tile carries: plain values as they are, dates as ISO text; JSON left out."""
    columns: list[ColumnElement[Any]] = []
    for name, expression in collection.properties(collection.table).items():
        if isinstance(expression.type, JSONB | ARRAY) or name == "superseded_at":
            continue
        if isinstance(expression.type, Date | DateTime):
            columns.append(cast(expression, Text).label(name))
        elif isinstance(expression.type, Numeric):  # MVT values are integers, doubles, text or booleans
            columns.append(cast(expression, Double).label(name))
        else:
            columns.append(expression.label(name))
    return columns
