"""Research endpoints: control as of a day, area per side and source, series, changes, depth.

Settlements (`/places/{id}/control`, `/history`) are in ``app.routes.places``.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query, Request, Response
from sqlalchemy import Connection

from app.answers.base import answer
from app.answers.research import Advance, Agreement, Area, AreaSeries, Depth, DepthSeries, Disagreement, Settlements
from app.cache import HEAVY, Cached, cached_response
from app.db import agreement as agree
from app.db import asof, depth, disagree, reference
from app.db import frontline as front
from app.deps import FILTER_PARAMETERS, CaseDep, DayDep, FiltersDep, FromToDep, RegionDep, StartEndDep, clip_of
from app.errors import InvalidParameter, NotFound
from app.formats import GEOJSON, TableFormat, feature_collection, json_body, output_format, table
from app.params import AXIS, INSTANT, check_known_parameters, parse_axis, parse_instant
from app.services import settlements

router = APIRouter(tags=["research"], dependencies=[HEAVY])  # every answer here is heavy

MAX_SERIES_STEPS = 5000
DEPTH_COLUMNS = ("series", "title", "source", "side", "status", "layer", "observed_on", "depth_km", "lon", "lat")
AREA_COLUMNS = ("day", "series", "title", "source", "side", "status", "layer", "observed_on", "age_days", "stale",
                "area_km2")


@router.get("/control", summary="Control areas as of a day", response_class=Response, name="control-as-of",
            responses={200: {"content": {GEOJSON: {}}}})
def control(request: Request, day: DayDep, filters: FiltersDep, case: CaseDep,
            _: Annotated[str, output_format("geojson", "json")],
            simplify: Annotated[float | None, Query(ge=0, le=5000, description=(
                "Simplify outlines for display by up to this many metres (topology kept): the outlines are "
                "stored simplified by 40, 150 and 1000 m, and the coarsest of those not coarser than asked is "
                "sent (full detail below 40). `area_km2` is always that of the full geometry."))] = None) -> Response:
    """Each claim series' most recent observation on or before the day, with `observed_on`, `age_days` and
    `stale` (older than twice the series' median gap between observations, and at least 7 days).

    With `case`, each area is cut to the case's ground and `area_km2` is the part inside it.
    """
    check_known_parameters(request, {"date", "f", "simplify", "case"} | FILTER_PARAMETERS)

    def build(conn: Connection) -> Cached:
        found = asof.control_as_of(conn, day, filters, simplify_m=simplify, clip=case)
        envelope = {"date": day.isoformat(), "case": case, "numberReturned": len(found),
                    "links": [{"href": str(request.url), "rel": "self", "type": GEOJSON}]}
        return Cached(feature_collection(found, envelope), GEOJSON)

    return cached_response(request, build)


@router.get("/stats/area", summary="Area held per side and source on a day", name="area", responses=answer(Area))
def area(request: Request, day: DayDep, filters: FiltersDep, region: RegionDep, case: CaseDep,
         fmt: TableFormat) -> Response:
    """Per claim series: its latest observation on or before the day and its geodesic km², clipped to `region`
    or `case` if given, with `stale`."""
    check_known_parameters(request, {"date", "region", "case", "f"} | FILTER_PARAMETERS)
    clip = clip_of(region, case)

    def build(conn: Connection) -> Cached:
        rows = asof.area_series(conn, day, day, "day", filters, clip)
        return table(rows, AREA_COLUMNS, fmt, {"date": day.isoformat(), **_known(filters), "region": region,
                                               "case": case, "unit": "km2"})

    return cached_response(request, build)


@router.get("/stats/area/series", summary="Area per side and source over time, beside reported figures",
            responses=answer(AreaSeries))
def area_series(
    request: Request, filters: FiltersDep, region: RegionDep, case: CaseDep, days: StartEndDep, fmt: TableFormat,
    step: Annotated[str, Query(description="day, week or month.", json_schema_extra={"enum": ["day", "week", "month"]})]
    = "day",
) -> Response:
    """Per step day, the same rows as /stats/area; the reported figures of the period alongside.

    CSV puts both in one table, told apart by the `kind` column (measured / reported).
    """
    check_known_parameters(request, {"start", "end", "step", "region", "case", "f"} | FILTER_PARAMETERS)
    clip = clip_of(region, case)
    first, last = days.first, days.last
    _check_steps(first, last, step)

    def build(conn: Connection) -> Cached:
        rows = asof.area_series(conn, first, last, step, filters, clip)
        reported = asof.reported_figures(conn, first, last, filters, region)
        if fmt == "csv":
            merged = [{"kind": "measured", **r} for r in rows] + [{"kind": "reported", **r} for r in reported]
            merged.sort(key=lambda r: (r["day"], r["kind"]))
            return table(merged, ("kind", *AREA_COLUMNS, "metric", "value", "unit", "measured_km2",
                                  "difference_pct", "published_in", "url"), fmt)
        return table(rows, AREA_COLUMNS, fmt, {"start": first.isoformat(), "end": last.isoformat(), **_known(filters),
                                               "step": step,
                                               "region": region, "case": case, "unit": "km2",
                                               "reported": reported})

    return cached_response(request, build)


@router.get("/stats/changes", summary="Areas gained and lost per side between two days", response_class=Response,
            responses={200: {"content": {GEOJSON: {}}}})
def changes(
    request: Request, filters: FiltersDep, region: RegionDep, case: CaseDep, days: FromToDep,
    fmt: Annotated[str, output_format("geojson", "json", "csv")],
) -> Response:
    """Per claim series: gained and lost areas as features with km², and totals where before + gained − lost
    = after."""
    check_known_parameters(request, {"from", "to", "region", "case", "f"} | FILTER_PARAMETERS)
    clip = clip_of(region, case)
    before, after = days.first, days.last

    def build(conn: Connection) -> Cached:
        rows = asof.changes(conn, before, after, filters, clip)
        totals = [{k: v for k, v in r.items() if not k.endswith("_geojson")} for r in rows]
        if fmt == "csv":
            return table(totals, list(totals[0]) if totals else ["source"], fmt)
        asked = {"from": before, "to": after, **_known(filters), "region": region, "case": case}
        return Cached(_change_collection(rows, totals, asked), GEOJSON)

    return cached_response(request, build)


def _change_collection(rows: list[dict[str, Any]], totals: list[dict[str, Any]], asked: dict[str, Any]) -> bytes:
    parts = []
    for row in rows:
        for change in ("gained", "lost"):
            if row[f"{change}_km2"] > 0:
                properties = {"change": change, "series": row["series"], "title": row["title"],
                              "source": row["source"], "side": row["side"], "status": row["status"],
                              "layer": row["layer"], "area_km2": round(row[f"{change}_km2"], 3),
                              "from_observed_on": row["before_observed_on"],
                              "to_observed_on": row["after_observed_on"]}
                parts.append(b'{"type":"Feature","geometry":' + row[f"{change}_geojson"].encode()
                             + b',"properties":' + orjson.dumps(properties) + b"}")
    envelope = {**asked, "unit": "km2", "totals": totals}
    return feature_collection(parts, envelope)


@router.get("/stats/depth", summary="How far a side's area reaches from a line", name="depth",
            responses=answer(Depth))
def depth_on(
    request: Request, day: DayDep, filters: FiltersDep, region: RegionDep, case: CaseDep,
    fmt: TableFormat,
    line: Annotated[str, Query(description="Key of the line to measure from.")] = "kursk-sumy-border",
) -> Response:
    """Per claim series: the greatest geodesic distance (km) of its area from the line, and that point.

    Give `side` (e.g. UA) and usually `region` (e.g. kursk-oblast) to measure only the ground beyond the line.
    """
    check_known_parameters(request, {"date", "line", "region", "case", "f"} | FILTER_PARAMETERS)
    clip = clip_of(region, case)
    if not filters.side:
        raise InvalidParameter("side: required, e.g. side=UA", parameter="side")

    def build(conn: Connection) -> Cached:
        _check_line(conn, line)
        rows = depth.depth(conn, day, filters, line, clip)
        return table(rows, DEPTH_COLUMNS, fmt,
                     {"date": day.isoformat(), **_known(filters), "line": line, "region": region, "case": case,
                      "unit": "km"})

    return cached_response(request, build)


@router.get("/stats/depth/series", summary="How far a side's area reached from a line, over time",
            responses=answer(DepthSeries))
def depth_series(
    request: Request, filters: FiltersDep, region: RegionDep, case: CaseDep, days: StartEndDep, fmt: TableFormat,
    line: Annotated[str, Query(description="Key of the line to measure from.")] = "kursk-sumy-border",
    step: Annotated[str, Query(description="day, week or month.", json_schema_extra={"enum": ["day", "week", "month"]})]
    = "day",
) -> Response:
    """Per step day from `start` to `end`: the rows of /stats/depth on that day (`side` required), with `day`.
    Each row names the observation it was measured on (`observed_on`)."""
    check_known_parameters(request, {"start", "end", "step", "line", "region", "case", "f"} | FILTER_PARAMETERS)
    clip = clip_of(region, case)
    _check_steps(days.first, days.last, step)
    if not filters.side:
        raise InvalidParameter("side: required, e.g. side=UA", parameter="side")

    def build(conn: Connection) -> Cached:
        _check_line(conn, line)
        rows = depth.depth_series(conn, days.first, days.last, step, filters, line, clip)
        return table(rows, ("day", *DEPTH_COLUMNS), fmt,
                     {"start": days.first.isoformat(), "end": days.last.isoformat(), **_known(filters),
                      "step": step, "line": line,
                      "region": region, "case": case, "unit": "km"})

    return cached_response(request, build)


def _known(filters: asof.Filters) -> dict[str, str | None]:
    """The transaction time an answer was asked at (None: as recorded now), so that it can be reproduced."""
    return {"known_at": filters.known_at.isoformat() if filters.known_at else None}


def _check_line(conn: Connection, line: str) -> None:
    if not depth.line_exists(conn, line):
        raise InvalidParameter(f"line: no line '{line}' (try /collections/lines/items)", parameter="line")


def _check_steps(first: date, last: date, step: str) -> None:
    """A step the series knows, and not more than MAX_SERIES_STEPS of them."""
    if step not in asof.STEPS:
        raise InvalidParameter(f"step: '{step}' is not one of {', '.join(asof.STEPS)}", parameter="step")
    per_step = {"day": 1, "week": 7, "month": 28}[step]
    if (last - first).days // per_step > MAX_SERIES_STEPS:
        raise InvalidParameter(f"the series would have more than {MAX_SERIES_STEPS} steps: use a larger step",
                               parameter="step")


SETTLEMENT_COLUMNS = ("place", "name", "series", "title", "from_holder", "from_observed_on", "to_holder",
                      "to_observed_on", "changed_on", "by_default")


@router.get("/stats/settlements", summary="Settlements whose holder changed between two days, per series",
            responses=answer(Settlements))
def settlements_changed(request: Request, filters: FiltersDep, case: CaseDep, days: FromToDep,
                        fmt: TableFormat) -> Response:
    """Per place (inside `case`, if given) and claim series: the holder on `from` and on `to` when they differ,
    and `changed_on`, the first observation day of the later holder. Holders as in /places/{id}/control
    (`by_default` when inferred from the territory)."""
    check_known_parameters(request, {"from", "to", "case", "f"} | FILTER_PARAMETERS)
    before, after = days.first, days.last

    def build(conn: Connection) -> Cached:
        rows, places = settlements.changed_hands(conn, case, filters, before, after)
        return table(rows, SETTLEMENT_COLUMNS, fmt, {"from": before.isoformat(), "to": after.isoformat(),
                                                     **_known(filters), "case": case, "places": places})

    return cached_response(request, build)


SeriesId = Annotated[str, Query(description="A claim series id (see /series).",
                                examples=["deepstatemap/UA/assessed/kursk-salient"])]


@router.get("/stats/disagreement", summary="Where two claim series agree and disagree on a day",
            name="disagreement", responses={200: {"model": Disagreement, "content": {GEOJSON: {}}}})
def disagreement(
    request: Request, day: DayDep, region: RegionDep, case: CaseDep, a: SeriesId, b: SeriesId,
    fmt: Annotated[str, output_format("json", "geojson")],
    known_at: Annotated[str | None, Query(description=(
        "Transaction time (RFC 3339): compare what was recorded then."), json_schema_extra=INSTANT)] = None,
) -> Response:
    """Geodesic km² of the ground series `a` and `b` (each as of its latest observation on or before the day)
    give to the same side (`agreed`), to opposite sides (`opposed`), that one of them gives to no side
    (`undetermined`), and that only one of them draws (`only_a`, `only_b`); with the series and observation days
    used. `f=geojson`: those grounds as features."""
    check_known_parameters(request, {"date", "a", "b", "region", "case", "known_at", "f"})
    clip = clip_of(region, case)
    if a == b:
        raise InvalidParameter("b: compare two different series", parameter="b")
    at = parse_instant(known_at, "known_at") if known_at else None

    def build(conn: Connection) -> Cached:
        known = reference.series_keys(conn)
        for name, key in (("a", a), ("b", b)):
            if key not in known:
                raise InvalidParameter(f"{name}: no series '{key}' (see /series)", parameter=name)
        found = disagree.disagreement(conn, day, a, b, clip, at)
        if found is None:
            raise NotFound(f"a series has no observation on or before {day}: compare from a later day")
        asked = {"date": day.isoformat(), "region": region, "case": case, "known_at": known_at, "unit": "km2",
                 "series": list(found["series"].values())}
        figures = {f"{kind}_km2": round(value, 3) for kind, value in found["km2"].items()}
        if fmt == "json":
            return json_body({**asked, **figures})
        parts = [b'{"type":"Feature","geometry":' + geometry.encode() + b',"properties":'
                 + orjson.dumps({"kind": kind, "km2": figures[f"{kind}_km2"]}) + b"}"
                 for kind, geometry in found["geojson"].items() if geometry and figures[f"{kind}_km2"] > 0]
        return Cached(feature_collection(parts, {**asked, **figures}), GEOJSON)

    return cached_response(request, build)


MAX_AGREEING = 12


@router.get("/stats/agreement", summary="How many of the chosen series give each piece of ground to each side",
            name="agreement", responses={200: {"model": Agreement, "content": {GEOJSON: {}}}})
def agreement(request: Request, day: DayDep, filters: FiltersDep, region: RegionDep, case: CaseDep,
              fmt: Annotated[str, output_format("json", "geojson")]) -> Response:
    """The chosen `series` (2 to 12, each as of its latest observation on or before the day, cut to `region` or
    `case`) cut the ground into pieces; per level of agreement (the votes per side, `unknown` for a series that
    draws the ground for no side, `silent` for those that do not draw it): its geodesic km² and its kind,
    `consensus` (every series gives it to the same side), `disputed` (some to one side, some to another),
    `partial` (one side, the others silent or unknown) or `undetermined`. `f=geojson`: the levels as features."""
    check_known_parameters(request, {"date", "region", "case", "f"} | FILTER_PARAMETERS)
    clip = clip_of(region, case)
    keys = filters.series or []
    if not 2 <= len(keys) <= MAX_AGREEING or len(set(keys)) != len(keys):
        raise InvalidParameter(f"series: name 2 to {MAX_AGREEING} different series, comma-separated (see /series)",
                               parameter="series")

    def build(conn: Connection) -> Cached:
        found = agree.agreement(conn, day, filters, clip)
        missing = sorted(set(keys) - {s["series"] for s in found["series"]})
        if missing:
            raise NotFound(f"no observation on or before {day} of {', '.join(missing)}: leave them out or ask a "
                           "later day")
        totals = {kind: round(sum(v["km2"] for v in found["levels"] if v["agreement"] == kind), 3)
                  for kind in agree.LEVELS}
        asked = {"date": day.isoformat(), "region": region, "case": case, **_known(filters), "unit": "km2",
                 "series": found["series"], "totals_km2": totals}
        levels = [{k: v for k, v in level.items() if k != "geojson"} for level in found["levels"]]
        if fmt == "json":
            return json_body({**asked, "levels": levels})
        parts = [b'{"type":"Feature","geometry":' + level["geojson"].encode() + b',"properties":'
                 + orjson.dumps(properties) + b"}" for level, properties in zip(found["levels"], levels, strict=True)]
        return Cached(feature_collection(parts, asked), GEOJSON)

    return cached_response(request, build)


@router.get("/frontline", summary="The front line of a claim series on a day", name="frontline",
            response_class=Response, responses={200: {"content": {GEOJSON: {}}}})
def frontline(
    request: Request, day: DayDep, case: CaseDep, series: SeriesId,
    fmt: Annotated[str, output_format("geojson", "json")],
    known_at: Annotated[str | None, Query(description=(
        "Transaction time (RFC 3339): the line as recorded then."), json_schema_extra=INSTANT)] = None,
) -> Response:
    """The contact line of the series' held ground (its latest observation on or before the day): the ground's
    outline less the international border (within 500 m of it, and the pieces that never get farther from it
    than `border_drawing_m`: the source's own drawing of the border) and, with `case`, clipped to the case's
    ground; a MultiLineString with its geodesic `length_km`, the outline's length and the observation day used."""
    check_known_parameters(request, {"date", "series", "case", "known_at", "f"})
    at = parse_instant(known_at, "known_at") if known_at else None

    def build(conn: Connection) -> Cached:
        if series not in reference.series_keys(conn):
            raise InvalidParameter(f"series: no series '{series}' (see /series)", parameter="series")
        drawing = request.app.state.settings.border_drawing_m
        found = front.front_line(conn, day, series, case, at, drawing)
        if found is None:
            raise NotFound(f"series '{series}' has no observation on or before {day}")
        geometry = found.pop("geojson") or "null"
        properties = {**found, "date": day.isoformat(), "case": case, "known_at": known_at,
                      "border_tolerance_m": front.BORDER_TOLERANCE_M, "border_drawing_m": drawing}
        if fmt == "json":
            return json_body(properties)
        feature = (b'{"type":"Feature","geometry":' + geometry.encode() + b',"properties":'
                   + orjson.dumps(properties, default=float) + b"}")
        return Cached(feature_collection([feature], {"date": day.isoformat(), "series": series}), GEOJSON)

    return cached_response(request, build)


@router.get("/stats/advance", summary="How fast a series' front moved between two days", name="advance",
            responses=answer(Advance, csv=False))
def advance(
    request: Request, days: FromToDep, case: CaseDep, series: SeriesId,
    known_at: Annotated[str | None, Query(description=(
        "Transaction time (RFC 3339): as recorded then."), json_schema_extra=INSTANT)] = None,
    axis: Annotated[str | None, Query(description=(
        "lon,lat;lon,lat: also how far the series' ground reaches along this line from its first point on the "
        "two days (the farthest point of the line inside it), and how far and fast that moved. E.g. Sudzha "
        "towards Kursk."), json_schema_extra=AXIS)] = None,
) -> Response:
    """Ground gained and lost by the series' side between its observations on or before `from` and `to`
    (geodesic km², cut to `case`), its front line's mean length (as /frontline), and the mean advance: net area
    ÷ mean front length ÷ days between the two observations, as `km_per_day` and `m_per_day` (negative when
    the side lost ground). With `axis`, also the reach along it (geodesic km) on the two observation days,
    `moved_km` and `km_per_day`; a null reach when the ground does not cross the axis."""
    check_known_parameters(request, {"from", "to", "series", "case", "known_at", "axis"})
    at = parse_instant(known_at, "known_at") if known_at else None
    line = parse_axis(axis) if axis else None

    def build(conn: Connection) -> Cached:
        if series not in reference.series_keys(conn):
            raise InvalidParameter(f"series: no series '{series}' (see /series)", parameter="series")
        found = front.advance(conn, days.first, days.last, series, case, at, line,
                              request.app.state.settings.border_drawing_m)
        if found is None:
            raise NotFound(f"series '{series}' has no observation on or before {days.first}")
        return json_body({"from": days.first.isoformat(), "to": days.last.isoformat(), "case": case,
                          "known_at": known_at, **found})

    return cached_response(request, build)
