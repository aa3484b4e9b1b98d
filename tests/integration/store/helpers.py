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
