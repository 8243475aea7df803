"""OGC API – Features, Part 1 (Core, GeoJSON, OpenAPI 3.0): landing page, conformance, collections, items."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Path, Query, Request, Response
from sqlalchemy import Connection

from app.answers.base import answer
from app.answers.ogc import CollectionInfo, Collections
from app.cache import CACHE_CONTROL, Cached, cached_response, streamed_response
from app.crs import CRS84, SUPPORTED, Crs, parse_crs
from app.db import cql, features, history
from app.deps import CollectionDep, FilteringDep
from app.errors import NotFound
from app.formats import (
    GEOJSON,
    OPENAPI_30,
    JsonOnly,
    feature_collection,
    json_body,
    negotiated_format,
    output_format,
)
from app.openapi import as_openapi_30
from app.params import (
    DEFAULT_LIMIT,
    SIDE_LIST,
    STATUS_LIST,
    Limit,
    Offset,
    check_known_parameters,
    parse_bbox,
    parse_interval,
)
from app.routes.maps import landing_html
from app.services import exports

router = APIRouter(tags=["OGC API – Features"])

CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables-query-parameters",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
    "http://www.opengis.net/spec/cql2/1.0/conf/advanced-comparison-operators",
    "http://www.opengis.net/spec/cql2/1.0/conf/case-insensitive-comparison",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/arithmetic",
]
ITEM_PARAMETERS = {"bbox", "bbox-crs", "crs", "datetime", "limit", "offset", "f", "filter", "filter-lang",
                   "filter-crs", "sortby"}
SCHEMA_JSON = "application/schema+json"
STREAM_ABOVE = 1000  # GeoJSON and CSV pages of more features are streamed, not built whole and cached
QUERYABLES_REL = "http://www.opengis.net/def/rel/ogc/1.0/queryables"
GeoJsonFormat = Annotated[str, output_format("geojson", "json")]
ITEM_MEDIA = {"geojson": GEOJSON, "json": GEOJSON, **{n: f.media_type for n, f in exports.FORMATS.items()}}
ITEM_TITLES = {"geojson": "GeoJSON", **{n: f.title for n, f in exports.FORMATS.items()}}
ItemsFormat = Annotated[str, negotiated_format(ITEM_MEDIA)]
CRS_URIS = list(SUPPORTED)
CrsParameter = Annotated[str | None, Query(description=(
    "The CRS of the geometries returned (OGC API – Features Part 2), as a URI; CRS84 by default. Coordinates "
    "come in the CRS's own axis order (EPSG:4326: latitude first)."), json_schema_extra={"enum": CRS_URIS})]


@router.get("/", summary="Landing page")
def landing(request: Request, f: Annotated[str, output_format("json", "html")]) -> Any:
    """Links to the API definition, the conformance classes and the collections; a browser gets the HTML page."""
    if f == "html" or ("f" not in request.query_params and "text/html" in request.headers.get("accept", "")):
        with request.app.state.connect() as conn:
            page = landing_html(request, conn)
        return Response(page.body, media_type=page.media_type, headers={"Vary": "Accept"})
    base = str(request.base_url).rstrip("/")
    links = [
        {"href": f"{base}/", "rel": "self", "type": "application/json", "title": "This document"},
        {"href": f"{base}/api", "rel": "service-desc", "type": OPENAPI_30, "title": "The API definition"},
        {"href": f"{base}/docs", "rel": "service-doc", "type": "text/html", "title": "The API documentation"},
        {"href": f"{base}/conformance", "rel": "conformance", "type": "application/json",
         "title": "Conformance classes"},
        {"href": f"{base}/collections", "rel": "data", "type": "application/json", "title": "Collections"},
        {"href": f"{base}/app", "rel": "alternate", "type": "text/html", "title": "Maps for analysts"},
    ]
    return {"title": "Frontline", "description": request.app.description, "links": links}


@router.get("/conformance", summary="Conformance classes")
def conformance(_: JsonOnly) -> dict[str, list[str]]:
    """The OGC API – Features conformance classes this service implements."""
    return {"conformsTo": CONFORMANCE}


@router.get("/api", summary="The API definition (OpenAPI 3.0)")
def api(request: Request, _: JsonOnly) -> Response:
    """This API's OpenAPI document, in OpenAPI 3.0."""
    return Response(orjson.dumps(as_openapi_30(request.app.openapi())), media_type=OPENAPI_30)


def _collection_body(request: Request, conn: Connection, collection: features.Collection) -> dict[str, Any]:
    spatial, temporal = features.extent(conn, collection)
    items = str(request.url_for("items", collection_id=collection.id))
    extent: dict[str, Any] = {"spatial": {"bbox": [spatial or [-180, -90, 180, 90]], "crs": CRS84}}
    if collection.temporal:
        extent["temporal"] = {"interval": [[d.isoformat() if d else None for d in (temporal or [None, None])]],
                              "trs": "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"}
    return {
        "id": collection.id, "title": collection.title, "description": collection.description,
        "itemType": "feature", "crs": CRS_URIS, "storageCrs": CRS84, "extent": extent,
        "links": [
            {"href": str(request.url_for("collection", collection_id=collection.id)), "rel": "self",
             "type": "application/json"},
            {"href": items, "rel": "items", "type": GEOJSON, "title": f"{collection.title} (GeoJSON)"},
            {"href": str(request.url_for("queryables", collection_id=collection.id)), "rel": QUERYABLES_REL,
             "type": SCHEMA_JSON,
             "title": "What a filter or sortby may name"},
        ],
    }


@router.get("/collections", summary="The feature collections", responses=answer(Collections, csv=False))
def collections(request: Request, _: JsonOnly) -> Response:
    """Every collection with its spatial and temporal extent."""

    def build(conn: Connection) -> Cached:
        return json_body({
            "collections": [_collection_body(request, conn, c) for c in features.COLLECTIONS.values()],
            "links": [{"href": str(request.url_for("collections")), "rel": "self", "type": "application/json"}],
        })

    return cached_response(request, build)


@router.get("/collections/{collection_id}", summary="One collection", name="collection",
            responses=answer(CollectionInfo, csv=False))
def collection(request: Request, coll: CollectionDep, _: JsonOnly) -> Response:
    """A collection's description and extent."""
    return cached_response(request, lambda conn: json_body(_collection_body(request, conn, coll)))


@router.get("/collections/{collection_id}/items", summary="Features of a collection", name="items",
            response_class=Response, responses={200: {"content": {GEOJSON: {}}}})
def items(
    request: Request,
    coll: CollectionDep,
    fmt: ItemsFormat,
    filtering: FilteringDep,
    bbox: Annotated[str | None, Query(description=(
        "minx,miny,maxx,maxy in `bbox-crs` and its axis order (CRS84 by default: minlon,minlat,maxlon,maxlat)."))]
    = None,
    bbox_crs: Annotated[str | None, Query(alias="bbox-crs", description="The CRS of `bbox`, as a URI; CRS84 by "
                                          "default.", json_schema_extra={"enum": CRS_URIS})] = None,
    crs: CrsParameter = None,
    datetime_: Annotated[str | None, Query(alias="datetime", description=(
        "A day (2024-11-12, the whole day), an RFC 3339 instant, or an interval start/end with `..` for an "
        "open end. Control areas match when valid on any day of it."))] = None,
    limit: Limit = DEFAULT_LIMIT,
    offset: Offset = 0,
    side: Annotated[str | None, Query(description="Side code(s), comma-separated (control areas, lines, events).",
                                      json_schema_extra=SIDE_LIST)] = None,
    source: Annotated[str | None, Query(description="Source slug(s), comma-separated.")] = None,
    status: Annotated[str | None, Query(description="claimed, assessed, confirmed, contested, unknown.",
                                        json_schema_extra=STATUS_LIST)] = None,
    layer: Annotated[str | None, Query(description="Layer name(s) (control areas).")] = None,
    kind: Annotated[str | None, Query(description="Kind(s) (places, lines, regions).")] = None,
    country: Annotated[str | None, Query(description="ISO country code(s) (regions).")] = None,
) -> Response:
    """Features, paged with `limit`/`offset` and `next`/`prev` links; only current versions. GeoJSON, or
    FlatGeobuf, GeoPackage, CSV (WKT) or GeoParquet with `f` or an Accept header."""
    check_known_parameters(request, ITEM_PARAMETERS | set(coll.filters) | filtering.parameters)
    given = {"side": side, "source": source, "status": status, "layer": layer, "kind": kind, "country": country}
    filters = {name: [v.strip() for v in value.split(",") if v.strip()]
               for name, value in given.items() if value is not None and name in coll.filters}
    out, box_crs = parse_crs(crs, "crs"), parse_crs(bbox_crs, "bbox-crs")
    box = parse_bbox(bbox, box_crs) if bbox is not None else None
    interval = parse_interval(datetime_) if datetime_ is not None else None

    selection = features.Selection(interval, box, filters, out, box_crs, filtering.condition, filtering.order)
    if fmt in ("geojson", "json", "csv") and limit > STREAM_ABOVE:
        return _streamed(request, coll, selection, limit, offset, filtering.text, fmt)

    def build(conn: Connection) -> Cached:
        with cql.evaluated(filtering.text):
            page = features.page_items(conn, coll, selection, limit, offset, rows=fmt in exports.FORMATS)
        # No timeStamp: the body is cached for the data version; the response's own time is its Date header.
        links = _page_links(request, page.matched, limit, offset, fmt)
        headers = (*content_crs(out), ("Link", link_header(links)), ("Vary", "Accept"))
        if fmt in exports.FORMATS:
            return _export(coll, page, out, exports.FORMATS[fmt], headers)
        envelope = {"numberMatched": page.matched, "numberReturned": len(page.features), "links": links}
        return Cached(feature_collection(page.features, envelope), GEOJSON, headers=headers)

    return cached_response(request, build)


def _streamed(request: Request, coll: features.Collection, selection: features.Selection, limit: int,
              offset: int, filter_text: str | None, fmt: str) -> Response:
    """A GeoJSON or CSV page of more than ``STREAM_ABOVE`` features, sent batch by batch as PostGIS writes it."""

    def csv_chunks(conn: Connection) -> Iterator[bytes]:
        with cql.evaluated(filter_text):
            batches = features.stream_items(conn, coll, selection, limit, offset, rows=True)
            first = next(batches)
        columns, kind = ["id", *coll.properties(coll.table)], features.geometry_type(coll)
        yield exports.csv_rows(exports.frame(first.features, columns, selection.crs, kind), header=True)
        for batch in batches:
            yield exports.csv_rows(exports.frame(batch.features, columns, selection.crs, kind), header=False)

    def chunks(conn: Connection) -> Iterator[bytes]:
        with cql.evaluated(filter_text):
            batches = features.stream_items(conn, coll, selection, limit, offset)
            first = next(batches)
        yield b'{"type":"FeatureCollection","features":[' + ",".join(first.features).encode()
        returned = len(first.features)
        for batch in batches:
            yield b"," + ",".join(batch.features).encode()
            returned += len(batch.features)
        envelope = {"numberMatched": first.matched, "numberReturned": returned,
                    "links": _page_links(request, first.matched, limit, offset, "geojson")}
        yield b"]," + orjson.dumps(envelope)[1:]

    self_link = link_header(_page_links(request, 0, limit, offset, fmt)[:1])
    headers = (*content_crs(selection.crs), ("Link", self_link), ("Vary", "Accept"))
    if fmt == "csv":
        disposition = ("Content-Disposition", f'attachment; filename="{coll.id}.csv"')
        return streamed_response(request, csv_chunks, exports.FORMATS["csv"].media_type, (*headers, disposition))
    return streamed_response(request, chunks, GEOJSON, headers)


def content_crs(crs: Crs) -> tuple[tuple[str, str], ...]:
    """The Content-Crs header (Part 2): the CRS of the geometries in the body."""
    return (("Content-Crs", f"<{crs.uri}>"),)


def link_header(links: list[dict[str, str]]) -> str:
    """The body's links as an HTTP Link header (RFC 8288), for clients that read headers."""
    return ", ".join(f'<{link["href"]}>; rel="{link["rel"]}"; type="{link["type"]}"' for link in links)


def _export(coll: features.Collection, page: features.Page, crs: Crs, fmt: exports.Format,
            headers: tuple[tuple[str, str], ...]) -> Cached:
    """A page in a bulk format, as a file to save."""
    columns = ["id", *coll.properties(coll.table)]
    data = exports.frame(page.features, columns, crs, features.geometry_type(coll))
    disposition = ("Content-Disposition", f'attachment; filename="{coll.id}.{fmt.extension}"')
    return Cached(exports.encode(data, fmt, coll.id), fmt.media_type, headers=(*headers, disposition))


def _page_links(request: Request, matched: int, limit: int, offset: int, fmt: str) -> list[dict[str, str]]:
    def at(new_offset: int) -> str:
        return str(request.url.include_query_params(offset=new_offset, limit=limit))

    collection_id = request.path_params["collection_id"]
    media = ITEM_MEDIA[fmt]
    links = [{"href": str(request.url), "rel": "self", "type": media},
             *({"href": str(request.url.include_query_params(f=name)), "rel": "alternate", "type": ITEM_MEDIA[name],
                "title": title} for name, title in ITEM_TITLES.items() if ITEM_MEDIA[name] != media),
             {"href": str(request.url_for("collection", collection_id=collection_id)), "rel": "collection",
              "type": "application/json"},
             {"href": str(request.url_for("queryables", collection_id=collection_id)), "rel": QUERYABLES_REL,
              "type": SCHEMA_JSON}]
    if offset + limit < matched:
        links.append({"href": at(offset + limit), "rel": "next", "type": media})
    if offset > 0:
        links.append({"href": at(max(offset - limit, 0)), "rel": "prev", "type": media})
    return links


@router.get("/collections/{collection_id}/queryables", summary="What a filter may name", name="queryables",
            response_class=Response, responses={200: {"content": {SCHEMA_JSON: {}}}})
def queryables(request: Request, coll: CollectionDep, _: JsonOnly) -> Response:
    """The collection's queryables as a JSON Schema: what `filter` (CQL2) and `sortby` may name, with types."""
    properties: dict[str, Any] = {}
    for q in coll.queryables().values():
        if q.type == "geometry":
            schema: dict[str, Any] = {"format": "geometry-any", "description": "The feature's geometry (CRS84)."}
        elif q.type == "interval":
            schema = {"type": "array", "format": "interval", "description": "The days it is valid (T_ operators)."}
        else:
            schema = {"type": q.type, **({"format": q.format} if q.format else {}),
                      **({"enum": list(q.enum)} if q.enum else {})}
        properties[q.name] = {"title": q.name, **schema}
    body = {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": str(request.url),
            "type": "object", "title": coll.title, "properties": properties, "additionalProperties": False}
    return Response(orjson.dumps(body), media_type=SCHEMA_JSON)


ITEM_PATH = "/collections/{collection_id}/items/{feature_id:path}"


@router.get(ITEM_PATH, summary="One feature", name="item", response_class=Response,
            responses={200: {"content": {GEOJSON: {}}}, 304: {"description": "Unchanged"}})
def item(request: Request, coll: CollectionDep,
         feature_id: Annotated[str, Path(description="Row id (any version) or key (current version).",
                                         examples=["1", "sudzha"])],
         _: GeoJsonFormat, crs: CrsParameter = None) -> Response:
    """One feature; superseded versions stay reachable by their id.

    The ETag names this version of the thing: send it as If-Match to correct or retract it.
    """
    check_known_parameters(request, {"f", "crs"})
    out = parse_crs(crs, "crs")
    with request.app.state.connect() as conn:
        found = features.get_item(conn, coll, feature_id, out)
        if found is None:
            raise NotFound(f"no feature '{feature_id}' in collection '{coll.id}'")
        ids = history.current_rows(conn, coll.table, found.key) if found.current else [found.id]
    headers = {"ETag": history.version_tag(ids), "Cache-Control": CACHE_CONTROL, **dict(content_crs(out))}
    if request.headers.get("if-none-match", "").strip() == headers["ETag"]:
        return Response(status_code=304, headers=headers)
    links = [{"href": str(request.url), "rel": "self", "type": GEOJSON},
             {"href": str(request.url_for("collection", collection_id=coll.id)), "rel": "collection",
              "type": "application/json"}]
    body = found.feature[:-1].encode() + b',"links":' + orjson.dumps(links) + b"}"
    return Response(body, media_type=GEOJSON, headers=headers)


# HEAD answers like GET (curl -I reads the ETag an editor needs); one operation in the OpenAPI document.
router.add_api_route(ITEM_PATH, item, methods=["HEAD"], name="item-head", include_in_schema=False,
                     response_class=Response)
