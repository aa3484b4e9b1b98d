"""Servers for the API's tests: a real uvicorn process on loopback, on SQLite and on PostgreSQL,
each with a temporary WEAVER_HOME; the server's output goes to files, not to pytest's."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.api.server import Server, make_server
from tests.integration.store.conftest import pg_database


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """None (the embedded SQLite store under WEAVER_HOME), or a PostgreSQL database of the test's own."""
    if request.param == "sqlite":
        yield None
    else:
        yield from pg_database()


@pytest.fixture
def server(tmp_path: Path, database_url: str | None) -> Iterator[Server]:
    """A started server on each database."""
    server = make_server(tmp_path, database_url).start()
    try:
        yield server
    finally:
        server.stop()
