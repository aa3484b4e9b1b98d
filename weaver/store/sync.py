"""The store for synchronous code (notebooks, runners): an :class:`AsyncStore` on a loop of its own.

A notebook's kernel already runs an event loop in its main thread, so ``asyncio.run`` cannot
be called there. :class:`Store` starts one daemon thread with its own loop, creates the
async store on it, and hands every call to it, waiting for the answer: the synchronous and
the asynchronous API are one implementation, reading the one log.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable, Collection, Coroutine, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from weaver.core.envelope import Envelope

if TYPE_CHECKING:
    from sqlalchemy.engine import URL

    from weaver.events.outbox import NewEvent

    from weaver.settings import Settings
    from weaver.store.database import AsyncStore
    from weaver.store.runs import BacktestLike, StoredBacktest, StrategyRecord

__all__ = ["StoreEventLog", "Store"]

T = TypeVar("T")


class _Loop:
    """An event loop running in a daemon thread, and a way to run coroutines on it from outside."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="weaver-store", daemon=True)
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        future: Future[T] = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return future.result()
        except BaseException:
            future.cancel()  # an interrupt (Ctrl-C, a notebook's stop) cancels the work on the loop too
            raise

    def iterate(self, agen: AsyncIterator[T]) -> Iterator[T]:
        try:
            while True:
                try:
                    yield self.run(agen.__anext__())
                except StopAsyncIteration:
                    return
        finally:
            aclose = getattr(agen, "aclose", None)
            if aclose is not None and self.loop.is_running():
                self.run(aclose())

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=5)
        if not self.loop.is_running():
            self.loop.close()


class Store:
    """The store, for synchronous code.

    Parameters
    ----------
    url
        The database; by default the one the settings name (``WEAVER_DATABASE_URL``, or the
        SQLite file under ``WEAVER_HOME``).
    settings
        The settings to read the URL from.
    poll_interval
        Seconds between a subscriber's polls when no notification wakes it.

    Examples
    --------
    >>> with Store() as store:                                          # doctest: +SKIP
    ...     store.upgrade()
    ...     store.log.append("tick", {"run_id": "r1", "timestamp": now, "bar_index": 0})
    """

    def __init__(self, url: str | URL | None = None, *, settings: Settings | None = None,
                 poll_interval: float = 1.0) -> None:
        from weaver.store.database import AsyncStore

        self._loop = _Loop()
        try:
            self._async: AsyncStore = self._loop.run(_make(AsyncStore, url, settings, poll_interval))
        except BaseException:
            self._loop.stop()
            raise
        self.log = StoreEventLog(self)

    @property
    def aio(self) -> AsyncStore:
        """The asynchronous store this one drives (use it only on :meth:`call`'s loop)."""
        return self._async

    @property
    def dialect(self) -> str:
        """``"sqlite"`` or ``"postgresql"``."""
        return self._async.dialect

    def __repr__(self) -> str:
        return f"Store({self._async.describe()!r})"

    def call(self, work: Callable[[AsyncStore], Coroutine[Any, Any, T]]) -> T:
        """Run ``work(async_store)`` on the store's loop and return its result."""
        return self._loop.run(work(self._async))

    def upgrade(self, revision: str = "head") -> None:
        """Bring the schema to ``revision`` (the newest by default)."""
        self._loop.run(self._async.upgrade(revision))

    def downgrade(self, revision: str) -> None:
        """Take the schema back to ``revision`` (``"base"`` removes every table)."""
        self._loop.run(self._async.downgrade(revision))

    def current(self) -> str | None:
        """Return the schema's revision, or None for a store never upgraded."""
        return self._loop.run(self._async.current())

    def write(self, events: Iterable[NewEvent], state: Iterable[Any] = ()) -> list[Envelope]:
        """Add the ORM rows ``state`` and write ``events`` in one transaction; return the events written."""
        rows, checked = list(state), list(events)

        async def work() -> list[Envelope]:
            async with self._async.unit_of_work() as uow:
                uow.session.add_all(rows)
                uow.add_events(checked)
            return uow.events

        return self._loop.run(work())

    def register_strategy(self, name: str, source: str,
                          params_schema: Mapping[str, Any] | None = None) -> StrategyRecord:
        """Register a strategy's source under ``name``; the same source returns the same record.

        See :func:`weaver.store.runs.register_strategy`.
        """
        from weaver.store.runs import register_strategy

        async def work() -> StrategyRecord:
            async with self._async.unit_of_work() as uow:
                return await register_strategy(uow, name, source, params_schema)

        return self._loop.run(work())

    def save_backtest(self, result: BacktestLike, *, strategy_name: str | None = None,
                      run_id: str | None = None) -> str:
        """Save a backtest's result as a completed run, with its events, in one transaction; return the run id.

        See :func:`weaver.store.runs.save_backtest`.
        """
        from weaver.store.runs import save_backtest

        async def work() -> str:
            async with self._async.unit_of_work() as uow:
                return await save_backtest(uow, result, strategy_name=strategy_name, run_id=run_id)

        return self._loop.run(work())

    def load_backtest(self, run_id: str, **objects: Any) -> StoredBacktest:
        """Return a saved backtest, its frames equal to the result's. See :func:`weaver.store.runs.load_backtest`."""
        from weaver.store.runs import load_backtest

        return self._loop.run(load_backtest(self._async, run_id, **objects))

    def close(self) -> None:
        """Close the store's connections and stop its loop."""
        if self._loop.loop.is_closed():
            return
        try:
            self._loop.run(self._async.close())
        finally:
            self._loop.stop()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


async def _make(cls: type[AsyncStore], url: Any, settings: Any, poll_interval: float) -> AsyncStore:
    return cls(url, settings=settings, poll_interval=poll_interval)


class StoreEventLog:
    """The store's event log, for synchronous code: the same calls as :class:`weaver.events.AsyncEventLog`."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._loop = store._loop

    @property
    def _log(self) -> Any:
        return self._store.aio.log

    def append(self, type: str, payload: Mapping[str, Any], *, run_id: str | None = None,
               correlation_id: str | None = None, causation_id: str | None = None, ts: datetime | None = None,
               version: int | None = None) -> Envelope:
        """Write one event in its own transaction and return it with its id and cursor."""
        return self._loop.run(self._log.append(type, payload, run_id=run_id, correlation_id=correlation_id,
                                               causation_id=causation_id, ts=ts, version=version))

    def append_many(self, events: Iterable[NewEvent]) -> Sequence[Envelope]:
        """Write checked events (:func:`weaver.events.new_event`) in one transaction."""
        return self._loop.run(self._log.append_many(list(events)))

    def read(self, after: str | None = None, limit: int = 100, *, run_id: str | None = None,
             types: Collection[str] | None = None) -> list[Envelope]:
        """Return up to ``limit`` committed events after the cursor ``after``, in cursor order."""
        return self._loop.run(self._log.read(after, limit, run_id=run_id, types=types))

    def head(self) -> str:
        """Return the cursor after the newest readable event."""
        return self._loop.run(self._log.head())

    def check_cursor(self, cursor: str | None, source: str = "cursor") -> None:
        """Raise :class:`weaver.events.CursorError` unless ``cursor`` is the start or names an event."""
        self._loop.run(self._log.check_cursor(cursor, source))

    def subscribe(self, after: str | None = None, *, run_id: str | None = None,
                  types: Collection[str] | None = None, poll_interval: float | None = None,
                  batch: int = 500) -> Iterator[Envelope]:
        """Yield every committed event after ``after``, in cursor order, waiting for new ones."""
        return self._loop.iterate(self._log.subscribe(after, run_id=run_id, types=types,
                                                      poll_interval=poll_interval, batch=batch))

    def offset(self, consumer: str) -> str | None:
        """Return the cursor ``consumer`` committed last, or None."""
        return self._loop.run(self._log.offset(consumer))

    def commit_offset(self, consumer: str, cursor: str) -> None:
        """Record that ``consumer`` has handled every event up to ``cursor``."""
        self._loop.run(self._log.commit_offset(consumer, cursor))

    def consume(self, consumer: str, handler: Callable[[Envelope], None], *, run_id: str | None = None,
                types: Collection[str] | None = None, stop: Callable[[Envelope], bool] | None = None) -> None:
        """Hand every event after ``consumer``'s offset to ``handler``, committing the offset after each.

        At least once: a consumer that dies before committing gets the event again, so
        ``handler`` must dedupe by ``event.id``. Returns when ``stop(event)`` is true.
        """
        for event in self.subscribe(self.offset(consumer), run_id=run_id, types=types):
            handler(event)
            self.commit_offset(consumer, event.cursor or "")
            if stop is not None and stop(event):
                return

    @staticmethod
    def event(type: str, payload: Mapping[str, Any], **meta: Any) -> NewEvent:
        """Check an event against its schema and return it, ready for :meth:`append_many`."""
        from weaver.events.outbox import new_event

        return new_event(type, payload, **meta)
