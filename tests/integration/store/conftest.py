"""Stores for the store's tests: a SQLite file in a temporary directory, and a PostgreSQL database
created for each test on the server at 127.0.0.1:5432 and dropped after it.

In CI (``CI=true``) a PostgreSQL test that cannot reach the server fails instead of skipping.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

PG_ADMIN = os.environ.get("WEAVER_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


def _admin(sql: str) -> None:
    import asyncpg

    async def run() -> None:
        conn = await asyncpg.connect(PG_ADMIN, timeout=5)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run())


def pg_database() -> Iterator[str]:
    """Create a database of its own for one test; yield its asyncpg URL; drop it afterwards."""
    name = f"weaver_test_{uuid.uuid4().hex[:12]}"
    try:
        _admin(f'CREATE DATABASE "{name}"')
    except (OSError, ConnectionError) as exc:
        message = f"PostgreSQL at {PG_ADMIN} is not reachable: {exc}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    base = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    try:
        yield f"{base}/{name}"
    finally:
        for _ in range(20):  # after a server restart it may take a moment to accept connections
            try:
                _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                break
            except Exception:
                import time

                time.sleep(0.5)


@pytest.fixture
def pg_url() -> Iterator[str]:
    yield from pg_database()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'weaver.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty store on each database."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'weaver.db'}"
    else:
        yield from pg_database()


@pytest.fixture
def store(url: str):
    """An upgraded store on each database, through the synchronous API."""
    from weaver.store import Store

    with Store(url, poll_interval=0.2) as store:
        store.upgrade()
        yield store

