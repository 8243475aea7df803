"""Fetch fixtures: a local mirror of the public archives (module-scoped; faults and request log reset per
test), and a store per test: a fresh database migrated and seeded by `frontline prestart`, an empty data
directory, and the environment the `frontline` command runs with."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from app.db.engine import make_engine
from app.services.migrate import upgrade
from app.services.seed import seed
from app.settings import Settings
from tests.helpers import Mirror, Store, frontline, new_temp_dir, synthetic_archives, write_mirror


@pytest.fixture(scope="module")
def synthetic() -> dict[str, dict[str, bytes]]:
    """The synthetic archives: archive → repository path → bytes."""
    return synthetic_archives()


@pytest.fixture(scope="module")
def mirror_server(synthetic: dict[str, dict[str, bytes]]) -> Iterator[Mirror]:
    root = write_mirror(new_temp_dir("frontline-mirror-"), synthetic)
    mirror = Mirror(root).start()
    yield mirror
    mirror.stop()
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def mirror(mirror_server: Mirror) -> Mirror:
    """The synthetic mirror, listening, with no faults and no requests recorded yet."""
    mirror_server.reset()
    return mirror_server


@pytest.fixture
def blank(database_factory, tmp_path: Path) -> Store:  # type: ignore[no-untyped-def]
    """A fresh, empty database (not migrated) and an empty data directory."""
    url, data_dir = database_factory(), tmp_path / "state"
    return Store.at(url, data_dir)


@pytest.fixture
def store(blank: Store) -> Store:
    """A fresh database migrated and seeded (`frontline prestart`, fetch on start off), an empty data directory."""
    prepared = frontline(blank.env, "prestart")
    assert prepared.code == 0, prepared.stderr
    return blank


@pytest.fixture
def engine_of(database_factory) -> Iterator[tuple[Settings, Engine]]:  # type: ignore[no-untyped-def]
    """For the direct tests: settings over a fresh database, migrated and seeded in-process, and its engine."""
    settings = Settings(database_url=database_factory(), data_dir=new_temp_dir("frontline-fetch-"))
    upgrade(settings)
    engine = make_engine(settings)
    with engine.begin() as conn:
        seed(conn, settings.geodata_dir)
    yield settings, engine
    engine.dispose()
    shutil.rmtree(settings.data_dir, ignore_errors=True)
