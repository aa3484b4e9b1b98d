"""What the store's repositories raise when a record is missing or already there."""

from __future__ import annotations

from weaver.core.errors import WeaverError

__all__ = ["ConflictError", "NotFoundError"]


class NotFoundError(WeaverError, LookupError):
    """Raise for a record the store does not hold; the message names what was looked for."""


class ConflictError(WeaverError):
    """Raise for a record that would take a key another one holds (a run id used twice)."""
