"""Test fixtures: a real PostGIS for the session, a migrated database, a rolled-back transaction per test,
and live servers over committed databases of their own for the tests that use real clients.

The embedded cluster is started in a fresh temporary directory (as the unprivileged database user when the
suite runs as root). Set TEST_DATABASE_URL to run against another PostGIS instead; its database must be empty.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.engine import make_url

from app.db.engine import make_engine
from app.embedded import EmbeddedCluster
from app.services.migrate import upgrade
from app.services.seed import seed
from app.settings import Settings
from tests.helpers import LiveServer, new_temp_dir, seeded_app, serving

# Tests never reach the public archives: a `prestart` (make run's first step) would otherwise fetch them on a
# store without real claims. The fetch tests turn it on against a local mirror.
os.environ["FRONTLINE_FETCH_ON_START"] = "false"


@pytest.fixture(scope="session")
def server_url() -> Iterator[str]:
    """URL of a PostGIS server (a maintenance database on it): TEST_DATABASE_URL or a fresh embedded cluster."""
    if url := os.environ.get("TEST_DATABASE_URL"):
        yield url
        return
    data_dir = new_temp_dir("frontline-test-")
    cluster = EmbeddedCluster(data_dir, fsync=False)
    cluster.start()
    yield cluster.url
    cluster.stop()
    shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def database_factory(server_url: str) -> Iterator[object]:
    """Create empty databases on the test server; all are dropped at the end of the session."""
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    created: list[str] = []

    def create() -> str:
        name = f"frontline_test_{uuid.uuid4().hex[:10]}"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        created.append(name)
        return make_url(server_url).set(database=name).render_as_string(hide_password=False)

    yield create
    with admin.connect() as conn:
        for name in created:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def settings(database_factory) -> Settings:  # type: ignore[no-untyped-def]
    """Settings pointing at a freshly migrated test database."""
    settings = Settings(database_url=database_factory(), data_dir=new_temp_dir("frontline-state-"))
    upgrade(settings)
    return settings


@pytest.fixture(scope="session")
def engine(settings: Settings) -> Iterator[Engine]:
    """The engine of the migrated test database."""
    engine = make_engine(settings)
    yield engine
    engine.dispose()


@pytest.fixture
def conn(engine: Engine) -> Iterator[Connection]:
    """A connection inside a transaction that is rolled back after the test: tests never see each other."""
    with engine.connect() as conn:
        transaction = conn.begin()
        yield conn
        transaction.rollback()


@pytest.fixture
def seeded(conn: Connection, settings: Settings) -> Connection:
    """The test connection with the seed geodata loaded (rolled back with the test)."""
    seed(conn, settings.geodata_dir)
    return conn


@pytest.fixture(scope="module")
def live_server(database_factory) -> Iterator[LiveServer]:  # type: ignore[no-untyped-def]
    """A real HTTP server on 127.0.0.1 over a committed, seeded database of its own."""
    settings = Settings(database_url=database_factory())
    stack = seeded_app(settings)
    with serving(stack.app) as url:
        assert stack.app.state.version_watcher.connected.wait(10), "the version watcher did not connect"
        yield LiveServer(url, str(settings.database_url))
    stack.engine.dispose()
