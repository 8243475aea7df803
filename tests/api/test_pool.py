"""One database connection per request: a request never waits for a second connection while holding one."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import create_engine

from app.db.engine import database_url
from app.main import create_app
from app.settings import Settings


def test_a_request_with_a_connection_dependency_needs_no_second_connection(settings: Settings) -> None:
    # A pool of one: the region dependency takes the connection; the response must be built on that same one
    # (a second checkout would wait for the pool and fail after pool_timeout).
    engine = create_engine(database_url(settings), pool_size=1, max_overflow=0, pool_timeout=2)
    app = create_app(settings.model_copy(update={"watch_writes": False}), engine)
    with TestClient(app) as client:
        for day in ("2024-08-20", "2024-08-21"):
            response = client.get(f"/stats/area?date={day}")
            assert response.status_code == 200, response.text
    engine.dispose()
