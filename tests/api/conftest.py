"""API fixtures: a TestClient on the test's own transaction, and a live server for real GIS clients."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, nullcontext

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine

from app.main import create_app
from app.settings import Settings


@contextmanager
def savepoint(conn: Connection) -> Iterator[Connection]:
    """A write's transaction inside the test's: it rolls back alone when the write fails."""
    with conn.begin_nested():
        yield conn


@pytest.fixture
def client(seeded: Connection, settings: Settings, engine: Engine) -> Iterator[TestClient]:
    """The app answering from the test's seeded, rolled-back transaction.

    Its writes are never committed, so no NOTIFY reaches a version watcher: the app asks the database.
    """
    app = create_app(settings.model_copy(update={"watch_writes": False}), engine)
    app.state.connect = lambda: nullcontext(seeded)
    app.state.begin = lambda: savepoint(seeded)
    with TestClient(app) as test_client:
        yield test_client
