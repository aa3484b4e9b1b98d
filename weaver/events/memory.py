"""An event log in memory: the :class:`weaver.core.EventLog` port for tests and in-process runs.

One process appends to it under a lock, so id order is commit order and the cursor is
``0-<id>``, as on SQLite. Nothing survives the process.
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any

from weaver.core.envelope import Envelope
from weaver.events.outbox import Cursor, decode_cursor, new_event

__all__ = ["MemoryEventLog"]


class MemoryEventLog:
    """An append-only event log held in a list, checked against the same schemas as the store's."""

    def __init__(self) -> None:
        self._events: list[Envelope] = []
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._events)

    def append(self, type: str, payload: Mapping[str, Any], *, run_id: str | None = None,
               correlation_id: str | None = None, causation_id: str | None = None, ts: datetime | None = None,
               version: int | None = None) -> Envelope:
        """Check the payload against its type's schema, keep the event, and return it with its cursor.

        Raises
        ------
        EventTypeError, EventPayloadError
            If the type is unknown or the payload fails its schema; nothing is kept.
        """
        event = new_event(type, payload, run_id=run_id, correlation_id=correlation_id, causation_id=causation_id,
                          ts=ts, version=version)
        with self._lock:
            id_ = len(self._events) + 1
            kept = Envelope(id_, event.type, event.version, event.run_id, event.correlation_id, event.causation_id,
                            event.ts, event.payload, str(Cursor(0, id_)))
            self._events.append(kept)
        return kept

    def read(self, after: str | None = None, limit: int = 100, *, run_id: str | None = None,
             types: Collection[str] | None = None) -> list[Envelope]:
        """Return up to ``limit`` events after the cursor ``after``, in order."""
        start = decode_cursor(after, "after").id
        with self._lock:
            later = self._events[start:]
        matching = (e for e in later if (run_id is None or e.run_id == run_id) and (types is None or e.type in types))
        return [e for _, e in zip(range(limit), matching)]

    def head(self) -> str:
        """Return the cursor after the newest event (``0-0`` when empty)."""
        with self._lock:
            return str(Cursor(0, len(self._events)))
