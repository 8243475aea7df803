"""What a map view carries besides its HTML: the image it can be asked as (`f=png`, size, `bbox`), `embed`, and
its pin: the `known_at` of the data it shows, the permalink with it, the image's footer and the page's share and
cite panel (issue 16); and its controls (issue 22): which series are on at first (the case's featured ones), the
front lines offered, the observation days to step through, the area chart's query, and what an empty store says.
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
from app.db import asof, catalog, maplayers, version
from app.db.models import EXAMPLE
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


# -- controls (issue 22) -----------------------------------------------------------------------------------------

def catalogue(conn: Connection, filters: asof.Filters) -> dict[str, dict[str, Any]]:
    """Every series the filters admit (those that yield to another too), by key: titles, source, side, days."""
    return {row["id"]: row for row in catalog.series_rows(conn, replace(filters, every_series=True))}


def shown_series(case: Mapping[str, Any] | None, filters: asof.Filters, present: Iterable[str]) -> frozenset[str]:
    """The series on when the page opens: those `series=` names; else the case's featured ones among those
    ``present``; else (no case, or none of its featured series here) every one present."""
    if filters.series:
        return frozenset(filters.series)
    present = list(present)
    featured = [key for key in (case or {}).get("featured", []) if key in present]
    return frozenset(featured or present)


def front_url(request: Request, case: Mapping[str, Any] | None, series: str, day: str) -> str:
    """The /frontline GeoJSON of a series on a day (the timeline's: "__DAY__"), cut to the case."""
    query = {"date": day, "series": series, **({"case": case["key"]} if case else {})}
    return f"{request.url_for('frontline').path}?{urlencode(query)}"


def offered_fronts(request: Request, case: Mapping[str, Any] | None, sided: Iterable[str], shown: Iterable[str],
                   asked: set[str], days: Iterable[tuple[str, str, bool]]) -> dict[str, list[dict[str, Any]]]:
    """The front-line sub-toggles per series: for the ``sided`` series that are shown at first (the case's
    featured ones) and those asked with `front=`; one per (day, label, dashed) of ``days``."""
    on = set(shown)
    return {key: [{"label": label, "url": front_url(request, case, key, day), "shown": key in asked,
                   "dashed": dashed} for day, label, dashed in days]
            for key in sided if key in on or key in asked}


def navigation(conn: Connection, filters: asof.Filters, keys: Iterable[str],
               inputs: Iterable[tuple[str, str, str]]) -> dict[str, Any]:
    """The day inputs of the bar (parameter, label, value) and the observation days of the ``keys`` series (any
    series when none) that previous / next step through."""
    keys = sorted(keys)
    days = [d.isoformat() for d in maplayers.data_days(conn, None, None, replace(filters, series=keys or None))]
    return {"inputs": [{"param": p, "label": label, "value": value} for p, label, value in inputs],
            "days": days, "first": days[0] if days else "", "last": days[-1] if days else ""}


def area_chart(request: Request, case: Mapping[str, Any] | None, filters: asof.Filters,
               rows: Mapping[str, Mapping[str, Any]], keys: Iterable[str], param: str,
               sides: Mapping[str, maplayers.SideStyle]) -> dict[str, Any] | None:
    """The chart under the map: the /stats/area/series query of the ``keys`` series over their observed days
    (cut to the case), each line in its side's colour; a click sets the page's ``param`` to the day."""
    chosen = [rows[key] for key in sorted(keys) if key in rows and rows[key]["first_observed"]]
    if not chosen:
        return None
    start = min(r["first_observed"] for r in chosen)
    end = max(r["last_observed"] for r in chosen)
    step = "day" if (end - start).days <= 1500 else "week"
    query = {"series": ",".join(r["id"] for r in chosen), "start": start.isoformat(), "end": end.isoformat(),
             "step": step, **({"case": case["key"]} if case else {}),
             **({"known_at": filters.known_at.isoformat()} if filters.known_at else {})}
    colours: dict[str, int] = {}
    lines = []
    for r in chosen:
        colour = maps.colour_of(sides.get(r["side"] or ""), r["status"])
        colours[colour] = colours.get(colour, -1) + 1  # a second line of one colour is dashed
        lines.append({"key": r["id"], "title": r["short_title"], "full": r["title"], "colour": colour,
                      "dash": [[], [6, 4], [2, 3], [8, 3, 2, 3]][colours[colour] % 4]})
    return {"url": f"{request.url_for('area_series').path}?{urlencode(query)}", "series": lines, "param": param}


def empty_store(request: Request, conn: Connection, filters: asof.Filters, drawn: bool) -> dict[str, str] | None:
    """When the page draws no claim and the store holds none but the examples: where the examples are."""
    if drawn or (filters.source and EXAMPLE in filters.source) or maplayers.data_days(conn, None, None,
                                                                                       asof.Filters()):
        return None
    return {"examples_url": str(request.url.include_query_params(source=EXAMPLE))}


def controls(request: Request, share: maps.Share, rows: Mapping[str, Mapping[str, Any]], shown: frozenset[str],
             fronts: Mapping[str, list[dict[str, Any]]], nav: Mapping[str, Any] | None,
             chart: Mapping[str, Any] | None, empty: Mapping[str, str] | None) -> maps.Controls:
    """A page's controls, with the place search of this app."""
    return maps.Controls(rows, shown, fronts, nav, chart, request.url_for("place-search").path, empty, share)
