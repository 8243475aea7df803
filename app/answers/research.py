"""The answers to the research questions, `/stats/*` (area, depth, settlements, disagreement, agreement, advance)
and `/places/{place_id}/…` (control, history): first what they share, the columns that name a claim series in
every per-series row (``SeriesColumns``) and the `from` and `to` of an answer about two days (``Span``), then one
question at a time, its row before its answer.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import ConfigDict, Field

from app.answers.base import Answer


class SeriesColumns(Answer):
    """The columns that name a claim series in every per-series row."""

    series: str = Field(description="The series id (see /series).", examples=["deepstatemap/UA/assessed/kursk-salient"])
    title: str
    source: str
    side: str | None
    status: str
    layer: str | None


class Span(Answer):
    """An answer about two days: `from` (a Python keyword, hence the alias) and `to`."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    from_: date = Field(alias="from")
    to: date


class AreaRow(SeriesColumns):
    """One series on one day: its latest observation and the area it holds."""

    day: date
    observed_on: date | None
    age_days: int | None
    stale: bool | None
    area_km2: float | None = Field(description="Geodesic (WGS84 ellipsoid), cut to the region or case if given.")


class Area(Answer):
    """GET /stats/area."""

    date: date
    region: Any
    case: Any
    unit: str
    rows: list[AreaRow]


class AreaSeries(Answer):
    """GET /stats/area/series: one row per day and series, and the figures reported for those days."""

    start: date
    end: date
    step: str
    region: Any
    case: Any
    unit: str
    rows: list[AreaRow]
    reported: list[dict[str, Any]] = Field(description="Figures sources reported for the same ground and days.")


class DepthRow(SeriesColumns):
    """How far one series' area reaches from the line (geodesic km), and the farthest point."""

    observed_on: date | None
    depth_km: float | None
    lon: float | None
    lat: float | None


class Depth(Answer):
    """GET /stats/depth."""

    date: date
    line: str
    region: Any
    case: Any
    unit: str
    rows: list[DepthRow]


class DepthDayRow(DepthRow):
    """One series' depth on one step day."""

    day: date


class DepthSeries(Answer):
    """GET /stats/depth/series."""

    start: date
    end: date
    step: str
    line: str
    region: Any
    case: Any
    unit: str
    rows: list[DepthDayRow]


class SettlementRow(SeriesColumns):
    """A place whose holder changed between the two days, by one series."""

    place: str
    name: str
    from_holder: str | None
    from_observed_on: date | None
    to_holder: str | None
    to_observed_on: date | None
    changed_on: date | None
    by_default: bool | None


class Settlements(Span):
    """GET /stats/settlements."""

    case: Any
    places: Any
    rows: list[SettlementRow]


class ComparedSeries(SeriesColumns):
    """One of the two series compared: the observation it was taken from, and its area (cut as asked)."""

    role: str = Field(description="a or b")
    observed_on: date
    area_km2: float


class Disagreement(Answer):
    """GET /stats/disagreement: km² of the ground two series agree on, oppose, or draw alone."""

    date: date
    region: Any
    case: Any
    known_at: str | None
    unit: str
    series: list[ComparedSeries]
    agreed_km2: float
    opposed_km2: float
    undetermined_km2: float
    only_a_km2: float
    only_b_km2: float


class AgreeingSeries(SeriesColumns):
    """One of the series counted: the observation it was taken from, and its area (cut as asked)."""

    observed_on: date
    area_km2: float


class AgreementLevel(Answer):
    """Ground on which the series vote alike: the votes per side, its kind, and its km²."""

    agreement: str = Field(description="consensus, disputed, partial or undetermined",
                           json_schema_extra={"enum": ["consensus", "disputed", "partial", "undetermined"]})
    side: str | None = Field(description="The one side given the ground (None when disputed or undetermined).")
    votes: dict[str, int] = Field(description="Series per side, `unknown` (drawn for no side) and `silent`.",
                                  examples=[{"UA": 2, "RU": 1, "silent": 0}])
    km2: float


class Agreement(Answer):
    """GET /stats/agreement: km² per level of agreement among the chosen series."""

    date: date
    region: Any
    case: Any
    known_at: str | None
    unit: str
    series: list[AgreeingSeries]
    totals_km2: dict[str, float]
    levels: list[AgreementLevel]


class AxisAdvance(Answer):
    """How far a series' ground reaches along an axis on the two days, and how far that moved."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    from_: list[float] = Field(alias="from", description="The axis' first point, lon and lat.")
    to: list[float]
    length_km: float
    reach_km: list[float | None] = Field(description="The farthest point of the axis inside the ground, km "
                                                     "from its first point, on each of the two observation days.")
    moved_km: float | None
    km_per_day: float | None


class Advance(Span):
    """GET /stats/advance: how far and how fast a series' front moved between its two observations."""

    series: str
    title: str
    side: str | None
    from_observed_on: date
    to_observed_on: date
    days: int
    gained_km2: float
    lost_km2: float
    net_km2: float
    front_km: list[float]
    mean_front_km: float
    km_per_day: float | None = Field(description="Net area ÷ mean front length ÷ days; negative when lost.")
    m_per_day: float | None
    axis: AxisAdvance | None = Field(None, description="With `axis=`: the reach along it and how it moved.")


class PlaceFound(Answer):
    """A place whose name or an alternative name holds the text searched."""

    key: str
    name: str
    alt_names: list[str]
    kind: str | None
    population: int | None
    region: str | None
    lon: float
    lat: float


class PlaceSearch(Answer):
    """GET /places?q=."""

    q: str
    numberReturned: int
    rows: list[PlaceFound]


class PlaceControlRow(SeriesColumns):
    """Who holds the place on the day, by one series, and since when."""

    observed_on: date | None
    age_days: int | None
    holds: bool | None
    holder: str | None
    held_since: date | None
    by_default: bool | None


class PlaceControl(Answer):
    """GET /places/{place_id}/control."""

    date: date
    place: dict[str, Any]
    rows: list[PlaceControlRow]


class PlaceHistoryRow(SeriesColumns):
    """An unbroken run of observations of one holder over the place, by one series."""

    first_observed: date | None
    last_observed: date | None
    observations: int | None
    ended_by: str | None


class PlaceHistory(Answer):
    """GET /places/{place_id}/history."""

    place: dict[str, Any]
    rows: list[PlaceHistoryRow]
