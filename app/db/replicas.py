"""Reads from PostgreSQL streaming replicas (``DATABASE_READ_URL``), never older than what was served before.

Writes, LISTEN/NOTIFY and migrations stay on the primary (``DATABASE_URL``). A read takes the next replica in
turn and first checks that it has replayed the primary's WAL as far as this process knows of: the position
the version watcher read with the current data version, or the position after this process's last write. So a
client that has just written reads its write, and the response cache never stores an older answer under a
newer version. (The data version itself cannot be compared on a replica: a sequence's value there runs ahead
of the data.) A replica that lags more than
``replica_lag_wait_s`` is passed over for that request. A replica that cannot be reached is left out for
``replica_retry_s``; the read goes to the next one, else to the primary, and the outage is logged.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from app.db.version import replayed_position

log = logging.getLogger("frontline.replicas")
LAG_POLL_S = 0.02


@dataclass
class Replica:
    """One read target: its engine, a name for logs (no password), until when it is left out."""

    engine: Engine
    name: str
    down_until: float = 0.0


@dataclass
class ReadRouter:
    """Hands out read connections: a replica that is up and has caught up, else the primary."""

    primary: Engine
    replicas: list[Replica]
    known_lsn: Callable[[], int | None]  # the primary's WAL position with the newest data version seen
    lag_wait_s: float = 2.0
    retry_s: float = 5.0
    reads: Counter[str] = field(default_factory=Counter)  # per target name: for /healthz and the tests
    _written: int = 0  # the primary's WAL position after this process's last write
    _turn: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def from_urls(cls, primary: Engine, urls: list[str], make: Callable[[str], Engine], **options: Any
                  ) -> ReadRouter:
        """A router over an engine per replica URL."""
        return cls(primary, [Replica(make(url), _name(url)) for url in urls], **options)

    def connect(self) -> Connection:
        """An autocommit read connection: from a replica when one can serve, else from the primary."""
        for replica in self._in_turn():
            connection = self._try(replica)
            if connection is not None:
                self.reads[replica.name] += 1
                return connection
        self.reads["primary"] += 1
        return _autocommit(self.primary).connect()

    def wrote(self, lsn: int) -> None:
        """A write in this process committed before WAL position ``lsn``: later reads wait for a replica to
        replay that far."""
        self._written = max(self._written, lsn)

    def status(self) -> list[dict[str, Any]]:
        """Each replica: whether it is in use, and how many reads it served."""
        now = time.monotonic()
        return [{"replica": r.name, "up": r.down_until <= now, "reads": self.reads[r.name]} for r in self.replicas]

    def dispose(self) -> None:
        """Close every replica's pool."""
        for replica in self.replicas:
            replica.engine.dispose()

    # -- internals -------------------------------------------------------------------------------------

    def _in_turn(self) -> list[Replica]:
        now = time.monotonic()
        with self._lock:
            self._turn += 1
            start = self._turn
        count = len(self.replicas)
        ordered = [self.replicas[(start + n) % count] for n in range(count)]
        return [r for r in ordered if r.down_until <= now]

    def _try(self, replica: Replica) -> Connection | None:
        try:
            connection = _autocommit(replica.engine).connect()
        except DBAPIError as exc:
            self._down(replica, exc)
            return None
        try:
            if self._caught_up(connection):
                return connection
            log.info("replica %s has not replayed what this process served within %.1f s: reading from the "
                     "primary", replica.name, self.lag_wait_s)
        except DBAPIError as exc:
            self._down(replica, exc)
        connection.close()
        return None

    def _caught_up(self, connection: Connection) -> bool:
        # Asked even when no version is wanted yet: the round trip also finds a dead pooled connection.
        wanted = max(self.known_lsn() or 0, self._written)
        deadline = time.monotonic() + self.lag_wait_s
        while (replayed := replayed_position(connection)) is not None and replayed < wanted:
            if time.monotonic() >= deadline:
                return False
            time.sleep(LAG_POLL_S)
        return True

    def _down(self, replica: Replica, exc: Exception) -> None:
        replica.down_until = time.monotonic() + self.retry_s
        replica.engine.dispose()  # its pooled connections are dead too
        log.warning("replica %s is unreachable (%s): reads go elsewhere for %.0f s", replica.name,
                    str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__, self.retry_s)


def _autocommit(engine: Engine) -> Engine:
    # Requests only read: autocommit spares each one a BEGIN and a ROLLBACK round trip.
    return engine.execution_options(isolation_level="AUTOCOMMIT")


def _name(url: str) -> str:
    parsed = make_url(url)
    host = parsed.host or parsed.query.get("host") or "localhost"
    return f"{host}:{parsed.port or 5432}/{parsed.database}"
