"""The store's tables, as SQLAlchemy 2 models.

The domain (DESIGN §5): strategies, versioned by the hash of their source; runs, with their
spec, status, statistics and log lines; and each run's orders, fills, position snapshots and
equity curve, which go when their run goes (``ON DELETE CASCADE``).

The outbox holds every event; a state change and its events are written in one transaction
(:mod:`weaver.store.uow`). Its ``tx`` column is the writing transaction's id on PostgreSQL
(``xid8``, defaulting to ``pg_current_xact_id()``) and 0 on SQLite, where writes are
serialized: the reading side (:mod:`weaver.events.outbox`) explains why that makes both
gap-safe. The migrations in ``weaver/store/migrations`` create these tables on both dialects.
"""

from __future__ import annotations

import math
import numbers
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Table,
    JSON,
    BigInteger,
    CheckConstraint,
    DateTime,
    FetchedValue,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator, UserDefinedType

from weaver.core.enums import OrderSide, RunMode, RunStatus

__all__ = [
    "EQUITY",
    "FILLS",
    "LOGS",
    "MAX_ID",
    "ORDERS",
    "POSITIONS",
    "RUNS",
    "STRATEGIES",
    "Amount",
    "Base",
    "ConsumerOffset",
    "EquityPoint",
    "FillRow",
    "OrderRow",
    "OutboxEvent",
    "PositionSnapshot",
    "RunLogLine",
    "RunRow",
    "StrategyRow",
    "UtcDateTime",
    "Xid8",
    "is_id",
]


class Xid8(UserDefinedType[int]):
    """PostgreSQL's 64-bit transaction id (``xid8``); asyncpg reads and writes it as an int."""

    cache_ok = True

    def get_col_spec(self, **kw: Any) -> str:
        return "XID8"


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on both dialects (SQLite keeps no zone: it is UTC there).

    A naive datetime is refused rather than guessed at.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}: the store keeps timezone-aware times only")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


class Amount(TypeDecorator[Decimal]):
    """A price, quantity or sum of money: a ``Decimal`` in Python, ``NUMERIC`` in the database.

    PostgreSQL keeps the decimal exactly, at any scale (an unconstrained ``numeric``). A float
    is written as its shortest repr, the decimal that reads back as the same float, so a
    float64 frame round-trips bit for bit. A fixed scale would round away a float's last
    digits: a limit price of ``close * (1 - 0.005)`` is ``356.97614999999996``, and
    ``NUMERIC(20, 10)`` would give back ``356.97615``, another float.

    SQLite has no decimal type: a ``NUMERIC`` column holds an IEEE double (or an integer).
    Floats are written as they are and so come back exactly; a ``Decimal`` comes back exactly
    when it has at most 15 significant digits (every price and share count Weaver sees), and
    rounded to the nearest double beyond. A value read from SQLite is the ``Decimal`` of the
    double's shortest repr (``Decimal("186.31")``).

    NaN and the infinities are refused: an absent price is NULL.
    """

    impl = Numeric
    cache_ok = True

    def load_dialect_impl(self, dialect: Any) -> Any:
        # on SQLite, SQLAlchemy's decimal result rounds to 10 places: read the double as it is
        return dialect.type_descriptor(Numeric(asdecimal=dialect.name != "sqlite"))

    def process_bind_param(self, value: Any, dialect: Any) -> Decimal | float | int | None:
        if value is None:
            return None
        if isinstance(value, Decimal):
            if not value.is_finite():
                raise ValueError(f"amount {value!r}: the store keeps finite amounts only (NULL for none)")
            return float(value) if dialect.name == "sqlite" else value
        if isinstance(value, numbers.Integral) and not isinstance(value, bool):
            return int(value)
        if isinstance(value, numbers.Real) and not isinstance(value, bool):
            number = float(value)
            if not math.isfinite(number):
                raise ValueError(f"amount {value!r}: the store keeps finite amounts only (NULL for none)")
            return number if dialect.name == "sqlite" else Decimal(repr(number))
        raise TypeError(f"amount {value!r}: expected a Decimal, int or float, got a {type(value).__name__}")

    def process_result_value(self, value: Any, dialect: Any) -> Decimal | None:
        if value is None or isinstance(value, Decimal):
            return value
        return Decimal(repr(float(value)))


#: an integer primary key that is SQLite's rowid (with AUTOINCREMENT, never reused) and a
#: BIGINT identity on PostgreSQL
BigId = BigInteger().with_variant(Integer(), "sqlite")
#: JSONB on PostgreSQL, JSON text on SQLite
Json = JSON().with_variant(JSONB(), "postgresql")
#: the writing transaction: xid8 on PostgreSQL, an integer (always 0) on SQLite
TxId = BigInteger().with_variant(Xid8(), "postgresql").with_variant(Integer(), "sqlite")


#: the largest id a row can have: both databases keep ids as signed 64-bit integers
MAX_ID = 2**63 - 1


def is_id(text: str) -> bool:
    """Return whether ``text`` is an id a row could have (digits, at most :data:`MAX_ID`)."""
    return text.isdigit() and int(text) <= MAX_ID


class Base(DeclarativeBase):
    """The declarative base of every table in the store."""


class OutboxEvent(Base):
    """One event of the log: an envelope (DESIGN §5) and the transaction that wrote it."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_tx_id", "tx", "id"),
        Index("ix_outbox_run_id", "run_id"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    # filled by the database: pg_current_xact_id() on PostgreSQL, 0 on SQLite
    tx: Mapped[int] = mapped_column(TxId, server_default=FetchedValue(), nullable=False)
    type: Mapped[str] = mapped_column(String(64), nullable=False)
    version: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    run_id: Mapped[str | None] = mapped_column(String(64))
    correlation_id: Mapped[str | None] = mapped_column(String(128))
    causation_id: Mapped[str | None] = mapped_column(String(128))
    ts: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    payload: Mapped[dict[str, Any]] = mapped_column(Json, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, server_default=func.now(), nullable=False)


class ConsumerOffset(Base):
    """A named consumer's position in the log: the cursor of the last event it handled."""

    __tablename__ = "consumer_offsets"

    consumer: Mapped[str] = mapped_column(String(128), primary_key=True)
    cursor: Mapped[str] = mapped_column(String(64), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)


# --- the domain: strategies, runs and what a run leaves ------------------------------------------


def _one_of(column: str, values: Any) -> str:
    """Return the SQL condition that ``column`` holds one of ``values`` (an enum's values)."""
    return f"{column} IN ({', '.join(repr(str(v)) for v in values)})"


def _of_run(table: str) -> ForeignKey:
    """Return the key by which a row of ``table`` names its run: the row goes when the run goes."""
    return ForeignKey("runs.id", ondelete="CASCADE", name=f"fk_{table}_run_id")


class StrategyRow(Base):
    """A strategy's source as it was registered: one row per (name, version).

    ``version`` is the SHA-256 of the source (hex), so the same source is the same version.
    """

    __tablename__ = "strategies"
    __table_args__ = (UniqueConstraint("name", "version", name="uq_strategies_name_version"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    version: Mapped[str] = mapped_column(String(64), nullable=False)
    source: Mapped[str] = mapped_column(Text, nullable=False)
    params_schema: Mapped[dict[str, Any]] = mapped_column(Json, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, server_default=func.now(), nullable=False)


class RunRow(Base):
    """A run: what it runs (strategy, symbols, timeframe, spec), where (mode), and how it went.

    ``spec`` is ``{"config": RunConfig.to_dict(), "params": {...}}`` (params in the encoding
    of :mod:`weaver.store.json_values`); ``stats`` is a Series in that encoding.
    ``strategy`` is the strategy's name; ``strategy_id`` and ``strategy_version`` point at its
    registered source when there is one.
    """

    __tablename__ = "runs"
    __table_args__ = (
        CheckConstraint(_one_of("mode", RunMode), name="ck_runs_mode"),
        CheckConstraint(_one_of("status", RunStatus), name="ck_runs_status"),
        Index("ix_runs_status", "status"),
        Index("ix_runs_mode", "mode"),
        Index("ix_runs_created_at", "created_at"),
        Index("ix_runs_strategy_id", "strategy_id"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    strategy_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("strategies.id", name="fk_runs_strategy_id"))
    strategy: Mapped[str] = mapped_column(String(200), nullable=False)
    strategy_version: Mapped[str | None] = mapped_column(String(64))
    mode: Mapped[str] = mapped_column(String(16), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    symbols: Mapped[list[str]] = mapped_column(Json, nullable=False)
    timeframe: Mapped[str | None] = mapped_column(String(16))
    spec: Mapped[dict[str, Any]] = mapped_column(Json, nullable=False)
    data_start: Mapped[datetime | None] = mapped_column(UtcDateTime)
    data_end: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    stopped_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    stats: Mapped[dict[str, Any] | None] = mapped_column(Json)
    error: Mapped[str | None] = mapped_column(Text)


class RunLogLine(Base):
    """One line of a run's log, numbered from 0 within the run (the API serves them)."""

    __tablename__ = "run_logs"

    run_id: Mapped[str] = mapped_column(String(64), _of_run("run_logs"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    ts: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    level: Mapped[str] = mapped_column(String(16), nullable=False)
    message: Mapped[str] = mapped_column(Text, nullable=False)


class OrderRow(Base):
    """An order of a run, in its latest state; ``client_order_id`` is unique within the run.

    Statuses, sides, types and times in force are the core's values (Alpaca's spellings).
    """

    __tablename__ = "orders"
    __table_args__ = (
        UniqueConstraint("run_id", "client_order_id", name="uq_orders_run_id_client_order_id"),
        CheckConstraint(_one_of("side", OrderSide), name="ck_orders_side"),
        Index("ix_orders_run_id_status", "run_id", "status"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(String(64), _of_run("orders"), nullable=False)
    client_order_id: Mapped[str] = mapped_column(String(128), nullable=False)
    venue_order_id: Mapped[str | None] = mapped_column(String(128))
    symbol: Mapped[str] = mapped_column(String(64), nullable=False)
    side: Mapped[str] = mapped_column(String(8), nullable=False)
    type: Mapped[str] = mapped_column(String(16), nullable=False)
    qty: Mapped[Decimal] = mapped_column(Amount, nullable=False)
    limit_price: Mapped[Decimal | None] = mapped_column(Amount)
    stop_price: Mapped[Decimal | None] = mapped_column(Amount)
    trail_price: Mapped[Decimal | None] = mapped_column(Amount)
    trail_percent: Mapped[Decimal | None] = mapped_column(Amount)
    tif: Mapped[str] = mapped_column(String(8), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    filled_qty: Mapped[Decimal] = mapped_column(Amount, nullable=False)
    avg_fill_price: Mapped[Decimal | None] = mapped_column(Amount)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    filled_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    reason: Mapped[str | None] = mapped_column(Text)


class FillRow(Base):
    """An execution of one of a run's orders; ``exec_id`` is unique within the run."""

    __tablename__ = "fills"
    __table_args__ = (
        UniqueConstraint("run_id", "exec_id", name="uq_fills_run_id_exec_id"),
        CheckConstraint(_one_of("side", OrderSide), name="ck_fills_side"),
        Index("ix_fills_run_id_client_order_id", "run_id", "client_order_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(String(64), _of_run("fills"), nullable=False)
    exec_id: Mapped[str] = mapped_column(String(128), nullable=False)
    client_order_id: Mapped[str] = mapped_column(String(128), nullable=False)
    ts: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    symbol: Mapped[str] = mapped_column(String(64), nullable=False)
    side: Mapped[str] = mapped_column(String(8), nullable=False)
    qty: Mapped[Decimal] = mapped_column(Amount, nullable=False)
    price: Mapped[Decimal] = mapped_column(Amount, nullable=False)
    commission: Mapped[Decimal] = mapped_column(Amount, nullable=False)


class PositionSnapshot(Base):
    """A run's position in a symbol after the fills at ``ts``: signed ``qty`` (negative short, 0 flat)."""

    __tablename__ = "position_snapshots"

    run_id: Mapped[str] = mapped_column(String(64), _of_run("position_snapshots"), primary_key=True)
    symbol: Mapped[str] = mapped_column(String(64), primary_key=True)
    ts: Mapped[datetime] = mapped_column(UtcDateTime, primary_key=True)
    qty: Mapped[Decimal] = mapped_column(Amount, nullable=False)
    avg_price: Mapped[Decimal | None] = mapped_column(Amount)


class EquityPoint(Base):
    """A run's account value at a bar's close."""

    __tablename__ = "equity_points"

    run_id: Mapped[str] = mapped_column(String(64), _of_run("equity_points"), primary_key=True)
    ts: Mapped[datetime] = mapped_column(UtcDateTime, primary_key=True)
    equity: Mapped[Decimal] = mapped_column(Amount, nullable=False)


# The tables as SQLAlchemy Core sees them, for the repositories' bulk inserts and queries.
STRATEGIES: Table = StrategyRow.__table__  # type: ignore[assignment]
RUNS: Table = RunRow.__table__  # type: ignore[assignment]
LOGS: Table = RunLogLine.__table__  # type: ignore[assignment]
ORDERS: Table = OrderRow.__table__  # type: ignore[assignment]
FILLS: Table = FillRow.__table__  # type: ignore[assignment]
POSITIONS: Table = PositionSnapshot.__table__  # type: ignore[assignment]
EQUITY: Table = EquityPoint.__table__  # type: ignore[assignment]
