"""Faults on the real PostgreSQL: out-of-order commits, a killed listener, a server restart.

"Nothing lost" means, in each test: every event whose transaction committed reaches the
reader, none that did not commit reaches it, and the reader sees each at most once per
cursor position. These tests run one at a time (pytest runs this suite serially): the xmin
horizon they depend on is shared by the whole cluster.
"""

from __future__ import annotations

import asyncio
import os
import random
import shutil
import subprocess
import time

import pytest
import sqlalchemy as sa

from tests.integration.store.helpers import settle_async, tick
from weaver.events import new_event
from weaver.events.outbox import write
from weaver.store import AsyncStore, StoreUnavailableError

pytestmark = pytest.mark.postgres




async def _store(url: str, **options) -> AsyncStore:
    store = AsyncStore(url, **options)
    await store.upgrade()
    return store


def test_weaver_connections_end_idle_transactions(pg_url: str) -> None:
    async def scenario() -> str:
        async with AsyncStore(pg_url) as store:
            async with store.connect() as conn:
                return (await conn.execute(sa.text("SHOW idle_in_transaction_session_timeout"))).scalar_one()

    assert asyncio.run(scenario()) == "1min"


def test_two_transactions_committing_out_of_id_order_are_both_delivered(pg_url: str) -> None:
    async def scenario() -> tuple[list[int], list[int], list[int], list[int]]:
        store = await _store(pg_url)
        try:
            async with store.engine.connect() as first, store.engine.connect() as second:
                await first.begin()
                (a,) = await write(first, [new_event("tick", tick(1))])        # takes the lower id...
                await second.begin()
                (b,) = await write(second, [new_event("tick", tick(2))])
                await second.commit()                                           # ...but commits second
                assert a.id < b.id
                naive = (await _naive_read(store, after_id=0))                   # "id > last": sees b only
                while_open = await store.log.read()                              # the cursor waits for a
                await first.commit()
                await settle_async(store, b.cursor)
                after = await store.log.read()
                resumed = await store.log.read(after=after[0].cursor)
            return naive, [e.id for e in while_open], [e.id for e in after], [e.id for e in resumed]
        finally:
            await store.close()

    naive, while_open, after, resumed = asyncio.run(scenario())

    assert len(naive) == 1  # the reader the cursor replaces would now move past the open transaction's id
    assert while_open == []
    assert sorted(after) == after and len(after) == 2
    assert resumed == after[1:]


async def _naive_read(store: AsyncStore, after_id: int) -> list[int]:
    async with store.connect() as conn:
        rows = await conn.execute(sa.text("SELECT id FROM outbox WHERE id > :after ORDER BY id"), {"after": after_id})
        return [row[0] for row in rows]


def test_concurrent_writers_committing_in_random_order_lose_nothing_to_a_polling_reader(pg_url: str) -> None:
    """20 transactions hold their rows open for random times while a subscriber reads throughout."""

    async def scenario() -> tuple[list[int], list[int]]:
        store = await _store(pg_url, poll_interval=0.02)
        rng = random.Random(7)
        try:
            async def writer(k: int) -> list[int]:
                async with store.engine.connect() as conn:
                    await conn.begin()
                    written = await write(conn, [new_event("tick", tick(k * 10 + j)) for j in range(3)])
                    await asyncio.sleep(rng.uniform(0, 0.3))
                    await conn.commit()
                return [e.id for e in written]

            received: list[int] = []

            async def reader() -> None:
                async for event in store.log.subscribe(poll_interval=0.02):
                    received.append(event.id)
                    if len(received) == 60:
                        return

            task = asyncio.create_task(reader())
            committed = await asyncio.gather(*(writer(k) for k in range(20)))
            await asyncio.wait_for(task, 15)
            return [i for ids in committed for i in ids], received
        finally:
            await store.close()

    committed, received = asyncio.run(scenario())

    assert sorted(received) == sorted(committed)
    assert len(set(received)) == len(received) == 60


def test_a_killed_listener_reconnects_and_events_still_arrive(pg_url: str) -> None:
    async def scenario() -> tuple[list[int], int, int, int]:
        store = await _store(pg_url, poll_interval=0.5)
        try:
            received: list[int] = []

            async def reader() -> None:
                async for event in store.log.subscribe():
                    received.append(event.payload["bar_index"])
                    if len(received) == 10:
                        return

            task = asyncio.create_task(reader())
            await asyncio.sleep(0)
            listener = store.log.listener
            assert listener is not None
            await listener.wait_connected(5)
            killed = listener.backend_pid
            async with store.connect() as conn:
                assert (await conn.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": killed})).scalar()
            for n in range(10):
                await store.log.append("tick", tick(n))
                await asyncio.sleep(0.02)
            await asyncio.wait_for(task, 10)
            await listener.wait_connected(5)
            assert listener.backend_pid is not None
            return received, listener.connections, killed, listener.backend_pid
        finally:
            await store.close()

    received, connections, killed, now = asyncio.run(scenario())

    assert received == list(range(10))
    assert connections >= 2 and now != killed


def _pg_restart_command() -> list[str]:
    if shutil.which("pg_ctlcluster") is None or os.geteuid() != 0:
        message = "restarting PostgreSQL needs root and pg_ctlcluster (Debian's postgresql-common)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    version, cluster = subprocess.run(["pg_lsclusters", "--no-header"], capture_output=True, text=True,
                                      check=True).stdout.split()[:2]
    return ["pg_ctlcluster", version, cluster, "restart", "-m", "immediate"]


def test_a_server_restart_mid_stream_loses_no_committed_event_and_delivers_no_uncommitted_one(pg_url: str) -> None:
    """A writer appends without pause while PostgreSQL is restarted with ``-m immediate``.

    Nothing lost: every append that returned is delivered; every delivered event is in the
    table after the restart (committed); the idempotent consumer applies each id once; each
    failed append raised StoreUnavailableError within seconds.
    """
    restart = _pg_restart_command()

    async def scenario() -> dict:
        store = await _store(pg_url, poll_interval=0.2)
        confirmed: list[int] = []
        failures: list[tuple[type, float]] = []
        applied: dict[int, int] = {}  # the idempotent consumer's state: event id -> bar index
        deliveries = 0
        stop_writing = asyncio.Event()
        try:
            async def writer() -> None:
                n = 0
                while not stop_writing.is_set():
                    started = time.monotonic()
                    try:
                        event = await store.log.append("tick", tick(n))
                        confirmed.append(event.id)
                    except StoreUnavailableError as exc:
                        failures.append((type(exc), time.monotonic() - started))
                        await asyncio.sleep(0.1)
                    n += 1
                    await asyncio.sleep(0.005)

            async def consumer() -> None:
                nonlocal deliveries
                async for event in store.log.subscribe():
                    deliveries += 1
                    applied.setdefault(event.id, event.payload["bar_index"])

            writing = asyncio.create_task(writer())
            consuming = asyncio.create_task(consumer())
            await asyncio.sleep(1.0)
            await asyncio.to_thread(subprocess.run, restart, check=True, timeout=60)
            deadline = time.monotonic() + 30
            while len(confirmed) < 20 + len(applied) // 2 and time.monotonic() < deadline:
                await asyncio.sleep(0.1)  # keep writing until the server takes writes again
            await asyncio.sleep(0.5)
            stop_writing.set()
            await asyncio.wait_for(writing, 30)
            async with store.connect() as conn:
                stored = [row[0] for row in await conn.execute(sa.text("SELECT id FROM outbox ORDER BY id"))]
            deadline = time.monotonic() + 15
            while set(applied) != set(stored) and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
            if consuming.done():  # a subscription outlives a restart: it must not have ended
                raise AssertionError("the consumer's subscription ended") from consuming.exception()
            consuming.cancel()
            return {"confirmed": confirmed, "failures": failures, "applied": applied, "stored": stored,
                    "deliveries": deliveries}
        finally:
            await store.close()

    result = asyncio.run(scenario())

    assert result["failures"], "the restart should have failed at least one append"
    assert all(kind is StoreUnavailableError and took < 15 for kind, took in result["failures"])
    assert set(result["confirmed"]) <= set(result["applied"])   # every acknowledged append delivered
    assert set(result["applied"]) == set(result["stored"])      # and nothing that did not commit
    assert len(result["confirmed"]) > 20                        # writes resumed after the restart
    assert result["deliveries"] == len(result["applied"])       # in cursor order, once each


def test_one_listen_connection_wakes_every_reader_of_the_process(pg_url: str) -> None:
    async def scenario() -> tuple[list[list[int]], int, int]:
        store = await _store(pg_url, poll_interval=30)  # a poll this slow leaves the waking to NOTIFY
        try:
            received: list[list[int]] = [[] for _ in range(5)]

            async def reader(k: int) -> None:
                async for event in store.log.subscribe():
                    received[k].append(event.payload["bar_index"])
                    if len(received[k]) == 3:
                        return

            tasks = [asyncio.create_task(reader(k)) for k in range(5)]
            await asyncio.sleep(0.2)
            listener = store.log.listener
            await listener.wait_connected(5)
            for n in range(3):
                await store.log.append("tick", tick(n))
            await asyncio.wait_for(asyncio.gather(*tasks), 5)
            async with store.connect() as conn:
                listening = (await conn.execute(sa.text(
                    "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'weaver-listener' "
                    "AND datname = current_database()"))).scalar_one()
            return received, listener.connections, listening
        finally:
            await store.close()

    received, connections, listening = asyncio.run(scenario())

    assert received == [[0, 1, 2]] * 5
    assert connections == 1 and listening == 1


def test_an_idle_transaction_elsewhere_holds_readers_back_until_it_ends(pg_url: str) -> None:
    """The xmin horizon is cluster-wide: an open transaction with an id, even in another database,
    hides every event committed after it began, until it ends. Nothing is skipped: it is late."""

    async def scenario() -> tuple[list[int], list[int]]:
        import asyncpg

        store = await _store(pg_url)
        other = await asyncpg.connect("postgresql://postgres@127.0.0.1:5432/postgres")
        try:
            transaction = other.transaction()
            await transaction.start()
            await other.fetchval("SELECT pg_current_xact_id()")  # takes a transaction id, then sits idle
            event = await store.log.append("tick", tick(1))
            held = [e.payload["bar_index"] for e in await store.log.read()]
            await transaction.rollback()
            await settle_async(store, event.cursor)
            released = [e.payload["bar_index"] for e in await store.log.read()]
            return held, released
        finally:
            await other.close()
            await store.close()

    held, released = asyncio.run(scenario())

    assert held == [] and released == [1]


def test_an_event_held_back_by_an_older_transaction_arrives_soon_after_it_ends(pg_url: str) -> None:
    """The held event's NOTIFY came while it was hidden, and the older transaction's end sends
    none: the subscriber looks again soon by itself instead of waiting for its next poll."""

    async def scenario() -> float:
        import asyncpg

        store = await _store(pg_url, poll_interval=30)
        other = await asyncpg.connect("postgresql://postgres@127.0.0.1:5432/postgres")
        try:
            received = asyncio.Event()

            async def reader() -> None:
                async for _ in store.log.subscribe():
                    received.set()
                    return

            task = asyncio.create_task(reader())
            await asyncio.sleep(0.1)
            await store.log.listener.wait_connected(5)
            transaction = other.transaction()
            await transaction.start()
            await other.fetchval("SELECT pg_current_xact_id()")
            await store.log.append("tick", tick(1))
            await asyncio.sleep(0.3)
            assert not received.is_set()  # held back while the older transaction runs
            await transaction.rollback()
            ended = time.monotonic()
            await asyncio.wait_for(received.wait(), 5)
            await task
            return time.monotonic() - ended
        finally:
            await other.close()
            await store.close()

    assert asyncio.run(scenario()) < 0.5


def test_a_read_whose_connection_dies_before_its_rollback_keeps_what_it_read(pg_url: str) -> None:
    """The server ends a reader's backend after its query, before the read's rollback.

    Nothing lost: the rows already read are returned (a read-only transaction has nothing to
    undo), the dead connection leaves the pool, and the next read works. A subscription that
    met this at a server restart used to end with the raw driver error and deliver nothing more.
    """
    async def scenario() -> tuple[list[int], int, list[int]]:
        store = await _store(pg_url)
        try:
            await store.log.append("tick", tick(1))
            async with store.connect() as conn:
                ids = [row[0] for row in await conn.execute(sa.text("SELECT id FROM outbox ORDER BY id"))]
                pid = (await conn.execute(sa.text("SELECT pg_backend_pid()"))).scalar_one()
                async with store.engine.connect() as admin:
                    killed = (await admin.execute(sa.text("SELECT pg_terminate_backend(:pid, 5000)"),
                                                  {"pid": pid})).scalar_one()
                    assert killed
            again = [event.id for event in await store.log.read()]
            return ids, pid, again
        finally:
            await store.close()

    ids, pid, again = asyncio.run(scenario())

    assert ids == again == [1]
    assert pid > 0
