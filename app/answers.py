"""What the JSON answers contain, for the OpenAPI document.

The routes build their bodies in SQL and orjson, not through these models; the models describe them, so that a
client generator or a fuzzer (the suite runs schemathesis against them) knows the shape. Extra members are
allowed: an answer may grow a column without breaking a client.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from app.formats import CSV


class Answer(BaseModel):
    """A JSON answer: the members listed, and possibly more."""

    model_config = ConfigDict(extra="allow")


class Link(Answer):
    """A link to a related resource."""

    href: str
    rel: str
    type: str | None = None
    title: str | None = None


class SeriesColumns(Answer):
    """The columns that name a claim series in every per-series row."""

    series: str = Field(description="The series id (see /series).", examples=["deepstatemap/UA/assessed/kursk-salient"])
    title: str
    source: str
    side: str | None
    status: str
    layer: str | None


class SourceRow(Answer):
    """A source: what it is, its terms and attribution, how many series, the days it was observed."""

    slug: str
    name: str
    kind: str
    affiliation: str | None
    url: str | None
    terms: str | None
    attribution: str | None
    series: int
    first_observed: date | None
    last_observed: date | None


class Sources(Answer):
    """GET /sources."""

    sources: list[SourceRow]


class SeriesRow(Answer):
    """A claim series: id (for `series=`), title, rhythm, and whether it is preferred."""

    id: str
    title: str
    source: str
    side: str | None
    status: str
    layer: str | None
    first_observed: date | None
    last_observed: date | None
    observations: int | None
    median_gap_days: float | None
    preferred: bool
    same_ground_as: str | None
    notes: str | None


class SeriesList(Answer):
    """GET /series."""

    series: list[SeriesRow]


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


class Span(Answer):
    """An answer about two days: `from` (a Python keyword, hence the alias) and `to`."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    from_: date = Field(alias="from")
    to: date


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


class CollectionInfo(Answer):
    """An OGC API – Features collection: its extent, CRSs and links."""

    id: str
    title: str
    description: str | None
    itemType: str
    crs: list[str]
    storageCrs: str
    extent: dict[str, Any]
    links: list[Link]


class Collections(Answer):
    """GET /collections."""

    collections: list[CollectionInfo]
    links: list[Link]


class CaseRow(Answer):
    """A case: the ground a question is about, its recipe, default view and key places."""

    key: str
    title: str
    description: str | None
    starts_on: date | None
    ends_on: date | None
    area_km2: float | None = Field(description="Geodesic area of its ground.")
    view: dict[str, Any] | None
    key_places: list[str]
    territory: dict[str, Any] | None
    recipe: dict[str, Any]


class Cases(Answer):
    """GET /cases (JSON; f=geojson gives the grounds as features)."""

    cases: list[CaseRow]
    default: str | None


class ReportedFigure(Answer):
    """GET /reported-figures/{key}: a figure a source reported, with its provenance."""

    id: int
    key: str
    source: str
    refers_to: date | None
    published_on: date | None
    side: str | None
    region: str | None
    metric: str
    value: float
    unit: str
    status: str
    quote: str | None
    published_in: str | None
    url: str | None
    notes: str | None
    attributes: dict[str, Any] | None
    recorded_at: datetime


class AuditPage(Answer):
    """GET /admin/audit: who wrote what and when, newest first."""

    entries: list[dict[str, Any]]
    numberMatched: int
    numberReturned: int


class Tileset(Answer):
    """A vector tileset (OGC API – Tiles): its grid, the tile URL template among its links."""

    title: str
    dataType: str
    crs: str
    tileMatrixSetURI: str
    links: list[Link]


class Tilesets(Answer):
    """GET /collections/{collection_id}/tiles."""

    tilesets: list[Tileset]
    links: list[Link]


class TileJson(Answer):
    """TileJSON 3.0.0."""

    tilejson: str
    tiles: list[str]
    minzoom: int
    maxzoom: int
    bounds: list[float]
    vector_layers: list[dict[str, Any]]


def answer(model: type[BaseModel], csv: bool = True) -> dict[int | str, dict[str, Any]]:
    """The ``responses`` of a route whose 200 is ``model`` as JSON (and CSV with ``f=csv``)."""
    return {200: {"model": model, **({"content": {CSV.split(";")[0]: {}}} if csv else {})}}


class CitationAnswer(Answer):
    """GET /cite: how to cite a view or a figure."""

    url: str
    permalink: str = Field(description="The view's URL, with `known_at` pinned when its route takes it.")
    known_at: str | None
    pinned: bool
    data_version: int
    retrieved: str
    bibtex: str
    csl: dict[str, Any] = Field(description="A CSL-JSON item (type dataset).")
