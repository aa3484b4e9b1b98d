"""What a write returns is what was written: ids and cursors tie back to their own events.

On SQLite a batch is inserted as multi-row INSERTs of up to ``SQLITE_ROWS_PER_INSERT`` rows,
and each statement's ids are derived from the last one it inserted; on PostgreSQL a batch is
one INSERT ... RETURNING. Both must hand back, in order, the events a reader then finds under
those ids, with writers of two stores interleaving and batches on either side of a
statement's size.
"""

from __future__ import annotations

import asyncio
import random
from datetime import timedelta

from tests.integration.store.helpers import T0
from weaver.core.envelope import Envelope
from weaver.events import new_event
from weaver.events.outbox import SQLITE_ROWS_PER_INSERT
from weaver.store import AsyncStore



def tick(run_id: str, n: int) -> dict:
    return {"run_id": run_id, "timestamp": (T0 + timedelta(minutes=n)).isoformat(), "bar_index": n}


async def _writer(store: AsyncStore, run_id: str, seed: int) -> list[Envelope]:
    rng = random.Random(seed)
    written: list[Envelope] = []
    n = 0
    for _ in range(12):
        size = rng.choice([1, 2, 7, 50, SQLITE_ROWS_PER_INSERT + 1])
        events = [new_event("tick", tick(run_id, n + i), run_id=run_id, ts=T0 + timedelta(seconds=n + i))
                  for i in range(size)]
        n += size
        if size == 1 and rng.random() < 0.5:
            written.append(await store.log.append("tick", tick(run_id, n - 1), run_id=run_id,
                                                  ts=T0 + timedelta(seconds=n - 1)))
        else:
            written += await store.log.append_many(events)
        await asyncio.sleep(0)
    return written


def test_written_envelopes_match_the_rows_read_back_under_interleaved_writers(url: str) -> None:
    async def scenario() -> tuple[list[Envelope], list[Envelope], list[Envelope]]:
        async with AsyncStore(url) as a, AsyncStore(url) as b:
            await a.upgrade()
            from_a, from_b = await asyncio.gather(_writer(a, "a", seed=1), _writer(b, "b", seed=2))
            stored = await a.log.read(limit=10_000)
            return from_a, from_b, stored

    from_a, from_b, stored = asyncio.run(scenario())

    by_id = {event.id: event for event in stored}
    assert len(stored) == len(from_a) + len(from_b)
    assert [by_id[e.id] for e in from_a] == from_a
    assert [by_id[e.id] for e in from_b] == from_b
    for written in (from_a, from_b):
        assert [e.payload["bar_index"] for e in written] == list(range(len(written)))


def test_batches_around_a_statements_size_keep_their_order_and_ids(url: str) -> None:
    sizes = [SQLITE_ROWS_PER_INSERT - 1, SQLITE_ROWS_PER_INSERT, 1, SQLITE_ROWS_PER_INSERT + 1,
             2 * SQLITE_ROWS_PER_INSERT + 3]

    async def scenario() -> tuple[list[list[Envelope]], list[Envelope]]:
        async with AsyncStore(url) as store:
            await store.upgrade()
            batches, n = [], 0
            for size in sizes:
                events = [new_event("tick", tick("r", n + i), run_id="r", ts=T0 + timedelta(seconds=n + i))
                          for i in range(size)]
                n += size
                batches.append(list(await store.log.append_many(events)))
            return batches, await store.log.read(limit=100_000)

    batches, stored = asyncio.run(scenario())

    written = [event for batch in batches for event in batch]
    assert [len(batch) for batch in batches] == sizes
    assert written == stored  # ids, cursors, payloads and times, in the order written
    assert [e.payload["bar_index"] for e in stored] == list(range(sum(sizes)))
    assert [e.ts for e in stored] == [T0 + timedelta(seconds=n) for n in range(sum(sizes))]
    ids = [e.id for e in stored]
    assert ids == sorted(set(ids))
