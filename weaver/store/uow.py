"""The unit of work: state changes and the events that tell of them, committed in one transaction.

No reader ever sees a state change without its events, or an event without its change: both
are in one transaction, and the outbox's readers see a transaction whole or not at all. An
event is checked against its schema when it is emitted, so a bad payload fails the unit of
work before anything is written; any exception inside the ``async with`` block rolls
everything back.

>>> async with store.unit_of_work() as uow:                       # doctest: +SKIP
...     uow.session.add(run_row)
...     uow.emit("run.created", {"run_id": run_row.id, "status": "pending"}, run_id=run_row.id)
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from weaver.core.envelope import Envelope
from weaver.events.outbox import NewEvent, new_event, notify, write
from weaver.store.database import is_unavailable

if TYPE_CHECKING:
    from weaver.store.database import AsyncStore

__all__ = ["UnitOfWork"]


class UnitOfWork:
    """One transaction of state and events.

    Use it as ``async with store.unit_of_work() as uow``: it commits when the block ends
    normally and rolls back when it raises. After the commit, :attr:`events` holds the
    written events with their ids and cursors.
    """

    def __init__(self, store: AsyncStore) -> None:
        self._store = store
        self.session = AsyncSession(store.engine, expire_on_commit=False)
        self._pending: list[NewEvent] = []
        self.events: Sequence[Envelope] = []

    def emit(self, type: str, payload: Mapping[str, Any], *, run_id: str | None = None,
             correlation_id: str | None = None, causation_id: str | None = None, ts: datetime | None = None,
             version: int | None = None) -> NewEvent:
        """Check an event against its schema and write it with this unit of work's commit.

        Raises
        ------
        EventTypeError, EventPayloadError
            If the type is unknown or the payload fails its schema.
        """
        event = new_event(type, payload, run_id=run_id, correlation_id=correlation_id, causation_id=causation_id,
                          ts=ts, version=version)
        self._pending.append(event)
        return event

    def add_events(self, events: list[NewEvent]) -> None:
        """Write already checked events with this unit of work's commit."""
        self._pending.extend(events)

    async def commit(self) -> Sequence[Envelope]:
        """Flush the session's changes, write the events, and commit them together."""
        store = self._store

        async def flush_and_write() -> Sequence[Envelope]:
            await self.session.flush()
            conn = await self.session.connection()
            written = await write(conn, self._pending)
            if written and store.dialect == "postgresql":
                await notify(conn, self._pending[0].run_id or "")
            return written

        written = await store.guard(flush_and_write)
        await store.guard(self.session.commit, committing=True)
        self._pending = []
        self.events = written
        return written

    async def rollback(self) -> None:
        """Discard the session's changes and the events not yet written."""
        self._pending = []
        await self.session.rollback()

    async def __aenter__(self) -> UnitOfWork:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        traceback: object) -> None:
        try:
            if exc is None:
                await self.commit()
                return
            with contextlib.suppress(Exception):  # the connection may be gone: the block's error is the news
                await self.rollback()
            if isinstance(exc, Exception) and is_unavailable(exc):
                raise self._store.unavailable(exc) from exc
        finally:
            with contextlib.suppress(Exception):
                await self.session.close()
