"""API tokens: made once, stored as an HMAC under the secret key, checked per request by scope.

Reads are public unless ``require_read_token`` is set; every write needs a write token. A missing, unknown or
revoked token is 401; a token whose scope is too small is 403.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import Connection

from app.db import tokens
from app.db.models import SCOPES
from app.errors import Forbidden, InvalidParameter, Unauthorized

PREFIX = "fl_"


@dataclass(frozen=True)
class Caller:
    """Who is asking: the token's name and scope (``anonymous`` for public reads)."""

    name: str
    scope: str


def token_hash(secret_key: str, token: str) -> str:
    """The keyed hash a token is stored and looked up under."""
    return hmac.new(secret_key.encode(), token.encode(), hashlib.sha256).hexdigest()


def create_token(conn: Connection, secret_key: str, name: str, scope: str) -> str:
    """Make a token, store its hash, and return it: the only time it is shown."""
    if scope not in SCOPES:
        raise InvalidParameter(f"scope must be one of {', '.join(SCOPES)}", parameter="scope")
    if not name.strip():
        raise InvalidParameter("a token needs a name", parameter="name")
    if tokens.token_exists(conn, name):
        raise InvalidParameter(f"a token named '{name}' exists already (names stay taken after revoking)",
                               parameter="name")
    token = PREFIX + secrets.token_urlsafe(32)
    tokens.add_token(conn, name, scope, token_hash(secret_key, token))
    return token


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def authenticate(request: Request, needed: str) -> Caller:
    """The caller, if their token carries the ``needed`` scope; 401 or 403 otherwise."""
    token = _bearer(request)
    if token is None:
        if needed == "read" and not request.app.state.settings.require_read_token:
            return Caller("anonymous", "read")
        raise Unauthorized(f"this needs a token with scope '{needed}': send Authorization: Bearer <token>")
    # Reads may check on a replica; writes on the primary, so a token made or revoked a moment ago counts.
    with (request.app.state.connect() if needed == "read" else request.app.state.begin()) as conn:
        found = tokens.token_by_hash(conn, token_hash(request.app.state.settings.secret_key, token))
    if found is None or found["revoked_at"] is not None:
        raise Unauthorized("the token is unknown or revoked")
    if SCOPES.index(found["scope"]) < SCOPES.index(needed):
        raise Forbidden(f"token '{found['name']}' has scope '{found['scope']}'; this needs '{needed}'")
    return Caller(found["name"], found["scope"])


def requires(scope: str) -> Any:
    """A dependency that admits callers whose token has ``scope`` (or more)."""

    def dependency(request: Request) -> Caller:
        return authenticate(request, scope)

    return Depends(dependency)


WriterDep = Annotated[Caller, requires("write")]
AdminDep = Annotated[Caller, requires("admin")]
ReaderDep = Annotated[Caller, requires("read")]
