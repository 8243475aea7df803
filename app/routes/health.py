"""Liveness with a real database round trip."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="Service and database health")
async def healthz(request: Request) -> dict[str, Any]:
    """200 with the PostGIS version when the database (DATABASE_URL) answers, with each read replica's state;
    503 problem+json when it does not."""
    reads = request.app.state.reads
    return {"status": "ok", "database": "ok", **await request.app.state.health.status(),
            **({"replicas": reads.status(), "primary_reads": reads.reads["primary"]} if reads else {})}
