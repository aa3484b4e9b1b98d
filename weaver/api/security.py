"""The API's token: where it comes from, and the dependencies that require it.

The token is ``WEAVER_TOKEN``, or one generated on first start into ``WEAVER_HOME/token``
with mode 0600 and reused afterwards. Every ``/api/v1`` route requires it as
``Authorization: Bearer <token>``; the event stream also takes ``?token=``, since a
browser's EventSource cannot set headers. Tokens are compared in constant time.
"""

from __future__ import annotations

import hmac
import os
import secrets
from pathlib import Path
from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from weaver.api.errors import ApiError, ErrorCode
from weaver.core.errors import ParameterError
from weaver.settings import Settings

__all__ = ["ensure_token", "require_token", "require_token_or_query"]

_bearer = HTTPBearer(auto_error=False, description="The server's token: WEAVER_TOKEN or WEAVER_HOME/token")


def ensure_token(settings: Settings) -> str:
    """Return the API token: ``WEAVER_TOKEN``, or the one in ``WEAVER_HOME/token``, generated if missing.

    Raises
    ------
    ParameterError
        If the token file exists with permissions wider than 0600, or is empty.
    """
    if settings.token is not None and settings.token.get_secret_value():
        return settings.token.get_secret_value()
    path = Path(settings.home) / "token"
    if path.exists():
        mode = path.stat().st_mode & 0o777
        if mode & 0o077:
            raise ParameterError(f"{path} is readable by others (mode {mode:o}); chmod 600 it")
        token = path.read_text().strip()
        if not token:
            raise ParameterError(f"{path} is empty: delete it to have a new token generated")
        return token
    path.parent.mkdir(parents=True, exist_ok=True)
    token = secrets.token_urlsafe(32)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(token + "\n")
    return token


def _check(request: Request, given: str | None) -> None:
    expected: str = request.app.state.token
    if given is None:
        raise ApiError(401, ErrorCode.UNAUTHORIZED, "missing token: send Authorization: Bearer <token>",
                       headers={"WWW-Authenticate": "Bearer"})
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise ApiError(401, ErrorCode.UNAUTHORIZED, "invalid token", headers={"WWW-Authenticate": "Bearer"})


async def require_token(request: Request,
                        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> None:
    """Require ``Authorization: Bearer <token>``."""
    _check(request, credentials.credentials if credentials is not None else None)


async def require_token_or_query(
        request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
        token: Annotated[str | None, Query(description="The token, for EventSource, which cannot send headers; "
                                                       "redacted from the access log")] = None) -> None:
    """Require the token as a bearer header or as ``?token=`` (the event stream only)."""
    _check(request, credentials.credentials if credentials is not None else token)
