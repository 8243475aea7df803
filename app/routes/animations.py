"""The timeline as an animation (issue 16): `/maps/timeline.gif` and `/maps/timeline.mp4`.

One frame per day with data (or per `step`), each the snapshot of that day drawn as the PNG export draws it
(app.services.images): the day in its title, the series in its legend, the attribution and the provenance in
its footer. Bounded: past MAX_FRAMES frames or MAX_ANIMATION_PIXELS pixels in all, a 400 that says the limit.
The days drawn are listed in the `Frontline-Days` header (and in the GIF's comment).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Query, Request, Response
from sqlalchemy import Connection

from app.cache import HEAVY, Cached, cached_response
from app.db import asof, maplayers
from app.deps import FiltersDep, OptionalStartEndDep
from app.errors import InvalidParameter, NotFound
from app.params import DayRange, check_known_parameters
from app.routes.maps import MAP_PARAMETERS, CaseDep, base_layers, tolerance_of
from app.routes.views import ViewBox, footer, view_box
from app.services import images, render

router = APIRouter(tags=["maps"])
MAX_FRAMES = 400
MAX_ANIMATION_PIXELS = 160_000_000  # frames × width × height: about half a minute of drawing on one core
FRAME_SIMPLIFY_M = 150  # a frame's outlines: the middle display band (a pixel is ~200 m at the case's zoom)
MEDIA = {"gif": "image/gif", "mp4": "video/mp4"}
PARAMETERS = {"start", "end", "step", "fps", "width", "height", "dpi", "bbox"} | MAP_PARAMETERS


@dataclass(frozen=True)
class Frames:
    """How the animation is asked for: frame steps, speed and size."""

    step: str | None
    fps: float
    width: int
    height: int
    dpi: int
    bbox: tuple[float, float, float, float] | None = None


def frames_asked(
    step: Annotated[str | None, Query(description=(
        "day, week or month: a frame every step from `start` (default: a frame per day with data)."),
        json_schema_extra={"enum": ["day", "week", "month"]})] = None,
    fps: Annotated[float, Query(gt=0, le=30, description="Frames per second.")] = 2.0,
    width: Annotated[int, Query(ge=200, le=3000, description="Frame width, pixels.")] = 960,
    height: Annotated[int, Query(ge=200, le=3000, description="Frame height, pixels.")] = 600,
    dpi: Annotated[int, Query(ge=50, le=300, description="Size of text and lines.")] = 100,
    bbox: ViewBox = None,
) -> Frames:
    """The animation's parameters; an unknown step is a 400."""
    if step is not None and step not in asof.STEPS:
        raise InvalidParameter(f"step: '{step}' is not one of {', '.join(asof.STEPS)}", parameter="step")
    return Frames(step, fps, width, height, dpi, view_box(bbox))


FramesDep = Annotated[Frames, Depends(frames_asked)]
RESPONSES: dict[int | str, dict[str, Any]] = {200: {"headers": {
    "Frontline-Days": {"description": "The day of each frame, comma-separated.", "schema": {"type": "string"}}}}}


@router.get("/maps/timeline.gif", dependencies=[HEAVY], response_class=Response, name="timeline-gif",
            summary="The timeline as an animated GIF",
            responses={200: {**RESPONSES[200], "content": {MEDIA["gif"]: {}}}})
def timeline_gif(request: Request, filters: FiltersDep, span: OptionalStartEndDep, case: CaseDep,
                 asked: FramesDep) -> Response:
    """One frame per day with data (or per `step`): that day's snapshot, with the day in its title, the legend,
    the attribution and the provenance; looping. The days are in the `Frontline-Days` header and the GIF's
    comment. At most MAX_FRAMES (400) frames and 160,000,000 pixels in all."""
    return _animation(request, "gif", filters, span, case, asked)


@router.get("/maps/timeline.mp4", dependencies=[HEAVY], response_class=Response, name="timeline-mp4",
            summary="The timeline as an MP4 video (H.264)",
            responses={200: {**RESPONSES[200], "content": {MEDIA["mp4"]: {}}}})
def timeline_mp4(request: Request, filters: FiltersDep, span: OptionalStartEndDep, case: CaseDep,
                 asked: FramesDep) -> Response:
    """As /maps/timeline.gif, as H.264 video (yuv420p: sizes are rounded down to even numbers)."""
    even = replace(asked, width=asked.width - asked.width % 2, height=asked.height - asked.height % 2)
    return _animation(request, "mp4", filters, span, case, even)


def _animation(request: Request, kind: str, filters: asof.Filters, span: DayRange, case: dict[str, Any] | None,
               asked: Frames) -> Response:
    check_known_parameters(request, PARAMETERS)

    def build(conn: Connection) -> Cached:
        days = _days(conn, span, asked.step, filters)
        _check_bounds(days, asked)
        scenes = (replace(scene, bounds=asked.bbox) for scene in _scenes(request, conn, days, filters, case))
        drawn = render.frames(scenes, asked.width, asked.height, asked.dpi)
        listed = ",".join(d.isoformat() for d in days)
        if kind == "gif":
            body = render.gif(list(drawn), asked.fps, comment=f"Frontline timeline; days: {listed}")
        else:
            with tempfile.TemporaryDirectory() as folder:
                body = render.mp4(list(drawn), asked.fps, str(Path(folder) / "timeline.mp4"))
        return Cached(body, MEDIA[kind], headers=(("Frontline-Days", listed), ("Frontline-Frames", str(len(days)))))

    return cached_response(request, build)


def _days(conn: Connection, span: DayRange, step: str | None, filters: asof.Filters) -> list[date]:
    """The days with data in the span; with a step, every step from the first to the last."""
    observed = maplayers.data_days(conn, span.start, span.end, filters)
    if step is None or not observed:
        return observed
    return asof.step_days(conn, span.start or observed[0], span.end or observed[-1], step)


def _check_bounds(days: list[date], asked: Frames) -> None:
    if not days:
        raise NotFound("no claim series has an observation in this period")
    if len(days) > MAX_FRAMES:
        raise InvalidParameter(f"{len(days)} frames asked; at most {MAX_FRAMES}: narrow start and end, or use a "
                               "larger step", parameter="step")
    if len(days) * asked.width * asked.height > MAX_ANIMATION_PIXELS:
        raise InvalidParameter(f"{len(days)} frames of {asked.width} × {asked.height} pixels; at most "
                               f"{MAX_ANIMATION_PIXELS:,} pixels in all: ask for fewer frames or smaller ones",
                               parameter="width")


def _scenes(request: Request, conn: Connection, days: list[date], filters: asof.Filters,
            case: dict[str, Any] | None) -> Iterator[render.Scene]:
    """Each day's snapshot scene; one footer for all (every source drawn in any frame)."""
    clip = case["key"] if case else None
    base = base_layers(request, conn, None, tolerance_of(request, None), filters, case)
    sides = maplayers.side_styles(conn)
    per_day = [[orjson.loads(f) for f in asof.control_as_of(conn, day, filters, simplify_m=FRAME_SIMPLIFY_M,
                                                           clip=clip)] for day in days]
    credits = footer(request, conn, {f["properties"]["source"] for features in per_day for f in features})
    for day, features in zip(days, per_day, strict=True):
        yield images.snapshot_scene(base, day, features, sides, credits)
