"""The data version: advanced by every write to the stored data (see migration 0002)."""

from __future__ import annotations

from sqlalchemy import Connection, text


def data_version(conn: Connection) -> int:
    """The current data version; any write, committed or not, from any process, moves it forward."""
    return int(conn.execute(text("SELECT last_value FROM data_version")).scalar_one())
