"""Editors' writes: validated like the importer, appended as versions, audited, guarded by If-Match.

Nothing is updated in place. Adding a thing inserts its first version; a correction inserts a new version and
closes the current one (transaction time); a retraction only closes it. Each write names the version it
changes (If-Match with the version tag a GET returned), so two editors never overwrite each other silently:
the second gets 412 and must look again. Every write is audited in the same transaction, under the token name.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

import numpy
import shapely
from pydantic import BaseModel, ConfigDict, Field, model_validator
from shapely.geometry import MultiLineString, shape
from sqlalchemy import Connection, Table, func, select, update
from sqlalchemy.dialects.postgresql import Range

from app.auth import Caller
from app.db import reference, tokens
from app.db.features import is_row_id
from app.db.history import lock_keys, record_versions
from app.db.models import ControlArea, Event, Line, Place, ReportedFigure, table_of
from app.errors import Conflict, PreconditionFailed, PreconditionRequired, TooLarge, Unprocessable
from app.services.dates import BadDate, check_plausible
from app.services.geometry import NotPolygonal, clean_polygonal, out_of_range
from app.services.importer import claim_key

Status = Literal["claimed", "assessed", "confirmed", "contested", "unknown"]
KEY_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,199}$"


class _Props(BaseModel):
    model_config = ConfigDict(extra="forbid")

    notes: str | None = Field(default=None, max_length=10_000)
    attributes: dict[str, Any] = Field(default_factory=dict, description="Free properties, kept as they are.")


def _check_days(first: date | None, until: date | None, first_name: str) -> None:
    if first is not None:
        try:
            check_plausible(first)
        except BadDate as exc:
            raise ValueError(f"{first_name}: {exc}") from None
    if first is not None and until is not None and until <= first:
        raise ValueError(f"valid_until ({until}) must be after {first_name} ({first}); it is exclusive")


class ControlAreaIn(_Props):
    """A control area: the territory a source says a side holds (or that is contested) from a day on."""

    source: str = Field(description="Slug of an existing source, e.g. deepstatemap.")
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


class PlaceIn(_Props):
    """A settlement or site (a point)."""

    key: str = Field(pattern=KEY_PATTERN, description="A slug such as sudzha.")
    source: str
    name: str = Field(min_length=1, max_length=500)
    alt_names: list[str] = Field(default_factory=list, max_length=50)
    kind: str = Field(default="settlement", max_length=100)
    population: int | None = Field(default=None, ge=0, le=100_000_000)


class LineIn(_Props):
    """A border or front line."""

    key: str = Field(pattern=KEY_PATTERN)
    source: str
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


class EventIn(_Props):
    """A dated happening at a point or over an area (geometry may be null)."""

    key: str = Field(pattern=KEY_PATTERN)
    source: str
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


class ReportedFigureIn(_Props):
    """A dated numeric claim without geometry, e.g. "UA holds 1,263 km² in Kursk oblast"."""

    key: str = Field(pattern=KEY_PATTERN)
    source: str
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


GeometryRule = Literal["polygonal", "point", "lineal", "any", "none"]


@dataclass(frozen=True)
class Writable:
    """A resource editors can write: its table, body model, geometry rule and how a body becomes a row."""

    name: str
    table: Table
    model: type[_Props]
    geometry: GeometryRule
    to_row: Callable[[Any, shapely.Geometry | None], dict[str, Any]]


def _valid(first: date | None, until: date | None) -> Range[date] | None:
    return None if first is None else Range(first, until)


WRITABLE: dict[str, Writable] = {w.name: w for w in (
    Writable("control-areas", table_of(ControlArea), ControlAreaIn, "polygonal", lambda p, g: {
        "key": p.key or claim_key(p.source, p.side, p.status, p.layer, p.valid_from), "side_code": p.side,
        "status": p.status, "valid": _valid(p.valid_from, p.valid_until), "layer": p.layer, "name": p.name,
        "geom": g}),
    Writable("places", table_of(Place), PlaceIn, "point", lambda p, g: {
        "key": p.key, "name": p.name, "alt_names": p.alt_names, "kind": p.kind, "population": p.population,
        "valid": None, "geom": g}),
    Writable("lines", table_of(Line), LineIn, "lineal", lambda p, g: {
        "key": p.key, "name": p.name, "kind": p.kind, "side_code": p.side, "status": p.status,
        "valid": _valid(p.valid_from, p.valid_until), "geom": g}),
    Writable("events", table_of(Event), EventIn, "any", lambda p, g: {
        "key": p.key, "occurred_on": p.occurred_on, "title": p.title, "description": p.description,
        "side_code": p.side, "status": p.status, "url": p.url, "geom": g}),
    Writable("reported-figures", table_of(ReportedFigure), ReportedFigureIn, "none", lambda p, g: {
        "key": p.key, "refers_to": p.refers_to, "published_on": p.published_on, "side_code": p.side,
        "region_key": p.region, "metric": p.metric, "value": p.value, "unit": p.unit, "status": p.status,
        "quote": p.quote, "published_in": p.published_in, "url": p.url}),
)}


# -- geometry ---------------------------------------------------------------------------------------------

def prepare_geometry(rule: GeometryRule, geojson: dict[str, Any] | None, max_vertices: int
                     ) -> tuple[shapely.Geometry | None, str | None]:
    """The geometry to store (2D, valid, in range) and the repair made, if any; 413/422 naming the problem."""
    if rule == "none":
        if geojson is not None:
            raise Unprocessable("geometry: this resource has no geometry", field="geometry")
        return None, None
    if geojson is None:
        if rule == "any":
            return None, None
        raise Unprocessable("geometry: required", field="geometry")
    try:
        geom = shape(geojson)
    except Exception as exc:  # shapely raises several types for malformed GeoJSON; all mean "not a geometry"
        raise Unprocessable(f"geometry: not a valid GeoJSON geometry ({exc})", field="geometry") from None
    vertices = int(shapely.get_num_coordinates(geom))
    if vertices > max_vertices:
        raise TooLarge(f"geometry: {vertices:,} vertices; the limit is {max_vertices:,}", field="geometry")
    if geom.is_empty:
        raise Unprocessable("geometry: empty", field="geometry")
    geom = shapely.force_2d(geom)
    if not numpy.isfinite(shapely.get_coordinates(geom)).all() or out_of_range(geom):
        raise Unprocessable("geometry: coordinates outside longitude/latitude range (send lon/lat, EPSG:4326)",
                            field="geometry")
    kind = geom.geom_type
    if rule == "polygonal" or (rule == "any" and kind in ("Polygon", "MultiPolygon")):
        try:
            cleaned = clean_polygonal(geom)
        except NotPolygonal:
            raise Unprocessable(f"geometry: a {kind} is not a control area (send a Polygon or MultiPolygon)",
                                field="geometry") from None
        if cleaned.geom is None:
            raise Unprocessable("geometry: nothing polygonal is left after repair", field="geometry")
        return cleaned.geom, cleaned.repair
    if rule == "lineal":
        if kind == "LineString":
            geom = MultiLineString([geom])
        elif kind != "MultiLineString":
            raise Unprocessable(f"geometry: a {kind} is not a line (send a LineString or MultiLineString)",
                                field="geometry")
        return geom, None
    if kind != "Point":
        raise Unprocessable(f"geometry: a {kind} is not allowed here (send a Point)", field="geometry")
    return geom, None


# -- versions ---------------------------------------------------------------------------------------------

def version_tag(row_ids: list[int]) -> str:
    """The ETag of a thing's current version: its current rows (a claim may be several polygons)."""
    return '"' + hashlib.sha256(",".join(map(str, sorted(row_ids))).encode()).hexdigest()[:24] + '"'


def current_rows(conn: Connection, table: Table, key: str, lock: bool = True) -> list[int]:
    """The ids of a key's current rows; with ``lock``, the key stays locked until the transaction ends."""
    if lock:
        lock_keys(conn, table, [key])
    stmt = select(table.c.id).where(table.c.key == key, table.c.superseded_at.is_(None))
    return sorted(conn.execute(stmt).scalars())


def key_of(conn: Connection, table: Table, feature_id: str) -> str | None:
    """The key a feature id (row id or key) names."""
    if is_row_id(feature_id) and len(feature_id) <= 18:
        return conn.execute(select(table.c.key).where(table.c.id == int(feature_id))).scalar_one_or_none()
    found = conn.execute(select(table.c.key).where(table.c.key == feature_id).limit(1)).scalar_one_or_none()
    return found


def _matches(if_match: str | None, tag: str) -> bool:
    if if_match is None:
        raise PreconditionRequired("If-Match is required: send the ETag of the version you are changing "
                                   "(GET the item first)", field="If-Match")
    return if_match.strip() == "*" or tag in (t.strip() for t in if_match.split(","))


@dataclass(frozen=True)
class Written:
    """The outcome of a write: the key, its current rows and their version tag, and any geometry repair."""

    key: str
    row_ids: list[int]
    tag: str
    repaired: str | None = None


def _row(conn: Connection, writable: Writable, body: Any, geom: shapely.Geometry | None) -> dict[str, Any]:
    source_id = reference.source_ids(conn).get(body.source)
    if source_id is None:
        raise Unprocessable(f"source: unknown source '{body.source}' (see the sources on /app)", field="source")
    side = getattr(body, "side", None)
    if side is not None and side not in reference.side_codes(conn):
        raise Unprocessable(f"side: unknown side '{side}'", field="side")
    row = writable.to_row(body, geom)
    row.update(source_id=source_id, notes=body.notes, properties=body.attributes)
    return row


def create(conn: Connection, caller: Caller, writable: Writable, body: Any, geojson: dict[str, Any] | None,
           max_vertices: int) -> Written:
    """Add a new thing; 409 when its key already has a current version (correct it instead)."""
    geom, repaired = prepare_geometry(writable.geometry, geojson, max_vertices)
    row = _row(conn, writable, body, geom)
    if current_rows(conn, writable.table, row["key"]):
        raise Conflict(f"'{row['key']}' exists already: correct it with PUT and If-Match", field="key")
    record_versions(conn, writable.table, [row], None)
    ids = current_rows(conn, writable.table, row["key"])
    tokens.record(conn, caller.name, "create", writable.name, row["key"], ids, {"repaired": repaired})
    return Written(row["key"], ids, version_tag(ids), repaired)


def correct(conn: Connection, caller: Caller, writable: Writable, key: str, if_match: str | None, body: Any,
            geojson: dict[str, Any] | None, max_vertices: int) -> Written:
    """Replace a thing's current version with a new one (the old one is closed, never lost)."""
    geom, repaired = prepare_geometry(writable.geometry, geojson, max_vertices)
    row = _row(conn, writable, body, geom)
    if row["key"] != key:
        raise Unprocessable(f"key: the body says '{row['key']}', the URL '{key}'", field="key")
    ids = current_rows(conn, writable.table, key)
    if not ids:
        raise Conflict(f"'{key}' has no current version (retracted?): add it with POST", field="key")
    if not _matches(if_match, version_tag(ids)):
        raise PreconditionFailed(f"'{key}' has changed since you read it: GET it again and reapply your change",
                                 field="If-Match")
    counts = record_versions(conn, writable.table, [row], None)
    new_ids = current_rows(conn, writable.table, key)
    if counts.inserted:
        tokens.record(conn, caller.name, "correct", writable.name, key, new_ids,
                      {"superseded": ids, "repaired": repaired})
    return Written(key, new_ids, version_tag(new_ids), repaired)


def retract(conn: Connection, caller: Caller, writable: Writable, key: str, if_match: str | None,
            reason: str | None) -> None:
    """Withdraw a thing: its current version is closed (kept in history), no new version is added."""
    ids = current_rows(conn, writable.table, key)
    if not ids:
        raise Conflict(f"'{key}' has no current version (retracted already?)", field="key")
    if not _matches(if_match, version_tag(ids)):
        raise PreconditionFailed(f"'{key}' has changed since you read it: GET it again", field="If-Match")
    conn.execute(update(writable.table).where(writable.table.c.id.in_(ids))
                 .values(superseded_at=func.clock_timestamp()))  # after the key's lock, not the transaction's start
    tokens.record(conn, caller.name, "retract", writable.name, key, ids, {"reason": reason})
