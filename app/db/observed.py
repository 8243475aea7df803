"""What the database derives at write time, so that no read repeats it: per claim series and observation day.

A series may draw several polygons for one day. An **observation** is that day's union, made once when the
polygons are written (migration 0008: triggers on ``control_areas``), and versioned alongside them: when a
correction or a retraction changes a day's polygons, the same transaction closes the observation
(``superseded_at``) and records the new one, so ``known_at`` finds the observation that was true then.

Each observation has **shapes**: the whole union (``ground = ''``) and its cut to every current region and
case (``ground`` = their key; empty where it does not reach), each with its geodesic area and its GeoJSON at
full precision and simplified for three zoom bands (``DISPLAY_BANDS``). Editing a region or a case re-cuts
its shapes. docs/precompute.md explains the design.
"""

from __future__ import annotations

from datetime import date, datetime

from geoalchemy2 import Geometry
from sqlalchemy import BigInteger, Computed, Date, DateTime, Double, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from app.db.models import Base, table_of

WHOLE = ""  # the ground of an observation's uncut shape
# Display simplification per zoom band, in metres (topology kept): a request for a tolerance gets the
# coarsest band not coarser than asked. Migration 0008 generates one GeoJSON column per band.
DISPLAY_BANDS = (40, 150, 1000)
METRES_PER_DEGREE = 111_320.0  # of latitude, near enough for a display tolerance


def _display(metres: int) -> Computed:
    tolerance = metres / METRES_PER_DEGREE
    return Computed(f"ST_AsGeoJSON(ST_ForcePolygonCCW(ST_SimplifyPreserveTopology(geom, {tolerance!r})), 5)",
                    persisted=True)


class ObservedSeries(Base):
    """A claim series as observed (migration 0009): recorded on its first observation, with its rhythm over the
    current observations, refreshed by the same trigger. The latest observation of each series on or before a
    day is one backward probe of ``ix_observations_series_id_day`` from here."""

    __tablename__ = "observed_series"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id"))
    side_code: Mapped[str | None] = mapped_column(String(8), ForeignKey("sides.code"))
    status: Mapped[str] = mapped_column(Text)
    layer: Mapped[str | None] = mapped_column(Text)
    first_observed: Mapped[date | None] = mapped_column(Date)
    last_observed: Mapped[date | None] = mapped_column(Date)
    observations: Mapped[int] = mapped_column(Integer, server_default="0")
    median_gap_days: Mapped[float | None] = mapped_column(Double, doc="NULL when observed once.")

    __table_args__ = (Index("ux_observed_series_series", "source_id", "side_code", "status", "layer", unique=True,
                            postgresql_nulls_not_distinct=True),)


class Observation(Base):
    """One claim series on one day: the union of its polygons, as known from ``recorded_at`` until closed."""

    __tablename__ = "observations"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id"))
    side_code: Mapped[str | None] = mapped_column(String(8), ForeignKey("sides.code"))
    status: Mapped[str] = mapped_column(Text)
    layer: Mapped[str | None] = mapped_column(Text)
    series_id: Mapped[int] = mapped_column(ForeignKey("observed_series.id"))
    observed_on: Mapped[date] = mapped_column(Date)
    area_ids: Mapped[list[int]] = mapped_column(ARRAY(BigInteger), doc="The control-area rows it unites.")
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    superseded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        Index("ix_observations_series_day", "source_id", "status", "side_code", "layer", "observed_on"),
        Index("ix_observations_current", "observed_on", postgresql_where=text("superseded_at IS NULL")),
        Index("ix_observations_series_id_day", "series_id", "observed_on"),
    )


class ObservationShape(Base):
    """An observation's union (``ground = ''``) or its cut to one region or case, ready to measure and draw."""

    __tablename__ = "observation_shapes"

    observation_id: Mapped[int] = mapped_column(ForeignKey("observations.id", ondelete="CASCADE"),
                                                primary_key=True)
    ground: Mapped[str] = mapped_column(Text, primary_key=True)
    geom = mapped_column(Geometry("MULTIPOLYGON", srid=4326, spatial_index=False), nullable=False)
    area_km2: Mapped[float] = mapped_column(Double, Computed("ST_Area(geom::geography) / 1e6", persisted=True))
    geojson: Mapped[str | None] = mapped_column(Text, Computed("ST_AsGeoJSON(ST_ForcePolygonCCW(geom), 7)",
                                                               persisted=True))
    geojson_40m: Mapped[str | None] = mapped_column(Text, _display(40))
    geojson_150m: Mapped[str | None] = mapped_column(Text, _display(150))
    geojson_1000m: Mapped[str | None] = mapped_column(Text, _display(1000))
    vertices: Mapped[int] = mapped_column(Integer, Computed("ST_NPoints(geom)", persisted=True))

    __table_args__ = (Index("ix_observation_shapes_ground", "ground"),)


observed_series = table_of(ObservedSeries)
observations = table_of(Observation)
shapes = table_of(ObservationShape)


def band_for(metres: float | None) -> int | None:
    """The display band for a requested tolerance: the coarsest not coarser than asked; None = full detail."""
    fitting = [band for band in DISPLAY_BANDS if metres and band <= metres]
    return max(fitting) if fitting else None
