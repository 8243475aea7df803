"""Liveness with a real database round trip."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from app.db.status import database_status
from app.deps import ConnDep

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="Service and database health")
def healthz(conn: ConnDep) -> dict[str, Any]:
    """200 with the PostGIS version when the database answers; 503 problem+json when it does not."""
    return {"status": "ok", "database": "ok", **database_status(conn)}
