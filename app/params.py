"""Query-parameter parsers: each returns a typed value or raises InvalidParameter naming the parameter."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Annotated

from fastapi import Query, Request

from app.crs import STORAGE, Crs, to_lonlat
from app.errors import InvalidParameter

# What the OpenAPI document says of a parameter (our own parsers enforce it, with messages that name it).
DAY = {"format": "date", "examples": ["2024-09-01"]}
INSTANT = {"format": "date-time", "examples": ["2024-12-01T00:00:00Z"]}
_STATUS = "(claimed|assessed|confirmed|contested|unknown)"
STATUS_LIST = {"pattern": f"^{_STATUS}(,{_STATUS})*$", "examples": ["assessed", "claimed,assessed"]}
SIDE_LIST = {"pattern": r"^[A-Z]{2,8}(,[A-Z]{2,8})*$", "examples": ["UA", "UA,RU"]}

MAX_LIMIT = 10_000
DEFAULT_LIMIT = 100
MAX_OFFSET = 1_000_000_000  # past any collection's end; within PostgreSQL's integer


@dataclass(frozen=True)
class DayRange:
    """Closed interval of days; None is an open end. A plain date is the interval of that one day."""

    start: date | None
    end: date | None

    @property
    def first(self) -> date:
        """The first day of a range closed at the start."""
        assert self.start is not None
        return self.start

    @property
    def last(self) -> date:
        """The last day of a range closed at the end."""
        assert self.end is not None
        return self.end


def parse_day(value: str, parameter: str) -> date:
    """A calendar day: YYYY-MM-DD, or an RFC 3339 date-time whose date part is taken."""
    text = value.strip()
    try:
        if len(text) == 10:
            return date.fromisoformat(text)
        return datetime.fromisoformat(text.replace("Z", "+00:00")).date()
    except ValueError:
        raise InvalidParameter(
            f"{parameter}: '{value}' is not a date (use YYYY-MM-DD or an RFC 3339 date-time)", parameter=parameter
        ) from None


def day_range(first: str | None, last: str | None, names: tuple[str, str], required: bool = True) -> DayRange:
    """Two days named by two parameters (``names``); the first may not be after the last."""
    if required and (first is None or last is None):
        missing = names[0] if first is None else names[1]
        raise InvalidParameter(f"{missing}: required (YYYY-MM-DD)", parameter=missing)
    return _ordered(None if first is None else parse_day(first, names[0]),
                    None if last is None else parse_day(last, names[1]), names)


def _ordered(start: date | None, end: date | None, names: tuple[str, str], parameter: str | None = None) -> DayRange:
    if start and end and start > end:
        raise InvalidParameter(f"{names[0]} {start} is after {names[1]} {end}", parameter=parameter or names[0])
    return DayRange(start, end)


def parse_interval(value: str, parameter: str = "datetime") -> DayRange:
    """OGC `datetime`: an instant, `start/end`, or half-open `../end`, `start/..` (empty ends allowed)."""
    if "/" not in value:
        day = parse_day(value, parameter)
        return DayRange(day, day)
    parts = value.split("/")
    if len(parts) != 2:
        raise InvalidParameter(f"{parameter}: '{value}' has more than one '/'", parameter=parameter)
    ends = [None if p.strip() in ("", "..") else parse_day(p, parameter) for p in parts]
    start, end = ends
    if start is None and end is None:
        raise InvalidParameter(f"{parameter}: '{value}' is open at both ends", parameter=parameter)
    return _ordered(start, end, (f"{parameter}: start", "end"), parameter)


def parse_bbox(value: str, crs: Crs = STORAGE) -> tuple[float, float, float, float]:
    """`minx,miny,maxx,maxy` in ``crs``'s axis order (CRS84 by default: `minlon,minlat,maxlon,maxlat`), as x/y
    (easting, northing) bounds; antimeridian-crossing boxes are refused."""
    try:
        numbers = [float(v) for v in value.split(",")]
    except ValueError:
        raise InvalidParameter(f"bbox: '{value}' is not four comma-separated numbers", parameter="bbox") from None
    if len(numbers) == 6:  # 3D bbox: drop the heights
        numbers = [numbers[0], numbers[1], numbers[3], numbers[4]]
    if len(numbers) != 4 or not all(math.isfinite(n) for n in numbers):
        raise InvalidParameter(f"bbox: '{value}' is not four finite numbers", parameter="bbox")
    minx, miny, maxx, maxy = [numbers[1], numbers[0], numbers[3], numbers[2]] if crs.northing_first else numbers
    if crs.geographic and not (-180 <= minx <= 180 and -180 <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise InvalidParameter(f"bbox: '{value}' is outside longitude/latitude bounds", parameter="bbox")
    if minx > maxx and crs.geographic:
        raise InvalidParameter("bbox: boxes crossing the antimeridian are not supported", parameter="bbox")
    if minx > maxx or miny > maxy:
        raise InvalidParameter(f"bbox: '{value}' has a minimum above its maximum", parameter="bbox")
    if not crs.geographic and to_lonlat((minx, miny, maxx, maxy), crs) is None:
        raise InvalidParameter(f"bbox: '{value}' lies outside where {crs.uri} is defined", parameter="bbox")
    return minx, miny, maxx, maxy


def check_known_parameters(request: Request, allowed: set[str]) -> None:
    """Refuse query parameters the endpoint does not know (OGC API – Features requires a 400)."""
    unknown = sorted(set(request.query_params) - allowed)
    if unknown:
        raise InvalidParameter(
            f"unknown parameter{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}; "
            f"this endpoint accepts {', '.join(sorted(allowed))}",
            parameter=unknown[0],
        )


Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description=f"Features per page (maximum {MAX_LIMIT}).")]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description=(
    "Features to skip (paging; follow the `next` link instead)."))]


def parse_list(value: str | None) -> list[str] | None:
    """Comma-separated values (`status=claimed,assessed`), or None."""
    if value is None:
        return None
    values = [v.strip() for v in value.split(",") if v.strip()]
    return values or None


def parse_instant(value: str, parameter: str) -> datetime:
    """An RFC 3339 date-time (a plain date means its start, UTC)."""
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InvalidParameter(f"{parameter}: '{value}' is not an RFC 3339 date-time", parameter=parameter) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


AXIS = {"pattern": r"^-?[0-9.]+,-?[0-9.]+;-?[0-9.]+,-?[0-9.]+$", "examples": ["35.53,51.19;36.19,51.73"]}


def parse_axis(value: str, parameter: str = "axis") -> tuple[tuple[float, float], tuple[float, float]]:
    """``lon,lat;lon,lat`` (WGS84 degrees): an axis from its first point to its second."""
    try:
        ends = [tuple(float(n) for n in point.split(",")) for point in value.split(";")]
    except ValueError:
        ends = []
    if len(ends) != 2 or any(len(p) != 2 or not all(math.isfinite(n) for n in p) for p in ends):
        raise InvalidParameter(f"{parameter}: '{value}' is not lon,lat;lon,lat", parameter=parameter)
    (lon1, lat1), (lon2, lat2) = ends
    if not all(-180 <= lon <= 180 and -90 <= lat <= 90 for lon, lat in ends):
        raise InvalidParameter(f"{parameter}: longitudes are within ±180 and latitudes within ±90",
                               parameter=parameter)
    if (lon1, lat1) == (lon2, lat2):
        raise InvalidParameter(f"{parameter}: the two ends are the same point", parameter=parameter)
    return (lon1, lat1), (lon2, lat2)
