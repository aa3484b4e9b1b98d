"""``/api/v1/events/stream`` (Server-Sent Events) and ``/api/v1/events/tail`` (JSON).

The stream hands on the event log as it grows, through the server's one
:class:`weaver.events.broadcast.Broadcaster`. Each message's ``id:`` is the event's cursor,
its ``event:`` the event's type and its ``data:`` the envelope as JSON. A client that sends
``Last-Event-ID`` (as EventSource does when it reconnects), or ``?last_event_id=``, gets
every event after that one, in the log's cursor order, with no gap and no duplicate; ``0-0``
replays the log from its start. Without either it gets the events that commit after it
connected. Heartbeats are SSE comments (``: heartbeat``), with no ``id:``, every
``WEAVER_SSE_HEARTBEAT`` seconds (15). A client that stops reading and falls
``WEAVER_SSE_QUEUE`` events behind is let go (its stream ends with a comment saying so, or
its connection is cut once a send has waited ``WEAVER_SSE_SEND_TIMEOUT`` seconds); it
resumes with its last id.
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import aclosing
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Depends, Header, Query
from pydantic import BaseModel, Field
from sse_starlette import EventSourceResponse, ServerSentEvent
from sse_starlette.sse import SendTimeoutError
from starlette.types import Receive, Scope, Send

from weaver.api.deps import BroadcasterDep, SettingsDep, StoreDep
from weaver.api.errors import ApiError, ErrorCode
from weaver.api.security import require_token, require_token_or_query
from weaver.core.envelope import Envelope
from weaver.events.broadcast import SlowConsumerError
from weaver.events.outbox import CursorError

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from weaver.events.broadcast import Broadcaster

__all__ = ["TAIL_LIMIT", "EventPage", "EventResponse", "EventStreamStats", "router", "sse_frame"]

log = logging.getLogger("weaver.api.events")

router = APIRouter(prefix="/events", tags=["events"])

#: the most events one tail answers
TAIL_LIMIT = 1000


class EventResponse(BaseModel):
    """One event of the log: its envelope (DESIGN §5), as the stream's ``data:`` and the tail's items carry it."""

    id: int = Field(description="The event's id in the log (not its position: see cursor)")
    type: str = Field(description="The event's type, e.g. order.filled")
    version: int = Field(description="The version of the payload's schema")
    run_id: str | None
    correlation_id: str | None
    causation_id: str | None
    ts: datetime = Field(description="When it happened")
    payload: dict[str, Any] = Field(description="What happened: thin, fetch the full objects over REST")
    cursor: str = Field(description="The reader's position after this event: the stream's id:")

    model_config = {"json_schema_extra": {"examples": [{
        "id": 42, "type": "run.started", "version": 1, "run_id": "r-7f3a", "correlation_id": None,
        "causation_id": None, "ts": "2026-12-05T14:30:00Z",
        "payload": {"run_id": "r-7f3a", "status": "running", "reason": None}, "cursor": "0-42"}]}}

    @classmethod
    def of(cls, event: Envelope) -> EventResponse:
        """Return the answer for one envelope read from the log."""
        return cls(id=event.id or 0, type=event.type, version=event.version, run_id=event.run_id,
                   correlation_id=event.correlation_id, causation_id=event.causation_id, ts=event.ts,
                   payload=dict(event.payload), cursor=event.cursor or "")


class EventPage(BaseModel):
    """Events of the log, in cursor order, and where to read on from."""

    items: list[EventResponse]
    cursor: str = Field(description="Where to resume: the last item's cursor (or, with no item, `after`, or the "
                                    "log's head). Pass it as `after`, or as the stream's Last-Event-ID")


class EventStreamStats(BaseModel):
    """The stream's bookkeeping, to check that nothing outlives a connection."""

    clients: int = Field(description="Clients streaming now")
    position: str = Field(description="The cursor of the last event handed to the clients")
    tasks: int = Field(description="asyncio tasks in the server's event loop")


def sse_frame(event: Envelope) -> bytes:
    """Return one event as an SSE message: ``id:`` its cursor, ``event:`` its type, ``data:`` its envelope."""
    data = EventResponse.of(event).model_dump_json()
    return ServerSentEvent(data=data, event=event.type, id=event.cursor).encode()


def _types(given: list[str] | None) -> list[str] | None:
    """Return the event types asked for (``type`` repeated or comma-separated), each checked."""
    if not given:
        return None
    from weaver.events.types import EventTypeError, payload_model

    types = [part.strip() for value in given for part in value.split(",") if part.strip()]
    for name in types:
        try:
            payload_model(name)
        except EventTypeError as exc:
            raise ApiError(422, ErrorCode.VALIDATION_ERROR, f"invalid request: type: {exc}",
                           {"errors": [{"field": "type", "message": str(exc), "type": "value_error"}]}) from None
    return types or None


RunFilter = Annotated[str | None, Query(description="Only the events of this run")]
TypeFilter = Annotated[list[str] | None, Query(
    description="Only events of these types: repeat it, or separate them with commas "
                "(`type=run.started,run.completed`)")]


class _EventSourceResponse(EventSourceResponse):
    """sse-starlette's response; a client that stopped reading is let go with a warning, not an error."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        except SendTimeoutError:
            log.warning("event stream: a send waited %s s for the client; connection dropped [%s]",
                        self.send_timeout, scope.get("state", {}).get("correlation_id", "-"))


async def _frames(broadcaster: Broadcaster[bytes], after: str, run_id: str | None,
                  types: list[str] | None) -> AsyncIterator[bytes]:
    try:
        async with aclosing(broadcaster.stream(after, run_id=run_id, types=types)) as batches:
            async for batch in batches:
                yield b"".join(batch)  # what is queued goes out as one write
    except SlowConsumerError as exc:
        yield ServerSentEvent(comment=f"{exc}: reconnect with Last-Event-ID").encode()


@router.get("/stream", summary="The event log as Server-Sent Events", response_model=None,
            dependencies=[Depends(require_token_or_query)],
            responses={200: {"description": "An endless text/event-stream: `id:` the event's cursor, `event:` its "
                                            "type, `data:` its envelope as JSON (EventResponse); heartbeats are "
                                            "comments", "content": {"text/event-stream": {"schema": {"type": "string"}}}},
                       400: {"description": "Last-Event-ID is malformed or names no event of this log"}})
async def stream(
        store: StoreDep, broadcaster: BroadcasterDep, settings: SettingsDep,
        run_id: RunFilter = None, type: TypeFilter = None,
        last_event_id: Annotated[str | None, Query(description="Resume after this event's cursor, as the "
                                                               "Last-Event-ID header does; `0-0` replays the log")] = None,
        last_event_id_header: Annotated[str | None, Header(alias="Last-Event-ID", description=(
            "Resume after this event's cursor (EventSource sends it when it reconnects); wins over the query"))] = None,
) -> _EventSourceResponse:
    """Stream the log's events as they commit; with Last-Event-ID, first every event after that one.

    Without Last-Event-ID (header or `last_event_id`) the stream starts at the log's head: only
    events committed after the request. `Last-Event-ID: 0-0` replays the whole log first. The
    token may be sent as `?token=` (EventSource cannot send headers); it never reaches the log.
    """
    types = _types(type)
    source, given = (("Last-Event-ID", last_event_id_header) if last_event_id_header is not None
                     else ("last_event_id", last_event_id))
    if given is None:
        after = await store.log.head()
    elif given == "":
        raise CursorError(f"{source} '' is not an event cursor (they look like '0-42', as the log hands them out)")
    else:
        after = str(await store.log.check_cursor(given, source))
    return _EventSourceResponse(_frames(broadcaster, after, run_id, types), ping=settings.sse_heartbeat,
                                ping_message_factory=lambda: ServerSentEvent(comment="heartbeat"),
                                send_timeout=settings.sse_send_timeout)


@router.get("/tail", response_model=EventPage, summary="The newest events, or those after a cursor, as JSON",
            dependencies=[Depends(require_token)],
            responses={400: {"description": "`after` is malformed or names no event of this log"}})
async def tail(store: StoreDep, after: Annotated[str | None, Query(description=(
        "Return the events after this cursor (an event's `cursor`, or `0-0` for the start); without it, the "
        "newest events"))] = None,
               limit: Annotated[int, Query(ge=1, le=TAIL_LIMIT, description="At most this many events")] = 100,
               run_id: RunFilter = None, type: TypeFilter = None) -> EventPage:
    """Return up to `limit` events in cursor order: those right after `after`, or the newest ones."""
    types = _types(type)
    if after is None:
        events = await store.log.latest(limit, run_id=run_id, types=types)
        resume = events[-1].cursor if events else await store.log.head()
    else:
        position = str(await store.log.check_cursor(after, "after"))
        events = await store.log.read(position, limit, run_id=run_id, types=types)
        resume = events[-1].cursor if events else position
    return EventPage(items=[EventResponse.of(event) for event in events], cursor=resume or "0-0")


@router.get("/stats", response_model=EventStreamStats, include_in_schema=False, dependencies=[Depends(require_token)])
async def stats(broadcaster: BroadcasterDep) -> EventStreamStats:
    """Return how many clients stream and how many tasks the server runs (a connect/disconnect soak reads it)."""
    return EventStreamStats(clients=broadcaster.clients, position=broadcaster.position,
                            tasks=len(asyncio.all_tasks()))
