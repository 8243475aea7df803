"""Cached, tagged responses: historical snapshots change only when a correction arrives.

A response's ETag is derived from the data version and the request (path and sorted query), so it is the same
in every process; `If-None-Match` is answered with 304 before anything is built. Bodies are kept in a bounded
in-memory LRU (by bytes) that is emptied whenever the data version moves, i.e. on any write.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from dataclasses import dataclass

from cachetools import LRUCache
from fastapi import Request, Response
from sqlalchemy import Connection

from app.db.version import data_version

CACHE_CONTROL = "public, no-cache"  # store, but revalidate: a correction may arrive at any time


@dataclass(frozen=True)
class Cached:
    """A built response body and its media type."""

    body: bytes
    media_type: str


class ResponseCache:
    """A byte-bounded LRU of response bodies, valid for one data version at a time."""

    def __init__(self, max_bytes: int) -> None:
        self._entries: LRUCache[str, Cached] = LRUCache(maxsize=max_bytes, getsizeof=lambda e: len(e.body) + 200)
        self._version: int | None = None
        self._lock = threading.Lock()
        self.max_bytes = max_bytes

    def get(self, version: int, key: str) -> Cached | None:
        """The body stored for ``key`` at ``version``, if any."""
        with self._lock:
            if version != self._version:
                self._entries.clear()
                self._version = version
                return None
            return self._entries.get(key)

    def put(self, version: int, key: str, entry: Cached) -> None:
        """Store a body (skipped when larger than the whole cache, or built for an older version)."""
        if len(entry.body) + 200 > self.max_bytes:
            return
        with self._lock:
            if version == self._version:
                self._entries[key] = entry

    @property
    def size(self) -> int:
        """Bytes held now."""
        return int(self._entries.currsize)


def request_key(request: Request) -> str:
    """Path and query parameters in a canonical order."""
    return request.url.path + "?" + "&".join(f"{k}={v}" for k, v in sorted(request.query_params.multi_items()))


def cached_response(request: Request, conn: Connection, build: Callable[[], Cached]) -> Response:
    """Serve from the cache, or build, store and serve; 304 when the client's ETag is current."""
    version = data_version(conn)
    key = request_key(request)
    etag = '"' + hashlib.sha256(f"{version}|{key}".encode()).hexdigest()[:32] + '"'
    headers = {"ETag": etag, "Cache-Control": CACHE_CONTROL}
    if etag in [t.strip() for t in request.headers.get("if-none-match", "").split(",")]:
        return Response(status_code=304, headers=headers)
    cache: ResponseCache = request.app.state.cache
    entry = cache.get(version, key)
    if entry is None:
        entry = build()
        cache.put(version, key, entry)
    return Response(entry.body, media_type=entry.media_type, headers=headers)
