"""Events: their types and versioned payload schemas (DESIGN §5).

Imports the core and pydantic only; nothing of the core imports it.
"""

from __future__ import annotations

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
    "EventPayloadError",
    "EventTypeError",
    "order_event_payload",
    "payload_model",
    "validate_payload",
]
