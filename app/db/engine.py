"""The engine: one per process, made from the settings."""

from __future__ import annotations

import psycopg
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import ExceptionContext

from app.embedded import EmbeddedCluster
from app.settings import Settings


def database_url(settings: Settings) -> str:
    """DATABASE_URL when given (normalised to the psycopg 3 driver), else the embedded cluster's socket URL."""
    if settings.database_url is None:
        return EmbeddedCluster(settings.data_dir, settings.db_os_user).url
    return psycopg_url(settings.database_url)


def psycopg_url(url: str) -> str:
    """A PostgreSQL URL with the psycopg 3 driver named, as SQLAlchemy needs it."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def make_engine(settings: Settings, statement_timeout_s: float | None = None, url: str | None = None) -> Engine:
    """A pooled engine. No pre-ping round trip per request: after a database restart the first request on a
    dead connection fails cleanly (503), the whole pool is discarded, and later requests reconnect.

    ``statement_timeout_s`` (the API's) makes PostgreSQL stop any statement that runs longer. ``url`` (a read
    replica's) replaces the settings' database.

    JIT compilation is off: the planner's cost estimates for spatial functions are high enough to trigger it,
    and compiling took 0.7 s for a query that runs in 50 ms (the depth scan).
    """
    options = ["-c jit=off"]
    if statement_timeout_s:
        options.append(f"-c statement_timeout={int(statement_timeout_s * 1000)}")
    engine = create_engine(psycopg_url(url) if url else database_url(settings), pool_size=10, max_overflow=10,
                           pool_recycle=3600, connect_args={"options": " ".join(options)})
    event.listen(engine, "handle_error", _connection_errors_invalidate_the_pool)
    return engine


def _connection_errors_invalidate_the_pool(context: ExceptionContext) -> None:
    # psycopg reports a lost server in several ways ("server closed the connection", "connection is bad",
    # "terminating connection due to administrator command"); not all are recognised as disconnects, and a
    # pool that keeps such connections fails every request after the database is back.
    error = context.original_exception
    if isinstance(error, psycopg.OperationalError) and not isinstance(error, psycopg.errors.QueryCanceled):
        context.is_disconnect = True
