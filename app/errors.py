"""Domain errors, and the one place that turns them into RFC 7807 problem+json responses."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, OperationalError

log = logging.getLogger("frontline")


class FrontlineError(Exception):
    """Base of every error Frontline raises on purpose."""

    status_code = 500
    title = "Internal error"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class InvalidParameter(FrontlineError):
    """A client sent a value we cannot use (names the parameter in ``extra['parameter']``)."""

    status_code = 400
    title = "Invalid parameter"


class NotFound(FrontlineError):
    """The requested thing does not exist."""

    status_code = 404
    title = "Not found"


class Conflict(FrontlineError):
    """The request conflicts with what is stored."""

    status_code = 409
    title = "Conflict"


class ImportRejected(FrontlineError):
    """A file cannot be imported; nothing of it was written."""

    status_code = 422
    title = "Import rejected"


class EmbeddedDatabaseError(FrontlineError):
    """The embedded PostgreSQL cluster could not be prepared or started."""

    status_code = 503
    title = "Database unavailable"


def problem(status: int, title: str, detail: str, **extra: Any) -> JSONResponse:
    """An application/problem+json response."""
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    return JSONResponse(body, status_code=status, media_type="application/problem+json")


def register_error_handlers(app: FastAPI) -> None:
    """Map domain errors, validation errors and database outages to problem+json."""

    @app.exception_handler(FrontlineError)
    async def _domain(request: Request, exc: FrontlineError) -> JSONResponse:
        if exc.status_code >= 500:
            log.error("%s %s: %s", request.method, request.url.path, exc.detail)
        return problem(exc.status_code, exc.title, exc.detail, **exc.extra)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"parameter": ".".join(str(p) for p in err["loc"][1:]) or str(err["loc"][0]),
             "in": str(err["loc"][0]), "message": err["msg"]}
            for err in exc.errors()
        ]
        detail = "; ".join(f"{e['parameter']}: {e['message']}" for e in errors)
        return problem(400, "Invalid parameter", detail, parameter=errors[0]["parameter"] if errors else None,
                       errors=errors)

    @app.exception_handler(OperationalError)
    async def _db_down(request: Request, exc: DBAPIError) -> JSONResponse:
        log.error("%s %s: database unavailable: %s", request.method, request.url.path, exc.orig)
        return problem(503, "Database unavailable", "The database cannot be reached; try again shortly.")
