"""Dependencies shared by the routers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import Connection


def get_conn(request: Request) -> Iterator[Connection]:
    """A pooled connection for the duration of one request (``app.state.connect``: the engine's, or a test's)."""
    with request.app.state.connect() as conn:
        request.state.conn = conn  # the response builder reuses it: one connection per request, never two
        yield conn


ConnDep = Annotated[Connection, Depends(get_conn)]
