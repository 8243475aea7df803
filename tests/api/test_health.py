"""The health endpoint makes a real database round trip and fails cleanly when the database is gone."""

from __future__ import annotations

from alembic.script import ScriptDirectory
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from app.main import create_app
from app.services.migrate import alembic_config
from app.settings import Settings
from tests.conftest import new_temp_dir


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
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["title"] == "Database unavailable"
    assert "socket" not in response.text  # no driver internals leak to clients


def test_openapi_and_docs_are_served(settings: Settings, engine: Engine) -> None:
    with TestClient(create_app(settings, engine)) as client:
        assert client.get("/docs").status_code == 200
        assert "/healthz" in client.get("/openapi.json").json()["paths"]


def test_production_mode_refuses_the_default_secret(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import pytest
    from pydantic import ValidationError

    monkeypatch.setenv("FRONTLINE_PRODUCTION", "true")
    monkeypatch.delenv("FRONTLINE_SECRET_KEY", raising=False)
    with pytest.raises(ValidationError, match="FRONTLINE_SECRET_KEY is the development default"):
        Settings()
    monkeypatch.setenv("FRONTLINE_SECRET_KEY", "a-real-secret-of-sufficient-length")
    assert Settings().production


def test_cli_serve_refuses_to_start_in_production_with_the_default_secret(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = {**os.environ, "FRONTLINE_PRODUCTION": "true", "FRONTLINE_DATA_DIR": str(tmp_path)}
    env.pop("FRONTLINE_SECRET_KEY", None)
    frontline = str(Path(sys.executable).parent / "frontline")
    result = subprocess.run([frontline, "serve"], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "FRONTLINE_SECRET_KEY is the development default" in result.stderr
