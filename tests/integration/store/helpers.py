"""Helpers shared by the store's tests."""

from __future__ import annotations

from datetime import datetime, timezone

#: the time the tests' events carry
T0 = datetime(2026, 12, 5, 14, 30, tzinfo=timezone.utc)


def tick(n: int, run_id: str = "r1") -> dict:
    """Return a tick event's payload: bar ``n`` of run ``run_id``."""
    return {"run_id": run_id, "timestamp": T0.isoformat(), "bar_index": n}


def count(store, table: str) -> int:
    """Return how many rows ``table`` holds (nothing lost, nothing half-written)."""
    import sqlalchemy as sa

    async def work(aio) -> int:
        async with aio.connect() as conn:
            return (await conn.execute(sa.text(f"SELECT count(*) FROM {table}"))).scalar_one()

    return store.call(work)


def settle(store, cursor: str, timeout: float = 10.0) -> None:
    """Wait until the event at ``cursor`` is readable.

    On PostgreSQL an event is readable once every older transaction in the whole cluster has
    ended, and another session's (a test run next door, autovacuum's) may still be running:
    a read right after a commit can come back short. Nothing is lost; it is late.
    """
    import time

    from weaver.events import decode_cursor

    deadline = time.monotonic() + timeout
    while decode_cursor(store.log.head()) < decode_cursor(cursor):
        if time.monotonic() > deadline:
            raise TimeoutError(f"event {cursor} not readable after {timeout} s")
        time.sleep(0.01)


async def settle_async(store, cursor: str, timeout: float = 10.0) -> None:
    """Wait until the event at ``cursor`` is readable (:func:`settle`, for an ``AsyncStore``)."""
    import asyncio
    import time

    from weaver.events import decode_cursor

    deadline = time.monotonic() + timeout
    while decode_cursor(await store.log.head()) < decode_cursor(cursor):
        if time.monotonic() > deadline:
            raise TimeoutError(f"event {cursor} not readable after {timeout} s")
        await asyncio.sleep(0.01)
