"""Security headers (every response nosniff; HTML pages a Content Security Policy) and the body size limit.

The policy allows only this host (and the configured tile server's origin for map images), so a page can
neither load nor send anything elsewhere.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import problem

EMBED = re.compile(rb"(^|&)embed=(1|true|yes|on)(&|$)", re.IGNORECASE)  # the values FastAPI reads as true


def content_security_policy(tile_url: str | None, ancestors: str = "'self'") -> str:
    """The policy of our HTML pages; ``ancestors`` may frame them."""
    images = "'self' data:"
    if tile_url:
        parts = urlsplit(tile_url.replace("{s}", "a"))
        images += f" {parts.scheme}://{parts.netloc.split('{')[0]}" if parts.netloc else ""
    return ("default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
            f"img-src {images}; connect-src 'self'; frame-ancestors {ancestors}; base-uri 'self'; form-action 'self'")


class SecurityHeaders:
    """The headers a response gets: nosniff always; for our HTML pages also the policy and its companions."""

    def __init__(self, tile_url: str | None = None) -> None:
        self.html = [(b"content-security-policy", content_security_policy(tile_url).encode()),
                     (b"referrer-policy", b"no-referrer"), (b"x-frame-options", b"SAMEORIGIN")]
        # A page asked with embed=1 is made for other sites' iframes: any site may frame it. It only shows data.
        self.embedded = [(b"content-security-policy", content_security_policy(tile_url, "*").encode()),
                         (b"referrer-policy", b"no-referrer")]

    def for_response(self, content_type: bytes, query: bytes = b"") -> list[tuple[bytes, bytes]]:
        """Headers to add to a response of this content type, to a request with this query string."""
        headers = [(b"x-content-type-options", b"nosniff")]
        if content_type.startswith(b"text/html"):
            headers += self.embedded if EMBED.search(query) else self.html
        return headers


class SecurityHeadersMiddleware:
    """Add the headers as each response starts (cache hits get the same ones from the cache middleware)."""

    def __init__(self, app: ASGIApp, headers: SecurityHeaders) -> None:
        self.app = app
        self.headers = headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on; decorate the response start."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                content_type = next((v for k, v in headers if k == b"content-type"), b"")
                message["headers"] = headers + self.headers.for_response(content_type, scope["query_string"])
            await send(message)

        await self.app(scope, receive, send_with_headers)


class BodyLimitMiddleware:
    """Refuse request bodies over ``max_bytes`` with a 413 problem, whether announced or streamed.

    A body without Content-Length (chunked) is read here first, up to the limit, and handed on as one piece.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check Content-Length up front, or read a streamed body before the app does."""
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        length = next((v for k, v in scope["headers"] if k == b"content-length"), None)
        if length is not None:
            if length.isascii() and length.isdigit() and int(length) > self.max_bytes:
                await problem(413, "Content too large", self._detail(int(length)))(scope, receive, send)
                return
            await self.app(scope, receive, send)
            return
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            more = message.get("more_body", False)
            if size > self.max_bytes:
                await problem(413, "Content too large", self._detail(size))(scope, receive, send)
                return
        body = b"".join(chunks)
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if delivered:
                return await receive()
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    def _detail(self, size: int) -> str:
        return f"the request body is {size:,} bytes or more; the limit is {self.max_bytes:,} (FRONTLINE_MAX_BODY_BYTES)"


class NulCharacterMiddleware:
    """A 400 for a NUL character in the path or a query value: PostgreSQL text cannot hold one, and no name,
    key or filter of ours contains one (it would otherwise reach the database as an error, a 500)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Refuse the request, naming the parameter, or pass it on."""
        if scope["type"] == "http":
            where = _nul_in(scope)
            if where is not None:
                detail = f"{where}: contains a NUL character (%00), which no name, key or value here can hold"
                await problem(400, "Invalid parameter", detail, parameter=where)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _nul_in(scope: Scope) -> str | None:
    """The parameter (or "path") that holds a NUL character, if any."""
    if "\x00" in scope["path"]:
        return "path"
    for name, value in parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True):
        if "\x00" in name or "\x00" in value:
            return name.replace("\x00", "") or "query"
    return None
