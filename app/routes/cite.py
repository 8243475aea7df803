"""`GET /cite`: how to cite any view or figure of this API (issue 16), as the map pages' cite panel does.

Given a path and query of this API, the answer is its permalink with `known_at` pinned to the data as it is now
(when the route takes `known_at`: then the link gives the same answer after any correction), the data version,
the retrieval time, and BibTeX and CSL-JSON entries. It is never cached: the retrieval time is the request's.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated
from urllib.parse import parse_qsl, urlencode, urlsplit

import orjson
from fastapi import APIRouter, Query, Request, Response

from app.answers.base import answer
from app.answers.catalog import CitationAnswer
from app.db import maplayers, version
from app.deps import ConnDep
from app.errors import InvalidParameter
from app.formats import JSON
from app.params import check_known_parameters
from app.services import cite

router = APIRouter(tags=["catalogue"])


@router.get("/cite", summary="How to cite a view or a figure: pinned permalink, BibTeX, CSL-JSON",
            responses=answer(CitationAnswer, csv=False))
def cite_view(
    request: Request, conn: ConnDep,
    url: Annotated[str, Query(description="The path and query of a view or figure of this API.",
                              examples=["/stats/area?date=2024-09-01&case=kursk-incursion"])],
    title: Annotated[str | None, Query(max_length=300, description="The title to cite it by.")] = None,
) -> Response:
    """The view's permalink with `known_at` pinned to the latest write (if its route takes `known_at`; a
    `known_at` already in the URL is kept), the data version, the retrieval time, and BibTeX and CSL-JSON entries
    naming the series it asks for (`series`) and the sources to credit."""
    check_known_parameters(request, {"url", "title"})
    parts = urlsplit(url)
    if parts.scheme or parts.netloc or not parts.path.startswith("/"):
        raise InvalidParameter("url: give a path of this API with its query, e.g. /stats/area?date=2024-09-01",
                               parameter="url")
    query = parse_qsl(parts.query, keep_blank_values=True)
    given = dict(query)
    pinnable = "known_at" in _parameters(request, parts.path)
    pinned = given.get("known_at") or (version.latest_write_text(conn) if pinnable else None)
    if pinnable and "known_at" not in given and pinned:
        query.append(("known_at", pinned))
    link = str(request.base_url).rstrip("/") + parts.path + (f"?{urlencode(query)}" if query else "")
    keys = [k for k in given.get("series", "").split(",") if k]
    sources = {k.split("/")[0] for k in keys} | {s for s in given.get("source", "").split(",") if s}
    citation = cite.Citation(title or f"Frontline: {parts.path}" + (f"?{parts.query}" if parts.query else ""),
                             link, pinned, version.data_version(conn), [cite.Shown(k, k) for k in keys],
                             maplayers.attributions(conn, sources))
    now = datetime.now(UTC)
    body = {"url": url, "permalink": link, "known_at": pinned, "pinned": pinned is not None,
            "data_version": citation.version, "retrieved": now.isoformat().replace("+00:00", "Z"),
            "bibtex": cite.bibtex(citation, now.date()), "csl": cite.csl_json(citation, now.date())}
    return Response(orjson.dumps(body), media_type=JSON, headers={"Cache-Control": "no-store"})


def _parameters(request: Request, path: str) -> set[str]:
    """The query parameters of the GET operation at ``path`` (from the OpenAPI document); a 400 when none."""
    for template, operations in request.app.openapi()["paths"].items():
        pattern = "^" + re.sub(r"\\{[^/]+?\\}", "[^/]+", re.escape(template)) + "$"
        if "get" in operations and re.match(pattern, path):
            return {p["name"] for p in operations["get"].get("parameters", []) if p.get("in") == "query"}
    raise InvalidParameter(f"url: no view or figure of this API at {path} (see /api)", parameter="url")
