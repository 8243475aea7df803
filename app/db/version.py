"""The data version: advanced by every write to the stored data (migrations 0002 and 0003)."""

from __future__ import annotations

import psycopg
from sqlalchemy import Connection, text

CHANNEL = "frontline_data_version"  # NOTIFY channel of every committed write
_QUERY = "SELECT last_value FROM data_version"


def data_version(conn: Connection) -> int:
    """The current data version; any write from any process moves it forward."""
    return int(conn.execute(text(_QUERY)).scalar_one())


def read_version(conn: psycopg.Connection) -> int:
    """The same, on a plain psycopg connection (the version watcher's)."""
    row = conn.execute(_QUERY).fetchone()
    assert row is not None
    return int(row[0])
