"""A subscriber that does not listen: on PostgreSQL it opens no LISTEN connection and polls the log."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone

import pytest

from weaver.store import AsyncStore

T0 = datetime(2026, 12, 5, 14, 30, tzinfo=timezone.utc)


def tick(n: int) -> dict:
    return {"run_id": "r1", "timestamp": T0.isoformat(), "bar_index": n}


async def _subscribe_while_appending(store: AsyncStore, *, listen: bool) -> list[int]:
    got: list[int] = []

    async def reader() -> None:
        async for event in store.log.subscribe(poll_interval=0.05, listen=listen):
            got.append(event.payload["bar_index"])
            if len(got) == 4:
                return

    task = asyncio.create_task(reader())
    for n in range(4):
        await asyncio.sleep(0.02)
        await store.log.append("tick", tick(n))
    await asyncio.wait_for(task, 10)
    return got


@pytest.mark.postgres
def test_a_subscriber_that_does_not_listen_polls_without_a_listener(pg_url: str) -> None:
    async def scenario() -> tuple[list[int], object]:
        async with AsyncStore(pg_url) as store:
            await store.upgrade()
            got = await _subscribe_while_appending(store, listen=False)
            return got, store.log.listener

    got, listener = asyncio.run(scenario())

    assert got == [0, 1, 2, 3]
    assert listener is None


@pytest.mark.postgres
def test_a_subscriber_listens_by_default(pg_url: str) -> None:
    async def scenario() -> tuple[list[int], object]:
        async with AsyncStore(pg_url) as store:
            await store.upgrade()
            got = await _subscribe_while_appending(store, listen=True)
            return got, store.log.listener

    got, listener = asyncio.run(scenario())

    assert got == [0, 1, 2, 3]
    assert listener is not None
