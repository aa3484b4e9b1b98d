"""Serialized pages of a list, kept until what they show changes: the runs list answers from memory.

A dashboard polls ``GET /api/v1/runs`` far more often than runs change. A page's JSON is kept
under its query and served as it is until one of these happens, whichever comes first:

- the server changes a run itself (create, start, stop, delete): :meth:`PageCache.changed`
  is called after the commit, so a client always sees its own writes;
- the server's event reader (:class:`weaver.events.broadcast.Broadcaster`) reads a ``run.*``
  event, whoever wrote it (a backtest worker, another process): it calls :meth:`changed`
  before it hands the event to any stream, so a client that has seen an event on the stream
  sees its run changed in the list;
- the page is ``max_age`` seconds old: what no event tells (a run deleted by another
  process) shows within that time, and so does an unreachable store (503).

A request notes :attr:`PageCache.generation` before it reads the store and keeps its page only
if no change came meanwhile, so a page read before a write is never kept after it. Requests
that miss the same page together wait for one read of the store (:meth:`PageCache.page`), so
a page expiring under many clients costs one query, not one per client.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable

__all__ = ["PageCache"]


class PageCache:
    """Pages of JSON by query, dropped at every change and after ``max_age`` seconds.

    Parameters
    ----------
    max_age
        Seconds a page is served at most.
    size
        Pages kept at most; the oldest goes first.
    max_bytes
        Bytes of pages kept at most (a page of 500 finished runs is about 1 MB); the oldest
        goes first, and a page larger than this is served but not kept.
    clock
        Seconds, monotonic (``time.monotonic`` by default).

    Attributes
    ----------
    bytes
        Bytes of the pages it holds.
    """

    def __init__(self, max_age: float = 1.0, *, size: int = 256, max_bytes: int = 32 << 20,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._max_age = max_age
        self._size = size
        self._max_bytes = max_bytes
        self.bytes = 0
        self._clock = clock
        self._generation = 0
        self._pages: dict[Hashable, tuple[float, bytes]] = {}
        self._making: dict[Hashable, tuple[int, asyncio.Future[bytes]]] = {}

    @property
    def generation(self) -> int:
        """A number that grows at every change: note it before reading what a page shows."""
        return self._generation

    def changed(self) -> None:
        """Drop every page: what they show has changed."""
        self._generation += 1
        self._pages.clear()
        self.bytes = 0

    def get(self, key: Hashable) -> bytes | None:
        """Return the page kept under ``key``, or None if there is none as fresh as ``max_age``."""
        kept = self._pages.get(key)
        if kept is None:
            return None
        if self._clock() - kept[0] > self._max_age:
            self._drop(key)
            return None
        return kept[1]

    async def page(self, key: Hashable, make: Callable[[], Awaitable[bytes]]) -> bytes:
        """Return the page kept under ``key``, or make it with ``make()`` and keep it.

        Requests that miss together share one ``make()``, unless a change came after it began:
        a request then makes its own, so it never gets a page older than a change it follows.
        ``make()``'s error reaches every request waiting for it, and nothing is kept.
        """
        content = self.get(key)
        if content is not None:
            return content
        generation = self._generation
        making = self._making.get(key)
        if making is not None and making[0] == generation:
            return await asyncio.shield(making[1])  # a waiter that goes away leaves the others theirs
        task = asyncio.ensure_future(make())
        self._making[key] = (generation, task)
        try:
            content = await asyncio.shield(task)
        finally:
            if self._making.get(key, (0, None))[1] is task:
                del self._making[key]
        self.put(key, generation, content)
        return content

    def put(self, key: Hashable, generation: int, content: bytes) -> None:
        """Keep ``content`` under ``key``, unless a change came after ``generation`` was noted."""
        if generation != self._generation or len(content) > self._max_bytes:
            return
        self._drop(key)
        while self._pages and (len(self._pages) >= self._size or self.bytes + len(content) > self._max_bytes):
            self._drop(next(iter(self._pages)))
        self._pages[key] = (self._clock(), content)
        self.bytes += len(content)

    def _drop(self, key: Hashable) -> None:
        kept = self._pages.pop(key, None)
        if kept is not None:
            self.bytes -= len(kept[1])

    def __len__(self) -> int:
        return len(self._pages)
