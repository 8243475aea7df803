"""Cached, tagged responses: historical snapshots change only when a correction arrives.

A response's ETag is derived from the data version and the request (path and sorted query). Bodies are kept in
a bounded in-memory LRU (by bytes) that is emptied whenever the data version moves, i.e. on any write.

The version is kept in memory by a ``VersionWatcher`` that LISTENs for the notification every write sends
(migration 0003), so a cache hit needs no database round trip: ``CacheMiddleware`` answers it, or its 304,
before routing. While the watcher is not connected, every request reads the version from the database.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

import anyio
import psycopg
from cachetools import LRUCache
from fastapi import Depends, Request, Response
from fastapi.responses import StreamingResponse
from sqlalchemy import Connection, Engine
from starlette.types import ASGIApp, Receive, Scope, Send

from app.db.replicas import ReadRouter
from app.db.version import CHANNEL, data_version, read_position, wal_position
from app.errors import Busy
from app.security import SecurityHeaders

log = logging.getLogger("frontline")
CACHE_CONTROL = "public, no-cache"  # store, but revalidate: a correction may arrive at any time
CACHE_CONTROL_BYTES = CACHE_CONTROL.encode()
OVERHEAD = 200  # bytes counted per entry beyond its body
SLOT_POLL_S = 0.01  # how often a request waiting for a heavy slot looks again


@dataclass(frozen=True)
class Cached:
    """A built response body, its media type and (once cached) its ETag."""

    body: bytes
    media_type: str
    etag: str = ""
    headers: tuple[tuple[str, str], ...] = ()  # sent with every copy (e.g. Content-Crs)
    status: int = 200  # 204 for an empty tile


class ResponseCache:
    """A byte-bounded LRU of response bodies, valid for one data version at a time."""

    def __init__(self, max_bytes: int) -> None:
        self._entries: LRUCache[str, Cached] = LRUCache(maxsize=max(max_bytes, 1),
                                                        getsizeof=lambda e: len(e.body) + OVERHEAD)
        self._version: int | None = None
        self._lock = threading.Lock()
        self.max_bytes = max_bytes

    def get(self, version: int, key: str) -> Cached | None:
        """The body stored for ``key`` at ``version``, if any (a newer version empties the cache)."""
        with self._lock:
            if version != self._version:
                self._entries.clear()
                self._version = version
                return None
            return self._entries.get(key)

    def put(self, version: int, key: str, entry: Cached) -> None:
        """Store a body (skipped when larger than the whole cache, or built for another version)."""
        if len(entry.body) + OVERHEAD > self.max_bytes:
            return
        with self._lock:
            if version == self._version:
                self._entries[key] = entry

    @property
    def size(self) -> int:
        """Bytes held now."""
        return int(self._entries.currsize)


class VersionWatcher:
    """Keeps the data version in memory: LISTEN for writes, re-read the version on each notification."""

    def __init__(self, conninfo: str) -> None:
        self._conninfo = conninfo
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="frontline-version-watcher", daemon=True)
        self.version: int | None = None  # None while not listening: callers ask the database instead
        self.lsn: int | None = None  # the primary's WAL position when ``version`` was read (read replicas)
        self.connected = threading.Event()

    @classmethod
    def for_engine(cls, engine: Engine) -> VersionWatcher:
        """A watcher on the engine's database, with its own connection outside the pool."""
        url = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        return cls(url)

    def saw(self, version: int) -> None:
        """A write in this process made ``version``: serve it before its NOTIFY comes back (read-your-writes)."""
        if self.version is not None:
            self.version = max(self.version, version)

    def start(self) -> None:
        """Start listening in a background thread."""
        self._thread.start()

    def stop(self) -> None:
        """Stop listening and wait for the thread."""
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        backoff = 0.5
        while not self._stop.is_set():
            try:
                with psycopg.connect(self._conninfo, autocommit=True, connect_timeout=5) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    self.version, self.lsn = read_position(conn)
                    self.connected.set()
                    backoff = 0.5
                    while not self._stop.is_set():
                        # Drain first: the connection takes no query while notifies() is being iterated.
                        if list(conn.notifies(timeout=1.0, stop_after=1)):
                            self.version, self.lsn = read_position(conn)
            except psycopg.Error as exc:
                log.warning("version watcher disconnected (%s); caching falls back to asking the database", exc)
            self.version = None
            self.connected.clear()
            self._stop.wait(backoff)
            backoff = min(backoff * 2, 10.0)


NEGOTIATED: set[bytes] = set()  # media types a route chooses by the Accept header (app.formats registers them)


def request_key(scope: Scope) -> str:
    """Path and raw query parameters in sorted order (two spellings of one query only miss the cache), and the
    Accept header when it may choose the format (no `f`, and it names a media type some route negotiates)."""
    query = scope.get("query_string", b"")
    key = scope["path"] + "?" + "&".join(sorted(query.decode("latin-1").split("&"))) if query else scope["path"]
    if NEGOTIATED and not query.startswith(b"f=") and b"&f=" not in query:
        accept = next((value for name, value in scope["headers"] if name == b"accept"), b"").lower()
        if any(media in accept for media in NEGOTIATED):
            key += " accept=" + accept.replace(b" ", b"").decode("latin-1")
    return key


def etag_for(version: int, key: str) -> str:
    """The same ETag in every process for the same data version and request."""
    return '"' + hashlib.sha256(f"{version}|{key}".encode()).hexdigest()[:32] + '"'


def _if_none_match(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == b"if-none-match":
            return str(value.decode("latin-1"))
    return ""


def _matches(if_none_match: str, etag: str) -> bool:
    return bool(if_none_match) and etag in (tag.strip() for tag in if_none_match.split(","))


def streamed_response(request: Request, chunks: Callable[[Connection], Iterator[bytes]], media_type: str,
                      headers: tuple[tuple[str, str], ...] = ()) -> Response:
    """An answer too large to keep in memory: the same ETag and 304 as a cached one, its body sent as
    ``chunks`` makes it and never cached. The first chunk is made before the response starts, so an error in
    the query is still a proper error answer, not a broken body."""
    watcher: VersionWatcher | None = request.app.state.version_watcher
    version = watcher.version if watcher else None
    if version is None:
        with request.app.state.engine.connect() as primary:
            version = data_version(primary)
    etag = etag_for(version, request_key(request.scope))
    base = {"ETag": etag, "Cache-Control": CACHE_CONTROL}
    if _matches(_if_none_match(request.scope), etag):
        return Response(status_code=304, headers=base)
    stack = ExitStack()
    try:
        parts = chunks(stack.enter_context(request.app.state.connect()))
        first = next(parts)
    except BaseException:
        stack.close()
        raise

    def body() -> Iterator[bytes]:
        with stack:
            yield first
            yield from parts

    return StreamingResponse(body(), media_type=media_type, headers=base | dict(headers))


def cached_response(request: Request, build: Callable[[Connection], Cached]) -> Response:
    """Serve from the cache, or build, store and serve; 304 when the client's ETag is current.

    A database connection is taken only when needed: to read the data version while the watcher is not
    listening, and to build a missing body. Heavy routes take a slot first (``HEAVY``).
    """
    watcher: VersionWatcher | None = request.app.state.version_watcher
    with ExitStack() as stack:
        opened: list[Connection] = []

        def connection() -> Connection:
            if not opened:
                taken = getattr(request.state, "conn", None)  # a dependency's connection, if one was taken
                opened.append(taken or stack.enter_context(request.app.state.connect()))
            return opened[0]

        version = watcher.version if watcher else None
        if version is None and request.app.state.reads:  # a replica's sequence runs ahead of its data
            with request.app.state.engine.connect() as primary:
                version = data_version(primary)
        elif version is None:
            version = data_version(connection())
        key = request_key(request.scope)
        etag = etag_for(version, key)
        headers = {"ETag": etag, "Cache-Control": CACHE_CONTROL}
        if _matches(_if_none_match(request.scope), etag):
            return Response(status_code=304, headers=headers)
        cache: ResponseCache = request.app.state.cache
        entry = cache.get(version, key)
        if entry is None:
            entry = build(connection())
            cache.put(version, key, Cached(entry.body, entry.media_type, etag, entry.headers, entry.status))
    if entry.status == 204:
        return Response(status_code=204, headers=headers | dict(entry.headers))
    return Response(entry.body, media_type=entry.media_type, headers=headers | dict(entry.headers))


async def heavy_slot(request: Request) -> AsyncIterator[None]:
    """A slot to build a heavy answer (research answers, map pages), taken before anything else of the request.

    There are ``heavy_queries`` slots; past them a request waits at most ``heavy_wait_s``, then gets a 503 with
    Retry-After. The wait is a coroutine polling the slots, so a waiting request holds no worker thread and no
    database connection: a burst of uncached questions never starves the cheap requests. A request the cache
    can answer (when the middleware did not: read tokens) takes no slot.
    """
    settings = request.app.state.settings
    if _is_cached(request):
        yield
        return
    slots: threading.BoundedSemaphore = request.app.state.heavy
    deadline = time.monotonic() + settings.heavy_wait_s
    while not slots.acquire(blocking=False):
        if time.monotonic() >= deadline:
            raise Busy(f"every slot for heavy queries ({settings.heavy_queries}) stayed busy; try again shortly")
        await anyio.sleep(SLOT_POLL_S)
    try:
        yield
    finally:
        slots.release()


def _is_cached(request: Request) -> bool:
    watcher: VersionWatcher | None = request.app.state.version_watcher
    version = watcher.version if watcher else None
    return version is not None and request.app.state.cache.get(version, request_key(request.scope)) is not None


HEAVY = Depends(heavy_slot)


def wrote(app: Any, version: int) -> None:
    """After a write's commit: this process serves ``version`` or newer from now on, from a replica too (one
    that has replayed the primary's WAL up to now, past the write's commit)."""
    watcher: VersionWatcher | None = app.state.version_watcher
    if watcher:
        watcher.saw(version)
    reads: ReadRouter | None = getattr(app.state, "reads", None)
    if reads:
        with app.state.engine.connect() as primary:
            reads.wrote(wal_position(primary))


class CacheMiddleware:
    """Answer GET requests whose response is cached for the current version, before anything else runs.

    It is the outermost middleware, so a hit costs no more than it must; it adds the security headers itself,
    and leaves cross-origin requests (with an Origin header) to the CORS middleware.
    """

    def __init__(self, app: ASGIApp, cache: ResponseCache, watcher: VersionWatcher | None,
                 security: SecurityHeaders) -> None:
        self.app = app
        self.cache = cache
        self.watcher = watcher
        self.security = security

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve a hit; pass everything else on."""
        version = self.watcher.version if self.watcher else None
        if version is None or scope["type"] != "http" or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        entry = self.cache.get(version, request_key(scope))
        if entry is None or any(name == b"origin" for name, _ in scope["headers"]):
            await self.app(scope, receive, send)
            return
        media_type = entry.media_type.encode()
        headers = [(b"etag", entry.etag.encode()), (b"cache-control", CACHE_CONTROL_BYTES),
                   *self.security.for_response(media_type, scope["query_string"]),
                   *((name.lower().encode(), value.encode()) for name, value in entry.headers)]
        if _matches(_if_none_match(scope), entry.etag):
            await send({"type": "http.response.start", "status": 304, "headers": headers})
            await send({"type": "http.response.body", "body": b""})
            return
        if entry.status != 204:  # no content, no content headers
            headers += [(b"content-type", media_type), (b"content-length", str(len(entry.body)).encode())]
        await send({"type": "http.response.start", "status": entry.status, "headers": headers})
        await send({"type": "http.response.body", "body": entry.body})
