"""API fixtures: a TestClient on the test's own transaction (the live server is in tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine, create_engine

from app.settings import Settings
from tests.helpers import LiveServer, add_observations, client_on, every

# Three weekly observations of one real series, on the live server beside the seed's examples.
REAL_DAYS = every(date(2024, 9, 1), 3, step_days=7)


@pytest.fixture
def client(seeded: Connection, settings: Settings, engine: Engine) -> Iterator[TestClient]:
    """The app answering from the test's seeded, rolled-back transaction."""
    with client_on(seeded, settings, engine) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def live(live_server: LiveServer) -> Iterator[LiveServer]:
    """The live server with, beside the seed's examples (listed only when asked for), the three observations of
    ISW's Kursk series in ``REAL_DAYS`` (committed)."""
    engine = create_engine(live_server.database_url)
    with engine.begin() as conn:
        add_observations(conn, "isw", "RU", "assessed", "kursk-ru-advances", REAL_DAYS)
    engine.dispose()
    yield live_server
