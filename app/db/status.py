"""What the health check asks the database."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, text


def database_status(conn: Connection) -> dict[str, Any]:
    """PostGIS version and the schema revision; raises if the database cannot be reached."""
    # One round trip: under load it is the health check's whole cost.
    postgis, revision = conn.execute(text(
        "SELECT postgis_lib_version(), (SELECT version_num FROM alembic_version LIMIT 1)")).one()
    return {"postgis": postgis, "schema_revision": revision}
