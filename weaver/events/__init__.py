"""Events: their types and versioned payload schemas, and the log that keeps them (DESIGN §5).

``weaver.events.types`` imports the core and pydantic only; the log reads and writes the
store's outbox. Nothing of the core imports this package.
"""

from __future__ import annotations

from weaver.events.log import AsyncEventLog
from weaver.events.memory import MemoryEventLog
from weaver.events.outbox import START, Cursor, CursorError, NewEvent, decode_cursor, new_event
from weaver.events.types import (
    EVENT_TYPES,
    LATEST,
    EventPayloadError,
    EventTypeError,
    order_event_payload,
    payload_model,
    validate_payload,
)

__all__ = [
    "EVENT_TYPES",
    "LATEST",
    "START",
    "AsyncEventLog",
    "Cursor",
    "CursorError",
    "EventPayloadError",
    "EventTypeError",
    "MemoryEventLog",
    "NewEvent",
    "decode_cursor",
    "new_event",
    "order_event_payload",
    "payload_model",
    "validate_payload",
]
