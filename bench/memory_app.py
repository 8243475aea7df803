"""A bare ASGI app that returns one file's bytes: the ceiling for serving a cached response."""

import os
from pathlib import Path

BODY = Path(os.environ["MEMORY_BODY"]).read_bytes()
HEADERS = [(b"content-type", b"application/geo+json"), (b"content-length", str(len(BODY)).encode())]


async def app(scope, receive, send):  # type: ignore[no-untyped-def]
    """Answer every HTTP request with the same bytes."""
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": BODY})
