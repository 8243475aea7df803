"""API fixtures: a TestClient on the test's own transaction (the live server is in tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine

from app.settings import Settings
from tests.helpers import client_on


@pytest.fixture
def client(seeded: Connection, settings: Settings, engine: Engine) -> Iterator[TestClient]:
    """The app answering from the test's seeded, rolled-back transaction."""
    with client_on(seeded, settings, engine) as test_client:
        yield test_client
