"""Engine and sessions: one engine per process, made from the settings."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, create_engine
from sqlalchemy.orm import Session, sessionmaker

from app.embedded import EmbeddedCluster
from app.settings import Settings


def database_url(settings: Settings) -> str:
    """DATABASE_URL when given (normalised to the psycopg 3 driver), else the embedded cluster's socket URL."""
    if settings.database_url is None:
        return EmbeddedCluster(settings.data_dir, settings.db_os_user).url
    url = settings.database_url
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def make_engine(settings: Settings) -> Engine:
    """A pooled engine. No pre-ping round trip per request: after a database restart the first request on a
    dead connection fails cleanly (503), SQLAlchemy then discards the whole pool, and later requests reconnect."""
    return create_engine(database_url(settings), pool_size=5, max_overflow=10, pool_recycle=3600)


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded objects usable after commit."""
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session for the CLI: closed afterwards; the caller commits."""
    with factory() as session:
        yield session
