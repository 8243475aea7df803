"""The interactive API documentation and the OpenAPI document are served by the app itself."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from app.main import create_app
from app.settings import Settings


def test_openapi_and_docs_are_served(settings: Settings, engine: Engine) -> None:
    with TestClient(create_app(settings, engine)) as client:
        assert client.get("/docs").status_code == 200
        assert "/healthz" in client.get("/openapi.json").json()["paths"]
