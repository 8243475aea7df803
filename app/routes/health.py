"""Liveness with a real database round trip."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from app.db.status import database_status
from app.deps import ConnDep

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="Service and database health")
def healthz(request: Request, conn: ConnDep) -> dict[str, Any]:
    """200 with the PostGIS version when the database answers (a replica, with read replicas), with each
    replica's state; 503 problem+json when none answers."""
    reads = request.app.state.reads
    return {"status": "ok", "database": "ok", **database_status(conn),
            **({"replicas": reads.status(), "primary_reads": reads.reads["primary"]} if reads else {})}
