"""The migration chain builds the schema the models describe, from an empty database, and back."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from geoalchemy2 import alembic_helpers
from sqlalchemy import Connection, create_engine, inspect, text
from sqlalchemy.exc import DBAPIError

from app.db.models import HISTORY_TABLES, Base
from app.services.migrate import upgrade
from app.settings import Settings
from tests.helpers import add_control_area

EQUATOR_SQUARE = [[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]


def test_upgrade_from_empty_then_downgrade_and_again(database_factory) -> None:
    settings = Settings(database_url=database_factory())
    engine = create_engine(settings.database_url)
    upgrade(settings)
    tables = set(inspect(engine).get_table_names())
    assert {"sides", "sources", "imports", *(t.name for t in HISTORY_TABLES)} <= tables

    from alembic import command

    from app.services.migrate import alembic_config

    command.downgrade(alembic_config(settings), "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version", "spatial_ref_sys"}
    upgrade(settings)
    assert "control_areas" in inspect(engine).get_table_names()
    engine.dispose()


def test_models_and_migrations_agree(conn: Connection) -> None:
    context = MigrationContext.configure(conn, opts={
        "include_object": alembic_helpers.include_object, "compare_type": True,
    })
    assert compare_metadata(context, Base.metadata) == []


def test_spatial_and_range_indexes_are_gist(conn: Connection) -> None:
    rows = conn.execute(text(
        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'control_areas'"
    )).all()
    defs = dict(rows)
    assert "USING gist (geom)" in defs["ix_control_areas_geom"]
    assert "USING gist (valid)" in defs["ix_control_areas_valid"]


@pytest.mark.parametrize("table", [t.name for t in HISTORY_TABLES])
def test_history_tables_refuse_delete(seeded: Connection, table: str) -> None:
    if seeded.execute(text(f"SELECT count(*) FROM {table}")).scalar_one() == 0:
        pytest.fail(f"seed data has no {table} to test with")
    with pytest.raises(DBAPIError, match="append-only"), seeded.begin_nested():
        seeded.execute(text(f"DELETE FROM {table}"))


def test_history_allows_closing_a_version_once_and_nothing_else(seeded: Connection) -> None:
    place_id = seeded.execute(text("SELECT id FROM places WHERE key = 'sudzha'")).scalar_one()
    with pytest.raises(DBAPIError, match="append-only"), seeded.begin_nested():
        seeded.execute(text("UPDATE places SET name = 'Elsewhere' WHERE id = :id"), {"id": place_id})
    seeded.execute(text("UPDATE places SET superseded_at = now() WHERE id = :id"), {"id": place_id})
    with pytest.raises(DBAPIError, match="append-only"), seeded.begin_nested():
        seeded.execute(text("UPDATE places SET superseded_at = now() + interval '1 day' WHERE id = :id"),
                       {"id": place_id})


def test_control_area_area_is_computed_geodesically_by_postgis(seeded: Connection) -> None:
    # A 1° x 1° square at the equator is about 12,308 km² on the WGS84 ellipsoid (12,364 km² in planar
    # "degrees x 111.32 km" arithmetic, and 1 in square degrees).
    area = add_control_area(seeded, "t", status="claimed", day="2024-01-01", coords=EQUATOR_SQUARE, layer=None,
                            returning="area_km2")
    assert area == pytest.approx(12308.8, abs=1.0)


def test_unheld_status_is_the_only_way_to_have_no_side(seeded: Connection) -> None:
    add_control_area(seeded, "t", side=None, status="contested", day="2024-01-01", coords=EQUATOR_SQUARE, layer=None)
    with pytest.raises(DBAPIError, match="side_unless_unheld"), seeded.begin_nested():
        add_control_area(seeded, "t", side=None, status="claimed", day="2024-01-01", coords=EQUATOR_SQUARE,
                         layer=None)
