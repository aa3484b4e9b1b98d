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

import functools
import re
import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timezone
from typing import Any, NamedTuple

from pydantic_core import from_json
from sqlalchemy import bindparam, func, literal_column, select, true, tuple_
from sqlalchemy.engine import Row
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import Select

from weaver.core.envelope import Envelope
from weaver.core.errors import DataError
from weaver.events.types import checked_json
from weaver.store.models import OutboxEvent

__all__ = ["SQLITE_ROWS_PER_INSERT", "START", "Cursor", "CursorError", "JsonPayload", "NewEvent", "Written",
           "decode_cursor", "new_event"]

#: the NOTIFY channel that wakes readers; its payload is only a hint (the run id)
CHANNEL = "weaver_events"
_CURSOR = re.compile(r"(\d{1,20})-(\d{1,19})")
_TABLE = OutboxEvent.__table__
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


class JsonPayload(Mapping[str, Any]):
    """A payload kept as the JSON text it is written as, decoded on first use.

    An event written in a batch is handed back to its writer, who seldom reads its payload
    again: decoding it only when asked saves the outbox a copy of every payload.
    """

    __slots__ = ("_data", "json")

    def __init__(self, json: str) -> None:
        self.json = json
        self._data: dict[str, Any] | None = None

    def _decoded(self) -> dict[str, Any]:
        if self._data is None:
            self._data = from_json(self.json)
        return self._data

    def __getitem__(self, key: str) -> Any:
        return self._decoded()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._decoded())

    def __len__(self) -> int:
        return len(self._decoded())

    def __repr__(self) -> str:
        return repr(self._decoded())

    def __reduce__(self) -> tuple[Any, ...]:
        return (JsonPayload, (self.json,))


class NewEvent(NamedTuple):
    """An event ready to be written: its type and payload already checked against the registry.

    ``json`` is the payload's JSON text, made once when the event is checked; ``payload``
    reads it back.
    """

    type: str
    version: int
    run_id: str | None
    correlation_id: str | None
    causation_id: str | None
    ts: datetime
    json: str

    @property
    def payload(self) -> JsonPayload:
        """The checked payload, as :func:`weaver.events.validate_payload` returns it."""
        return JsonPayload(self.json)


def new_event(type: str, payload: Mapping[str, Any], *, run_id: str | None = None, correlation_id: str | None = None,
              causation_id: str | None = None, ts: datetime | None = None, version: int | None = None) -> NewEvent:
    """Check ``payload`` against ``type``'s schema and return the event to write.

    Raises
    ------
    EventTypeError, EventPayloadError
        If the type is unknown or the payload fails its schema: nothing is written.
    """
    version, text = checked_json(type, payload, version)
    if ts is None:
        ts = datetime.now(timezone.utc)
    elif ts.tzinfo is None or ts.utcoffset() is None:
        raise DataError(f"{type} event ts {ts!r} must be timezone-aware")
    return NewEvent(type, version, run_id, correlation_id, causation_id, ts, text)


class Written(Sequence[Envelope]):
    """The envelopes of the events one write stored, in the order given, made when first read.

    A batch's writer seldom reads its envelopes back (a runner keeps only the last cursor):
    making 1,000 of them takes about 1 ms, half the time SQLite takes to insert the rows, so
    they are made only if asked for, all at once.
    """

    __slots__ = ("_envelopes", "_events", "_keys")

    def __init__(self, events: Sequence[NewEvent], keys: Sequence[tuple[int, int]]) -> None:
        if len(events) != len(keys):
            raise ValueError(f"{len(events)} events written but {len(keys)} ids returned")
        self._events = events
        self._keys = keys
        self._envelopes: list[Envelope] | None = None

    def _made(self) -> list[Envelope]:
        if self._envelopes is None:
            self._envelopes = [
                Envelope(id_, event.type, event.version, event.run_id, event.correlation_id, event.causation_id,
                         event.ts, JsonPayload(event.json), f"{tx}-{id_}")
                for (id_, tx), event in zip(self._keys, self._events)]
            self._events = self._keys = ()
        return self._envelopes

    def __len__(self) -> int:
        return len(self._envelopes if self._envelopes is not None else self._events)

    def __getitem__(self, index: Any) -> Any:
        return self._made()[index]

    def __iter__(self) -> Iterator[Envelope]:
        return iter(self._made())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (Written, list, tuple)):
            return self._made() == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return repr(self._made())


def envelope(row: Row[Any] | Sequence[Any]) -> Envelope:
    """Return the envelope of one outbox row (as :data:`_COLUMNS` selects it)."""
    id_, tx, type_, version, run_id, correlation_id, causation_id, ts, payload = row
    return Envelope(id_, type_, version, run_id, correlation_id, causation_id, ts, payload, str(Cursor(tx, id_)))


async def write(conn: AsyncConnection, events: Sequence[NewEvent]) -> Written:
    """Insert ``events`` in the connection's transaction and return their envelopes, in order.

    The rows go to the driver as they are (the payload's JSON text made when it was checked,
    the time in the column's own form), past SQLAlchemy's per-value processing: a batch of
    1,000 events is one statement on either database.
    """
    if not events:
        return Written((), ())
    if conn.dialect.name == "sqlite":
        keys = await _insert_sqlite(conn, events)
    else:
        keys = await _insert_postgres(conn, events)
    return Written(events, keys)


#: rows per INSERT statement on SQLite: 7 bound values a row, well within the 32,766 variables
#: SQLite allows a statement since 3.32 (999 before)
SQLITE_ROWS_PER_INSERT = 1_000 if sqlite3.sqlite_version_info >= (3, 32) else 140
_SQLITE_INSERT = "INSERT INTO outbox (type, version, run_id, correlation_id, causation_id, ts, payload) VALUES "


@functools.lru_cache(maxsize=32)
def _sqlite_insert(rows: int) -> str:
    """Return the INSERT of ``rows`` rows (one statement text per size, so SQLite's statement cache keeps it)."""
    return _SQLITE_INSERT + ", ".join(["(?, ?, ?, ?, ?, ?, ?)"] * rows)


async def _insert_sqlite(conn: AsyncConnection, events: Sequence[NewEvent]) -> list[tuple[int, int]]:
    """Insert ``events`` on SQLite; return their ``(id, tx)`` in the order given (``tx`` is 0 there).

    Multi-row INSERTs of up to :data:`SQLITE_ROWS_PER_INSERT` rows: SQLite runs one statement
    about twice as fast as ``executemany`` runs its rows one by one. The ids need no reading
    back: this transaction holds the write lock (``BEGIN IMMEDIATE``, see the module's docs),
    and AUTOINCREMENT gives each row one more than the largest id the table ever had, so a
    statement's rows get consecutive ids, in the order of its VALUES, ending at
    ``last_insert_rowid()``.
    """
    # aiosqlite's execute_insert runs the statement and reads last_insert_rowid() in one trip to
    # its thread; SQLAlchemy's cursor would take three (cursor, execute, close)
    driver = (await conn.get_raw_connection()).driver_connection
    keys: list[tuple[int, int]] = []
    for start in range(0, len(events), SQLITE_ROWS_PER_INSERT):
        chunk = events[start:start + SQLITE_ROWS_PER_INSERT]
        values: list[Any] = []
        for e in chunk:  # a NewEvent's fields are the INSERT's columns, in order
            ts = e.ts if e.ts.tzinfo is timezone.utc else e.ts.astimezone(timezone.utc)
            values += e
            values[-2] = ts.isoformat(" ", "microseconds")[:26]  # as SQLAlchemy stores a DateTime
        statement = _sqlite_insert(len(chunk))
        try:
            (last,) = await driver.execute_insert(statement, values)
        except sqlite3.Error as exc:  # as SQLAlchemy would raise it, so the store's error handling applies
            raise DBAPIError.instance(statement, None, exc, sqlite3.Error) from exc
        keys += ((id_, 0) for id_ in range(last - len(chunk) + 1, last + 1))
    return keys


#: PostgreSQL: a batch as one INSERT from one array per column, rows numbered in the order given
_POSTGRES_INSERT = (
    "INSERT INTO outbox (type, version, run_id, correlation_id, causation_id, ts, payload) "
    "SELECT type, version, run_id, correlation_id, causation_id, ts, payload::jsonb "
    "FROM unnest($1::varchar[], $2::smallint[], $3::varchar[], $4::varchar[], $5::varchar[], "
    "$6::timestamptz[], $7::text[]) "
    "WITH ORDINALITY AS batch(type, version, run_id, correlation_id, causation_id, ts, payload, n) "
    "ORDER BY n RETURNING id, tx")


async def _insert_postgres(conn: AsyncConnection, events: Sequence[NewEvent]) -> list[tuple[int, int]]:
    """Insert ``events`` with one statement on PostgreSQL; return their ``(id, tx)`` in the order given.

    One array per column: SQLAlchemy's ordered multi-row INSERT would bind one parameter per
    value (7,000 for 1,000 events), each handled in Python. ``ORDER BY n`` inserts the rows in
    the order given, so their identity ids rise in that order: sorting the returned rows by
    id restores it.
    """
    columns = tuple(map(list, zip(*events)))  # a NewEvent's fields are the INSERT's columns, in order
    result = await conn.exec_driver_sql(_POSTGRES_INSERT, columns)
    return sorted(tuple(key) for key in result.all())


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


def latest_query(dialect: str, limit: int, run_id: str | None = None,
                 types: Iterable[str] | None = None) -> Select[Any]:
    """Return the query for the newest ``limit`` readable events, newest first."""
    query = select(*_COLUMNS).where(_visible(dialect))
    if run_id is not None:
        query = query.where(_TABLE.c.run_id == run_id)
    if types is not None:
        query = query.where(_TABLE.c.type.in_(list(types)))
    return query.order_by(_TABLE.c.tx.desc(), _TABLE.c.id.desc()).limit(limit)


def held_query(after: Cursor, run_id: str | None = None, types: Iterable[str] | None = None) -> Select[Any]:
    """Return the query that finds a committed event after ``after`` that an older running
    transaction still holds back (PostgreSQL): it will be readable as soon as that one ends."""
    query = select(_TABLE.c.id).where(
        tuple_(_TABLE.c.tx, _TABLE.c.id) > tuple_(bindparam("after_tx", after.tx, type_=_TABLE.c.tx.type),
                                                  bindparam("after_id", after.id, type_=_TABLE.c.id.type)),
        _TABLE.c.tx >= literal_column("pg_snapshot_xmin(pg_current_snapshot())"))
    if run_id is not None:
        query = query.where(_TABLE.c.run_id == run_id)
    if types is not None:
        query = query.where(_TABLE.c.type.in_(list(types)))
    return query.limit(1)


def head_query(dialect: str) -> Select[Any]:
    """Return the query for the newest readable event's ``(tx, id)``."""
    return (select(_TABLE.c.tx, _TABLE.c.id).where(_visible(dialect))
            .order_by(_TABLE.c.tx.desc(), _TABLE.c.id.desc()).limit(1))


def exists_query(cursor: Cursor) -> Select[Any]:
    """Return the query that finds the event a cursor points at."""
    return select(_TABLE.c.id).where(_TABLE.c.tx == cursor.tx, _TABLE.c.id == cursor.id)
