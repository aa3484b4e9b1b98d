"""The outbox's cursor and its SQL: how events are written, and read without skipping one.

A reader's position is a cursor, not "the last id" (DESIGN §5). Reading "id greater than the
last one seen" skips events: ids are drawn when a row is inserted, not when its transaction
commits, so transaction A can take id 7, transaction B id 8, and B commit first. A reader
that sees 8 and moves past it never sees 7.

PostgreSQL: every row carries the id of the transaction that wrote it (``tx``, an ``xid8``
defaulting to ``pg_current_xact_id()``). A reader asks only for rows whose ``tx`` is below
``pg_snapshot_xmin(pg_current_snapshot())``, the oldest transaction still running in the
cluster: every transaction below it has ended, so no row can still appear below it. It
orders them by ``(tx, id)`` and resumes after the ``(tx, id)`` it saw last. Events therefore
arrive in transaction-id order, which is not commit order: the promise is that nothing
committed is skipped. The price is that one long transaction anywhere in the cluster holds
every reader back until it ends (Weaver's own connections end idle transactions after
``IDLE_IN_TRANSACTION_TIMEOUT_MS``).

SQLite: every write transaction begins with ``BEGIN IMMEDIATE``, which takes the database's
one write lock before it writes anything and holds it to the commit. Transactions that write
the outbox therefore run one after another, and each one's ids (AUTOINCREMENT, never reused)
are above those of every transaction committed before it. A reader only ever sees committed
rows, and none can commit below what it has seen: id order is commit order, and ``tx`` is 0.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, NamedTuple

from sqlalchemy import SmallInteger, String, bindparam, func, insert, literal_column, select, text, true, tuple_
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import Select

from weaver.core.envelope import Envelope
from weaver.core.errors import DataError
from weaver.events.types import LATEST, validate_payload
from weaver.store.models import OutboxEvent, UtcDateTime

__all__ = ["START", "Cursor", "CursorError", "NewEvent", "decode_cursor", "new_event"]

#: the NOTIFY channel that wakes readers; its payload is only a hint (the run id)
CHANNEL = "weaver_events"
_CURSOR = re.compile(r"(\d{1,20})-(\d{1,19})")
_TABLE = OutboxEvent.__table__
_UNNEST_COLUMNS = ("type", "version", "run_id", "correlation_id", "causation_id", "ts", "payload")
_COLUMNS = (_TABLE.c.id, _TABLE.c.tx, _TABLE.c.type, _TABLE.c.version, _TABLE.c.run_id, _TABLE.c.correlation_id,
            _TABLE.c.causation_id, _TABLE.c.ts, _TABLE.c.payload)


class CursorError(DataError):
    """Raise for a cursor that is malformed, or that names no event of the log."""


class Cursor(NamedTuple):
    """A position in the log: after the event written by transaction ``tx`` with id ``id``."""

    tx: int
    id: int

    def __str__(self) -> str:
        return f"{self.tx}-{self.id}"


#: the position before the first event
START = Cursor(0, 0)


def decode_cursor(text: str | None, source: str = "cursor") -> Cursor:
    """Return the cursor that ``text`` encodes; None or ``""`` is the start of the log.

    Raises
    ------
    CursorError
        If ``text`` is not a cursor this log wrote; the message names it and ``source``.
    """
    if text is None or text == "":
        return START
    match = _CURSOR.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise CursorError(f"{source} {text!r} is not an event cursor (they look like '0-42', as the log hands them out)")
    return Cursor(int(match[1]), int(match[2]))


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An event ready to be written: its type and payload already checked against the registry."""

    type: str
    version: int
    payload: Mapping[str, Any]
    ts: datetime
    run_id: str | None = None
    correlation_id: str | None = None
    causation_id: str | None = None

    def row(self) -> dict[str, Any]:
        return {"type": self.type, "version": self.version, "run_id": self.run_id,
                "correlation_id": self.correlation_id, "causation_id": self.causation_id, "ts": self.ts,
                "payload": self.payload}


def new_event(type: str, payload: Mapping[str, Any], *, run_id: str | None = None, correlation_id: str | None = None,
              causation_id: str | None = None, ts: datetime | None = None, version: int | None = None) -> NewEvent:
    """Check ``payload`` against ``type``'s schema and return the event to write.

    Raises
    ------
    EventTypeError, EventPayloadError
        If the type is unknown or the payload fails its schema: nothing is written.
    """
    version = LATEST.get(type, 1) if version is None else version
    checked = validate_payload(type, payload, version)
    if ts is None:
        ts = datetime.now(timezone.utc)
    elif ts.tzinfo is None or ts.utcoffset() is None:
        raise DataError(f"{type} event ts {ts!r} must be timezone-aware")
    return NewEvent(type, version, checked, ts, run_id, correlation_id, causation_id)


def envelope(row: Row[Any] | Sequence[Any]) -> Envelope:
    """Return the envelope of one outbox row (as :data:`_COLUMNS` selects it)."""
    id_, tx, type_, version, run_id, correlation_id, causation_id, ts, payload = row
    return Envelope(id_, type_, version, run_id, correlation_id, causation_id, ts, payload, str(Cursor(tx, id_)))


async def write(conn: AsyncConnection, events: Sequence[NewEvent]) -> list[Envelope]:
    """Insert ``events`` in the connection's transaction and return their envelopes, in order."""
    if not events:
        return []
    rows = [event.row() for event in events]
    if len(rows) == 1:
        keys = (await conn.execute(insert(_TABLE).returning(_TABLE.c.id, _TABLE.c.tx), rows)).all()
    elif conn.dialect.name == "sqlite":
        keys = await _insert_serialized(conn, rows)
    else:
        keys = await _insert_unnest(conn, rows)
    return [Envelope(id_, event.type, event.version, event.run_id, event.correlation_id, event.causation_id,
                     event.ts, event.payload, str(Cursor(tx, id_)))
            for (id_, tx), event in zip(keys, events, strict=True)]


async def _insert_serialized(conn: AsyncConnection, rows: list[dict[str, Any]]) -> Sequence[Row[Any]]:
    """Insert ``rows`` with one executemany on SQLite; return their ``(id, tx)`` in the order given.

    SQLite cannot tie the rows a multi-row INSERT ... RETURNING returns to its parameters, so
    SQLAlchemy falls back to one INSERT per row for an ordered RETURNING: a round trip to
    aiosqlite's thread each, 30 times slower at 1,000 rows. This transaction holds the write
    lock (``BEGIN IMMEDIATE``, see the module's docs) and AUTOINCREMENT ids only grow, so the
    rows above the largest id before the insert are these, in the order they were inserted.
    """
    before = (await conn.execute(select(func.max(_TABLE.c.id)))).scalar_one_or_none() or 0
    await conn.execute(insert(_TABLE), rows)
    query = select(_TABLE.c.id, _TABLE.c.tx).where(_TABLE.c.id > before).order_by(_TABLE.c.id)
    return (await conn.execute(query)).all()


#: PostgreSQL: a batch as one INSERT from one array per column, rows numbered in the order given
_INSERT_UNNEST = text(
    "INSERT INTO outbox (type, version, run_id, correlation_id, causation_id, ts, payload) "
    "SELECT type, version, run_id, correlation_id, causation_id, ts, payload "
    "FROM unnest(:type, :version, :run_id, :correlation_id, :causation_id, :ts, :payload) "
    "WITH ORDINALITY AS batch(type, version, run_id, correlation_id, causation_id, ts, payload, n) "
    "ORDER BY n RETURNING id, tx"
).bindparams(*(bindparam(name, type_=ARRAY(kind)) for name, kind in (
    ("type", String()), ("version", SmallInteger()), ("run_id", String()), ("correlation_id", String()),
    ("causation_id", String()), ("ts", UtcDateTime()), ("payload", JSONB()))))


async def _insert_unnest(conn: AsyncConnection, rows: list[dict[str, Any]]) -> list[tuple[int, int]]:
    """Insert ``rows`` with one statement on PostgreSQL; return their ``(id, tx)`` in the order given.

    SQLAlchemy's ordered multi-row INSERT binds one parameter per value (7,000 for 1,000
    events), each handled one by one in Python; one array per column takes about a fifth
    off a 1,000-event ``append_many`` (benchmarks/events.py). ``ORDER BY n`` inserts the rows
    in the order given, so their identity ids rise in that order (what SQLAlchemy's own
    ordered RETURNING relies on): sorting the returned rows by id restores the order given.
    """
    columns = {name: [row[name] for row in rows] for name in _UNNEST_COLUMNS}
    return sorted(tuple(key) for key in (await conn.execute(_INSERT_UNNEST, columns)).all())


async def notify(conn: AsyncConnection, hint: str = "") -> None:
    """Wake the readers when the connection's transaction commits (PostgreSQL only; a hint)."""
    await conn.execute(select(func.pg_notify(CHANNEL, hint)))


def _visible(dialect: str) -> Any:
    """Return the condition for rows no running transaction can still add to (see the module's docs)."""
    if dialect == "postgresql":
        return _TABLE.c.tx < literal_column("pg_snapshot_xmin(pg_current_snapshot())")
    return true()


def read_query(dialect: str, after: Cursor, limit: int, run_id: str | None = None,
               types: Iterable[str] | None = None) -> Select[Any]:
    """Return the query for up to ``limit`` events after ``after``, in cursor order."""
    query = select(*_COLUMNS).where(tuple_(_TABLE.c.tx, _TABLE.c.id) > tuple_(
        bindparam("after_tx", after.tx, type_=_TABLE.c.tx.type), bindparam("after_id", after.id, type_=_TABLE.c.id.type)),
                                    _visible(dialect))
    if run_id is not None:
        query = query.where(_TABLE.c.run_id == run_id)
    if types is not None:
        query = query.where(_TABLE.c.type.in_(list(types)))
    return query.order_by(_TABLE.c.tx, _TABLE.c.id).limit(limit)


def head_query(dialect: str) -> Select[Any]:
    """Return the query for the newest readable event's ``(tx, id)``."""
    return (select(_TABLE.c.tx, _TABLE.c.id).where(_visible(dialect))
            .order_by(_TABLE.c.tx.desc(), _TABLE.c.id.desc()).limit(1))


def exists_query(cursor: Cursor) -> Select[Any]:
    """Return the query that finds the event a cursor points at."""
    return select(_TABLE.c.id).where(_TABLE.c.tx == cursor.tx, _TABLE.c.id == cursor.id)
