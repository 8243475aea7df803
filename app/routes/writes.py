"""Writes for editors (OGC API – Features Part 4 style): add, correct (If-Match), retract; and the audit log.

Every route needs a write token (the audit one an admin token). A correction or retraction must name the
version it changes with If-Match (the ETag of a GET of the item): 428 without it, 412 when it is stale.
"""

# No `from __future__ import annotations` here: the routes are made per resource, and FastAPI must see each
# body model as a real type, not as a string naming a local variable.

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Header, Query, Request, Response
from geojson_pydantic.geometries import Geometry
from pydantic import BaseModel, ConfigDict, create_model
from sqlalchemy import Connection

from app.answers.base import answer
from app.answers.catalog import AuditPage
from app.auth import AdminDep, WriterDep
from app.cache import wrote
from app.db import asof, features, history, tokens
from app.db.version import data_version
from app.errors import NotFound
from app.formats import GEOJSON, JSON
from app.params import DEFAULT_LIMIT, INSTANT, Limit, Offset, parse_instant
from app.schemas import WRITABLE, ReportedFigureIn, SeriesPatch, Writable
from app.services import writes

router = APIRouter(tags=["editing"])
IfMatch = Annotated[str | None, Header(alias="If-Match", description="The ETag of the version you change.")]


@contextmanager
def _transaction(request: Request) -> Iterator[Connection]:
    """One transaction for the whole write: all of it lands, or none of it; then this process serves it."""
    with request.app.state.begin() as conn:
        yield conn
        version = data_version(conn)
    wrote(request.app, version)


def _key(conn: Connection, writable: Writable, feature_id: str) -> str:
    key = history.key_of(conn, writable.table, feature_id)
    if key is None:
        raise NotFound(f"no feature '{feature_id}' in '{writable.name}'")
    return key


def _feature_model(writable: Writable) -> type[BaseModel]:
    """The request body: a GeoJSON Feature whose properties are the resource's model."""
    geometry: Any = Geometry | None
    feature_type: Any = Literal["Feature"]
    return create_model(  # type: ignore[call-overload, no-any-return]
        f"{writable.model.__name__.removesuffix('In')}Feature",
        __config__=ConfigDict(extra="forbid"),
        type=(feature_type, ...),
        id=(int | str | None, None),
        geometry=(geometry, None),
        properties=(writable.model, ...),
    )


def _geojson(feature: Any) -> dict[str, Any] | None:
    return None if feature.geometry is None else feature.geometry.model_dump(exclude_none=True)


def _written(request: Request, writable: Writable, written: writes.Written, status: int) -> Response:
    """The stored feature (or figure), with its version tag and where it lives."""
    coll = features.COLLECTIONS.get(writable.name)
    row_id = written.row_ids[-1]
    headers = {"ETag": written.tag}
    if written.repaired:
        headers["Frontline-Repaired"] = written.repaired[:200]
    with request.app.state.connect() as conn:
        if coll is None:
            body = orjson.dumps(asof.figure_by_key(conn, written.key))
            headers["Location"] = str(request.url_for("reported_figure", key=written.key))
            return Response(body, status, headers, media_type=JSON)
        found = features.get_item(conn, coll, str(row_id))
    headers["Location"] = str(request.url_for("item", collection_id=writable.name, feature_id=str(row_id)))
    return Response((found.feature if found else "null").encode(), status, headers, media_type=GEOJSON)


def _add_feature_routes(writable: Writable) -> None:
    Feature = _feature_model(writable)
    items = f"/collections/{writable.name}/items"

    def create_item(request: Request, caller: WriterDep, feature: Feature) -> Response:  # type: ignore[valid-type]
        with _transaction(request) as conn:
            written = writes.create(conn, caller, writable, feature.properties, _geojson(feature),  # type: ignore[attr-defined]
                                    request.app.state.settings.max_vertices)
        return _written(request, writable, written, 201)

    def correct_item(request: Request, caller: WriterDep, feature_id: str, feature: Feature,  # type: ignore[valid-type]
                     if_match: IfMatch = None) -> Response:
        with _transaction(request) as conn:
            key = _key(conn, writable, feature_id)
            written = writes.correct(conn, caller, writable, key, if_match, feature.properties,  # type: ignore[attr-defined]
                                     _geojson(feature), request.app.state.settings.max_vertices)
        return _written(request, writable, written, 200)

    _add_common(writable, items + "/{feature_id:path}", create_item, items, correct_item)


def _add_common(writable: Writable, one: str, create: Callable[..., Response], many: str,
                correct: Callable[..., Response]) -> None:
    def retract_item(request: Request, caller: WriterDep, feature_id: str, if_match: IfMatch = None,
                     reason: Annotated[str | None, Query(max_length=2000, description="Why (audited).")] = None
                     ) -> Response:
        with _transaction(request) as conn:
            writes.retract(conn, caller, writable, _key(conn, writable, feature_id), if_match, reason)
        return Response(status_code=204)

    title = writable.name.replace("-", " ")
    router.add_api_route(many, create, methods=["POST"], status_code=201, response_class=Response,
                         summary=f"Add to {title}", name=f"create-{writable.name}",
                         responses={201: {"description": "Created; Location and ETag name the new version."}})
    router.add_api_route(one, correct, methods=["PUT"], response_class=Response, summary=f"Correct one of {title}",
                         name=f"correct-{writable.name}",
                         description="Adds a version and closes the current one. Needs If-Match (428, 412).")
    router.add_api_route(one, retract_item, methods=["DELETE"], status_code=204, response_class=Response,
                         summary=f"Retract one of {title}", name=f"retract-{writable.name}",
                         description="Closes the current version; nothing is deleted. Needs If-Match.")


for _writable in WRITABLE.values():
    if _writable.model.geometry != "none":  # features; reported figures (no geometry) follow
        _add_feature_routes(_writable)


# -- reported figures (no geometry) -----------------------------------------------------------------------

_FIGURES = WRITABLE["reported-figures"]


def create_figure(request: Request, caller: WriterDep, figure: ReportedFigureIn) -> Response:
    """Add a reported figure."""
    with _transaction(request) as conn:
        written = writes.create(conn, caller, _FIGURES, figure, None, 0)
    return _written(request, _FIGURES, written, 201)


def correct_figure(request: Request, caller: WriterDep, feature_id: str, figure: ReportedFigureIn,
                   if_match: IfMatch = None) -> Response:
    """Correct a reported figure."""
    with _transaction(request) as conn:
        written = writes.correct(conn, caller, _FIGURES, _key(conn, _FIGURES, feature_id), if_match, figure,
                                 None, 0)
    return _written(request, _FIGURES, written, 200)


_add_common(_FIGURES, "/reported-figures/{feature_id:path}", create_figure, "/reported-figures", correct_figure)


# -- claim series ------------------------------------------------------------------------------------------

@router.patch("/series/{key:path}", status_code=204, response_class=Response, summary="Describe a claim series")
def describe_series(request: Request, caller: WriterDep, key: str, patch: SeriesPatch) -> Response:
    """Set a series' title (what maps, tables and CSV show), short title (a map's layer list), notes, or the
    preferred series over the same ground it yields to (`same_ground_as`, empty to clear). Audited under the token
    name."""
    with _transaction(request) as conn:
        writes.describe_series(conn, caller, key, patch)
    return Response(status_code=204)


# -- audit ------------------------------------------------------------------------------------------------

@router.get("/admin/audit", summary="Who wrote what, and when (admin token)", responses=answer(AuditPage, csv=False))
def audit(request: Request, caller: AdminDep, limit: Limit = DEFAULT_LIMIT, offset: Offset = 0,
          token: Annotated[str | None, Query(description="Only this token name's writes.")] = None,
          since: Annotated[str | None, Query(description="Only writes at or after this RFC 3339 time.",
                                             json_schema_extra=INSTANT)] = None,
          ) -> Response:
    """Audit entries, newest first, paged."""
    start: datetime | None = parse_instant(since, "since") if since else None
    with request.app.state.connect() as conn:
        rows, matched = tokens.audit_page(conn, token_name=token, since=start, limit=limit, offset=offset)
    body = {"entries": rows, "numberMatched": matched, "numberReturned": len(rows)}
    return Response(orjson.dumps(body), media_type=JSON)
