"""Dependencies the research routes share: the day, the claim-series filters, the region."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import Depends, Query

from app.db import asof
from app.db.models import STATUSES
from app.deps import ConnDep
from app.errors import InvalidParameter
from app.params import parse_day, parse_instant, parse_list

FILTER_PARAMETERS = {"side", "source", "status", "known_at", "max_age"}


async def series_filters(
    side: Annotated[str | None, Query(description="Side code(s), comma-separated: UA, RU.")] = None,
    source: Annotated[str | None, Query(description="Source slug(s), comma-separated, e.g. deepstatemap.")] = None,
    status: Annotated[str | None, Query(description="claimed, assessed, confirmed, contested, unknown.")] = None,
    known_at: Annotated[str | None, Query(description=(
        "Transaction time (RFC 3339): answer with what was recorded then, before later corrections."))] = None,
    max_age: Annotated[int | None, Query(ge=0, le=36_500, description=(
        "Leave out observations older than this many days before the day asked."))] = None,
) -> asof.Filters:
    """The claim series to consider."""
    statuses = parse_list(status)
    for value in statuses or []:
        if value not in STATUSES:
            raise InvalidParameter(f"status: '{value}' is not one of {', '.join(STATUSES)}", parameter="status")
    return asof.Filters(
        side=parse_list(side), source=parse_list(source), status=statuses,
        known_at=parse_instant(known_at, "known_at") if known_at else None, max_age=max_age,
    )


FiltersDep = Annotated[asof.Filters, Depends(series_filters)]


async def the_day(date_: Annotated[str, Query(alias="date", description="The day, YYYY-MM-DD.")]) -> date:
    """The required `date` parameter."""
    return parse_day(date_, "date")


DayDep = Annotated[date, Depends(the_day)]


def the_region(
    conn: ConnDep,
    region: Annotated[str | None, Query(description="Clip to a region: its key (kursk-oblast) or name.")] = None,
) -> str | None:
    """The key of the region to clip to, or 400 when there is no such region."""
    if region is None:
        return None
    key = asof.resolve_region(conn, region)
    if key is None:
        raise InvalidParameter(f"region: no region '{region}' (try /collections/regions/items)", parameter="region")
    return key


RegionDep = Annotated[str | None, Depends(the_region)]
