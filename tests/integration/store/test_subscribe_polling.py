"""A subscriber that does not listen: on PostgreSQL it opens no LISTEN connection and polls the log."""

from __future__ import annotations

import asyncio

import pytest

from tests.integration.store.helpers import tick
from weaver.store import AsyncStore




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
@pytest.mark.parametrize("listen", [False, True], ids=["polling without a listener", "listening by default"])
def test_a_subscriber_listens_unless_told_not_to(pg_url: str, listen: bool) -> None:
    async def scenario() -> tuple[list[int], object]:
        async with AsyncStore(pg_url) as store:
            await store.upgrade()
            got = await _subscribe_while_appending(store, listen=listen)
            return got, store.log.listener

    got, listener = asyncio.run(scenario())

    assert got == [0, 1, 2, 3]
    assert (listener is not None) == listen
