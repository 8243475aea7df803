"""Reported figures: dated numeric claims without geometry ("UA holds 1,263 km² in Kursk oblast"), one by key.

They are also listed beside the measurements in /stats/area/series; editors write them through
``app.routes.writes`` (/reported-figures).
"""

from __future__ import annotations

import orjson
from fastapi import APIRouter, Request, Response

from app.answers.base import answer
from app.answers.catalog import ReportedFigure
from app.db import asof, history
from app.db.models import figures
from app.errors import NotFound
from app.formats import JSON

router = APIRouter(tags=["research"])


@router.get("/reported-figures/{key:path}", name="reported_figure", summary="One reported figure",
            responses=answer(ReportedFigure, csv=False))
def reported_figure(request: Request, key: str) -> Response:
    """A reported figure's current version, with its version tag (for If-Match)."""
    with request.app.state.connect() as conn:
        found = asof.figure_by_key(conn, key)
        ids = history.current_rows(conn, figures, key)
    if found is None:
        raise NotFound(f"no current reported figure '{key}'")
    return Response(orjson.dumps(found), media_type=JSON, headers={"ETag": history.version_tag(ids)})
