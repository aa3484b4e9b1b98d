"""What the benchmarks share about the PostgreSQL server they run on: its admin URL, admin
statements, and a sampler of other databases' transactions.

Imported by ``events.py`` and ``api.py`` (both put this folder's parent on ``sys.path``).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

#: the server's admin URL (a scratch database is created and dropped through it)
PG_ADMIN = os.environ.get("WEAVER_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


async def admin(sql: str) -> None:
    """Run one statement on the admin database (CREATE or DROP DATABASE)."""
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN, timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@asynccontextmanager
async def foreign_transactions(own_database: str | None) -> AsyncIterator[dict[tuple[int, str], float]]:
    """Yield ``{(pid, xid): longest age seen in s}`` of other databases' transactions, sampled every 20 ms.

    A reader of the log sees an event only once every transaction older than the event's has
    ended, in the whole cluster (weaver/events/outbox.py): on a shared server other sessions'
    writes delay delivery, and a latency table is read with this beside it. ``None`` (SQLite)
    samples nothing.
    """
    seen: dict[tuple[int, str], float] = {}
    if own_database is None:
        yield seen
        return
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN)

    async def sample() -> None:
        while True:
            for pid, xid, age in await conn.fetch(
                    "SELECT pid, backend_xid::text, extract(epoch FROM now() - xact_start)::float8 "
                    "FROM pg_stat_activity WHERE backend_xid IS NOT NULL AND datname IS DISTINCT FROM $1",
                    own_database):
                seen[(pid, xid)] = max(age, seen.get((pid, xid), 0.0))
            await asyncio.sleep(0.02)

    task = asyncio.create_task(sample())
    try:
        yield seen
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
        await conn.close()
