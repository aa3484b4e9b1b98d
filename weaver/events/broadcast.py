"""One reader of the event log per process, handing every event to every client: the server's fan-out.

A server holds one subscription to the log (and so, on PostgreSQL, one LISTEN connection:
DESIGN §5), not one per SSE client. sse-starlette has no broadcast of its own, and N
generators reading one shared queue would each get every N-th event (sysid/sse-starlette#81),
so each client has a queue of its own: the broadcaster's one task puts each event, encoded
once, in every queue whose filters take it.

A client starts from a cursor of its own (``Last-Event-ID``) and must get every event after
it, in cursor order, with no gap and no duplicate. It does so in three steps:

1. While it is behind the broadcaster it reads the log itself, page by page, with no queue,
   so a long replay fills no memory while live events pass.
2. It joins: from that instant (no ``await`` between reading the broadcaster's position and
   registering) every event after the broadcaster's position goes to its queue. It then
   reads the log from its own cursor up to that position, which no event can still enter
   (a reader of the log never sees an event appear below one it has read: see
   :mod:`weaver.events.outbox`).
3. It takes events from its queue, dropping any at or below the last cursor it handed on
   (those it read itself, ahead of the broadcaster).

A client whose queue holds ``queue_limit`` events is let go: its queue is emptied at once
and its stream raises :class:`SlowConsumerError`, so a stalled client neither holds the
others back nor grows the server's memory. It resumes from the last event it received.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Collection
from typing import TYPE_CHECKING, Generic, TypeVar

from weaver.core.envelope import Envelope
from weaver.core.errors import ParameterError, WeaverError
from weaver.events.outbox import Cursor, decode_cursor

if TYPE_CHECKING:
    from weaver.events.log import AsyncEventLog

__all__ = ["Broadcaster", "SlowConsumerError"]

log = logging.getLogger(__name__)

T = TypeVar("T")
_Filter = tuple[str | None, frozenset[str] | None]


class SlowConsumerError(WeaverError):
    """Raise in a client's stream when it fell too far behind and was let go: resume from its last event."""


class _Client(Generic[T]):
    """One client's queue: the events it has yet to take, as ``(cursor, encoded)``."""

    __slots__ = ("closed", "dropped", "items", "key", "limit", "ready")

    def __init__(self, key: _Filter, limit: int) -> None:
        self.key = key
        self.limit = limit
        self.items: list[tuple[Cursor, T]] = []
        self.ready = asyncio.Event()
        self.dropped = False
        self.closed = False

    def put(self, cursor: Cursor, item: T) -> bool:
        """Queue one event; return False (and empty the queue) if it was full."""
        if len(self.items) >= self.limit:
            self.items = []
            self.dropped = True
            self.ready.set()
            return False
        self.items.append((cursor, item))
        self.ready.set()
        return True

    def close(self) -> None:
        self.closed = True
        self.ready.set()

    async def take(self) -> list[tuple[Cursor, T]] | None:
        """Wait for events and return all that are queued; None once the broadcaster closed."""
        while not self.items:
            if self.dropped:
                raise SlowConsumerError(f"the client fell {self.limit:,} events behind and was let go: "
                                        "resume from the last event it received")
            if self.closed:
                return None
            self.ready.clear()
            await self.ready.wait()
        items, self.items = self.items, []
        return items


class Broadcaster(Generic[T]):
    """Read the log once and hand each event to every client, each from its own cursor.

    Parameters
    ----------
    log
        The event log to read.
    encode
        What a client receives for an event (the SSE frame, say); called once per event,
        whatever the number of clients that take it.
    poll_interval
        Seconds between the broadcaster's reads of the log when nothing wakes it (on SQLite
        it only polls; on PostgreSQL a notification wakes it at once).
    queue_limit
        Events a client may have queued before it is let go; at least ``batch``, since the
        broadcaster hands on a page of the log at once and the clients take it while it
        reads the next.
    batch
        Events per read of the log.

    Raises
    ------
    ParameterError
        If ``queue_limit`` is below ``batch``.
    """

    def __init__(self, log: AsyncEventLog, encode: Callable[[Envelope], T], *, poll_interval: float = 0.05,
                 queue_limit: int = 10_000, batch: int = 500) -> None:
        if queue_limit < batch:
            raise ParameterError(f"queue_limit {queue_limit} must be at least batch {batch}: a client takes "
                                 "a whole page of the log at once")
        self._log = log
        self._encode = encode
        self._poll_interval = poll_interval
        self._limit = queue_limit
        self._batch = batch
        self._groups: dict[_Filter, set[_Client[T]]] = {}
        self._position = Cursor(0, 0)
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        self._watchers: list[Callable[[Envelope], object]] = []

    @property
    def position(self) -> str:
        """The cursor of the last event handed to the clients (the log's head when it started)."""
        return str(self._position)

    @property
    def clients(self) -> int:
        """How many clients are streaming."""
        return sum(len(clients) for clients in self._groups.values())

    def watch(self, callback: Callable[[Envelope], object]) -> None:
        """Call ``callback(event)`` for every event read from the log, before any stream gets it.

        A client that has seen an event on its stream can then count on what the callback did
        (the runs list dropping its pages, say). A callback that raises is logged; the event
        still goes to the streams.
        """
        self._watchers.append(callback)

    async def start(self) -> None:
        """Start reading the log from its head."""
        self._position = decode_cursor(await self._log.head())
        self._task = asyncio.get_running_loop().create_task(self._run(), name="weaver-broadcaster")

    async def close(self) -> None:
        """Stop reading the log and end every client's stream."""
        self._closed = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        for clients in self._groups.values():
            for client in clients:
                client.close()
        self._groups.clear()

    async def stream(self, after: str, *, run_id: str | None = None,
                     types: Collection[str] | None = None) -> AsyncIterator[list[T]]:
        """Yield the encoded events after the cursor ``after``, in cursor order, in batches, until closed.

        Only events of run ``run_id`` and of the ``types`` given are yielded, when given.
        Close the iterator (``contextlib.aclosing``) when done with it.

        Raises
        ------
        SlowConsumerError
            If the client fell ``queue_limit`` events behind: it was let go.
        """
        last = decode_cursor(after, "after")
        wanted = None if types is None else frozenset(types)
        # 1. behind the broadcaster: read the log alone, with no queue filling meanwhile
        while last < self._position and not self._closed:
            events = await self._log.read(str(last), self._batch, run_id=run_id, types=wanted)
            if events:
                last = decode_cursor(events[-1].cursor)
                yield [self._encode(event) for event in events]
            if len(events) < self._batch:
                break
        if self._closed:
            return
        # 2. join: every event after `joined` now reaches the queue; read the log up to there
        client: _Client[T] = _Client((run_id, wanted), self._limit)
        joined = self._position
        self._groups.setdefault(client.key, set()).add(client)
        try:
            while last < joined:
                events = await self._log.read(str(last), self._batch, run_id=run_id, types=wanted)
                if events:
                    last = decode_cursor(events[-1].cursor)
                    yield [self._encode(event) for event in events]
                if len(events) < self._batch:
                    break
            # 3. live: what the queue holds, less what was read from the log ahead of it
            while (items := await client.take()) is not None:
                fresh = [item for cursor, item in items if cursor > last]
                if fresh:
                    last = items[-1][0]
                    yield fresh
        finally:
            self._discard(client)

    def _discard(self, client: _Client[T]) -> None:
        clients = self._groups.get(client.key)
        if clients is not None:
            clients.discard(client)
            if not clients:
                del self._groups[client.key]

    def _dispatch(self, event: Envelope) -> None:
        for watcher in self._watchers:
            try:
                watcher(event)
            except Exception:
                log.exception("a watcher of the event broadcaster failed on event %s (%s)", event.cursor, event.type)
        cursor = decode_cursor(event.cursor)
        self._position = cursor
        item: T | None = None
        dropped: list[_Client[T]] = []
        for (run_id, types), clients in self._groups.items():
            if (run_id is not None and event.run_id != run_id) or (types is not None and event.type not in types):
                continue
            if item is None:
                item = self._encode(event)
            for client in clients:
                if not client.put(cursor, item):
                    dropped.append(client)
        for client in dropped:
            log.warning("an event stream client fell %s events behind at %s and was let go", self._limit, cursor)
            self._discard(client)

    async def _run(self) -> None:
        while True:
            try:
                async for event in self._log.subscribe(str(self._position), poll_interval=self._poll_interval,
                                                       batch=self._batch):
                    self._dispatch(event)
            except asyncio.CancelledError:
                raise
            except Exception:  # a bug, not the store being away (the subscription waits that out)
                log.exception("the event broadcaster failed at %s; reading on in 1 s", self._position)
                await asyncio.sleep(1)
