"""The migration chain builds the schema the models describe, from an empty database, and back."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from geoalchemy2 import alembic_helpers
from shapely.geometry import Polygon
from sqlalchemy import Connection, create_engine, inspect, text
from sqlalchemy.exc import DBAPIError

from app.db.models import HISTORY_TABLES, Base
from app.services.migrate import upgrade
from app.settings import Settings
from tests.helpers import add_control_area, km2

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


def test_the_observations_migration_replays_the_history(database_factory) -> None:
    from alembic import command

    from app.services.migrate import alembic_config

    settings = Settings(database_url=database_factory())
    command.upgrade(alembic_config(settings), "0007")
    engine = create_engine(settings.database_url)
    first, second = datetime(2024, 9, 2, tzinfo=UTC), datetime(2024, 9, 5, tzinfo=UTC)
    north = Polygon([(35.2, 51.2), (35.3, 51.2), (35.3, 51.3), (35.2, 51.3)])
    east = Polygon([(35.3, 51.2), (35.4, 51.2), (35.4, 51.3), (35.3, 51.3)])
    with engine.begin() as c:
        c.execute(text("INSERT INTO sides (code, name, color) VALUES ('UA', 'Ukraine', '#0057b7')"))
        c.execute(text("INSERT INTO sources (slug, name, kind) VALUES ('isw', 'ISW', 'osint')"))
        old = add_control_area(c, "isw/UA/assessed/-/2024-09-01", layer=None, geometry=north, recorded_at=first)
        c.execute(text("UPDATE control_areas SET superseded_at = :at WHERE id = :id"), {"at": second, "id": old})
        for part in (north, east):  # the correction: two polygons
            add_control_area(c, "isw/UA/assessed/-/2024-09-01", layer=None, geometry=part, recorded_at=second)
    upgrade(settings)
    with engine.connect() as c:
        versions = c.execute(text(
            "SELECT o.recorded_at, o.superseded_at, cardinality(o.area_ids), s.area_km2 FROM observations o "
            "JOIN observation_shapes s ON s.observation_id = o.id AND s.ground = '' ORDER BY o.recorded_at")).all()
    engine.dispose()
    assert [(v[0], v[1], v[2]) for v in versions] == [(first, second, 1), (second, None, 2)]
    assert versions[0][3] == pytest.approx(km2(north), rel=1e-4)
    assert versions[1][3] == pytest.approx(km2(north.union(east)), rel=1e-4)
