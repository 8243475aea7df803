"""Research endpoints: control as of a day, area per side and source, series, changes, depth.

Settlements (`/places/{id}/control`, `/history`) are in ``app.routes.places``.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query, Request, Response
from sqlalchemy import Connection

from app.cache import Cached, cached_response
from app.db import asof, maplayers
from app.deps import FILTER_PARAMETERS, DayDep, FiltersDep, FromToDep, RegionDep, StartEndDep
from app.errors import InvalidParameter
from app.formats import GEOJSON, TableFormat, feature_collection, output_format, table
from app.params import check_known_parameters

router = APIRouter(tags=["research"])

MAX_SERIES_STEPS = 5000
AREA_COLUMNS = ("day", "source", "side", "status", "layer", "observed_on", "age_days", "area_km2")


@router.get("/control", summary="Control areas as of a day", response_class=Response, name="control-as-of",
            responses={200: {"content": {GEOJSON: {}}}})
def control(request: Request, day: DayDep, filters: FiltersDep,
            _: Annotated[str, output_format("geojson", "json")],
            simplify: Annotated[float | None, Query(ge=0, le=5000, description=(
                "Simplify outlines for display by this many metres (topology kept); `area_km2` is always "
                "that of the full geometry."))] = None) -> Response:
    """Each claim series' most recent observation on or before the day, with `observed_on` and `age_days`."""
    check_known_parameters(request, {"date", "f", "simplify"} | FILTER_PARAMETERS)
    tolerance = maplayers.degrees(simplify) if simplify else None

    def build(conn: Connection) -> Cached:
        found = asof.control_as_of(conn, day, filters, simplify=tolerance)
        envelope = {"date": day.isoformat(), "numberReturned": len(found),
                    "links": [{"href": str(request.url), "rel": "self", "type": GEOJSON}]}
        return Cached(feature_collection(found, envelope), GEOJSON)

    return cached_response(request, build)


@router.get("/stats/area", summary="Area held per side and source on a day", name="area")
def area(request: Request, day: DayDep, filters: FiltersDep, region: RegionDep, fmt: TableFormat) -> Response:
    """Rows of {side, source, status, observed_on, area_km2}: geodesic km², clipped to `region` if given."""
    check_known_parameters(request, {"date", "region", "f"} | FILTER_PARAMETERS)

    def build(conn: Connection) -> Cached:
        rows = asof.area_series(conn, day, day, "day", filters, region)
        return table(rows, AREA_COLUMNS, fmt, {"date": day.isoformat(), "region": region, "unit": "km2"})

    return cached_response(request, build)


@router.get("/stats/area/series", summary="Area per side and source over time, beside reported figures")
def area_series(
    request: Request, filters: FiltersDep, region: RegionDep, days: StartEndDep, fmt: TableFormat,
    step: Annotated[str, Query(description="day, week or month.")] = "day",
) -> Response:
    """Per step day, the same rows as /stats/area; the reported figures of the period alongside.

    CSV puts both in one table, told apart by the `kind` column (measured / reported).
    """
    check_known_parameters(request, {"start", "end", "step", "region", "f"} | FILTER_PARAMETERS)
    first, last = days.first, days.last
    if step not in asof.STEPS:
        raise InvalidParameter(f"step: '{step}' is not one of {', '.join(asof.STEPS)}", parameter="step")
    per_step = {"day": 1, "week": 7, "month": 28}[step]
    if (last - first).days // per_step > MAX_SERIES_STEPS:
        raise InvalidParameter(f"the series would have more than {MAX_SERIES_STEPS} steps: use a larger step",
                               parameter="step")

    def build(conn: Connection) -> Cached:
        rows = asof.area_series(conn, first, last, step, filters, region)
        reported = asof.reported_figures(conn, first, last, filters, region)
        if fmt == "csv":
            merged = [{"kind": "measured", **r} for r in rows] + [{"kind": "reported", **r} for r in reported]
            merged.sort(key=lambda r: (r["day"], r["kind"]))
            return table(merged, ("kind", *AREA_COLUMNS, "metric", "value", "unit", "measured_km2",
                                  "difference_pct", "published_in", "url"), fmt)
        return table(rows, AREA_COLUMNS, fmt, {"start": first.isoformat(), "end": last.isoformat(), "step": step,
                                               "region": region, "unit": "km2", "reported": reported})

    return cached_response(request, build)


@router.get("/stats/changes", summary="Areas gained and lost per side between two days", response_class=Response,
            responses={200: {"content": {GEOJSON: {}}}})
def changes(
    request: Request, filters: FiltersDep, region: RegionDep, days: FromToDep,
    fmt: Annotated[str, output_format("geojson", "json", "csv")],
) -> Response:
    """Per claim series: gained and lost areas as features with km², and totals where before + gained − lost
    = after."""
    check_known_parameters(request, {"from", "to", "region", "f"} | FILTER_PARAMETERS)
    before, after = days.first, days.last

    def build(conn: Connection) -> Cached:
        rows = asof.changes(conn, before, after, filters, region)
        totals = [{k: v for k, v in r.items() if not k.endswith("_geojson")} for r in rows]
        if fmt == "csv":
            return table(totals, list(totals[0]) if totals else ["source"], fmt)
        return Cached(_change_collection(rows, totals, before, after, region), GEOJSON)

    return cached_response(request, build)


def _change_collection(rows: list[dict[str, Any]], totals: list[dict[str, Any]], before: date, after: date,
                       region: str | None) -> bytes:
    parts = []
    for row in rows:
        for change in ("gained", "lost"):
            if row[f"{change}_km2"] > 0:
                properties = {"change": change, "source": row["source"], "side": row["side"], "status": row["status"],
                              "layer": row["layer"], "area_km2": round(row[f"{change}_km2"], 3),
                              "from_observed_on": row["before_observed_on"],
                              "to_observed_on": row["after_observed_on"]}
                parts.append(b'{"type":"Feature","geometry":' + row[f"{change}_geojson"].encode()
                             + b',"properties":' + orjson.dumps(properties) + b"}")
    envelope = {"from": before, "to": after, "region": region, "unit": "km2", "totals": totals}
    return feature_collection(parts, envelope)


@router.get("/stats/depth", summary="How far a side's area reaches from a line")
def depth(
    request: Request, day: DayDep, filters: FiltersDep, region: RegionDep,
    fmt: TableFormat,
    line: Annotated[str, Query(description="Key of the line to measure from.")] = "kursk-sumy-border",
) -> Response:
    """Per claim series: the greatest geodesic distance (km) of its area from the line, and that point.

    Give `side` (e.g. UA) and usually `region` (e.g. kursk-oblast) to measure only the ground beyond the line.
    """
    check_known_parameters(request, {"date", "line", "region", "f"} | FILTER_PARAMETERS)
    if not filters.side:
        raise InvalidParameter("side: required, e.g. side=UA", parameter="side")

    def build(conn: Connection) -> Cached:
        if not asof.line_exists(conn, line):
            raise InvalidParameter(f"line: no line '{line}' (try /collections/lines/items)", parameter="line")
        rows = asof.depth(conn, day, filters, line, region)
        return table(rows, ("source", "side", "status", "layer", "observed_on", "depth_km", "lon", "lat"), fmt,
                     {"date": day.isoformat(), "line": line, "region": region, "unit": "km"})

    return cached_response(request, build)
