"""The server's ASGI middleware: correlation ids and the access log, the Host and Origin guard,
and the body-size limit.

Plain ASGI rather than ``BaseHTTPMiddleware``, so a streamed answer (the event stream) passes
through without being buffered.
"""

from __future__ import annotations

import logging
import re
import secrets
import time
from collections.abc import Iterable
from urllib.parse import parse_qsl, urlencode, urlsplit

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from weaver.api.errors import ApiError, ErrorCode, error_response

__all__ = ["BodyLimit", "CatchAll", "HostOriginGuard", "RequestContext", "redact_query"]

access_log = logging.getLogger("weaver.api.access")

_CORRELATION = re.compile(r"[A-Za-z0-9._:-]{1,128}")
#: query parameters whose values never reach a log line
_SECRET_PARAMS = frozenset({"token"})
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
_STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def redact_query(query: str) -> str:
    """Return ``query`` with the value of every secret parameter (``token``) replaced by ``***``."""
    if not query:
        return ""
    pairs = parse_qsl(query, keep_blank_values=True)
    return urlencode([(k, "***" if k in _SECRET_PARAMS else v) for k, v in pairs], safe="*:,")


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return value.decode("latin-1")
    return None


class RequestContext:
    """Give each request a correlation id (``X-Correlation-ID`` echoed, or generated), return it
    in the answer's headers, and write one access-log line with it, the token redacted."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = _header(scope, b"x-correlation-id")
        correlation = given if given is not None and _CORRELATION.fullmatch(given) else secrets.token_hex(8)
        scope.setdefault("state", {})["correlation_id"] = correlation
        started = time.perf_counter()
        status = 0

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-correlation-id", correlation.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            query = redact_query(scope.get("query_string", b"").decode("latin-1"))
            path = scope.get("path", "") + (f"?{query}" if query else "")
            client = scope.get("client") or ("-", 0)
            access_log.info('%s "%s %s" %s %.1fms [%s]', client[0], scope.get("method", "-"), path, status or "-",
                            (time.perf_counter() - started) * 1000, correlation)


class CatchAll:
    """Answer an exception no handler took with 500 ``INTERNAL_ERROR``, or 503 when the store is
    unreachable; log it with the correlation id, and show nothing of it in the answer.

    Starlette's own last-resort handler re-raises after answering, which makes the server drop
    the connection; this one answers and is done.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            from weaver.store.database import is_unavailable

            request = Request(scope)
            correlation = scope.get("state", {}).get("correlation_id", "-")
            if is_unavailable(exc):
                logging.getLogger("weaver.api").warning("store unavailable [%s]: %s", correlation, exc)
                response = error_response(request, 503, ErrorCode.SERVICE_UNAVAILABLE,
                                          "the store is unavailable; retry shortly", headers={"Retry-After": "2"})
            else:
                logging.getLogger("weaver.api").exception("unexpected error [%s] on %s %s", correlation,
                                                          scope.get("method"), scope.get("path"))
                response = error_response(request, 500, ErrorCode.INTERNAL_ERROR, "an unexpected error "
                                          "occurred; the server's log has it under this correlation id")
            if not started:
                await response(scope, receive, send)


class HostOriginGuard:
    """Refuse a request whose ``Host`` is not a loopback name or a configured one (DNS rebinding),
    and a state-changing request from an ``Origin`` other than the server's own or a configured one."""

    def __init__(self, app: ASGIApp, allowed_hosts: Iterable[str] = (), allowed_origins: Iterable[str] = ()) -> None:
        self.app = app
        self.hosts = LOOPBACK_HOSTS | {host.lower() for host in allowed_hosts}
        self.origins = {origin.rstrip("/").lower() for origin in allowed_origins}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        host = _header(scope, b"host") or ""
        name = _host_name(host)
        if name not in self.hosts:
            response = error_response(Request(scope), 403, ErrorCode.FORBIDDEN,
                                      f"Host {host!r} is not allowed: this server answers to "
                                      f"{', '.join(sorted(self.hosts))} (WEAVER_ALLOWED_HOSTS adds names)",
                                      {"host": host})
            await response(scope, receive, send)
            return
        origin = _header(scope, b"origin")
        if scope.get("method") in _STATE_CHANGING and origin is not None:
            own = {f"{scope.get('scheme', 'http')}://{host}".lower()}
            if origin.rstrip("/").lower() not in own | self.origins:
                response = error_response(Request(scope), 403, ErrorCode.FORBIDDEN,
                                          f"Origin {origin!r} may not change anything here "
                                          "(WEAVER_ALLOWED_ORIGINS adds origins)", {"origin": origin})
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _host_name(host: str) -> str:
    """Return the name part of a ``Host`` header (``[::1]:8000`` -> ``::1``), lower-cased."""
    if host.startswith("["):
        return host[1:host.find("]")].lower() if "]" in host else host.lower()
    return (urlsplit(f"//{host}").hostname or host.rsplit(":", 1)[0]).lower()


class BodyLimit:
    """Refuse a request body over ``max_bytes`` with 413, before it is read into memory."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _header(scope, b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, receive, send)
            return
        seen = 0

        async def counting_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:  # a body sent without a length: the route's error handler answers
                    raise self._too_large()
            return message

        await self.app(scope, counting_receive, send)

    def _too_large(self) -> ApiError:
        return ApiError(413, ErrorCode.PAYLOAD_TOO_LARGE, f"request body over {self.max_bytes:,} bytes",
                        {"max_bytes": self.max_bytes})

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        error = self._too_large()
        response = error_response(Request(scope), error.status, error.code, error.message, error.details)
        await response(scope, receive, send)
