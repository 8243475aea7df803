"""The catalogue: who publishes (`/sources`), the claim series they publish (`/series`), and the cases (`/cases`):
the ground a question is about."""

from __future__ import annotations

import dataclasses
from typing import Annotated

import orjson
from fastapi import APIRouter, Request, Response
from sqlalchemy import Connection

from app.answers.base import answer
from app.answers.catalog import Cases, SeriesList, Sources
from app.cache import HEAVY, Cached, cached_response
from app.db import catalog
from app.db.cases import case_list
from app.deps import FiltersDep
from app.formats import GEOJSON, TableFormat, feature_collection, json_body, output_format, table
from app.params import check_known_parameters

router = APIRouter(tags=["catalogue"])

SOURCE_COLUMNS = ("slug", "name", "kind", "affiliation", "url", "terms", "attribution", "series", "first_observed",
                  "last_observed")
SERIES_COLUMNS = ("id", "title", "short_title", "source", "source_name", "side", "status", "layer",
                  "first_observed", "last_observed", "observations", "median_gap_days", "preferred", "same_ground_as",
                  "notes")


@router.get("/sources", dependencies=[HEAVY], responses=answer(Sources),
            summary="Who publishes the claims: sources, their terms and attribution")
def sources(request: Request, fmt: TableFormat) -> Response:
    """Every source with its kind, terms or licence, the attribution to show, its series and observed days."""
    check_known_parameters(request, {"f"})

    def build(conn: Connection) -> Cached:
        rows = catalog.source_rows(conn)
        return table(rows, SOURCE_COLUMNS, fmt) if fmt == "csv" else json_body({"sources": rows})

    return cached_response(request, build)


@router.get("/series", dependencies=[HEAVY], responses=answer(SeriesList),
            summary="The claim series: titles, rhythm, and which is preferred")
def series(request: Request, filters: FiltersDep, fmt: TableFormat) -> Response:
    """Every claim series (source, side, status, layer) with its `id` (for `series=`), a title, its first and
    last observation, how many, the median gap between them, and whether it is preferred.

    A series that describes the same ground as a preferred one of its source (`same_ground_as`) is left out of
    maps and summed figures unless asked for by id. Illustrative series only with `source=example`.
    """
    check_known_parameters(request, {"f", "side", "source", "status", "series"})

    def build(conn: Connection) -> Cached:
        rows = catalog.series_rows(conn, dataclasses.replace(filters, every_series=True))
        return table(rows, SERIES_COLUMNS, fmt) if fmt == "csv" else json_body({"series": rows})

    return cached_response(request, build)


@router.get("/cases", dependencies=[HEAVY],
            summary="Cases: the ground a question is about (the first is the maps' default)",
            responses={200: {"model": Cases, "content": {GEOJSON: {}}}})
def cases(request: Request, fmt: Annotated[str, output_format("json", "geojson")]) -> Response:
    """Every case: key, title, description, first (and last) day, km² (geodesic), default map view, the
    places always labelled, and whose territory each of its regions is by default. `f=geojson` gives the
    ground itself."""
    check_known_parameters(request, {"f"})

    def build(conn: Connection) -> Cached:
        rows = case_list(conn)
        if fmt == "geojson":
            features = [b'{"type":"Feature","id":' + orjson.dumps(r["key"]) + b',"geometry":' + r["geojson"].encode()
                        + b',"properties":' + orjson.dumps({k: v for k, v in r.items() if k != "geojson"},
                                                           default=str) + b"}" for r in rows]
            return Cached(feature_collection(features, {"numberReturned": len(rows)}), GEOJSON)
        return json_body({"cases": [{k: v for k, v in r.items() if k != "geojson"} for r in rows],
                          "default": rows[0]["key"] if rows else None})

    return cached_response(request, build)
