"""The envelope every stored or streamed event travels in (DESIGN.md section 5)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from weaver.core._checks import check_aware
from weaver.core.errors import DataError

__all__ = ["Envelope"]


@dataclass(frozen=True, slots=True)
class Envelope:
    """A thin event with its routing metadata.

    Parameters
    ----------
    id
        The event log offset; ``None`` until the log assigns it.
    type
        Dotted event type, e.g. ``"order.filled"``.
    version
        Schema version of ``payload`` for this ``type``.
    run_id
        The run the event belongs to, if any.
    correlation_id
        Id shared by every event caused by one request or decision.
    causation_id
        Id of the event or request that directly caused this one.
    ts
        When the event happened (timezone-aware).
    payload
        JSON-serialisable event data; treat it as read-only.
    cursor
        The reader's position just after this event, as the log hands it out (an opaque
        string: the SSE ``id:``); ``None`` until the event is written.
    """

    id: int | None
    type: str
    version: int
    run_id: str | None
    correlation_id: str | None
    causation_id: str | None
    ts: datetime
    payload: Mapping[str, Any]
    cursor: str | None = None

    def __post_init__(self) -> None:
        if not self.type:
            raise DataError(f"envelope type must be non-empty, got {self.type!r}")
        if self.version < 1:
            raise DataError(f"envelope version {self.version} must be >= 1 ({self.type})")
        check_aware(self.ts, "ts")
