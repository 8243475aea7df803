"""The answers about what the archive holds and where it comes from: its sources, claim series and cases
(`/sources`, `/series`, `/cases`), a reported figure (`/reported-figures/{key}`), the audit log of writes
(`/admin/audit`) and how to cite a view or a figure (`/cite`), each row before the answer that lists it.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import Field

from app.answers.base import Answer


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
    short_title: str = Field(description="At most 40 characters: the series in a map's layer list.")
    source: str
    source_name: str
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
    featured: list[str] = Field(description=(
        "Series the case is about: its maps show them at first and offer their front lines."))
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
