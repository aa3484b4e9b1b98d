"""A SQLite connection goes back to the pool out of any transaction, without a round trip when it is.

The pool's own reset would roll back every returned connection (a hop to aiosqlite's thread
even after a commit); the store rolls back only a connection still in a transaction, which
would otherwise keep the database's one write lock for as long as it sits in the pool.
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from weaver.store import AsyncStore

TICK = {"run_id": "r", "timestamp": "2026-01-02T00:00:00+00:00", "bar_index": 0}


def test_a_connection_returned_inside_a_transaction_releases_the_write_lock(tmp_path: Path) -> None:
    path = tmp_path / "weaver.db"

    async def scenario() -> tuple[bool, bool]:
        async with AsyncStore(f"sqlite+aiosqlite:///{path}") as store:
            await store.upgrade()
            async with store.engine.connect() as conn:
                raw = await conn.get_raw_connection()
                # a transaction SQLAlchemy does not know of, as a failed COMMIT leaves one
                await raw.driver_connection.execute("BEGIN IMMEDIATE")
                held = raw.driver_connection.in_transaction
            async with store.engine.connect() as conn:
                raw = await conn.get_raw_connection()
                return held, raw.driver_connection.in_transaction

    held, after = asyncio.run(scenario())

    assert held and not after
    other = sqlite3.connect(path, timeout=0.1, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")  # the write lock is free
        other.execute("COMMIT")
    finally:
        other.close()


def test_a_committed_write_and_a_read_go_back_without_another_rollback(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from sqlalchemy.dialects.sqlite.aiosqlite import AsyncAdapt_aiosqlite_connection

    rollbacks: list[bool] = []
    rollback = AsyncAdapt_aiosqlite_connection.rollback

    def counted(self: AsyncAdapt_aiosqlite_connection) -> None:
        rollbacks.append(True)
        rollback(self)

    async def scenario() -> None:
        async with AsyncStore(f"sqlite+aiosqlite:///{tmp_path / 'weaver.db'}") as store:
            await store.upgrade()
            await store.log.append("tick", TICK)
            await store.log.read()  # both engines have their connection now
            monkeypatch.setattr(AsyncAdapt_aiosqlite_connection, "rollback", counted)
            await store.log.append("tick", TICK)
            assert len(await store.log.read()) == 2

    asyncio.run(scenario())

    assert len(rollbacks) == 1  # the read's own; none when either connection went back to its pool


def test_a_write_lock_held_elsewhere_is_a_retriable_unavailable_store_and_nothing_is_written(tmp_path: Path) -> None:
    """Nothing lost: the refused append writes nothing, and the store writes again once the lock is free."""
    from weaver.store import StoreUnavailableError

    path = tmp_path / "weaver.db"

    async def scenario() -> tuple[StoreUnavailableError, int]:
        async with AsyncStore(f"sqlite+aiosqlite:///{path}") as store:
            await store.upgrade()
            async with store.engine.connect() as conn:  # the write pool's connection: wait 50 ms, not 30 s
                raw = await conn.get_raw_connection()
                await raw.driver_connection.execute("PRAGMA busy_timeout=50")
            other = sqlite3.connect(path, isolation_level=None)
            other.execute("BEGIN IMMEDIATE")
            try:
                with pytest.raises(StoreUnavailableError) as caught:
                    await store.log.append("tick", TICK)
            finally:
                other.execute("ROLLBACK")
                other.close()
            await store.log.append("tick", {**TICK, "bar_index": 1})
            return caught.value, len(await store.log.read())

    error, stored = asyncio.run(scenario())

    assert "database is locked" in str(error) and str(path) in str(error)
    assert error.retriable and not error.outcome_unknown
    assert stored == 1
