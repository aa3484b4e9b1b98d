"""The event log kept in the store: append, read after a cursor, subscribe, and consumers' offsets.

:class:`AsyncEventLog` is the log for asyncio code (the server); :class:`weaver.store.Store`
gives the same log to synchronous code (notebooks, runners). Both read the one ``outbox``
table, with the gap-safe cursor that :mod:`weaver.events.outbox` explains.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Iterable, Mapping, Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from weaver.core.envelope import Envelope
from weaver.events.outbox import (
    CHANNEL,
    START,
    Cursor,
    CursorError,
    NewEvent,
    decode_cursor,
    envelope,
    exists_query,
    head_query,
    held_query,
    latest_query,
    new_event,
    notify,
    read_query,
    write,
)
from weaver.store.models import ConsumerOffset

if TYPE_CHECKING:
    from weaver.events.listener import Listener
    from weaver.store.database import AsyncStore

__all__ = ["AsyncEventLog"]

_OFFSETS = ConsumerOffset.__table__
#: seconds before a subscriber looks again for events held back by an older transaction,
#: doubling up to the last value (and never beyond its poll interval)
_HELD_FIRST, _HELD_LAST = 0.002, 0.1


class AsyncEventLog:
    """The store's event log, for asyncio code.

    Cursors are opaque strings: pass back what the log handed out (``Envelope.cursor``,
    :meth:`head`), or None for the start of the log.
    """

    def __init__(self, store: AsyncStore) -> None:
        self._store = store
        self._listener: Listener | None = None

    @property
    def listener(self) -> Listener | None:
        """The LISTEN connection that wakes this process's readers (PostgreSQL), once one subscribed."""
        return self._listener

    # --- writing ---------------------------------------------------------------------

    async def append(self, type: str, payload: Mapping[str, Any], *, run_id: str | None = None,
                     correlation_id: str | None = None, causation_id: str | None = None,
                     ts: datetime | None = None, version: int | None = None) -> Envelope:
        """Write one event in a transaction of its own and return it with its id and cursor.

        Raises
        ------
        EventTypeError, EventPayloadError
            If the type is unknown or the payload fails its schema; nothing is written.
        StoreUnavailableError
            If the store cannot be reached.
        """
        event = new_event(type, payload, run_id=run_id, correlation_id=correlation_id, causation_id=causation_id,
                          ts=ts, version=version)
        (written,) = await self.append_many([event])
        return written

    async def append_many(self, events: Iterable[NewEvent]) -> Sequence[Envelope]:
        """Write checked events (:func:`weaver.events.new_event`) in one transaction; return them written.

        The envelopes (ids, cursors) are made when first read: a writer that only keeps the last
        cursor does not pay for the rest.
        """
        events = list(events)
        async with self._store.connect(write=True) as conn:
            written = await write(conn, events)
            if self._store.dialect == "postgresql" and written:
                await notify(conn, events[0].run_id or "")
        return written

    # --- reading ---------------------------------------------------------------------

    async def read(self, after: str | None = None, limit: int = 100, *, run_id: str | None = None,
                   types: Collection[str] | None = None) -> list[Envelope]:
        """Return up to ``limit`` committed events after the cursor ``after``, in cursor order.

        On PostgreSQL an event appears only once every transaction older than its own has
        ended, so none can later appear before it: a reader that resumes from the last
        cursor it saw never skips a committed event.

        Raises
        ------
        CursorError
            If ``after`` is not a cursor.
        """
        position = decode_cursor(after, "after")
        return await self._read(position, limit, run_id, types)

    async def _read(self, after: Cursor, limit: int, run_id: str | None,
                    types: Collection[str] | None) -> list[Envelope]:
        query = read_query(self._store.dialect, after, limit, run_id, types)
        async with self._store.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [envelope(row) for row in rows]

    async def latest(self, limit: int = 100, *, run_id: str | None = None,
                     types: Collection[str] | None = None) -> list[Envelope]:
        """Return the newest ``limit`` readable events, in cursor order (the oldest of them first).

        Reading on from the last one's cursor misses nothing: no event can still appear
        before a readable one (see :meth:`read`).
        """
        query = latest_query(self._store.dialect, limit, run_id, types)
        async with self._store.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [envelope(row) for row in reversed(rows)]

    async def head(self) -> str:
        """Return the cursor after the newest readable event (the start of an empty log)."""
        async with self._store.connect() as conn:
            row = (await conn.execute(head_query(self._store.dialect))).first()
        return str(Cursor(*row) if row is not None else START)

    async def check_cursor(self, cursor: str | None, source: str = "cursor") -> Cursor:
        """Return the decoded cursor if it is the start or names an event of this log.

        Raises
        ------
        CursorError
            If it is malformed, or no event of this log has it (the message names ``source``).
        """
        position = decode_cursor(cursor, source)
        if position == START:
            return position
        async with self._store.connect() as conn:
            found = (await conn.execute(exists_query(position))).first()
        if found is None:
            raise CursorError(f"{source} {cursor!r} names no event of this log")
        return position

    async def subscribe(self, after: str | None = None, *, run_id: str | None = None,
                        types: Collection[str] | None = None, poll_interval: float | None = None,
                        batch: int = 500, listen: bool = True) -> AsyncIterator[Envelope]:
        """Yield every committed event after ``after``, in cursor order, waiting for new ones.

        PostgreSQL's notifications wake the subscriber as soon as an event commits; it also
        polls every ``poll_interval`` seconds (the store's by default), and after the listener
        reconnects. On SQLite, or with ``listen=False`` (no LISTEN connection, e.g. behind a
        pooler that drops notifications), it only polls. The iterator never ends by itself:
        close it, or break out of the loop.
        """
        position = decode_cursor(after, "after")
        interval = self._store.poll_interval if poll_interval is None else poll_interval
        postgres = self._store.dialect == "postgresql"
        waker = self._listen().register() if listen and postgres else asyncio.Event()
        backoff = _HELD_FIRST
        try:
            while True:
                waker.clear()
                events = await self._read_retrying(position, batch, run_id, types, interval)
                for event in events:
                    yield event
                    position = decode_cursor(event.cursor)
                if len(events) == batch:
                    continue
                wait = interval
                if postgres and await self._held(position, run_id, types):
                    # committed, but an older transaction still runs: its end sends no
                    # notification, so look again soon rather than at the next poll
                    wait, backoff = min(backoff, interval), min(backoff * 2, _HELD_LAST)
                else:
                    backoff = _HELD_FIRST
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(waker.wait(), wait)
        finally:
            if self._listener is not None:
                self._listener.unregister(waker)

    async def _read_retrying(self, after: Cursor, limit: int, run_id: str | None, types: Collection[str] | None,
                             interval: float) -> list[Envelope]:
        """Read, waiting out an unreachable store: a subscriber outlives a database restart."""
        from weaver.store.database import StoreUnavailableError

        while True:
            try:
                return await self._read(after, limit, run_id, types)
            except StoreUnavailableError:
                await asyncio.sleep(interval)

    async def _held(self, after: Cursor, run_id: str | None, types: Collection[str] | None) -> bool:
        """Return whether a committed event after ``after`` is held back by an older running transaction."""
        from weaver.store.database import StoreUnavailableError

        try:
            async with self._store.connect() as conn:
                return (await conn.execute(held_query(after, run_id, types))).first() is not None
        except StoreUnavailableError:
            return False

    def _listen(self) -> Listener:
        if self._listener is None:
            from weaver.events.listener import Listener

            self._listener = Listener(self._store.url, CHANNEL)
        return self._listener

    # --- consumers ---------------------------------------------------------------------

    async def offset(self, consumer: str) -> str | None:
        """Return the cursor ``consumer`` committed last, or None if it never committed one."""
        query = select(_OFFSETS.c.cursor).where(_OFFSETS.c.consumer == consumer)
        async with self._store.connect() as conn:
            return (await conn.execute(query)).scalar_one_or_none()

    async def commit_offset(self, consumer: str, cursor: str) -> None:
        """Record that ``consumer`` has handled every event up to ``cursor``."""
        decode_cursor(cursor, f"{consumer} offset")
        insert = pg_insert if self._store.dialect == "postgresql" else sqlite_insert
        values = {"consumer": consumer, "cursor": cursor, "updated_at": datetime.now(timezone.utc)}
        statement = insert(_OFFSETS).values(values)
        statement = statement.on_conflict_do_update(index_elements=[_OFFSETS.c.consumer],
                                                    set_={"cursor": cursor, "updated_at": values["updated_at"]})
        async with self._store.connect(write=True) as conn:
            await conn.execute(statement)

    async def consume(self, consumer: str, handler: Callable[[Envelope], Awaitable[None] | None], *,
                      run_id: str | None = None, types: Collection[str] | None = None,
                      stop: Callable[[Envelope], bool] | None = None, batch: int = 500) -> None:
        """Hand every event after ``consumer``'s offset to ``handler`` and commit the offset after it.

        Delivery is at least once: a consumer that dies after handling an event but before
        committing its offset gets the event again, so ``handler`` must dedupe by
        ``event.id``. Returns when ``stop(event)`` is true for a handled event.
        """
        async for event in self.subscribe(await self.offset(consumer), run_id=run_id, types=types, batch=batch):
            outcome = handler(event)
            if outcome is not None:
                await outcome
            await self.commit_offset(consumer, event.cursor or "")
            if stop is not None and stop(event):
                return

    async def close(self) -> None:
        """Stop the listener, if one was started."""
        if self._listener is not None:
            await self._listener.close()
            self._listener = None
