"""API fixtures: a TestClient on the test's own transaction, and a live server for real GIS clients."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass

import pytest
import uvicorn
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine

from app.db.engine import make_engine
from app.main import create_app
from app.services.migrate import upgrade
from app.services.seed import seed
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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class LiveServer:
    """A running server's base URL and the URL of its database."""

    url: str
    database_url: str


@pytest.fixture(scope="module")
def live_server(database_factory) -> Iterator[LiveServer]:  # type: ignore[no-untyped-def]
    """A real HTTP server on 127.0.0.1 over a committed, seeded database of its own."""
    settings = Settings(database_url=database_factory())
    upgrade(settings)
    engine = make_engine(settings)
    with engine.begin() as conn:
        seed(conn, settings.geodata_dir)
    port = free_port()
    app = create_app(settings, engine)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    assert app.state.version_watcher.connected.wait(10), "the version watcher did not connect"
    yield LiveServer(f"http://127.0.0.1:{port}", str(settings.database_url))
    server.should_exit = True
    thread.join(timeout=10)
    engine.dispose()
