"""Dependencies the routers share: the connection, the day, the day range, the claim-series filters, the region.

Each parses its query parameters into a typed value or raises InvalidParameter naming the parameter (after
tipg's typed dependencies); a rule such as "start must not be after end" is written here once.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Annotated

from fastapi import Depends, Query, Request
from sqlalchemy import Connection

from app.db import asof
from app.db.models import STATUSES
from app.errors import InvalidParameter
from app.params import DayRange, day_range, parse_day, parse_instant, parse_list


def get_conn(request: Request) -> Iterator[Connection]:
    """A pooled connection for the duration of one request (``app.state.connect``: the engine's, or a test's)."""
    with request.app.state.connect() as conn:
        request.state.conn = conn  # the response builder reuses it: one connection per request, never two
        yield conn


ConnDep = Annotated[Connection, Depends(get_conn)]

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


async def start_end(start: Annotated[str, Query(description="First day, YYYY-MM-DD.")],
                    end: Annotated[str, Query(description="Last day, YYYY-MM-DD.")]) -> DayRange:
    """The required `start` and `end` days."""
    return day_range(start, end, ("start", "end"))


async def optional_start_end(
    start: Annotated[str | None, Query(description="First day, YYYY-MM-DD (default: the first with data).")] = None,
    end: Annotated[str | None, Query(description="Last day, YYYY-MM-DD (default: the last with data).")] = None,
) -> DayRange:
    """The optional `start` and `end` days (None: open)."""
    return day_range(start, end, ("start", "end"), required=False)


async def from_to(from_: Annotated[str, Query(alias="from", description="Earlier day, YYYY-MM-DD.")],
                  to: Annotated[str, Query(description="Later day, YYYY-MM-DD.")]) -> DayRange:
    """The required `from` and `to` days of a comparison."""
    return day_range(from_, to, ("from", "to"))


StartEndDep = Annotated[DayRange, Depends(start_end)]
OptionalStartEndDep = Annotated[DayRange, Depends(optional_start_end)]
FromToDep = Annotated[DayRange, Depends(from_to)]


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
