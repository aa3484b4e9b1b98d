"""The broadcaster: one subscription to the log handed to every client, each from its own cursor,
with no gap and no duplicate at the switch from reading the log to the live queue (DESIGN §5)."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from contextlib import aclosing, asynccontextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from tests.integration.store.conftest import url  # noqa: F401 - the store's fixture: a SQLite file or a PostgreSQL database
from weaver.core.envelope import Envelope
from weaver.events.broadcast import Broadcaster, SlowConsumerError
from weaver.events.outbox import START, decode_cursor, new_event
from weaver.store.database import AsyncStore

T0 = datetime(2026, 12, 7, 14, 30, tzinfo=timezone.utc)


def tick(run_id: str, i: int) -> dict[str, Any]:
    return {"run_id": run_id, "timestamp": T0, "bar_index": i}


def cursor_of(event: Envelope) -> str:
    return event.cursor or ""


@asynccontextmanager
async def opened(url: str, **options: Any) -> AsyncIterator[tuple[AsyncStore, Broadcaster[Envelope]]]:
    """An upgraded store and a started broadcaster that hands out the envelopes themselves."""
    store = AsyncStore(url)
    await store.upgrade()
    broadcaster: Broadcaster[Envelope] = Broadcaster(store.log, encode=lambda event: event,
                                                     **{"poll_interval": 0.02, "queue_limit": 1000, "batch": 100,
                                                        **options})
    await broadcaster.start()
    try:
        yield store, broadcaster
    finally:
        await broadcaster.close()
        await store.close()


async def read_all(store: AsyncStore, after: str, **filters: Any) -> list[str]:
    cursors, position = [], after
    while events := await store.log.read(position, 500, **filters):
        cursors += [cursor_of(event) for event in events]
        position = cursors[-1]
    return cursors


def test_clients_joining_at_any_moment_from_any_cursor_get_the_log_exactly(url: str) -> None:
    async def scenario() -> None:
        async with opened(url, batch=16) as (store, broadcaster):  # pages of 16: catching up takes many
            written: list[str] = []
            rng = random.Random(3)

            async def writer(name: str, n: int) -> None:
                for i in range(n):
                    if rng.random() < 0.1:
                        batch = [new_event("tick", tick(name, i * 10 + k)) for k in range(rng.randrange(2, 40))]
                        written.extend(cursor_of(e) for e in await store.log.append_many(batch))
                    else:
                        written.append(cursor_of(await store.log.append("tick", tick(name, i), run_id=name)))
                    await asyncio.sleep(rng.uniform(0, 0.004))

            done, last = asyncio.Event(), [""]

            async def client(delay: float) -> tuple[str, list[str]]:
                await asyncio.sleep(delay)
                after = rng.choice([str(START), await store.log.head(), *written[-50:]])
                return after, await follow(broadcaster, after, done, last, pause=rng.choice([0, 0.005, 0.02]))

            async def writers() -> None:
                await asyncio.gather(writer("a", 150), writer("b", 150))  # two at once: out of id order on PostgreSQL
                last[0] = cursor_of(await store.log.append("tick", tick("end", 0), run_id="end"))
                done.set()

            # clients joining while the writers write, from the start, the head or a recent event; the slower
            # ones find the broadcaster past the log's head they read, and read the log up to it once joined
            clients = [asyncio.create_task(client(rng.uniform(0, 0.6))) for _ in range(12)]
            await writers()
            results = await asyncio.wait_for(asyncio.gather(*clients), 30)

            for after, received in results:
                assert received == await read_all(store, after), f"client after {after}"
            assert broadcaster.clients == 0

    asyncio.run(scenario())


async def follow(broadcaster: Broadcaster[Envelope], after: str, done: asyncio.Event, last: list[str],
                 pause: float = 0.0) -> list[str]:
    """Return the cursors a client starting after ``after`` receives, until the writers' last event;
    it takes ``pause`` seconds over each batch (as a send to a slow network would)."""
    seen: list[str] = []
    async with aclosing(broadcaster.stream(after)) as stream:
        async for batch in stream:
            await asyncio.sleep(pause)
            seen += [cursor_of(event) for event in batch]
            if done.is_set() and last[0] in seen:
                return seen
    raise AssertionError("the stream ended")


def test_a_client_ahead_of_the_broadcaster_gets_no_duplicate(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'weaver.db'}"

    async def scenario() -> None:
        async with opened(url, poll_interval=0.5) as (store, broadcaster):  # the broadcaster lags its polls
            await asyncio.sleep(0.05)
            first = [cursor_of(await store.log.append("tick", tick("r", i))) for i in range(5)]
            assert decode_cursor(broadcaster.position) < decode_cursor(first[2])  # the client starts ahead of it
            task = asyncio.create_task(client_saw(broadcaster, first[2], n=5))
            await asyncio.sleep(0.7)  # the broadcaster catches up with the events the client read itself
            more = [cursor_of(await store.log.append("tick", tick("r", i))) for i in range(5, 8)]
            received = await asyncio.wait_for(task, 5)

            assert received == first[3:] + more

    asyncio.run(scenario())


def test_filters_by_run_and_type(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'weaver.db'}"

    async def scenario() -> None:
        async with opened(url) as (store, broadcaster):
            start = await store.log.head()
            old = await store.log.append("run.created", {"run_id": "r1"}, run_id="r1")
            by_run = asyncio.create_task(client_saw(broadcaster, start, n=3, run_id="r1"))
            by_type = asyncio.create_task(client_saw(broadcaster, start, n=3, types=["run.started", "tick"]))
            await asyncio.sleep(0.1)
            events = [old, await store.log.append("run.started", {"run_id": "r1"}, run_id="r1"),
                      await store.log.append("run.started", {"run_id": "r2"}, run_id="r2"),
                      await store.log.append("tick", tick("r1", 0), run_id="r1"),
                      await store.log.append("run.completed", {"run_id": "r2"}, run_id="r2")]
            received = await asyncio.wait_for(asyncio.gather(by_run, by_type), 5)

            assert received[0] == [cursor_of(e) for e in events if e.run_id == "r1"]
            assert received[1] == [cursor_of(e) for e in events if e.type in ("run.started", "tick")]
            assert broadcaster.clients == 0

    asyncio.run(scenario())


async def client_saw(broadcaster: Broadcaster[Envelope], after: str, n: int, **filters: Any) -> list[str]:
    seen: list[str] = []
    async with aclosing(broadcaster.stream(after, **filters)) as stream:
        async for batch in stream:
            seen += [cursor_of(e) for e in batch]
            if len(seen) >= n:
                break
    return seen


def test_a_client_that_does_not_keep_up_is_dropped_and_the_others_are_not_held_back(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'weaver.db'}"

    async def scenario() -> None:
        async with opened(url, queue_limit=20, batch=10) as (store, broadcaster):
            start = await store.log.head()
            slow = broadcaster.stream(start)
            fast = asyncio.create_task(client_saw(broadcaster, start, n=301))
            await asyncio.sleep(0.05)
            first = await store.log.append("tick", tick("r", 0))
            assert [cursor_of(e) for e in await anext(slow)] == [cursor_of(first)]  # now live, and stalled
            assert broadcaster.clients == 2

            for k in range(3):
                await store.log.append_many([new_event("tick", tick("r", 100 * k + i)) for i in range(100)])
            received = await asyncio.wait_for(fast, 10)

            assert len(received) == 301 and received == await read_all(store, start)
            assert broadcaster.clients == 0  # the slow one was let go when its queue overflowed
            with pytest.raises(SlowConsumerError, match="20"):
                await anext(slow)
            await slow.aclose()

    asyncio.run(scenario())


def test_closing_the_broadcaster_ends_every_stream(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'weaver.db'}"

    async def scenario() -> None:
        async with opened(url) as (store, broadcaster):
            start = await store.log.head()
            tasks = [asyncio.create_task(client_saw(broadcaster, start, n=10)) for _ in range(3)]
            await asyncio.sleep(0.05)
            await store.log.append("tick", tick("r", 0))
            await asyncio.sleep(0.1)
            assert broadcaster.clients == 3
            await broadcaster.close()
            results = await asyncio.wait_for(asyncio.gather(*tasks), 5)

            assert [len(r) for r in results] == [1, 1, 1]
            assert broadcaster.clients == 0

    asyncio.run(scenario())


def test_a_watcher_sees_every_event_before_any_client_and_a_failing_one_loses_nothing(tmp_path: Path) -> None:
    """Nothing lost: a watcher that raises is logged, and the clients still get every event."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'weaver.db'}"

    async def scenario() -> None:
        async with opened(url) as (store, broadcaster):
            watched: list[str] = []
            ahead: list[bool] = []
            broadcaster.watch(lambda event: watched.append(cursor_of(event)))
            broadcaster.watch(lambda event: 1 / 0)
            start = await store.log.head()

            async def client() -> list[str]:
                seen: list[str] = []
                async with aclosing(broadcaster.stream(start)) as stream:
                    async for batch in stream:
                        ahead.extend(cursor_of(e) in watched for e in batch)
                        seen += [cursor_of(e) for e in batch]
                        if len(seen) >= 6:
                            return seen
                return seen

            task = asyncio.create_task(client())
            await asyncio.sleep(0.05)
            written = [cursor_of(await store.log.append("tick", tick("r", i), run_id="r")) for i in range(6)]
            assert await asyncio.wait_for(task, 5) == written
            assert watched == written and all(ahead)

    asyncio.run(scenario())
