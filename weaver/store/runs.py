"""Strategies and runs in the store: register a strategy's source, save a backtest, load it back.

Writes take a :class:`~weaver.store.uow.UnitOfWork`, so that a caller can put them in a
larger transaction; reads take an :class:`~weaver.store.AsyncStore`. :class:`weaver.store.Store`
wraps each for synchronous code (``store.save_backtest(result)``).

A saved backtest loads back equal to the result it came from: ``orders``, ``fills`` and
``equity`` are the same frames, float64 for float64, bit for bit (see
:class:`~weaver.store.models.Amount` for how amounts keep their digits), and ``stats`` the
same Series, its NaNs, Timestamps and Timedeltas included (see
:mod:`weaver.store.json_values`). Times are kept to the microsecond, PostgreSQL's resolution;
a time finer than that is refused rather than rounded.

Rows go in with one multi-row ``INSERT`` per table, not one ORM object per row.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import pandas as pd
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from weaver.core.config import RunConfig
from weaver.core.enums import RunMode, RunStatus
from weaver.core.errors import DataError, ParameterError
from weaver.core.ids import check_run_id
from weaver.core.portfolio import Portfolio
from weaver.store.errors import ConflictError, NotFoundError
from weaver.store.json_values import decode_mapping, decode_series, encode_mapping, encode_series
from weaver.store.models import (
    EQUITY,
    FILLS,
    LOGS,
    ORDERS,
    POSITIONS,
    RUNS,
    STRATEGIES,
)

if TYPE_CHECKING:
    from weaver.store.database import AsyncStore
    from weaver.store.uow import UnitOfWork

__all__ = [
    "BacktestLike",
    "BacktestRows",
    "StoredBacktest",
    "StrategyRecord",
    "backtest_rows",
    "insert_backtest_rows",
    "load_backtest",
    "new_run_id",
    "register_strategy",
    "save_backtest",
    "strategy_version",
]


#: the result frames' columns (weaver.backtesting.result), in their order
ORDER_COLUMNS = ["client_order_id", "symbol", "side", "type", "qty", "limit_price", "stop_price", "trail_price",
                 "trail_percent", "tif", "status", "filled_qty", "avg_fill_price", "created_at", "filled_at",
                 "updated_at", "reason"]
FILL_COLUMNS = ["timestamp", "symbol", "side", "qty", "price", "commission", "order_id", "exec_id"]
_ORDER_AMOUNTS = ("qty", "limit_price", "stop_price", "trail_price", "trail_percent", "filled_qty", "avg_fill_price")
_ORDER_TEXTS = ("client_order_id", "symbol", "side", "type", "tif", "status")
_ORDER_TIMES = ("created_at", "filled_at", "updated_at")
#: the time resolution of the result's frames: order times come from datetimes (microseconds),
#: fill times and the equity curve from the bars' index (nanoseconds, as load_bars gives it)
_ORDER_UNIT, _BAR_UNIT = "us", "ns"
_NS_PER_US = 1000


class BacktestLike(Protocol):
    """What :func:`save_backtest` reads of a result (:class:`weaver.BacktestResult` has it all)."""

    strategy: str
    params: dict[str, Any]
    config: RunConfig
    bars: Mapping[str, Any]
    timeframe: str | None
    equity: pd.Series

    @property
    def orders(self) -> pd.DataFrame: ...

    @property
    def fills(self) -> pd.DataFrame: ...

    @property
    def stats(self) -> pd.Series: ...

    @property
    def notes(self) -> list[str]: ...


@dataclass(frozen=True, slots=True)
class StrategyRecord:
    """A registered strategy: its name, its version (the SHA-256 of its source, hex) and source."""

    id: int
    name: str
    version: str
    source: str
    params_schema: dict[str, Any]
    created_at: datetime


@dataclass(frozen=True, eq=False)
class StoredBacktest:
    """A backtest as the store holds it: the run's row, and its frames as the result had them.

    Attributes
    ----------
    orders, fills, equity, stats
        Equal to the saved result's (``pandas.testing.assert_frame_equal`` with
        ``check_exact=True``).
    config, params
        The run options and the strategy's parameters it ran with.
    positions
        The position in each symbol after the fills at each time: ``ts``, ``symbol``, signed
        ``qty`` and ``avg_price`` (``Decimal``; ``avg_price`` None when flat).
    notes
        What the broker refused, as the result's ``notes`` (the run's warning log lines).
    spec
        The run's spec as stored: ``{"config": RunConfig.to_dict(), "params": ...}``.
    """

    run_id: str
    strategy: str
    strategy_id: int | None
    strategy_version: str | None
    mode: str
    status: str
    symbols: list[str]
    timeframe: str | None
    spec: dict[str, Any]
    config: RunConfig
    params: dict[str, Any]
    data_start: datetime | None
    data_end: datetime | None
    created_at: datetime
    started_at: datetime | None
    stopped_at: datetime | None
    error: str | None
    orders: pd.DataFrame
    fills: pd.DataFrame
    equity: pd.Series
    stats: pd.Series
    positions: pd.DataFrame
    notes: list[str]

    def __repr__(self) -> str:
        return (f"<StoredBacktest {self.run_id} {self.strategy} {self.symbols} {self.status}: "
                f"{len(self.orders)} orders, {len(self.fills)} fills>")


def strategy_version(source: str) -> str:
    """Return a strategy source's version: the SHA-256 of its UTF-8 text, in hex."""
    return hashlib.sha256(source.encode("utf-8")).hexdigest()


def new_run_id() -> str:
    """Return a new run id (32 hex digits): unique, and fit to prefix client order ids."""
    return uuid.uuid4().hex


# --- strategies -------------------------------------------------------------------------------


async def register_strategy(uow: UnitOfWork, name: str, source: str,
                            params_schema: Mapping[str, Any] | None = None) -> StrategyRecord:
    """Register a strategy's source under ``name``, or return the registration it already has.

    The version is the SHA-256 of the source: registering the same source again returns the
    same record (also when two callers race), and a changed source is a new version.

    Raises
    ------
    ParameterError
        For an empty name or source.
    ConflictError
        If this source is registered under ``name`` with another parameter schema.
    """
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        raise ParameterError(f"strategy name {name!r} must be a non-empty string of at most 200 characters")
    if not isinstance(source, str) or not source.strip():
        raise ParameterError(f"strategy {name!r}: the source must be non-empty text")
    schema = dict(params_schema or {})
    version = strategy_version(source)
    session = uow.session
    dialect = session.bind.dialect.name  # type: ignore[union-attr]
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    await session.execute(dialect_insert(STRATEGIES).values(name=name, version=version, source=source,
                                                             params_schema=schema)
                          .on_conflict_do_nothing(index_elements=["name", "version"]))
    row = (await session.execute(select(STRATEGIES).where(STRATEGIES.c.name == name,
                                                           STRATEGIES.c.version == version))).one()
    record = StrategyRecord(row.id, row.name, row.version, row.source, row.params_schema, row.created_at)
    if record.params_schema != schema:
        raise ConflictError(f"strategy {name!r} version {version[:12]} is registered with the parameter schema "
                            f"{record.params_schema!r}, not {schema!r}")
    return record


async def _newest_strategy(uow: UnitOfWork, name: str) -> StrategyRecord:
    row = (await uow.session.execute(select(STRATEGIES).where(STRATEGIES.c.name == name)
                                     .order_by(STRATEGIES.c.id.desc()).limit(1))).first()
    if row is None:
        raise NotFoundError(f"no strategy {name!r} is registered; register its source first "
                            "(store.register_strategy(name, source, params_schema))")
    return StrategyRecord(row.id, row.name, row.version, row.source, row.params_schema, row.created_at)


# --- saving a backtest ------------------------------------------------------------------------------


async def save_backtest(uow: UnitOfWork, result: BacktestLike, *, strategy_name: str | None = None,
                        run_id: str | None = None) -> str:
    """Write a finished backtest as a completed run, with its events, in ``uow``; return its run id.

    One unit of work holds the run's row (spec, statistics, times), its orders, fills,
    equity curve, position snapshots (derived from the fills), the broker's notes as log
    lines, and the events ``run.created`` and ``run.completed``: a save that fails anywhere
    leaves nothing behind.

    Parameters
    ----------
    uow
        The unit of work to write in; it commits when its block ends.
    result
        What ``wv.backtest`` returned.
    strategy_name
        A registered strategy's name: the run points at its newest version. None: the run
        names the result's strategy class and points at no registered source.
    run_id
        The run's id; a new one by default.

    Raises
    ------
    ParameterError
        For a run id that cannot prefix client order ids.
    NotFoundError
        If ``strategy_name`` is not registered.
    ConflictError
        If ``run_id`` is taken.
    DataError
        For a value the store cannot keep exactly (a time finer than a microsecond, a NaN
        quantity, statistics without a JSON encoding).
    """
    run_id = new_run_id() if run_id is None else check_run_id(run_id)
    # everything is converted before anything is written: a bad value fails early
    rows = backtest_rows(run_id, result)
    now = datetime.now(timezone.utc)

    session = uow.session
    name, strategy_id, version = result.strategy, None, None
    if strategy_name is not None:
        record = await _newest_strategy(uow, strategy_name)
        name, strategy_id, version = record.name, record.id, record.version
    if (await session.execute(select(RUNS.c.id).where(RUNS.c.id == run_id))).first() is not None:
        raise ConflictError(f"run id {run_id!r} is taken; leave run_id out for a new one")
    run = {
        "id": run_id, "strategy_id": strategy_id, "strategy": name, "strategy_version": version,
        "mode": RunMode.BACKTEST.value, "status": RunStatus.COMPLETED.value, "symbols": list(result.bars),
        "timeframe": result.timeframe, "spec": rows.spec, "data_start": rows.data_start, "data_end": rows.data_end,
        "created_at": now, "started_at": now, "stopped_at": now, "stats": rows.stats, "error": None,
    }
    try:
        await session.execute(insert(RUNS), [run])
    except IntegrityError as exc:
        if "runs_pkey" not in str(exc) and "runs.id" not in str(exc):  # PostgreSQL's and SQLite's words
            raise
        # another writer took the id since we looked
        raise ConflictError(f"run id {run_id!r} is taken; leave run_id out for a new one") from exc
    await insert_backtest_rows(uow, rows, now)
    uow.emit("run.created", {"run_id": run_id}, run_id=run_id, ts=now)
    uow.emit("run.completed", {"run_id": run_id}, run_id=run_id, ts=now)
    return run_id


@dataclass(frozen=True, eq=False)
class BacktestRows:
    """A backtest result converted for the store: the run's spec and statistics, and its children's rows.

    ``notes`` are the broker's notes, written as warning log lines.
    """

    run_id: str
    spec: dict[str, Any]
    stats: dict[str, Any]
    data_start: datetime | None
    data_end: datetime | None
    orders: list[dict[str, Any]]
    fills: list[dict[str, Any]]
    equity: list[dict[str, Any]]
    positions: list[dict[str, Any]]
    notes: list[str]


def backtest_rows(run_id: str, result: BacktestLike) -> BacktestRows:
    """Convert a backtest result into the rows of run ``run_id``, refusing what the store cannot keep.

    Raises
    ------
    DataError
        For a value the store cannot keep exactly (see :func:`save_backtest`).
    """
    fills = _fill_rows(run_id, result.fills)
    index = result.equity.index
    return BacktestRows(
        run_id=run_id,
        spec={"config": result.config.to_dict(), "params": encode_mapping(result.params, "params")},
        stats=encode_series(result.stats, "stats"),
        data_start=_when(index[0], "the equity curve's first bar") if len(index) else None,
        data_end=_when(index[-1], "the equity curve's last bar") if len(index) else None,
        orders=_order_rows(run_id, result.orders), fills=fills, equity=_equity_rows(run_id, result.equity),
        positions=_position_rows(run_id, fills), notes=list(result.notes))


async def insert_backtest_rows(uow: UnitOfWork, rows: BacktestRows, now: datetime, first_seq: int = 0) -> None:
    """Insert a converted backtest's orders, fills, equity, positions and notes (its run's row exists)."""
    logs = [{"run_id": rows.run_id, "seq": seq, "ts": now, "level": "warning", "message": note}
            for seq, note in enumerate(rows.notes, start=first_seq)]
    for table, values in ((ORDERS, rows.orders), (FILLS, rows.fills), (EQUITY, rows.equity),
                          (POSITIONS, rows.positions), (LOGS, logs)):
        if values:
            await uow.session.execute(insert(table), values)


def _amounts(values: Any, what: str, *, nullable: bool) -> list[float | None]:
    """Return a column of numbers as Python floats, NaN as None where a value may be absent."""
    floats = np.asarray(values, dtype=float)
    missing = np.isnan(floats)
    if missing.any() and not nullable:
        raise DataError(f"{what} has no value at row {int(np.argmax(missing))}; the store needs one")
    if np.isinf(floats).any():
        raise DataError(f"{what} is infinite at row {int(np.argmax(np.isinf(floats)))}")
    listed: list[float | None] = floats.tolist()
    if missing.any():
        for i in np.flatnonzero(missing).tolist():
            listed[i] = None
    return listed


def _times(values: Any, what: str) -> list[datetime | None]:
    """Return a column of times as UTC datetimes (NaT as None), refusing what is finer than a microsecond."""
    index = pd.DatetimeIndex(values)
    if index.tz is None:
        raise DataError(f"{what} holds naive times; the store keeps timezone-aware times only")
    index = index.tz_convert("UTC")
    present = ~index.isna()
    ns = index.as_unit("ns").asi8
    finer = present & (ns % _NS_PER_US != 0)
    if finer.any():
        raise DataError(f"{what} has {index[finer][0]}, finer than a microsecond; the store keeps times "
                        "to the microsecond (PostgreSQL's resolution)")
    stamps = index.as_unit("us").to_pydatetime()
    return [stamp if ok else None for stamp, ok in zip(stamps.tolist(), present.tolist(), strict=True)]


def _when(stamp: Any, what: str) -> datetime | None:
    return _times([stamp], what)[0]


def _texts(values: Any) -> list[str | None]:
    return [value if isinstance(value, str) else None for value in values]


def _check_columns(frame: pd.DataFrame, wanted: Sequence[str], what: str) -> None:
    missing = [c for c in wanted if c not in frame.columns]
    if missing:
        raise DataError(f"the result's {what} lack the columns {missing}")


def _order_rows(run_id: str, orders: pd.DataFrame) -> list[dict[str, Any]]:
    if not len(orders):
        return []
    _check_columns(orders, ORDER_COLUMNS, "orders")
    columns: dict[str, list[Any]] = {}
    for name in _ORDER_TEXTS:
        columns[name] = _texts(orders[name])
    for name in _ORDER_AMOUNTS:
        columns[name] = _amounts(orders[name], f"orders.{name}", nullable=name not in ("qty", "filled_qty"))
    for name in _ORDER_TIMES:
        columns[name] = _times(orders[name], f"orders.{name}")
    columns["reason"] = _texts(orders["reason"])
    columns["venue_order_id"] = (_texts(orders["venue_order_id"]) if "venue_order_id" in orders
                                 else [None] * len(orders))
    names = list(columns)
    return [{"run_id": run_id, **dict(zip(names, row, strict=True))} for row in zip(*columns.values(), strict=True)]


def _fill_rows(run_id: str, fills: pd.DataFrame) -> list[dict[str, Any]]:
    if not len(fills):
        return []
    _check_columns(fills, FILL_COLUMNS, "fills")
    columns = {
        "exec_id": _texts(fills["exec_id"]),
        "client_order_id": _texts(fills["order_id"]),
        "ts": _times(fills["timestamp"], "fills.timestamp"),
        "symbol": _texts(fills["symbol"]),
        "side": _texts(fills["side"]),
        "qty": _amounts(fills["qty"], "fills.qty", nullable=False),
        "price": _amounts(fills["price"], "fills.price", nullable=False),
        "commission": _amounts(fills["commission"], "fills.commission", nullable=False),
    }
    names = list(columns)
    return [{"run_id": run_id, **dict(zip(names, row, strict=True))} for row in zip(*columns.values(), strict=True)]


def _equity_rows(run_id: str, equity: pd.Series) -> list[dict[str, Any]]:
    times = _times(equity.index, "equity.index")
    values = _amounts(equity.to_numpy(), "equity", nullable=False)
    return [{"run_id": run_id, "ts": ts, "equity": value} for ts, value in zip(times, values, strict=True)]


def _position_rows(run_id: str, fills: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Return the position in each symbol after the fills at each time, booked in Decimal by the core."""
    book = Portfolio(cash=Decimal(0))
    after: dict[tuple[datetime, str], dict[str, Any]] = {}
    for fill in fills:
        qty = Decimal(repr(fill["qty"]))
        signed = qty if fill["side"] == "buy" else -qty
        book.book(fill["symbol"], signed, Decimal(repr(fill["price"])), Decimal(repr(fill["commission"])))
        position = book.positions[fill["symbol"]]
        after[(fill["ts"], fill["symbol"])] = {
            "run_id": run_id, "ts": fill["ts"], "symbol": fill["symbol"], "qty": position.qty,
            "avg_price": position.avg_price if position.qty else None}
    return list(after.values())


# --- loading it back --------------------------------------------------------------------------------


async def load_backtest(store: AsyncStore, run_id: str, **objects: Any) -> StoredBacktest:
    """Return the run ``run_id`` with its frames, equal to those of the result that was saved.

    Parameters
    ----------
    store
        The store to read.
    run_id
        The run.
    **objects
        The run options that the spec could only name (a commission model, a fill model),
        given again: ``RunConfig.from_dict`` needs them.

    Raises
    ------
    NotFoundError
        If there is no run ``run_id``.
    ParameterError
        If the spec names an object of the config that ``objects`` does not give.
    """

    async def read() -> tuple[Any, ...]:
        async with store.connect() as conn:
            run = (await conn.execute(select(RUNS).where(RUNS.c.id == run_id))).first()
            if run is None:
                return (None,)
            selects = (
                select(ORDERS).where(ORDERS.c.run_id == run_id).order_by(ORDERS.c.id),
                select(FILLS).where(FILLS.c.run_id == run_id).order_by(FILLS.c.id),
                select(EQUITY.c.ts, EQUITY.c.equity).where(EQUITY.c.run_id == run_id).order_by(EQUITY.c.ts),
                select(POSITIONS.c.ts, POSITIONS.c.symbol, POSITIONS.c.qty, POSITIONS.c.avg_price)
                .where(POSITIONS.c.run_id == run_id).order_by(POSITIONS.c.ts, POSITIONS.c.symbol),
                select(LOGS.c.level, LOGS.c.message).where(LOGS.c.run_id == run_id).order_by(LOGS.c.seq),
            )
            return (run, *[(await conn.execute(query)).all() for query in selects])

    run, *rest = await store.guard(read)
    if run is None:
        raise NotFoundError(f"there is no run {run_id!r} in the store {store.describe()}")
    orders, fills, equity, positions, logs = rest
    spec = run.spec
    return StoredBacktest(
        run_id=run.id, strategy=run.strategy, strategy_id=run.strategy_id, strategy_version=run.strategy_version,
        mode=run.mode, status=run.status, symbols=list(run.symbols), timeframe=run.timeframe, spec=spec,
        config=RunConfig.from_dict(spec["config"], **objects), params=decode_mapping(spec["params"]),
        data_start=run.data_start, data_end=run.data_end, created_at=run.created_at, started_at=run.started_at,
        stopped_at=run.stopped_at, error=run.error,
        orders=_orders_frame(orders), fills=_fills_frame(fills), equity=_equity_series(equity),
        stats=decode_series(run.stats) if run.stats is not None else pd.Series(dtype=object, name="stats"),
        positions=pd.DataFrame([tuple(p) for p in positions], columns=["ts", "symbol", "qty", "avg_price"]),
        notes=[message for level, message in logs if level == "warning"],
    )


def _floats(values: Iterable[Decimal | None]) -> np.ndarray:
    # float(Decimal) rounds correctly, so the shortest repr that was stored is the float it was
    return np.array([np.nan if v is None else float(v) for v in values], dtype=float)


def _time_column(values: list[datetime | None], unit: str) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(pd.to_datetime(values, utc=True)).as_unit(unit)


def _orders_frame(rows: Sequence[Any]) -> pd.DataFrame:
    if not rows:  # as the result tables an empty run
        return pd.DataFrame(columns=ORDER_COLUMNS)
    columns = {name: [getattr(row, name) for row in rows] for name in ORDER_COLUMNS}
    for name in _ORDER_AMOUNTS:
        columns[name] = _floats(columns[name])
    for name in _ORDER_TIMES:
        columns[name] = _time_column(columns[name], _ORDER_UNIT)
    return pd.DataFrame(columns)


def _fills_frame(rows: Sequence[Any]) -> pd.DataFrame:
    if not rows:  # as the result tables an empty run
        return pd.DataFrame({c: pd.Series(dtype=object) for c in FILL_COLUMNS})
    return pd.DataFrame({
        "timestamp": _time_column([r.ts for r in rows], _BAR_UNIT),
        "symbol": [r.symbol for r in rows],
        "side": [r.side for r in rows],
        "qty": _floats(r.qty for r in rows),
        "price": _floats(r.price for r in rows),
        "commission": _floats(r.commission for r in rows),
        "order_id": [r.client_order_id for r in rows],
        "exec_id": [r.exec_id for r in rows],
    })


def _equity_series(rows: Sequence[Any]) -> pd.Series:
    index = _time_column([r.ts for r in rows], _BAR_UNIT).rename("timestamp")
    return pd.Series(_floats(r.equity for r in rows), index=index, name="equity")
