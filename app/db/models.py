"""The schema: reference tables (sides, sources) and append-only, versioned history tables.

Every history row carries its source, its dates and its transaction time: ``recorded_at`` is when we learned
it, ``superseded_at`` when a newer version of the same ``key`` replaced it (NULL while current). A database
trigger (see the first migration) refuses UPDATE of anything but ``superseded_at`` (NULL → a time) and DELETE.
Areas and lengths are generated columns computed by PostGIS on the WGS84 ellipsoid (``geography``).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, cast

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Computed,
    Date,
    DateTime,
    Double,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import DATERANGE, JSONB, Range
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column

STATUSES = ("claimed", "assessed", "confirmed", "contested", "unknown")
SOURCE_KINDS = ("government", "military", "osint", "media", "academic", "reference", "example")
EXAMPLE = "example"  # the source of illustrative shapes: left out of every answer unless asked for by name
SCOPES = ("read", "write", "admin")  # each includes the ones before it

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base with a constraint naming convention so migrations stay stable."""

    metadata = MetaData(naming_convention=NAMING)


def geojson_column() -> Mapped[str | None]:
    """RFC 7946 GeoJSON of ``geom``, written by PostGIS once, at insert (migration 0004)."""
    return mapped_column(Text, Computed("ST_AsGeoJSON(ST_ForcePolygonCCW(geom), 7)", persisted=True))


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Side(Base):
    """A party to the dispute (UA, RU), with how maps draw it."""

    __tablename__ = "sides"

    code: Mapped[str] = mapped_column(String(8), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    color: Mapped[str] = mapped_column(String(7))

    __table_args__ = (CheckConstraint("color ~ '^#[0-9a-fA-F]{6}$'", name="color_hex"),)


class Source(Base):
    """Who says something: a government, a military, an OSINT group, a newspaper, a research institute."""

    __tablename__ = "sources"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(Text, unique=True)
    name: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(Text)
    side_code: Mapped[str | None] = mapped_column(ForeignKey("sides.code"))
    url: Mapped[str | None] = mapped_column(Text)
    notes: Mapped[str | None] = mapped_column(Text)
    terms: Mapped[str | None] = mapped_column(Text, doc="Licence or terms of use of what it publishes.")
    attribution: Mapped[str | None] = mapped_column(Text, doc="The credit to show wherever its data is shown.")

    __table_args__ = (CheckConstraint(_in("kind", SOURCE_KINDS), name="kind"),)


class Series(Base):
    """A claim series: one source's statements about one side, status and layer, with a title for people.

    Its ``key`` is the control areas' claim key without the day (``deepstatemap/UA/assessed/kursk-salient``).
    When a source has two series over the same ground (DeepStateMap's daily mirror and its full publications'
    occupied layer), one names the other in ``same_ground_as``: it is left out of maps and summed figures
    unless asked for by key. A row exists once the series has an observation.
    """

    __tablename__ = "series"

    key: Mapped[str] = mapped_column(Text, primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id"))
    side_code: Mapped[str | None] = mapped_column(ForeignKey("sides.code"))
    status: Mapped[str] = mapped_column(Text)
    layer: Mapped[str | None] = mapped_column(Text)
    title: Mapped[str | None] = mapped_column(Text, doc="From the import profile or an editor; else generated.")
    short_title: Mapped[str | None] = mapped_column(Text, doc=(
        "At most 40 characters, for a map's layer list (under the source's name); else the title, shortened."))
    same_ground_as: Mapped[str | None] = mapped_column(Text, doc=(
        "Key of the preferred series over the same ground: while that one exists, this one is left out by default."))
    notes: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (CheckConstraint("char_length(short_title) BETWEEN 1 AND 40", name="short_title_length"),)


class ImportBatch(Base):
    """One imported file (or seed file): its content hash makes re-imports write nothing."""

    __tablename__ = "imports"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    content_hash: Mapped[str] = mapped_column(String(64), unique=True)
    file_name: Mapped[str] = mapped_column(Text)
    source_id: Mapped[int | None] = mapped_column(ForeignKey("sources.id"))
    options: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    features: Mapped[int] = mapped_column(Integer)
    repaired: Mapped[int] = mapped_column(Integer)
    skipped: Mapped[int] = mapped_column(Integer)
    report: Mapped[list[Any]] = mapped_column(JSONB, server_default=text("'[]'::jsonb"))
    imported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Versioned:
    """Columns every append-only history table shares."""

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    key: Mapped[str] = mapped_column(Text, doc="Identity of the thing across its versions.")
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id"))
    import_id: Mapped[int | None] = mapped_column(ForeignKey("imports.id"))
    content_hash: Mapped[str] = mapped_column(String(64))
    notes: Mapped[str | None] = mapped_column(Text)
    properties: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    superseded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    @declared_attr.directive
    def __table_args__(cls) -> tuple[Any, ...]:  # noqa: N805
        name = cls.__tablename__  # type: ignore[attr-defined]
        return (
            Index(f"ix_{name}_current_key", "key", postgresql_where=text("superseded_at IS NULL")),
            *getattr(cls, "extra_args", ()),
        )


class ControlArea(Versioned, Base):
    """Territory a source says a side holds (or that is contested) over a range of days."""

    __tablename__ = "control_areas"

    side_code: Mapped[str | None] = mapped_column(ForeignKey("sides.code"), doc="Holder; none when contested/unknown.")
    status: Mapped[str] = mapped_column(Text)
    valid: Mapped[Range[date]] = mapped_column(DATERANGE, doc="Days the claim is valid for, [lower, upper).")
    layer: Mapped[str | None] = mapped_column(Text)
    name: Mapped[str | None] = mapped_column(Text)
    geom = mapped_column(Geometry("MULTIPOLYGON", srid=4326, spatial_index=False), nullable=False)
    geojson: Mapped[str | None] = geojson_column()
    area_km2: Mapped[float] = mapped_column(Double, Computed("ST_Area(geom::geography) / 1e6", persisted=True))

    extra_args = (
        CheckConstraint(_in("status", STATUSES), name="status"),
        CheckConstraint("side_code IS NOT NULL OR status IN ('contested', 'unknown')", name="side_unless_unheld"),
        CheckConstraint("NOT isempty(valid) AND lower(valid) IS NOT NULL", name="valid_has_start"),
        Index("ix_control_areas_geom", "geom", postgresql_using="gist"),
        Index("ix_control_areas_valid", "valid", postgresql_using="gist"),
    )


def series_key(source: str, side: str | None, status: str, layer: str | None) -> str:
    """A claim series' key: one source's statements about one side, status and layer."""
    return f"{source}/{side or '-'}/{status}/{layer or '-'}"


def claim_key(source: str, side: str | None, status: str, layer: str | None, day: date) -> str:
    """A control area's key: one source's statement about one side, status and layer on one day."""
    return f"{series_key(source, side, status, layer)}/{day.isoformat()}"


class Place(Versioned, Base):
    """A settlement or site (a point), e.g. Sudzha."""

    __tablename__ = "places"

    name: Mapped[str] = mapped_column(Text)
    alt_names: Mapped[list[str]] = mapped_column(JSONB, server_default=text("'[]'::jsonb"))
    kind: Mapped[str] = mapped_column(Text)
    population: Mapped[int | None] = mapped_column(Integer)
    valid: Mapped[Range[date] | None] = mapped_column(DATERANGE)
    geom = mapped_column(Geometry("POINT", srid=4326, spatial_index=False), nullable=False)
    geojson: Mapped[str | None] = geojson_column()

    extra_args = (Index("ix_places_geom", "geom", postgresql_using="gist"),)


class Line(Versioned, Base):
    """An international border, an administrative boundary or a front line."""

    __tablename__ = "lines"

    name: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(Text)
    side_code: Mapped[str | None] = mapped_column(ForeignKey("sides.code"))
    status: Mapped[str | None] = mapped_column(Text)
    valid: Mapped[Range[date] | None] = mapped_column(DATERANGE)
    geom = mapped_column(Geometry("MULTILINESTRING", srid=4326, spatial_index=False), nullable=False)
    geojson: Mapped[str | None] = geojson_column()
    length_km: Mapped[float] = mapped_column(Double, Computed("ST_Length(geom::geography) / 1e3", persisted=True))

    extra_args = (Index("ix_lines_geom", "geom", postgresql_using="gist"),)


class Region(Versioned, Base):
    """An administrative area, used to clip statistics (e.g. Kursk oblast)."""

    __tablename__ = "regions"

    name: Mapped[str] = mapped_column(Text)
    local_name: Mapped[str | None] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(Text)
    country: Mapped[str | None] = mapped_column(String(2))
    geom = mapped_column(Geometry("MULTIPOLYGON", srid=4326, spatial_index=False), nullable=False)
    geojson: Mapped[str | None] = geojson_column()
    area_km2: Mapped[float] = mapped_column(Double, Computed("ST_Area(geom::geography) / 1e6", persisted=True))

    extra_args = (Index("ix_regions_geom", "geom", postgresql_using="gist"),)


class Event(Versioned, Base):
    """A dated happening at a point or over an area, as a source reported it."""

    __tablename__ = "events"

    occurred_on: Mapped[date] = mapped_column(Date)
    title: Mapped[str] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    side_code: Mapped[str | None] = mapped_column(ForeignKey("sides.code"))
    status: Mapped[str] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(Text)
    geom = mapped_column(Geometry("GEOMETRY", srid=4326, spatial_index=False), nullable=True)
    geojson: Mapped[str | None] = geojson_column()

    extra_args = (
        CheckConstraint(_in("status", STATUSES), name="status"),
        Index("ix_events_geom", "geom", postgresql_using="gist"),
        Index("ix_events_occurred_on", "occurred_on"),
    )


class ReportedFigure(Versioned, Base):
    """A dated numeric claim without geometry, e.g. "UA holds 1,263 km² in Kursk oblast" (Syrskyi, 2024-08-20)."""

    __tablename__ = "reported_figures"

    refers_to: Mapped[date] = mapped_column(Date, doc="The day the figure describes.")
    published_on: Mapped[date | None] = mapped_column(Date)
    side_code: Mapped[str | None] = mapped_column(ForeignKey("sides.code"))
    region_key: Mapped[str | None] = mapped_column(Text, doc="Key of the region the figure is about.")
    metric: Mapped[str] = mapped_column(Text, doc="e.g. area_held_km2, area_unclear_km2, settlements_held")
    value: Mapped[float] = mapped_column(Double)
    unit: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text)
    quote: Mapped[str | None] = mapped_column(Text)
    published_in: Mapped[str | None] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(Text)

    extra_args = (
        CheckConstraint(_in("status", STATUSES), name="status"),
        Index("ix_reported_figures_refers_to", "refers_to"),
    )


class Case(Base):
    """The ground a question is about (Ukraine's incursion into Kursk oblast): maps draw it, figures clip to it.

    ``territory`` says whose ground each of its regions is when no series says otherwise (region key → side),
    so a town outside one side's mapped ground is answered "by default", never silently.
    """

    __tablename__ = "cases"

    key: Mapped[str] = mapped_column(Text, primary_key=True)
    title: Mapped[str] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    starts_on: Mapped[date | None] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)
    geom = mapped_column(Geometry("MULTIPOLYGON", srid=4326, spatial_index=False), nullable=False)
    area_km2: Mapped[float] = mapped_column(Double, Computed("ST_Area(geom::geography) / 1e6", persisted=True))
    view: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"),
                                                 doc="Default map view: lat, lon, zoom.")
    key_places: Mapped[list[Any]] = mapped_column(JSONB, server_default=text("'[]'::jsonb"),
                                                  doc="Place keys always labelled on its maps.")
    featured: Mapped[list[Any]] = mapped_column(JSONB, server_default=text("'[]'::jsonb"), doc=(
        "Series keys the case is about: its maps show them at first and offer their front lines."))
    territory: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    recipe: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"),
                                                   doc="How the geometry was made (seed: geodata/cases.json).")
    position: Mapped[int] = mapped_column(Integer, server_default=text("0"), doc="Order in lists; first is default.")

    __table_args__ = (Index("ix_cases_geom", "geom", postgresql_using="gist"),)


class ApiToken(Base):
    """An API token: shown once when created, stored only as a keyed hash; revoked, never deleted."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(Text, unique=True)
    scope: Mapped[str] = mapped_column(Text)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (CheckConstraint(_in("scope", SCOPES), name="scope"),)


class AuditEntry(Base):
    """Who (token name) wrote what, and when: one row per write request that changed something."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    token_name: Mapped[str] = mapped_column(Text)
    action: Mapped[str] = mapped_column(Text, doc="create, correct or retract")
    collection: Mapped[str] = mapped_column(Text)
    key: Mapped[str] = mapped_column(Text)
    row_ids: Mapped[list[Any]] = mapped_column(JSONB, server_default=text("'[]'::jsonb"),
                                               doc="Rows inserted (create, correct) or closed (retract).")
    detail: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))

    __table_args__ = (
        CheckConstraint(_in("action", ("create", "correct", "retract")), name="action"),
        Index("ix_audit_log_at", "at"),
    )


def table_of(model: type[Base]) -> Table:
    """The Core table behind a model (declarative models here always map a Table)."""
    return cast(Table, model.__table__)


# Every append-only history table: a new Versioned model is listed by itself.
HISTORY_TABLES = [table_of(m) for m in Base.__subclasses__() if issubclass(m, Versioned)]

# The Core tables behind the models, for the queries of app/db (``select(areas.c.id)``).
sides = table_of(Side)
sources = table_of(Source)
series = table_of(Series)
cases = table_of(Case)
imports = table_of(ImportBatch)
areas = table_of(ControlArea)
places = table_of(Place)
lines = table_of(Line)
regions = table_of(Region)
events = table_of(Event)
figures = table_of(ReportedFigure)
api_tokens = table_of(ApiToken)
audit_log = table_of(AuditEntry)

# The tables derived at write time (per series and observation day) share this metadata: imported last,
# since they build on the models above.
from app.db import observed as _observed  # noqa: E402, F401
