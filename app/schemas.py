"""What editors send: one body model per writable resource, and how a body becomes a history row.

The models validate everything that can be checked without the database (days, keys, lengths); sources and
sides are checked against the database by the write service, geometries by ``app.services.geometry``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, ClassVar, Literal

import shapely
from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import Table
from sqlalchemy.dialects.postgresql import Range

from app.db.models import areas, claim_key, events, figures, lines, places
from app.services.dates import BadDate, check_plausible
from app.services.geometry import GeometryRule

Status = Literal["claimed", "assessed", "confirmed", "contested", "unknown"]
KEY_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,199}$"


def _check_days(first: date | None, until: date | None, first_name: str) -> None:
    if first is not None:
        try:
            check_plausible(first)
        except BadDate as exc:
            raise ValueError(f"{first_name}: {exc}") from None
    if first is not None and until is not None and until <= first:
        raise ValueError(f"valid_until ({until}) must be after {first_name} ({first}); it is exclusive")


def _valid(first: date | None, until: date | None) -> Range[date] | None:
    return None if first is None else Range(first, until)


class WriteBody(BaseModel):
    """What every written thing has: its source, free notes and attributes, and its geometry rule."""

    model_config = ConfigDict(extra="forbid")
    geometry: ClassVar[GeometryRule]

    source: str = Field(description="Slug of an existing source, e.g. deepstatemap.")
    notes: str | None = Field(default=None, max_length=10_000)
    attributes: dict[str, Any] = Field(default_factory=dict, description="Free properties, kept as they are.")

    def to_row(self, geom: shapely.Geometry | None) -> dict[str, Any]:
        """The row's own columns (source id, notes and properties are added by the service)."""
        raise NotImplementedError


class ControlAreaIn(WriteBody):
    """A control area: the territory a source says a side holds (or that is contested) from a day on."""

    geometry: ClassVar[GeometryRule] = "polygonal"

    side: str | None = Field(default=None, description="UA, RU, ...; none only for contested or unknown.")
    status: Status
    valid_from: date = Field(description="First day the claim is valid for (its observation day).")
    valid_until: date | None = Field(default=None, description="First day it is no longer valid (exclusive).")
    layer: str | None = Field(default=None, max_length=200)
    name: str | None = Field(default=None, max_length=500)
    key: str | None = Field(default=None, pattern=KEY_PATTERN, description="Default: source/side/status/layer/day.")

    @model_validator(mode="after")
    def _consistent(self) -> ControlAreaIn:
        if self.side is None and self.status not in ("contested", "unknown"):
            raise ValueError("side is required unless the status is contested or unknown")
        _check_days(self.valid_from, self.valid_until, "valid_from")
        return self

    def to_row(self, geom: shapely.Geometry | None) -> dict[str, Any]:
        """The control area's columns; the key defaults to the claim key."""
        return {"key": self.key or claim_key(self.source, self.side, self.status, self.layer, self.valid_from),
                "side_code": self.side, "status": self.status, "valid": _valid(self.valid_from, self.valid_until),
                "layer": self.layer, "name": self.name, "geom": geom}


class PlaceIn(WriteBody):
    """A settlement or site (a point)."""

    geometry: ClassVar[GeometryRule] = "point"

    key: str = Field(pattern=KEY_PATTERN, description="A slug such as sudzha.")
    name: str = Field(min_length=1, max_length=500)
    alt_names: list[str] = Field(default_factory=list, max_length=50)
    kind: str = Field(default="settlement", max_length=100)
    population: int | None = Field(default=None, ge=0, le=100_000_000)

    def to_row(self, geom: shapely.Geometry | None) -> dict[str, Any]:
        """The place's columns."""
        return {"key": self.key, "name": self.name, "alt_names": self.alt_names, "kind": self.kind,
                "population": self.population, "valid": None, "geom": geom}


class LineIn(WriteBody):
    """A border or front line."""

    geometry: ClassVar[GeometryRule] = "lineal"

    key: str = Field(pattern=KEY_PATTERN)
    name: str = Field(min_length=1, max_length=500)
    kind: str = Field(max_length=100, description="e.g. international-border, front-line.")
    side: str | None = None
    status: Status | None = None
    valid_from: date | None = None
    valid_until: date | None = None

    @model_validator(mode="after")
    def _days(self) -> LineIn:
        _check_days(self.valid_from, self.valid_until, "valid_from")
        return self

    def to_row(self, geom: shapely.Geometry | None) -> dict[str, Any]:
        """The line's columns."""
        return {"key": self.key, "name": self.name, "kind": self.kind, "side_code": self.side,
                "status": self.status, "valid": _valid(self.valid_from, self.valid_until), "geom": geom}


class EventIn(WriteBody):
    """A dated happening at a point or over an area (geometry may be null)."""

    geometry: ClassVar[GeometryRule] = "any"

    key: str = Field(pattern=KEY_PATTERN)
    occurred_on: date
    title: str = Field(min_length=1, max_length=500)
    description: str | None = Field(default=None, max_length=20_000)
    side: str | None = None
    status: Status
    url: str | None = Field(default=None, max_length=2_000)

    @model_validator(mode="after")
    def _day(self) -> EventIn:
        _check_days(self.occurred_on, None, "occurred_on")
        return self

    def to_row(self, geom: shapely.Geometry | None) -> dict[str, Any]:
        """The event's columns."""
        return {"key": self.key, "occurred_on": self.occurred_on, "title": self.title,
                "description": self.description, "side_code": self.side, "status": self.status, "url": self.url,
                "geom": geom}


class ReportedFigureIn(WriteBody):
    """A dated numeric claim without geometry, e.g. "UA holds 1,263 km² in Kursk oblast"."""

    geometry: ClassVar[GeometryRule] = "none"

    key: str = Field(pattern=KEY_PATTERN)
    refers_to: date
    published_on: date | None = None
    side: str | None = None
    region: str | None = Field(default=None, description="Key of the region the figure is about.")
    metric: str = Field(min_length=1, max_length=100, description="e.g. area_held_km2.")
    value: float = Field(allow_inf_nan=False)
    unit: str = Field(min_length=1, max_length=50)
    status: Status
    quote: str | None = Field(default=None, max_length=5_000)
    published_in: str | None = Field(default=None, max_length=1_000)
    url: str | None = Field(default=None, max_length=2_000)

    @model_validator(mode="after")
    def _days(self) -> ReportedFigureIn:
        _check_days(self.refers_to, None, "refers_to")
        if self.published_on is not None:
            _check_days(self.published_on, None, "published_on")
        return self

    def to_row(self, geom: shapely.Geometry | None) -> dict[str, Any]:
        """The figure's columns."""
        return {"key": self.key, "refers_to": self.refers_to, "published_on": self.published_on,
                "side_code": self.side, "region_key": self.region, "metric": self.metric, "value": self.value,
                "unit": self.unit, "status": self.status, "quote": self.quote, "published_in": self.published_in,
                "url": self.url}


@dataclass(frozen=True)
class Writable:
    """A resource editors can write: its name in URLs, its history table and its body model."""

    name: str
    table: Table
    model: type[WriteBody]


WRITABLE: dict[str, Writable] = {w.name: w for w in (
    Writable("control-areas", areas, ControlAreaIn),
    Writable("places", places, PlaceIn),
    Writable("lines", lines, LineIn),
    Writable("events", events, EventIn),
    Writable("reported-figures", figures, ReportedFigureIn),
)}


class SeriesPatch(BaseModel):
    """An editor's description of a claim series: what people read, and which series it yields to."""

    model_config = ConfigDict(extra="forbid")

    title: str | None = Field(default=None, min_length=1, max_length=300)
    short_title: str | None = Field(default=None, min_length=1, max_length=40, description=(
        "At most 40 characters: the series in a map's layer list, under its source's name."))
    same_ground_as: str | None = Field(default=None, max_length=400, description=(
        "Key of the preferred series of the same source over the same ground; empty string to clear."))
    notes: str | None = Field(default=None, max_length=10_000)
