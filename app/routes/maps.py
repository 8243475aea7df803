"""Analyst maps in the browser: snapshot, timeline, comparison, and the landing page that links them.

Each page is HTML rendered by ``app.services.maps`` from the same queries the API answers with, cached and
tagged like every other response. Everything the page shows is in its URL (date, days, filters; the view in
the hash), so a link is a permalink.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

import orjson
import xstatic.pkg.jquery
import xstatic.pkg.leaflet
from fastapi import APIRouter, Depends, FastAPI, Query, Request, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy import Connection

from app.cache import HEAVY, Cached, cached_response
from app.db import asof, catalog, disagree, frontline, maplayers, reference, towns
from app.db.cases import case_list
from app.db.models import EXAMPLE
from app.db.observed import DISPLAY_BANDS
from app.deps import FILTER_PARAMETERS, ConnDep, FiltersDep, FromToDep, OptionalStartEndDep
from app.errors import InvalidParameter, NotFound
from app.formats import HTML
from app.params import DAY, INSTANT, check_known_parameters, parse_day, parse_instant, parse_list
from app.routes import views
from app.routes.views import IMAGE_PARAMETERS, PAGE_RESPONSES, EmbedDep, ImageDep, footer, png_of, share_of, titled
from app.services import cite, images, map_pages, maps, settlements
from app.settings import Settings

router = APIRouter(tags=["maps"])
STATIC = Path(__file__).resolve().parent.parent / "static"
templates = Jinja2Templates(directory=Path(__file__).resolve().parent.parent / "templates")
Simplify = Annotated[float | None, Query(ge=0, le=5000, description=(
    "Display simplification of outlines in metres (default: the FRONTLINE_MAP_SIMPLIFY_M setting); "
    "areas are always measured on the full geometry."))]
MAP_PARAMETERS = FILTER_PARAMETERS | {"simplify", "case"}
VECTORGRID = "vendor/leaflet.vectorgrid-1.3.0/Leaflet.VectorGrid.bundled.min.js"
UPLOT = "vendor/uplot-1.6.32/uPlot"
NO_CASE = "none"


def map_case(conn: ConnDep, case: Annotated[str | None, Query(description=(
        "The case whose ground the map shows and its figures are cut to (see /cases); default: the first "
        "case; `none`: the whole of every claim, uncut."))] = None) -> dict[str, Any] | None:
    """The case the page is about (the first by default), or None for `case=none`; 400 naming the cases."""
    found = {c["key"]: c for c in case_list(conn)}
    if case == NO_CASE:
        return None
    if case is None:
        return next(iter(found.values()), None)
    if case not in found:
        raise InvalidParameter(f"case: no case '{case}'; cases are {', '.join([*found, NO_CASE])}",
                               parameter="case")
    return found[case]


CaseDep = Annotated[dict[str, Any] | None, Depends(map_case)]


def mount_assets(app: FastAPI) -> None:
    """Serve Leaflet and jQuery from their installed XStatic packages, and our own map assets: no CDN."""
    app.mount("/static/leaflet", StaticFiles(directory=xstatic.pkg.leaflet.BASE_DIR), name="leaflet")
    app.mount("/static/jquery", StaticFiles(directory=xstatic.pkg.jquery.BASE_DIR), name="jquery")
    app.mount("/static/frontline", StaticFiles(directory=STATIC), name="frontline-static")


def _assets(request: Request) -> maps.Assets:
    def url(mount: str, path: str) -> str:
        return request.url_for(mount, path=path).path

    ours = {name: url("frontline-static", name)
            for name in ("maps.js", "chart.js", "panel.js", "timeline.js", "maps.css")}
    return maps.Assets(leaflet_js=url("leaflet", "leaflet.js"), leaflet_css=url("leaflet", "leaflet.css"),
                       jquery_js=url("jquery", "jquery.min.js"), maps_js=ours["maps.js"], chart_js=ours["chart.js"],
                       panel_js=ours["panel.js"],
                       timeline_js=ours["timeline.js"], maps_css=ours["maps.css"],
                       uplot_js=url("frontline-static", f"{UPLOT}.iife.min.js"),
                       uplot_css=url("frontline-static", f"{UPLOT}.min.css"),
                       vectorgrid_js=url("frontline-static", VECTORGRID))


def tolerance_of(request: Request, simplify: float | None) -> float:
    """The display simplification asked (metres), or the setting's, in degrees."""
    settings: Settings = request.app.state.settings
    return maplayers.degrees(settings.map_simplify_m if simplify is None else simplify)


def base_layers(request: Request, conn: Connection, day: date | None, tolerance: float, filters: asof.Filters,
                case: dict[str, Any] | None) -> maps.BaseMap:
    """Regions, lines and the case's places (with who holds each on ``day``, when given), and the case."""
    settings: Settings = request.app.state.settings
    places = maplayers.place_points(conn, case["key"] if case else None)
    key_places = set(case["key_places"]) if case else set()
    ids = [p["id"] for p in places]
    seen = towns.observations(conn, ids, filters, until=day) if day else {}
    defaults = towns.default_holders(conn, ids, case["key"] if case else None) if day else {}
    kinds = {"city": 3, "town": 2, "village": 1}
    for place in places:
        holders = settlements.control_on(seen[place["id"]], day, defaults.get(place["id"])) if day else []
        place["popup"] = maps.place_popup(place, holders, day)
        place["major"] = place["key"] in key_places
        # Labels that collide give way by this rank: the case's key places, then population, then kind.
        place["rank"] = (1e12 if place["major"] else 0) + (place["population"] or 0) * 10 + kinds.get(
            place["kind"] or "", 0)
    return maps.BaseMap(maplayers.region_features(conn, tolerance), maplayers.line_features(conn, day, tolerance),
                        places, settings.tile_url, settings.tile_attribution, case)


def _latest_day(conn: Connection, filters: asof.Filters) -> date:
    days = maplayers.data_days(conn, None, date.today(), filters)
    return days[-1] if days else date.today()


@router.get("/maps/snapshot", dependencies=[HEAVY],
            summary="Map: control areas on a day", response_class=Response, responses=PAGE_RESPONSES)
def snapshot(
    request: Request, filters: FiltersDep, case: CaseDep, image: ImageDep, simplify: Simplify = None,
    date_: Annotated[str | None, Query(alias="date", description="The day, YYYY-MM-DD (default: latest data).",
                                       json_schema_extra=DAY)] = None,
    tiles: Annotated[bool, Query(description=(
        "Draw the areas from the vector tiles of control-areas (each series' polygons of its observation day, "
        "uncut) instead of embedding them in the page."))] = False,
    front: Annotated[str | None, Query(description=(
        "Series id(s), comma-separated, whose front line (/frontline) is shown when the page opens; every "
        "series with a side has one in the layer control."), examples=["deepstatemap/UA/assessed/kursk-salient"])]
    = None,
    embed: EmbedDep = False,
) -> Response:
    """Control areas by side and status, one layer per claim series, cut to the case's ground; settlements with
    who holds them; km² per series inside the case; stale observations drawn as outlines; the front line of each
    series with a side as a layer to switch on (`front` switches it on when the page opens). `f=png`: the map as
    an image (title, legend, scale bar, north arrow, attribution, provenance)."""
    check_known_parameters(request, {"date", "tiles", "front", "embed"} | MAP_PARAMETERS | IMAGE_PARAMETERS)
    wanted = parse_day(date_, "date") if date_ else None
    asked = set(parse_list(front) or [])
    clip = case["key"] if case else None

    def build(conn: Connection) -> Cached:
        day = wanted or _latest_day(conn, filters)
        tolerance = tolerance_of(request, simplify)
        metres = request.app.state.settings.map_simplify_m if simplify is None else simplify
        if tiles:  # the page needs each series' properties, not its outline: the coarsest band
            metres = max(DISPLAY_BANDS)
        features = [orjson.loads(f) for f in asof.control_as_of(conn, day, filters, simplify_m=metres, clip=clip)]
        unknown = asked - reference.series_keys(conn)
        if unknown:
            raise InvalidParameter(f"front: no series {', '.join(sorted(unknown))} (see /series)", parameter="front")
        if image.f == "png":  # the page as it opens: the series it shows at first
            on = views.shown_series(case, filters, [f["properties"]["series"] for f in features])
            drawn = [f for f in features if f["properties"]["series"] in on]
            lines = [found for key in sorted(asked)
                     if (found := frontline.front_line(conn, day, key, clip, filters.known_at,
                                                       request.app.state.settings.border_drawing_m)) is not None]
            scene = images.snapshot_scene(base_layers(request, conn, None, tolerance, filters, case), day, drawn,
                                          maplayers.side_styles(conn),
                                          footer(request, conn, {f["properties"]["source"] for f in drawn}), lines)
            return png_of(scene, image)
        area_rows = asof.area_series(conn, day, day, "day", filters, clip)
        template = str(request.url_for("tileset", collection_id="control-areas")) + "/{z}/{y}/{x}"

        def tile_url(p: Mapping[str, Any]) -> str:
            return f"{template}?" + urlencode({"series": p["series"], "datetime": p["observed_on"],
                                               **({"source": p["source"]} if p.get("illustrative") else {})})

        drawn = [f["properties"] for f in features]
        seen = {p["series"]: cite.Shown(p["series"], p["series_title"], p["observed_on"]) for p in drawn}
        share = share_of(request, conn, titled(case, f"control on {day.isoformat()}"), seen.values(),
                         {p["source"] for p in drawn}, embed)
        rows, sides = views.catalogue(conn, filters), maplayers.side_styles(conn)
        on = views.shown_series(case, filters, [*seen, *(r["series"] for r in area_rows)])
        fronts = views.offered_fronts(request, case, [k for k in seen if rows.get(k, {}).get("side")], on, asked,
                                      [(day.isoformat(), "front line", False)])
        controls = views.controls(request, share, rows, on, fronts,
                                  views.navigation(conn, filters, on, [("date", "Day", day.isoformat())]),
                                  views.area_chart(request, case, filters, rows, on, "date", sides),
                                  views.empty_store(request, conn, filters, bool(features)))
        page = map_pages.snapshot_page(_assets(request), base_layers(request, conn, day, tolerance, filters, case),
                                       day, features, area_rows, sides, controls, tile_url if tiles else None)
        return Cached(page.encode(), HTML)

    return cached_response(request, build)


@router.get("/maps/timeline", dependencies=[HEAVY],
            summary="Map: a time slider over the days with data", response_class=Response,
            responses={200: {"content": {"text/html": {}}}})
def timeline(
    request: Request, filters: FiltersDep, span: OptionalStartEndDep, case: CaseDep, simplify: Simplify = None,
    day: Annotated[str | None, Query(description="The day shown first (default: the last).")] = None,
    interval_ms: Annotated[int, Query(ge=100, le=10_000, description="Animation step, milliseconds.")] = 1200,
    tiles: Annotated[bool, Query(description=(
        "Draw each day's areas from the vector tiles of control-areas (uncut) instead of /control's GeoJSON."))]
    = False,
    embed: EmbedDep = False,
) -> Response:
    """The claims of each day with data, fetched from /control as the slider or the animation moves."""
    check_known_parameters(request, {"start", "end", "day", "interval_ms", "tiles", "embed"} | MAP_PARAMETERS)
    shown = parse_day(day, "day") if day else None

    def build(conn: Connection) -> Cached:
        days = maplayers.data_days(conn, span.start, span.end, filters)
        meters = request.app.state.settings.map_simplify_m if simplify is None else simplify
        if tiles:  # /control then gives each series' properties; its outline (the coarsest band) is not drawn
            meters = max(DISPLAY_BANDS)
        config = {"controlUrl": request.url_for("control-as-of").path, "areaUrl": request.url_for("area").path,
                  "tileTemplate": request.url_for("tileset", collection_id="control-areas").path + "/{z}/{y}/{x}"
                  if tiles else None,
                  "placeUrl": request.url_for("place-control", place_id="__KEY__").path,
                  "simplify": meters, "intervalMs": interval_ms,
                  "filters": {**_filter_params(request), **({"case": case["key"]} if case else {})}}
        tolerance = tolerance_of(request, simplify)
        span_title = f"timeline {days[0].isoformat()} to {days[-1].isoformat()}" if days else "timeline"
        share = share_of(request, conn, titled(case, span_title), [], [], embed)
        rows, sides = views.catalogue(conn, filters), maplayers.side_styles(conn)
        present = [key for key, r in rows.items() if (r["preferred"] or filters.series)
                   and days and r["first_observed"] and r["first_observed"] <= days[-1]]
        on = views.shown_series(case, filters, present)
        fronts = views.offered_fronts(request, case, [k for k in present if rows[k]["side"]], on, set(),
                                      [("__DAY__", "front line", False)])
        controls = views.controls(request, share, rows, on, fronts, None,
                                  views.area_chart(request, case, filters, rows, on, "day", sides),
                                  views.empty_store(request, conn, filters, bool(days)))
        page = map_pages.timeline_page(_assets(request), base_layers(request, conn, None, tolerance, filters, case),
                                       days, shown, config, sides, controls)
        return Cached(page.encode(), HTML)

    return cached_response(request, build)


def _filter_params(request: Request) -> dict[str, str]:
    return {k: v for k, v in request.query_params.items() if k in FILTER_PARAMETERS}


@router.get("/maps/compare", dependencies=[HEAVY],
            summary="Map: areas gained and lost between two days", response_class=Response, responses=PAGE_RESPONSES)
def compare(request: Request, filters: FiltersDep, span: FromToDep, case: CaseDep, image: ImageDep,
            simplify: Simplify = None, embed: EmbedDep = False) -> Response:
    """Per claim series: what was gained and lost, drawn and totalled in km² (before + gained − lost = after);
    the settlements that changed hands between the two days (as /stats/settlements), with the day of each.
    `f=png`: the map as an image."""
    check_known_parameters(request, {"from", "to", "embed"} | MAP_PARAMETERS | IMAGE_PARAMETERS)
    before, after = span.first, span.last

    def build(conn: Connection) -> Cached:
        tolerance = tolerance_of(request, simplify)
        rows = asof.changes(conn, before, after, filters, case["key"] if case else None, simplify=tolerance)
        catalogue, sides = views.catalogue(conn, filters), maplayers.side_styles(conn)
        if image.f == "png":  # the page as it opens: the series it shows at first, by their short titles
            base = base_layers(request, conn, None, tolerance, filters, case)
            on = views.shown_series(case, filters, [r["series"] for r in rows])
            short = [{**r, "title": catalogue[r["series"]]["short_title"] if r["series"] in catalogue else r["title"]}
                     for r in rows if r["series"] in on]
            scene = images.compare_scene(base, before, after, short, sides,
                                         footer(request, conn, {r["source"] for r in short}))
            return png_of(scene, image)
        changed, _ = settlements.changed_hands(conn, case["key"] if case else None, filters, before, after)
        seen = [cite.Shown(r["series"], r["title"], " and ".join(str(d) for d in (r["before_observed_on"],
                                                                                   r["after_observed_on"]) if d))
                for r in rows]
        share = share_of(request, conn, titled(case, f"changes {before.isoformat()} to {after.isoformat()}"), seen,
                         {r["source"] for r in rows}, embed)
        on = views.shown_series(case, filters, [r["series"] for r in rows])
        fronts = views.offered_fronts(request, case, [r["series"] for r in rows if r["side"]], on, set(),
                                      [(str(before), f"front on {before}", True),
                                       (str(after), f"front on {after}", False)])
        nav = views.navigation(conn, filters, on, [("from", "From", before.isoformat()),
                                                   ("to", "to", after.isoformat())])
        controls = views.controls(request, share, catalogue, on, fronts, nav,
                                  views.area_chart(request, case, filters, catalogue, on, "to", sides),
                                  views.empty_store(request, conn, filters, bool(rows)))
        page = map_pages.compare_page(_assets(request), base_layers(request, conn, after, tolerance, filters, case),
                                      before, after, rows, sides, controls, changed)
        return Cached(page.encode(), HTML)

    return cached_response(request, build)


@router.get("/maps/disagreement", dependencies=[HEAVY], name="disagreement-map",
            summary="Map: where two claim series agree and disagree on a day", response_class=Response,
            responses=PAGE_RESPONSES)
def disagreement(
    request: Request, case: CaseDep, image: ImageDep,
    date_: Annotated[str, Query(alias="date", description="The day, YYYY-MM-DD.", json_schema_extra=DAY)],
    a: Annotated[str, Query(description="A claim series id (see /series).",
                            examples=["deepstatemap/UA/assessed/kursk-salient"])],
    b: Annotated[str, Query(description="Another claim series id.", examples=["isw/RU/assessed/kursk-ru-advances"])],
    simplify: Simplify = None,
    known_at: Annotated[str | None, Query(description=(
        "Transaction time (RFC 3339): the two series as recorded then."), json_schema_extra=INSTANT)] = None,
    embed: EmbedDep = False,
) -> Response:
    """The ground series `a` and `b` agree on, oppose, leave undetermined or draw alone (as /stats/disagreement),
    cut to the case's ground, with the km² and the observation days in the title. `f=png`: the map as an
    image."""
    check_known_parameters(request, {"date", "a", "b", "case", "simplify", "known_at", "embed"} | IMAGE_PARAMETERS)
    at = parse_instant(known_at, "known_at") if known_at else None
    if a == b:
        raise InvalidParameter("b: compare two different series", parameter="b")
    day = parse_day(date_, "date")

    def build(conn: Connection) -> Cached:
        known = reference.series_keys(conn)
        for name, key in (("a", a), ("b", b)):
            if key not in known:
                raise InvalidParameter(f"{name}: no series '{key}' (see /series)", parameter=name)
        tolerance = tolerance_of(request, simplify)
        found = disagree.disagreement(conn, day, a, b, case["key"] if case else None, at, simplify=tolerance)
        if found is None:
            raise NotFound(f"a series has no observation on or before {day}: compare from a later day")
        figures = {f"{kind}_km2": round(value, 3) for kind, value in found["km2"].items()}
        every = asof.Filters(series=[a, b], known_at=at)
        catalogue, sides = views.catalogue(conn, every), maplayers.side_styles(conn)
        if image.f == "png":  # the legend names each series by its short title
            short = {**found, "series": {role: {**x, "title": catalogue[x["series"]]["short_title"]}
                                         for role, x in found["series"].items()}}
            scene = images.disagreement_scene(base_layers(request, conn, None, tolerance, every, case), day, short,
                                              figures, sides, footer(
                                                  request, conn, {s["source"] for s in found["series"].values()}))
            return png_of(scene, image)
        both = list(found["series"].values())
        share = share_of(request, conn, titled(case, f"{both[0]['title']} against {both[1]['title']} on {day}"),
                         [cite.Shown(x["series"], x["title"], str(x["observed_on"])) for x in both],
                         {x["source"] for x in both}, embed)
        pair = frozenset((a, b))
        fronts = views.offered_fronts(request, case, [x["series"] for x in both if x["side"]], pair, set(),
                                      [(day.isoformat(), "front line", False)])
        controls = views.controls(request, share, catalogue, pair, fronts,
                                  views.navigation(conn, every, pair, [("date", "Day", day.isoformat())]),
                                  views.area_chart(request, case, every, catalogue, pair, "date", sides), None)
        page = map_pages.disagreement_page(_assets(request), base_layers(request, conn, day, tolerance, every, case),
                                           day, found, figures, sides, controls)
        return Cached(page.encode(), HTML)

    return cached_response(request, build)


def landing_html(request: Request, conn: Connection) -> Cached:
    """The analysts' start page: pick a date, open a map; links for GIS tools."""
    days = maplayers.data_days(conn, None, None, asof.Filters())
    examples_only = not days  # then open the maps on the illustrative examples, and say so
    if examples_only:
        days = maplayers.data_days(conn, None, None, asof.Filters(source=[EXAMPLE]))
    context: dict[str, Any] = {
        "first_day": days[0].isoformat() if days else None, "last_day": days[-1].isoformat() if days else None,
        "day_count": len(days), "sources": maplayers.source_list(conn), "cases": case_list(conn),
        "examples_only": examples_only and bool(days), "catalogue": {
            "sources": request.url_for("sources").path, "series": request.url_for("series").path,
            "cases": request.url_for("cases").path},
        "series": catalog.series_rows(conn, replace(asof.Filters(source=[EXAMPLE] if examples_only else None),
                                                    every_series=True)),
        "disagreement_url": request.url_for("disagreement-map").path,
        "snapshot_url": request.url_for("snapshot").path, "timeline_url": request.url_for("timeline").path,
        "compare_url": request.url_for("compare").path, "collections_url": request.url_for("collections").path,
        "api_url": request.url_for("api").path, "docs_url": "/docs", "conformance_url":
        request.url_for("conformance").path, "maps_css": request.url_for("frontline-static", path="maps.css").path,
    }
    return Cached(templates.get_template("landing.html").render(context).encode(), HTML)


@router.get("/app", summary="The analysts' start page (HTML)", response_class=Response,
            responses={200: {"content": {"text/html": {}}}})
def app_page(request: Request) -> Response:
    """Links to the maps, the API documentation and the collections, with date pickers."""
    check_known_parameters(request, set())
    return cached_response(request, lambda conn: landing_html(request, conn))
