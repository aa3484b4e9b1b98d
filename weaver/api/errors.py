"""The API's one error shape (roadmap A.2's ErrorResponse) and the handlers that produce it.

Every error answer is an :class:`ErrorResponse` carrying the request's correlation id. A
domain error says what went wrong and names the field or the value; an unexpected exception
answers 500 ``INTERNAL_ERROR`` with no traceback and nothing of the server's internals (the
log line with the same correlation id has them: :class:`weaver.api.middleware.CatchAll`); a
store that cannot be reached answers 503.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from enum import StrEnum
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

__all__ = ["ApiError", "ErrorCode", "ErrorResponse", "error_response", "install_error_handlers"]

log = logging.getLogger("weaver.api")


class ErrorCode(StrEnum):
    """What kind of error an :class:`ErrorResponse` reports."""

    VALIDATION_ERROR = "VALIDATION_ERROR"
    NOT_FOUND = "NOT_FOUND"
    CONFLICT = "CONFLICT"
    BAD_REQUEST = "BAD_REQUEST"
    UNAUTHORIZED = "UNAUTHORIZED"
    FORBIDDEN = "FORBIDDEN"
    PAYLOAD_TOO_LARGE = "PAYLOAD_TOO_LARGE"
    INTERNAL_ERROR = "INTERNAL_ERROR"
    SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"
    RUN_NOT_STARTABLE = "RUN_NOT_STARTABLE"
    RUN_NOT_STOPPABLE = "RUN_NOT_STOPPABLE"
    INVALID_RUN_MODE = "INVALID_RUN_MODE"


class ErrorResponse(BaseModel):
    """The body of every error answer."""

    code: ErrorCode
    message: str = Field(description="What went wrong, for a person: names the field or value at fault")
    details: dict[str, Any] | None = Field(default=None, description="Machine-readable context, e.g. the fields")
    correlation_id: str = Field(description="The request's X-Correlation-ID, also in the server's log line")
    timestamp: datetime

    model_config = {"json_schema_extra": {"examples": [{
        "code": "NOT_FOUND", "message": "run 'r-7f3a' not found", "details": {"run_id": "r-7f3a"},
        "correlation_id": "5b1c0e9a2f6d4c1e", "timestamp": "2026-12-05T14:30:00Z"}]}}


class ApiError(Exception):
    """Raise from a route or service to answer with an :class:`ErrorResponse`."""

    def __init__(self, status: int, code: ErrorCode, message: str, details: dict[str, Any] | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.details, self.headers = status, code, message, details, headers


def correlation_id(request: Request | Any) -> str:
    """Return the correlation id the middleware gave this request."""
    state = request.scope.get("state") or {}
    return str(state.get("correlation_id", "-"))


def error_response(request: Request | Any, status: int, code: ErrorCode, message: str,
                   details: dict[str, Any] | None = None, headers: dict[str, str] | None = None) -> JSONResponse:
    """Return the JSON answer of one error."""
    body = ErrorResponse(code=code, message=message, details=details, correlation_id=correlation_id(request),
                         timestamp=datetime.now(timezone.utc))
    return JSONResponse(body.model_dump(mode="json"), status_code=status, headers=headers)


_HTTP_CODES = {400: ErrorCode.BAD_REQUEST, 401: ErrorCode.UNAUTHORIZED, 403: ErrorCode.FORBIDDEN,
               404: ErrorCode.NOT_FOUND, 405: ErrorCode.BAD_REQUEST, 409: ErrorCode.CONFLICT,
               413: ErrorCode.PAYLOAD_TOO_LARGE, 503: ErrorCode.SERVICE_UNAVAILABLE}


def _field(loc: tuple[Any, ...]) -> str:
    parts = [str(part) for part in loc if part not in ("body", "query", "path", "header")]
    return ".".join(parts) or ".".join(str(part) for part in loc)


def install_error_handlers(app: FastAPI) -> None:
    """Answer every error the app can raise with an :class:`ErrorResponse`."""
    from weaver.core.errors import DataError, ParameterError
    from weaver.events.outbox import CursorError
    from weaver.store.database import StoreUnavailableError
    from weaver.store.errors import ConflictError, NotFoundError

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JSONResponse:
        return error_response(request, exc.status, exc.code, exc.message, exc.details, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = []
        for error in exc.errors():
            field = _field(tuple(error.get("loc", ())))
            problems.append({"field": field, "message": error.get("msg", ""), "type": error.get("type", "")})
        text = "; ".join(f"{p['field']}: {p['message']}" for p in problems)
        return error_response(request, 422, ErrorCode.VALIDATION_ERROR, f"invalid request: {text}",
                              {"errors": problems})

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, ErrorCode.BAD_REQUEST)
        message = exc.detail if isinstance(exc.detail, str) else code.value.lower()
        if exc.status_code == 404 and message == "Not Found":
            message = f"no route {request.method} {request.url.path}"
        return error_response(request, exc.status_code, code, message, headers=getattr(exc, "headers", None))

    @app.exception_handler(CursorError)
    async def bad_cursor(request: Request, exc: CursorError) -> JSONResponse:
        return error_response(request, 400, ErrorCode.BAD_REQUEST, str(exc))

    @app.exception_handler(NotFoundError)
    async def not_found(request: Request, exc: NotFoundError) -> JSONResponse:
        return error_response(request, 404, ErrorCode.NOT_FOUND, str(exc))

    @app.exception_handler(ConflictError)
    async def conflict(request: Request, exc: ConflictError) -> JSONResponse:
        return error_response(request, 409, ErrorCode.CONFLICT, str(exc))

    @app.exception_handler(DataError)
    @app.exception_handler(ParameterError)
    async def bad_value(request: Request, exc: Exception) -> JSONResponse:
        return error_response(request, 422, ErrorCode.VALIDATION_ERROR, str(exc))

    @app.exception_handler(StoreUnavailableError)
    async def unavailable(request: Request, exc: StoreUnavailableError) -> JSONResponse:
        log.warning("store unavailable [%s]: %s", correlation_id(request), exc)
        return error_response(request, 503, ErrorCode.SERVICE_UNAVAILABLE,
                              "the store is unavailable; retry shortly", headers={"Retry-After": "2"})
