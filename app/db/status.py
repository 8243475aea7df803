"""What the health check asks the database."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, text


def database_status(conn: Connection) -> dict[str, Any]:
    """PostGIS version and the schema revision; raises if the database cannot be reached."""
    postgis = conn.execute(text("SELECT postgis_lib_version()")).scalar_one()
    revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one_or_none()
    return {"postgis": postgis, "schema_revision": revision}
