"""The event log on SQLite and PostgreSQL: migrations, append, read by cursor, subscribe, offsets."""

from __future__ import annotations

import asyncio

import pytest

from weaver.core.errors import DataError
from weaver.events import CursorError, EventPayloadError, EventTypeError
from tests.integration.store.helpers import T0, count, settle, tick
from weaver.store import AsyncStore, Store






def test_upgrade_creates_the_schema_and_current_names_the_head(url: str) -> None:
    with Store(url) as store:
        assert store.current() is None
        store.upgrade()
        assert store.current() == AsyncStore.head_revision()
        assert count(store, "outbox") == 0
        store.downgrade("base")
        assert store.current() is None


def test_appended_events_come_back_in_order_with_their_metadata(store: Store) -> None:
    first = store.log.append("run.created", {"run_id": "r1", "status": "pending"}, run_id="r1",
                             correlation_id="req-1", ts=T0)
    second = store.log.append("tick", tick(0), run_id="r1", causation_id=str(first.id), ts=T0)
    settle(store, second.cursor)

    events = store.log.read()

    assert [e.id for e in events] == [first.id, second.id]
    assert events[0].type == "run.created" and events[0].version == 1
    assert events[0].payload == {"run_id": "r1", "status": "pending", "reason": None}
    assert events[0].correlation_id == "req-1" and events[1].causation_id == str(first.id)
    assert events[0].ts == T0 and events[0].ts.tzinfo is not None
    assert events[0].cursor == first.cursor and events[1].cursor == second.cursor
    assert store.log.read(after=first.cursor) == [events[1]]
    assert store.log.read(after=second.cursor) == []
    assert store.log.head() == second.cursor


def test_read_filters_by_run_and_type_and_pages_by_limit(store: Store) -> None:
    store.log.append_many([store.log.event("tick", tick(n, run), run_id=run) for n in range(5) for run in ("a", "b")])
    last = store.log.append("run.started", {"run_id": "a", "status": "running"}, run_id="a")
    settle(store, last.cursor)

    only_a = store.log.read(run_id="a", limit=100)
    ticks = store.log.read(types=["tick"], limit=100)
    page1 = store.log.read(limit=4)
    page2 = store.log.read(after=page1[-1].cursor, limit=4)

    assert [e.payload["bar_index"] for e in only_a if e.type == "tick"] == [0, 1, 2, 3, 4]
    assert {e.run_id for e in only_a} == {"a"} and only_a[-1].type == "run.started"
    assert len(ticks) == 10 and {e.type for e in ticks} == {"tick"}
    assert [e.id for e in page1 + page2] == [e.id for e in store.log.read(limit=8)]


def test_an_unknown_type_or_a_bad_payload_writes_nothing(store: Store) -> None:
    good = store.log.event("tick", tick(0))

    with pytest.raises(EventTypeError, match="order.cancelled"):
        store.log.append("order.cancelled", {})
    with pytest.raises(EventPayloadError, match="bar_index"):
        store.log.append_many([good, store.log.event("tick", {**tick(1), "bar_index": "x"})])

    assert count(store, "outbox") == 0


def test_a_unit_of_work_that_fails_halfway_writes_nothing(store: Store) -> None:
    from weaver.store.models import ConsumerOffset

    async def work(aio: AsyncStore) -> None:
        async with aio.unit_of_work() as uow:
            uow.session.add(ConsumerOffset(consumer="c", cursor="0-0", updated_at=T0))
            uow.emit("tick", tick(0))
            await uow.session.flush()  # the row is written inside the transaction...
            raise RuntimeError("the process fails before the commit")

    with pytest.raises(RuntimeError, match="before the commit"):
        store.call(work)

    assert count(store, "outbox") == 0 and count(store, "consumer_offsets") == 0


def test_a_unit_of_work_commits_state_and_events_together(store: Store) -> None:
    from weaver.store.models import ConsumerOffset

    written = store.write([store.log.event("tick", tick(0)), store.log.event("tick", tick(1))],
                          state=[ConsumerOffset(consumer="c", cursor="0-0", updated_at=T0)])

    assert [e.payload["bar_index"] for e in written] == [0, 1]
    assert count(store, "outbox") == 2 and count(store, "consumer_offsets") == 1


def test_a_cursor_is_checked(store: Store) -> None:
    event = store.log.append("tick", tick(0))

    for bad in ("x", "12", "-1-2", "1-2-3", "1.5-2", " 1-2"):
        with pytest.raises(CursorError, match="is not an event cursor"):
            store.log.read(after=bad)
    with pytest.raises(CursorError, match="names no event"):
        store.log.check_cursor("99999-99999", "Last-Event-ID")
    store.log.check_cursor(event.cursor)
    store.log.check_cursor(None)
    assert issubclass(CursorError, DataError)


def test_a_payload_over_8000_bytes_is_stored_and_delivered(store: Store) -> None:
    reason = "r" * 20_000  # over NOTIFY's 8,000-byte cap: the notification carries only a hint
    written = store.log.append("run.error", {"run_id": "r1", "status": "error", "reason": reason}, run_id="r1")

    (delivered,) = _take(store.log.subscribe(), 1)

    assert delivered.id == written.id and delivered.payload["reason"] == reason


def test_subscribe_waits_for_new_events_and_yields_them_in_order(store: Store) -> None:
    store.log.append("tick", tick(0))

    async def scenario(aio: AsyncStore) -> list[int]:
        got: list[int] = []

        async def reader() -> None:
            async for event in aio.log.subscribe():
                got.append(event.payload["bar_index"])
                if len(got) == 6:
                    return

        task = asyncio.create_task(reader())
        for n in range(1, 6):
            await asyncio.sleep(0.05)
            await aio.log.append("tick", tick(n))
        await asyncio.wait_for(task, 10)
        return got

    assert store.call(scenario) == [0, 1, 2, 3, 4, 5]


def test_offsets_are_kept_per_consumer_and_consume_resumes_after_them(store: Store) -> None:
    written = store.log.append_many([store.log.event("tick", tick(n)) for n in range(4)])
    settle(store, written[-1].cursor)
    seen: list[int] = []

    store.log.consume("reports", lambda e: seen.append(e.payload["bar_index"]), stop=lambda e: e.payload["bar_index"] == 1)
    after_first = store.log.offset("reports")
    store.log.consume("reports", lambda e: seen.append(e.payload["bar_index"]), stop=lambda e: e.payload["bar_index"] == 3)

    assert seen == [0, 1, 2, 3]
    assert after_first == store.log.read()[1].cursor
    assert store.log.offset("reports") == store.log.head()
    assert store.log.offset("someone else") is None


def test_the_sync_store_works_inside_a_running_event_loop(url: str) -> None:
    """A notebook's kernel runs an event loop in its main thread; the sync API still works there."""

    async def notebook_cell() -> list[int]:
        with Store(url) as store:
            store.upgrade()
            settle(store, store.log.append("tick", tick(7)).cursor)
            return [e.payload["bar_index"] for e in store.log.read()]

    assert asyncio.run(notebook_cell()) == [7]


def _take(iterator, n: int) -> list:
    out = []
    for item in iterator:
        out.append(item)
        if len(out) == n:
            break
    iterator.close()
    return out


def test_the_store_log_and_the_memory_log_are_the_core_port_and_agree(store: Store) -> None:
    from weaver.core import EventLog
    from weaver.events import MemoryEventLog

    memory = MemoryEventLog()
    for log in (store.log, memory):
        assert isinstance(log, EventLog)
        for n in range(5):
            last = log.append("tick", tick(n), run_id="r1", ts=T0)
        if log is store.log:
            settle(store, last.cursor)
    stored, kept = store.log.read(limit=3), memory.read(limit=3)

    assert [(e.type, e.payload, e.ts) for e in stored] == [(e.type, e.payload, e.ts) for e in kept]
    assert [e.payload["bar_index"] for e in memory.read(after=kept[1].cursor)] == [2, 3, 4]
    assert memory.head() == memory.read()[-1].cursor
    with pytest.raises(EventPayloadError):
        memory.append("tick", {"run_id": "r1"})
    assert len(memory) == 5
