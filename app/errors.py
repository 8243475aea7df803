"""Domain errors, and the one place that turns them into RFC 7807 problem+json responses."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as SQLAlchemyTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException

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


class Unauthorized(FrontlineError):
    """No token, or an unknown or revoked one."""

    status_code = 401
    title = "Unauthorized"


class Forbidden(FrontlineError):
    """A token whose scope does not allow this."""

    status_code = 403
    title = "Forbidden"


class PreconditionFailed(FrontlineError):
    """If-Match names a version that is no longer current."""

    status_code = 412
    title = "Precondition failed"


class PreconditionRequired(FrontlineError):
    """A correction without If-Match."""

    status_code = 428
    title = "Precondition required"


class TooLarge(FrontlineError):
    """A body or geometry over the configured limits."""

    status_code = 413
    title = "Content too large"


class Unprocessable(FrontlineError):
    """A well-formed body whose content cannot be stored (names the field)."""

    status_code = 422
    title = "Unprocessable content"


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


class Busy(FrontlineError):
    """Every slot for heavy queries stayed taken for longer than the wait allowed: try again shortly."""

    status_code = 503
    title = "Busy"
    retry_after = 2


class DatabaseUnavailable(FrontlineError):
    """The database did not answer the health check's round trip."""

    status_code = 503
    title = "Database unavailable"
    retry_after = 5


class EmbeddedDatabaseError(FrontlineError):
    """The embedded PostgreSQL cluster could not be prepared or started."""

    status_code = 503
    title = "Database unavailable"


def problem(status: int, title: str, detail: str, headers: dict[str, str] | None = None, **extra: Any
            ) -> JSONResponse:
    """An application/problem+json response."""
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    return JSONResponse(body, status_code=status, media_type="application/problem+json", headers=headers)


def register_error_handlers(app: FastAPI) -> None:
    """Map domain errors, validation errors, unknown routes and database outages to problem+json."""

    @app.exception_handler(FrontlineError)
    async def _domain(request: Request, exc: FrontlineError) -> JSONResponse:
        if exc.status_code >= 500:
            log.error("%s %s: %s", request.method, request.url.path, exc.detail)
        headers = {"WWW-Authenticate": 'Bearer realm="frontline"'} if exc.status_code == 401 else None
        if retry_after := getattr(exc, "retry_after", None):
            headers = {"Retry-After": str(retry_after)}
        return problem(exc.status_code, exc.title, exc.detail, headers, **exc.extra)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"parameter": ".".join(str(p) for p in err["loc"][1:]) or str(err["loc"][0]),
             "in": str(err["loc"][0]), "message": err["msg"]}
            for err in exc.errors()
        ]
        detail = "; ".join(f"{e['parameter']}: {e['message']}" for e in errors)
        if errors and errors[0]["in"] == "body":  # a request body that does not fit its schema
            return problem(422, "Unprocessable content", detail, field=errors[0]["parameter"], errors=errors)
        return problem(400, "Invalid parameter", detail, parameter=errors[0]["parameter"] if errors else None,
                       errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = str(exc.detail)
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"no route {request.url.path} (see /api)"
        return problem(exc.status_code, HTTPStatus(exc.status_code).phrase, detail, dict(exc.headers or {}) or None)

    @app.exception_handler(OperationalError)
    async def _db_down(request: Request, exc: DBAPIError) -> JSONResponse:
        if isinstance(exc.orig, psycopg.errors.QueryCanceled):  # the statement timeout: the request, not the db
            log.error("%s %s: stopped by the statement timeout", request.method, request.url)
            return problem(503, "Query too long", f"answering {request.url.path} took longer than the statement "
                           "timeout allows (FRONTLINE_STATEMENT_TIMEOUT_S); it was stopped: narrow the request or "
                           "try again later", {"Retry-After": "30"}, path=request.url.path)
        log.error("%s %s: database unavailable: %s", request.method, request.url.path, exc.orig)
        return problem(503, "Database unavailable", "The database cannot be reached; try again shortly.",
                       {"Retry-After": "5"})

    @app.exception_handler(SQLAlchemyTimeoutError)
    async def _pool_exhausted(request: Request, exc: SQLAlchemyTimeoutError) -> JSONResponse:
        log.error("%s %s: no database connection free: %s", request.method, request.url.path, exc)
        return problem(503, "Busy", "The service is busy; try again shortly.", {"Retry-After": "2"})

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("%s %s: unexpected error", request.method, request.url.path)
        return problem(500, "Internal error", "An unexpected error occurred; it has been logged.")
