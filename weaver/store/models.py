"""The store's tables, as SQLAlchemy 2 models.

The outbox holds every event; a state change and its events are written in one transaction
(:mod:`weaver.store.uow`). Its ``tx`` column is the writing transaction's id on PostgreSQL
(``xid8``, defaulting to ``pg_current_xact_id()``) and 0 on SQLite, where writes are
serialized: the reading side (:mod:`weaver.events.outbox`) explains why that makes both
gap-safe. The migrations in ``weaver/store/migrations`` create these tables on both dialects.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, FetchedValue, Index, Integer, SmallInteger, String, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator, UserDefinedType

__all__ = ["Base", "ConsumerOffset", "OutboxEvent", "UtcDateTime", "Xid8"]


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


#: an integer primary key that is SQLite's rowid (with AUTOINCREMENT, never reused) and a
#: BIGINT identity on PostgreSQL
BigId = BigInteger().with_variant(Integer(), "sqlite")
#: JSONB on PostgreSQL, JSON text on SQLite
Json = JSON().with_variant(JSONB(), "postgresql")
#: the writing transaction: xid8 on PostgreSQL, an integer (always 0) on SQLite
TxId = BigInteger().with_variant(Xid8(), "postgresql").with_variant(Integer(), "sqlite")


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
