"""The health endpoint makes a real database round trip and fails cleanly when the database is gone."""

from __future__ import annotations

from alembic.script import ScriptDirectory
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from app.main import create_app
from app.services.migrate import alembic_config
from app.settings import Settings
from tests.helpers import new_temp_dir, problem


def test_healthz_reports_postgis_and_schema(settings: Settings, engine: Engine) -> None:
    with TestClient(create_app(settings, engine)) as client:
        response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    head = ScriptDirectory.from_config(alembic_config(settings)).get_current_head()
    assert body["status"] == "ok" and body["schema_revision"] == head
    assert body["postgis"].startswith("3.")


def test_healthz_is_a_clean_503_when_the_database_is_unreachable() -> None:
    nowhere = new_temp_dir("frontline-nodb-")
    settings = Settings(database_url=f"postgresql+psycopg://frontline@/frontline?host={nowhere}")
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        response = client.get("/healthz")
    assert problem(response, 503)["title"] == "Database unavailable"
    assert "socket" not in response.text  # no driver internals leak to clients
