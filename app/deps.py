"""Dependencies the routers share: the connection, the day, the day range, the claim-series filters, the region.

Each parses its query parameters into a typed value or raises InvalidParameter naming the parameter (after
tipg's typed dependencies); a rule such as "start must not be after end" is written here once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Path, Query, Request
from sqlalchemy import ColumnElement, Connection, and_
from starlette.concurrency import run_in_threadpool

from app.crs import SUPPORTED, parse_crs
from app.db import asof, cases, cql, reference
from app.db.features import COLLECTIONS, Collection
from app.db.models import STATUSES
from app.errors import InvalidParameter, NotFound
from app.params import DAY, INSTANT, SIDE_LIST, STATUS_LIST, DayRange, day_range, parse_day, parse_instant, parse_list

T = TypeVar("T")


def get_conn(request: Request) -> Iterator[Connection]:
    """A pooled connection for the duration of one request (``app.state.connect``: the engine's, or a test's)."""
    with request.app.state.connect() as conn:
        request.state.conn = conn  # the response builder reuses it: one connection per request, never two
        yield conn


ConnDep = Annotated[Connection, Depends(get_conn)]


async def _checked(request: Request, check: Callable[[Connection], T]) -> T:
    """Run a validation that needs the database in a worker thread, on the request's connection (taken now if
    none was). The dependencies below call it only when there is something to check, so a request without
    such parameters crosses into a thread once, for its answer, not once per dependency."""

    def run() -> T:
        taken = getattr(request.state, "conn", None)
        if taken is not None:
            return check(taken)
        with request.app.state.connect() as conn:
            return check(conn)

    return await run_in_threadpool(run)

FILTER_PARAMETERS = {"side", "source", "status", "series", "known_at", "max_age"}


async def series_filters(
    request: Request,
    side: Annotated[str | None, Query(description="Side code(s), comma-separated: UA, RU.",
                                      json_schema_extra=SIDE_LIST)] = None,
    source: Annotated[str | None, Query(description=(
        "Source slug(s) or name(s), comma-separated, e.g. deepstatemap. Illustrative shapes only with "
        "source=example."))] = None,
    status: Annotated[str | None, Query(description="claimed, assessed, confirmed, contested, unknown.",
                                        json_schema_extra=STATUS_LIST)] = None,
    series: Annotated[str | None, Query(description=(
        "Claim series key(s) from /series, comma-separated: exactly these, preferred or not."))] = None,
    known_at: Annotated[str | None, Query(description=(
        "Transaction time (RFC 3339): answer with what was recorded then, before later corrections."),
        json_schema_extra=INSTANT)] = None,
    max_age: Annotated[int | None, Query(ge=0, le=36_500, description=(
        "Leave out observations older than this many days before the day asked."))] = None,
) -> asof.Filters:
    """The claim series to consider; unknown values are a 400 naming the values accepted."""
    statuses = parse_list(status)
    for value in statuses or []:
        if value not in STATUSES:
            raise InvalidParameter(f"status: '{value}' is not one of {', '.join(STATUSES)}", parameter="status")
    sources, keys = parse_list(source), parse_list(series)
    if sources or keys:
        sources, keys = await _checked(request, lambda conn: (_sources(conn, sources), _series(conn, keys)))
    return asof.Filters(
        side=parse_list(side), source=sources, status=statuses, series=keys,
        known_at=parse_instant(known_at, "known_at") if known_at else None, max_age=max_age,
    )


def _sources(conn: Connection, given: list[str] | None) -> list[str] | None:
    if given is None:
        return None
    slugs = []
    for value in given:
        slug = reference.resolve_source(conn, value)
        if slug is None:
            raise InvalidParameter(f"source: no source '{value}'; sources are {reference.source_choices(conn)}",
                                   parameter="source")
        slugs.append(slug)
    return slugs


def _series(conn: Connection, given: list[str] | None) -> list[str] | None:
    if given is None:
        return None
    known = reference.series_keys(conn)
    unknown = [value for value in given if value not in known]
    if unknown:
        raise InvalidParameter(f"series: no series {', '.join(repr(v) for v in unknown)}; series are "
                               f"{', '.join(sorted(known))} (titles at /series)", parameter="series")
    return given


FiltersDep = Annotated[asof.Filters, Depends(series_filters)]


async def the_day(date_: Annotated[str, Query(alias="date", description="The day, YYYY-MM-DD.",
                                               json_schema_extra=DAY)]) -> date:
    """The required `date` parameter."""
    return parse_day(date_, "date")


DayDep = Annotated[date, Depends(the_day)]


async def start_end(start: Annotated[str, Query(description="First day, YYYY-MM-DD.", json_schema_extra=DAY)],
                    end: Annotated[str, Query(description="Last day, YYYY-MM-DD.", json_schema_extra=DAY)]
                    ) -> DayRange:
    """The required `start` and `end` days."""
    return day_range(start, end, ("start", "end"))


async def optional_start_end(
    start: Annotated[str | None, Query(description="First day, YYYY-MM-DD (default: the first with data).",
                                       json_schema_extra=DAY)] = None,
    end: Annotated[str | None, Query(description="Last day, YYYY-MM-DD (default: the last with data).",
                                     json_schema_extra=DAY)] = None,
) -> DayRange:
    """The optional `start` and `end` days (None: open)."""
    return day_range(start, end, ("start", "end"), required=False)


async def from_to(from_: Annotated[str, Query(alias="from", description="Earlier day, YYYY-MM-DD.",
                                               json_schema_extra=DAY)],
                  to: Annotated[str, Query(description="Later day, YYYY-MM-DD.", json_schema_extra=DAY)]
                  ) -> DayRange:
    """The required `from` and `to` days of a comparison."""
    return day_range(from_, to, ("from", "to"))


StartEndDep = Annotated[DayRange, Depends(start_end)]
OptionalStartEndDep = Annotated[DayRange, Depends(optional_start_end)]
FromToDep = Annotated[DayRange, Depends(from_to)]


async def the_region(
    request: Request,
    region: Annotated[str | None, Query(description="Clip to a region: its key (kursk-oblast) or name.")] = None,
) -> str | None:
    """The key of the region to clip to, or 400 when there is no such region."""
    if region is None:
        return None
    key = await _checked(request, lambda conn: asof.resolve_region(conn, region))
    if key is None:
        raise InvalidParameter(f"region: no region '{region}' (try /collections/regions/items)", parameter="region")
    return key


RegionDep = Annotated[str | None, Depends(the_region)]


async def the_case(
    request: Request,
    case: Annotated[str | None, Query(description=(
        "Clip to a case's ground (see /cases), e.g. kursk-incursion; no clip when not given."))] = None,
) -> str | None:
    """The key of the case to clip to, or 400 naming the cases."""
    if case is None:
        return None
    keys = await _checked(request, cases.case_keys)
    if case not in keys:
        raise InvalidParameter(f"case: no case '{case}'; cases are {', '.join(keys) or 'none'}", parameter="case")
    return case


CaseDep = Annotated[str | None, Depends(the_case)]


def clip_of(region: str | None, case: str | None) -> str | None:
    """The one ground to clip to: a region or a case, not both."""
    if region and case:
        raise InvalidParameter("give region or case, not both (a case already names its ground)",
                               parameter="case")
    return region or case


# -- OGC collections: which one, and a CQL2 filter over it -------------------------------------------------

async def _collection(collection_id: Annotated[str, Path(description="Collection id, e.g. control-areas.",
                                                          json_schema_extra={"enum": list(COLLECTIONS)})]
                ) -> Collection:
    try:
        return COLLECTIONS[collection_id]
    except KeyError:
        raise NotFound(f"no collection '{collection_id}'; collections: {', '.join(COLLECTIONS)}") from None


CollectionDep = Annotated[Collection, Depends(_collection)]


@dataclass(frozen=True)
class Filtering:
    """A page's filters beyond the plain ones, compiled: a CQL2 ``filter``, queryables given as query parameters
    (``?name=Sudzha``: equality), and the ``sortby`` order. ``text`` says what was asked, for error messages;
    ``parameters`` are the queryable names the request used as parameters."""

    text: str | None
    condition: ColumnElement[bool] | None
    order: list[ColumnElement[Any]]
    parameters: frozenset[str] = frozenset()


# Parameters the feature routes read themselves: a queryable of the same name is not a filter parameter.
ROUTE_PARAMETERS = {"bbox", "bbox-crs", "crs", "datetime", "limit", "offset", "f", "filter", "filter-lang",
                    "filter-crs", "sortby", "side", "source", "status", "layer", "kind", "country", "series"}


async def _filtering(
    request: Request,
    coll: CollectionDep,
    filter_: Annotated[str | None, Query(alias="filter", description=(
        "A CQL2 filter over the collection's queryables (`/collections/{id}/queryables`), e.g. "
        "`status = 'assessed' AND S_INTERSECTS(geometry, POINT(35.271 51.191))`. Queryables also work as "
        "parameters of their own: `?name=Sudzha` (equality)."))] = None,
    filter_lang: Annotated[str | None, Query(alias="filter-lang", description="cql2-text (default) or cql2-json.",
                                             json_schema_extra={"enum": list(cql.LANGUAGES)})] = None,
    filter_crs: Annotated[str | None, Query(alias="filter-crs", description=(
        "The CRS of the filter's geometries, as a URI; CRS84 by default."),
        json_schema_extra={"enum": list(SUPPORTED)})]
    = None,
    sortby: Annotated[str | None, Query(description=(
        "Queryables to sort by, comma-separated, `-` before a name for descending (`-area_km2,name`); then by id.")
    )] = None,
) -> Filtering:
    fields = coll.queryables()
    compiler = cql.Compiler(fields, coll.id, parse_crs(filter_crs, "filter-crs"))
    conditions = [] if filter_ is None else [compiler.condition(cql.parse(filter_, filter_lang or "cql2-text"))]
    plain = {name: value for name, value in request.query_params.items()
             if name in fields and name not in ROUTE_PARAMETERS and fields[name].type not in ("geometry", "interval")}
    conditions += [compiler.condition({"op": "=", "args": [{"property": name}, value]})
                   for name, value in plain.items()]
    asked = " AND ".join([*([filter_] if filter_ else []), *(f"{k} = {v!r}" for k, v in plain.items())])
    return Filtering(asked or None, and_(*conditions) if conditions else None,
                     cql.sort_order(sortby, fields, coll.id) if sortby else [], frozenset(plain))


FilteringDep = Annotated[Filtering, Depends(_filtering)]
