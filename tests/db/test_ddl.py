"""The per-table setup a migration applies to a new history table makes it append-only and versioned."""

from __future__ import annotations

import pytest
from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

from app.db.ddl import history_table_setup, history_table_teardown
from app.db.version import data_version


@pytest.fixture
def new_history_table(conn: Connection) -> str:
    """A history table as a migration would add it (inside the test's rolled-back transaction)."""
    conn.execute(text("CREATE TABLE sightings (id bigint PRIMARY KEY, key text NOT NULL, "
                      "recorded_at timestamptz NOT NULL DEFAULT now(), superseded_at timestamptz)"))
    for statement in history_table_setup("sightings"):
        conn.execute(text(statement))
    return "sightings"


def test_a_new_history_table_refuses_delete_and_edits(conn: Connection, new_history_table: str) -> None:
    conn.execute(text("INSERT INTO sightings (id, key) VALUES (1, 'a')"))
    with pytest.raises(DBAPIError, match="append-only"), conn.begin_nested():
        conn.execute(text("DELETE FROM sightings WHERE id = 1"))
    with pytest.raises(DBAPIError, match="append-only"), conn.begin_nested():
        conn.execute(text("UPDATE sightings SET key = 'b' WHERE id = 1"))
    conn.execute(text("UPDATE sightings SET superseded_at = now() WHERE id = 1"))  # closing a version is allowed
    with pytest.raises(DBAPIError, match="only be closed, once"), conn.begin_nested():
        conn.execute(text("UPDATE sightings SET superseded_at = now() WHERE id = 1"))


def test_a_write_to_a_new_history_table_advances_the_data_version(conn: Connection, new_history_table: str) -> None:
    before = data_version(conn)
    conn.execute(text("INSERT INTO sightings (id, key) VALUES (2, 'b')"))
    assert data_version(conn) > before


def test_teardown_removes_both_triggers(conn: Connection, new_history_table: str) -> None:
    for statement in history_table_teardown("sightings"):
        conn.execute(text(statement))
    conn.execute(text("INSERT INTO sightings (id, key) VALUES (3, 'c')"))
    conn.execute(text("DELETE FROM sightings WHERE id = 3"))  # no longer guarded
    remaining = conn.execute(text("SELECT count(*) FROM pg_trigger WHERE tgrelid = 'sightings'::regclass "
                                  "AND NOT tgisinternal")).scalar_one()
    assert remaining == 0
