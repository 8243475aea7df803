"""OGC API – Tiles, vector: each collection as Mapbox Vector Tiles on the WebMercatorQuad grid, with TileJSON.

Tiles take the items' filters (`datetime`, the property filters, `series`, a CQL2 `filter`), so a map draws one
day of one series from tiles; they are cached and carry ETags like every answer. An empty tile is a 204.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response
from sqlalchemy import Connection

from app.answers.base import answer
from app.answers.ogc import TileJson, Tileset, Tilesets
from app.cache import Cached, cached_response
from app.db import cql, features, tiles
from app.deps import CollectionDep, FilteringDep
from app.errors import InvalidParameter, NotFound
from app.formats import JSON, JsonOnly, json_body
from app.params import SIDE_LIST, STATUS_LIST, check_known_parameters, parse_interval

router = APIRouter(tags=["OGC API – Tiles"])

TMS = "WebMercatorQuad"
TMS_URI = "http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad"
WEB_MERCATOR = "http://www.opengis.net/def/crs/EPSG/0/3857"
MVT = "application/vnd.mapbox-vector-tile"
TILE_PATH = "/collections/{collection_id}/tiles/WebMercatorQuad/{tileMatrix}/{tileRow}/{tileCol}"
FILTERS = {"datetime", "side", "source", "status", "layer", "kind", "country", "series", "filter", "filter-lang",
           "filter-crs", "sortby"}  # sortby is the shared filter dependency's; a tile has no order
ATTRIBUTION = "Frontline; each feature's source is in its properties (see /sources)"


def _template(request: Request, collection_id: str) -> str:
    """The tile URL template, keeping the request's filters (so a map's tiles show what it asked for)."""
    base = str(request.url_for("tileset", collection_id=collection_id))
    query = "&".join(f"{k}={v}" for k, v in request.query_params.multi_items() if k in FILTERS)
    return f"{base}/{{z}}/{{y}}/{{x}}" + (f"?{query}" if query else "")


@router.get("/collections/{collection_id}/tiles", summary="A collection's tilesets", name="tilesets",
            responses=answer(Tilesets, csv=False))
def tilesets(request: Request, coll: CollectionDep, _: JsonOnly) -> dict[str, Any]:
    """The vector tilesets of a collection (one: WebMercatorQuad)."""
    tileset_url = str(request.url_for("tileset", collection_id=coll.id))
    return {"tilesets": [{
        "title": f"{coll.title} (vector tiles)", "dataType": "vector", "crs": WEB_MERCATOR,
        "tileMatrixSetURI": TMS_URI,
        "links": [{"href": tileset_url, "rel": "self", "type": JSON, "title": "The tileset"},
                  {"href": TMS_URI, "rel": "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme"}],
    }], "links": [{"href": str(request.url), "rel": "self", "type": JSON}]}


@router.get("/collections/{collection_id}/tiles/WebMercatorQuad", summary="A collection's vector tileset",
            name="tileset", responses=answer(Tileset, csv=False))
def tileset(request: Request, coll: CollectionDep, _: JsonOnly) -> dict[str, Any]:
    """The tileset's metadata: its grid, zoom levels, the layer and the tile URL template."""
    return {
        "title": f"{coll.title} (vector tiles)", "dataType": "vector", "crs": WEB_MERCATOR,
        "tileMatrixSetURI": TMS_URI,
        "tileMatrixSetLimits": [{"tileMatrix": str(z), "minTileRow": 0, "maxTileRow": 2 ** z - 1, "minTileCol": 0,
                                 "maxTileCol": 2 ** z - 1} for z in range(tiles.MAX_ZOOM + 1)],
        "layers": [{"id": coll.id, "dataType": "vector", "geometryType": features.geometry_type(coll).lower()}],
        "links": [
            {"href": str(request.url), "rel": "self", "type": JSON},
            {"href": _template(request, coll.id).replace("{z}/{y}/{x}", "{tileMatrix}/{tileRow}/{tileCol}"),
             "rel": "item", "type": MVT, "templated": True, "title": "A tile"},
            {"href": str(request.url_for("tilejson", collection_id=coll.id)), "rel": "describedby",
             "type": JSON, "title": "TileJSON"},
            {"href": TMS_URI, "rel": "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme"},
        ],
    }


@router.get("/collections/{collection_id}/tiles/WebMercatorQuad/tilejson.json", summary="TileJSON",
            name="tilejson", responses=answer(TileJson, csv=False))
def tilejson(request: Request, coll: CollectionDep) -> Response:
    """TileJSON 3.0.0 for MapLibre, Leaflet plugins and QGIS: the tile template (with the request's filters),
    zoom range, bounds and the layer's fields."""
    def build(conn: Connection) -> Cached:
        spatial, _ = features.extent(conn, coll)
        fields = {q.name: q.type for q in coll.queryables().values() if q.type not in ("geometry", "interval")}
        return json_body({
            "tilejson": "3.0.0", "name": coll.title, "description": coll.description,
            "tiles": [_template(request, coll.id)], "minzoom": 0, "maxzoom": tiles.MAX_ZOOM,
            "bounds": spatial or [-180, -85.05, 180, 85.05], "attribution": ATTRIBUTION,
            "vector_layers": [{"id": coll.id, "fields": fields}],
        })

    return cached_response(request, build)


@router.get(TILE_PATH, summary="A vector tile", name="tile", response_class=Response,
            responses={200: {"content": {MVT: {}}}, 204: {"description": "No feature in this tile"}})
def tile(
    request: Request,
    coll: CollectionDep,
    filtering: FilteringDep,
    z: Annotated[int, Path(alias="tileMatrix", ge=0, le=tiles.MAX_ZOOM, description="Zoom level.")],
    y: Annotated[int, Path(alias="tileRow", ge=0, le=2 ** tiles.MAX_ZOOM - 1, description="Row, from the north.")],
    x: Annotated[int, Path(alias="tileCol", ge=0, le=2 ** tiles.MAX_ZOOM - 1, description="Column, from the west.")],
    datetime_: Annotated[str | None, Query(alias="datetime", description=(
        "A day, an instant or an interval, as for the items."))] = None,
    series: Annotated[str | None, Query(description="Series id(s), comma-separated (control areas).")] = None,
    side: Annotated[str | None, Query(description="Side code(s), comma-separated.", json_schema_extra=SIDE_LIST)]
    = None,
    source: Annotated[str | None, Query(description="Source slug(s), comma-separated.")] = None,
    status: Annotated[str | None, Query(description="Status(es), comma-separated.", json_schema_extra=STATUS_LIST)]
    = None,
    layer: Annotated[str | None, Query(description="Layer name(s) (control areas).")] = None,
) -> Response:
    """The features meeting one tile, clipped and encoded by PostGIS; 204 when there are none."""
    check_known_parameters(request, FILTERS | filtering.parameters)
    if x >= 2 ** z or y >= 2 ** z:
        raise NotFound(f"no tile {z}/{y}/{x}: at zoom {z}, rows and columns run from 0 to {2 ** z - 1}")
    given = {"side": side, "source": source, "status": status, "layer": layer}
    filters = {name: [v.strip() for v in value.split(",") if v.strip()]
               for name, value in given.items() if value is not None and name in coll.filters}
    condition = filtering.condition
    if series is not None:
        if "series" not in coll.queryables():
            raise InvalidParameter(f"series: collection '{coll.id}' has no series", parameter="series")
        keys = [v.strip() for v in series.split(",") if v.strip()]
        picked = coll.queryables()["series"].expression.in_(keys)
        condition = picked if condition is None else condition & picked
    interval = parse_interval(datetime_) if datetime_ is not None else None

    def build(conn: Connection) -> Cached:
        with cql.evaluated(filtering.text):
            body = tiles.tile(conn, coll, z, x, y, interval=interval, filters=filters, condition=condition)
        return Cached(body, MVT, status=200 if body else 204)

    return cached_response(request, build)

