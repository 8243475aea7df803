"""Settlements: who held a place on a day, per source, and the periods each holder held it."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from sqlalchemy import Connection

from app.answers.base import answer
from app.answers.research import PlaceControl, PlaceHistory, PlaceSearch
from app.cache import HEAVY, Cached, cached_response
from app.db import towns
from app.deps import FILTER_PARAMETERS, CaseDep, ConnDep, DayDep, FiltersDep
from app.errors import InvalidParameter, NotFound
from app.formats import TableFormat, table
from app.params import check_known_parameters
from app.services import settlements

router = APIRouter(prefix="/places", tags=["research"])


def the_place(conn: ConnDep,
              place_id: Annotated[str, Path(description="Key such as `sudzha`, or a row id.",
                                                         examples=["sudzha", "plekhovo"])]) -> dict[str, Any]:
    """The place, or 404."""
    place = towns.find_place(conn, place_id)
    if place is None:
        raise NotFound(f"no place '{place_id}' (try /collections/places/items)")
    return place


PlaceDep = Annotated[dict[str, Any], Depends(the_place)]
SEARCH_COLUMNS = ("key", "name", "alt_names", "kind", "population", "region", "lon", "lat")


@router.get("", responses=answer(PlaceSearch), summary="Find places by name", name="place-search")
def search(request: Request, fmt: TableFormat,
           q: Annotated[str, Query(min_length=1, max_length=100, description=(
               "Part of a name or of an alternative name (Latin or Cyrillic, any case)."),
               examples=["sudzh", "Суджа"])],
           limit: Annotated[int, Query(ge=1, le=100, description="How many places at most.")] = 10) -> Response:
    """Places whose name or an alternative name holds `q`: exact names first, then names that start with it,
    then the rest, the most populous first. What the maps' search box asks."""
    check_known_parameters(request, {"q", "limit", "f"})
    text_ = q.strip()
    if not text_:
        raise InvalidParameter("q: give part of a name, not only spaces", parameter="q")

    def build(conn: Connection) -> Cached:
        rows = towns.search_places(conn, text_, limit)
        return table(rows, SEARCH_COLUMNS, fmt, {"q": text_, "numberReturned": len(rows)})

    return cached_response(request, build)


@router.get("/{place_id}/control", dependencies=[HEAVY], responses=answer(PlaceControl),
            summary="Who held a place on a day, per source", name="place-control")
def control(request: Request, place: PlaceDep, day: DayDep, filters: FiltersDep, case: CaseDep,
            fmt: TableFormat) -> Response:
    """Per claim series: whether its latest observation on or before the day covers the place, since when, and
    who holds it by that series: `holder` is the series' side where it covers the place, `unknown` inside the
    source's grey zone, and else, inside a case, the territory's own side with `by_default: true` (a series
    that maps one side's ground says nothing explicit about the places outside it). `case` takes the territory
    from that case only (default: any case whose ground holds the place)."""
    check_known_parameters(request, {"date", "case", "f"} | FILTER_PARAMETERS)

    def build(conn: Connection) -> Cached:
        default = towns.default_holders(conn, [place["id"]], case).get(place["id"])
        rows = settlements.control_on(towns.place_observations(conn, place["id"], filters, until=day), day, default)
        return table(rows, ("series", "title", "source", "side", "status", "layer", "holds", "holder", "by_default",
                            "observed_on", "age_days", "held_since"),
                     fmt, {"place": place, "date": day.isoformat()})

    return cached_response(request, build)


@router.get("/{place_id}/history", dependencies=[HEAVY], responses=answer(PlaceHistory),
            summary="The periods each holder held a place, per source")
def history(request: Request, place: PlaceDep, filters: FiltersDep, fmt: TableFormat) -> Response:
    """Unbroken runs of observations covering the place, per claim series, in time order."""
    check_known_parameters(request, {"f"} | FILTER_PARAMETERS)

    def build(conn: Connection) -> Cached:
        rows = settlements.periods(towns.place_observations(conn, place["id"], filters))
        return table(rows, ("series", "title", "source", "side", "status", "layer", "first_observed", "last_observed",
                            "ended_by", "observations"), fmt, {"place": place})

    return cached_response(request, build)
