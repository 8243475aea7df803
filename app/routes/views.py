"""What a map view carries besides its HTML (issue 16): the image it can be asked as (`f=png`, size, `bbox`),
`embed`, and its pin: the `known_at` of the data it shows, the permalink with it, the image's footer and the
page's share and cite panel.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, Query, Request
from sqlalchemy import Connection

from app.cache import Cached
from app.db import maplayers, version
from app.errors import InvalidParameter
from app.formats import PNG, output_format
from app.params import parse_bbox
from app.services import cite, images, maps, render

MAX_PIXELS = 12_000_000  # an image's width × height


@dataclass(frozen=True)
class ImageAsk:
    """What a map page is asked for: the page itself, or a PNG of it of this size."""

    f: str
    width: int
    height: int
    dpi: int
    bbox: tuple[float, float, float, float] | None = None


ViewBox = Annotated[str | None, Query(description=(
    "minlon,minlat,maxlon,maxlat: the image shows this box whole (widened on one side to its aspect) instead of "
    "the case's view."), examples=["34.9,51.0,35.7,51.45"])]


def view_box(bbox: str | None) -> tuple[float, float, float, float] | None:
    """An image's `bbox`, parsed; a box without area is a 400."""
    if bbox is None:
        return None
    west, south, east, north = parse_bbox(bbox)
    if west == east or south == north:
        raise InvalidParameter(f"bbox: '{bbox}' has no area", parameter="bbox")
    return west, south, east, north


def image_ask(
    f: Annotated[str, output_format("html", "png")],
    width: Annotated[int, Query(ge=200, le=6000, description="PNG width, pixels.")] = 1600,
    height: Annotated[int, Query(ge=200, le=6000, description="PNG height, pixels.")] = 1000,
    dpi: Annotated[int, Query(ge=50, le=600, description=(
        "PNG resolution: the size of text and lines (the pixel size is width × height)."))] = 150,
    bbox: ViewBox = None,
) -> ImageAsk:
    """`f=png`, its size and view; a 400 past MAX_PIXELS."""
    if width * height > MAX_PIXELS:
        raise InvalidParameter(f"width × height: at most {MAX_PIXELS:,} pixels ({width} × {height} asked)",
                               parameter="width")
    return ImageAsk(f, width, height, dpi, view_box(bbox))


ImageDep = Annotated[ImageAsk, Depends(image_ask)]
IMAGE_PARAMETERS = {"f", "width", "height", "dpi", "bbox"}
PAGE_RESPONSES: dict[int | str, dict[str, Any]] = {200: {"content": {"text/html": {}, PNG: {}}}}


EmbedDep = Annotated[bool, Query(description=(
    "For an iframe: no chrome but the title, the legend and the attribution (the share panel gives the snippet)."))]


def pin(request: Request, conn: Connection) -> tuple[str | None, int]:
    """The page's `known_at`, or the latest write's time (the data as it is now); and the data version."""
    pinned = request.query_params.get("known_at") or version.latest_write_text(conn)
    return pinned, version.data_version(conn)


def footer(request: Request, conn: Connection, sources: Iterable[str]) -> images.Footer:
    """The attribution and provenance an image carries: its pin and its permalink with that known_at."""
    pinned, at_version = pin(request, conn)
    return images.Footer(maplayers.attributions(conn, sources), pinned, at_version,
                         permalink(request, pinned, drop=IMAGE_PARAMETERS))


def share_of(request: Request, conn: Connection, title: str, shown: Iterable[cite.Shown], sources: Iterable[str],
             embed: bool) -> maps.Share:
    """The page's share and cite panel: its permalink pinned, what it shows, who to credit, and its downloads
    (the PNG of this view; for the timeline, its GIF and MP4), pinned too."""
    pinned, at_version = pin(request, conn)
    link = permalink(request, pinned, drop={"embed"})
    citation = cite.Citation(title, link, pinned, at_version, list(shown), maplayers.attributions(conn, sources))
    if request.url.path == request.url_for("timeline").path:
        downloads = [(kind.upper(), permalink(request, pinned, drop={"embed", "day", "interval_ms", "tiles"},
                                              path=f"{request.url.path}.{kind}")) for kind in ("gif", "mp4")]
    else:
        downloads = [("PNG, 1600 × 1000", permalink(request, pinned, drop={"embed", "tiles"}, extra={"f": "png"}))]
    return maps.Share(citation, embed, datetime.now(UTC).date(), downloads)


def titled(case: dict[str, Any] | None, what: str) -> str:
    """A view's title in citations: what it shows, and the case its figures are cut to."""
    return f"Frontline map: {what} ({case['title'] if case else 'every claim, uncut'})"


def permalink(request: Request, known_at: str | None, drop: Iterable[str] = (), extra: Mapping[str, str] | None = None,
              path: str | None = None) -> str:
    """This URL (or another ``path``) with `known_at` pinned (kept when given), less the ``drop`` parameters and
    with the ``extra`` ones."""
    query = [(k, v) for k, v in request.query_params.multi_items() if k not in {"known_at", *drop, *(extra or {})}]
    query += [*(extra or {}).items(), *([("known_at", known_at)] if known_at else [])]
    return str(request.url.replace(path=path or request.url.path, query=urlencode(query)))


def png_of(scene: render.Scene, ask: ImageAsk) -> Cached:
    """The scene drawn as asked (its view, when given), as a cacheable PNG body."""
    return Cached(render.png(replace(scene, bounds=ask.bbox), ask.width, ask.height, ask.dpi), PNG)
