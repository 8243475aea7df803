"""The data version: advanced by every write to the stored data (migrations 0002 and 0003)."""

from __future__ import annotations

from datetime import UTC, datetime

import psycopg
from sqlalchemy import Connection, func, select, text, union_all

CHANNEL = "frontline_data_version"  # NOTIFY channel of every committed write
_QUERY = "SELECT last_value FROM data_version"


def data_version(conn: Connection) -> int:
    """The current data version; any write from any process moves it forward."""
    return int(conn.execute(text(_QUERY)).scalar_one())


def read_position(conn: psycopg.Connection) -> tuple[int, int]:
    """The data version and the primary's WAL position now (past every commit already notified)."""
    row = conn.execute(f"SELECT ({_QUERY}), pg_current_wal_insert_lsn()::text").fetchone()
    assert row is not None
    return int(row[0]), lsn_number(row[1])


def wal_position(conn: Connection) -> int:
    """The primary's current WAL insert position, as a number: past every commit record already made (the
    write position may lag it when commits are asynchronous)."""
    return lsn_number(conn.execute(text("SELECT pg_current_wal_insert_lsn()::text")).scalar_one())


def replayed_position(conn: Connection) -> int | None:
    """How far a standby has replayed the primary's WAL; None on a server that is not a standby."""
    found = conn.execute(text("SELECT pg_last_wal_replay_lsn()::text")).scalar_one()
    return lsn_number(found) if found else None


def lsn_number(lsn: str) -> int:
    """A PostgreSQL LSN ('16/B374D848') as a number, to compare."""
    high, _, low = lsn.partition("/")
    return (int(high, 16) << 32) + int(low, 16)


def latest_write(conn: Connection) -> datetime | None:
    """The transaction time of the latest change to any versioned table (a version recorded or superseded).

    ``known_at`` at this instant pins the data as it is now: a later correction is recorded after it, and the
    versions it supersedes were current then. None on an empty database."""
    from app.db.models import areas, events, figures, lines, places, regions  # the tables with history

    parts = [select(func.greatest(func.max(t.c.recorded_at), func.max(t.c.superseded_at)).label("t"))
             for t in (areas, places, lines, regions, events, figures)]
    every = union_all(*parts).subquery("writes")
    found: datetime | None = conn.execute(select(func.max(every.c.t))).scalar()
    return found


def latest_write_text(conn: Connection) -> str | None:
    """``latest_write`` as RFC 3339 text in UTC (``Z``), as `known_at` takes it."""
    moment = latest_write(conn)
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z") if moment else None
