"""The application factory: settings in, FastAPI app out."""

from __future__ import annotations

import sys
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from sqlalchemy import Engine

from app import __version__
from app.auth import requires
from app.cache import CacheMiddleware, ResponseCache, VersionWatcher
from app.db.engine import make_engine
from app.db.replicas import ReadRouter
from app.db.status import HealthProbe
from app.errors import register_error_handlers
from app.routes import animations, catalog, cite, docs, figures, health, maps, ogc, places, research, tiles, writes
from app.security import BodyLimitMiddleware, NulCharacterMiddleware, SecurityHeaders, SecurityHeadersMiddleware
from app.settings import Settings

# Heavy answers are built in worker threads; a GIL switch interval shorter than Python's 5 ms keeps the event
# loop, which answers cache hits, from waiting long behind them.
SWITCH_INTERVAL_S = 0.001


def create_app(settings: Settings | None = None, engine: Engine | None = None) -> FastAPI:
    """Build the Frontline API; ``engine`` may be given (tests), otherwise one is made from ``settings``."""
    settings = settings or Settings()
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    engine = engine or make_engine(settings, settings.statement_timeout_s or None)
    cache = ResponseCache(settings.cache_mb * 1024 * 1024)
    watcher = VersionWatcher.for_engine(engine) if settings.watch_writes else None
    reads = _read_router(settings, engine, watcher)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if watcher:
            watcher.start()
        yield
        if watcher:
            watcher.stop()
        if reads:
            reads.dispose()
        await app.state.health.close()
        engine.dispose()

    app = FastAPI(title="Frontline", version=__version__, lifespan=lifespan,
                  description="Who holds which territory on which date, per source, side, status and day.",
                  docs_url=None, redoc_url=None)  # the docs: app.routes.docs, with local assets
    app.state.settings = settings
    app.state.engine = engine
    # Requests only read: autocommit spares each one a BEGIN and a ROLLBACK round trip; with replicas, reads
    # go to them (app/db/replicas.py). Tests swap in their own rolled-back transaction.
    app.state.connect = reads.connect if reads else engine.execution_options(isolation_level="AUTOCOMMIT").connect
    app.state.reads = reads
    app.state.health = HealthProbe.for_engine(engine)
    app.state.begin = engine.begin  # writes: one transaction each
    app.state.cache = cache
    app.state.heavy = threading.BoundedSemaphore(settings.heavy_queries)  # uncached research answers at once
    app.state.version_watcher = watcher
    # Reads are open to every origin; writes from a browser only from the configured ones.
    app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins or ["*"],
                       allow_methods=["GET", "HEAD", "OPTIONS"] + (["POST", "PUT", "DELETE"] if settings.cors_origins
                                                                   else []),
                       allow_headers=["Authorization", "Content-Type", "If-Match", "If-None-Match"],
                       expose_headers=["ETag", "Location", "Frontline-Days", "Frontline-Frames"])
    app.add_middleware(NulCharacterMiddleware)  # inside the security headers: its 400s get them too
    security = SecurityHeaders(settings.tile_url)
    app.add_middleware(SecurityHeadersMiddleware, headers=security)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    if not settings.require_read_token:  # a hit would skip the token check: with read tokens, routes cache
        app.add_middleware(CacheMiddleware, cache=cache, watcher=watcher, security=security)  # outermost
    register_error_handlers(app)
    # Every data route needs a read token when so configured; liveness and the docs page stay open.
    guard = [requires("read")] if settings.require_read_token else []
    app.include_router(health.router)
    for router in (ogc.router, tiles.router, catalog.router, cite.router, research.router, places.router,
                   figures.router, maps.router, animations.router, writes.router):
        app.include_router(router, dependencies=guard)
    app.include_router(docs.router)
    docs.mount_assets(app)
    maps.mount_assets(app)
    return app


def _read_router(settings: Settings, engine: Engine, watcher: VersionWatcher | None) -> ReadRouter | None:
    """Reads over the replicas of ``DATABASE_READ_URL`` (comma-separated), if any."""
    urls = [u.strip() for u in (settings.database_read_url or "").split(",") if u.strip()]
    if not urls:
        return None
    return ReadRouter.from_urls(
        engine, urls, lambda url: make_engine(settings, settings.statement_timeout_s or None, url=url),
        known_lsn=lambda: watcher.lsn if watcher and watcher.version is not None else None,
        lag_wait_s=settings.replica_lag_wait_s, retry_s=settings.replica_retry_s)
