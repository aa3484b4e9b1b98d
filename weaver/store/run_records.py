"""Runs as records: create one, move it through its lifecycle, record its backtest, delete it, and read
what it left (orders, fills, positions, equity, log lines) page by page.

Every move goes through the core's table (:mod:`weaver.core.runs`) and is written as a
compare-and-set on the run's status, with the event that tells of it, in the caller's unit of
work: two writers racing (a stop request and a worker finishing) cannot both win, and the
loser's whole transaction is refused with :class:`~weaver.core.runs.RunTransitionError`.
Writes take a :class:`~weaver.store.uow.UnitOfWork`; reads take an
:class:`~weaver.store.AsyncStore`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from sqlalchemy import Row, Select, Table, delete, func, insert, select, update

from weaver.core.enums import RunMode, RunStatus
from weaver.core.ids import check_run_id
from weaver.core.runs import RUN_EVENTS, TERMINAL, RunAction, next_status
from weaver.store.errors import ConflictError, NotFoundError
from weaver.store.json_values import decode_series
from weaver.store.models import (
    EQUITY,
    FILLS,
    LOGS,
    ORDERS,
    POSITIONS,
    RUNS,
    STRATEGIES,
    is_id,
)
from weaver.store.runs import StrategyRecord, backtest_rows, insert_backtest_rows, new_run_id

if TYPE_CHECKING:
    import pandas as pd

    from weaver.store.database import AsyncStore
    from weaver.store.runs import BacktestLike
    from weaver.store.uow import UnitOfWork

__all__ = [
    "RunRecord",
    "append_log",
    "create_run",
    "delete_run",
    "find_strategy",
    "get_order",
    "get_run",
    "list_equity",
    "list_fills",
    "list_logs",
    "list_orders",
    "list_positions",
    "list_runs",
    "record_backtest",
    "runs_in_status",
    "transition_run",
]


#: how often a compare-and-set is tried again when another writer moved the run in between
_ATTEMPTS = 3


@dataclass(frozen=True, slots=True)
class RunRecord:
    """A run as the store holds it.

    ``spec`` is ``{"config": RunConfig.to_dict(), "params": ...}`` (params in the encoding of
    :mod:`weaver.store.json_values`); ``stats_data`` the statistics as stored once the run
    completed (:func:`weaver.store.json_values.encode_series`), which ``stats`` decodes into a
    Series; ``error`` the reason a run ended in ``error``.
    """

    id: str
    strategy_id: int | None
    strategy: str
    strategy_version: str | None
    mode: RunMode
    status: RunStatus
    symbols: list[str]
    timeframe: str | None
    spec: dict[str, Any]
    data_start: datetime | None
    data_end: datetime | None
    created_at: datetime
    started_at: datetime | None
    stopped_at: datetime | None
    stats_data: dict[str, Any] | None
    error: str | None

    @property
    def stats(self) -> pd.Series | None:
        """The statistics Series once the run completed, else None."""
        return None if self.stats_data is None else decode_series(self.stats_data)


def _record(row: Row[Any]) -> RunRecord:
    return RunRecord(
        id=row.id, strategy_id=row.strategy_id, strategy=row.strategy, strategy_version=row.strategy_version,
        mode=RunMode(row.mode), status=RunStatus(row.status), symbols=list(row.symbols), timeframe=row.timeframe,
        spec=row.spec, data_start=row.data_start, data_end=row.data_end, created_at=row.created_at,
        started_at=row.started_at, stopped_at=row.stopped_at,
        stats_data=row.stats, error=row.error)


def _no_run(run_id: str) -> NotFoundError:
    return NotFoundError(f"there is no run {run_id!r}")


# --- strategies -------------------------------------------------------------------------------


async def find_strategy(store: AsyncStore, name_or_id: str) -> StrategyRecord:
    """Return a registered strategy by its id, or the newest version registered under a name.

    A run names its strategy either way; the version found is the one the run pins.

    Raises
    ------
    NotFoundError
        If no strategy has that id or name.
    """
    async with store.connect() as conn:
        row = None
        if is_id(name_or_id):
            row = (await conn.execute(select(STRATEGIES).where(STRATEGIES.c.id == int(name_or_id)))).first()
        if row is None:
            row = (await conn.execute(select(STRATEGIES).where(STRATEGIES.c.name == name_or_id)
                                      .order_by(STRATEGIES.c.id.desc()).limit(1))).first()
    if row is None:
        raise NotFoundError(f"no strategy {name_or_id!r} is registered (by name or id)")
    return StrategyRecord(row.id, row.name, row.version, row.source, row.params_schema, row.created_at)


# --- the lifecycle ----------------------------------------------------------------------------


async def create_run(uow: UnitOfWork, *, strategy: StrategyRecord, mode: RunMode | str, symbols: Sequence[str],
                     timeframe: str | None, spec: dict[str, Any], data_start: datetime | None = None,
                     data_end: datetime | None = None, run_id: str | None = None,
                     correlation_id: str | None = None) -> RunRecord:
    """Write a new ``pending`` run of ``strategy``'s registered version, told by ``run.created``.

    Raises
    ------
    ConflictError
        If ``run_id`` is taken.
    """
    run_id = new_run_id() if run_id is None else check_run_id(run_id)
    now = datetime.now(timezone.utc)
    values = {
        "id": run_id, "strategy_id": strategy.id, "strategy": strategy.name, "strategy_version": strategy.version,
        "mode": RunMode(mode).value, "status": RunStatus.PENDING.value, "symbols": list(symbols),
        "timeframe": timeframe, "spec": spec, "data_start": data_start, "data_end": data_end, "created_at": now,
        "started_at": None, "stopped_at": None, "stats": None, "error": None,
    }
    session = uow.session
    if (await session.execute(select(RUNS.c.id).where(RUNS.c.id == run_id))).first() is not None:
        raise ConflictError(f"run id {run_id!r} is taken")
    await session.execute(insert(RUNS), [values])
    uow.emit(RUN_EVENTS[RunStatus.PENDING], {"run_id": run_id}, run_id=run_id, correlation_id=correlation_id, ts=now)
    return _record((await session.execute(select(RUNS).where(RUNS.c.id == run_id))).one())


async def transition_run(uow: UnitOfWork, run_id: str, action: RunAction | str, *, reason: str | None = None,
                         correlation_id: str | None = None, values: dict[str, Any] | None = None) -> RunRecord:
    """Move run ``run_id`` by ``action`` as the lifecycle table says, with its event, in ``uow``.

    Parameters
    ----------
    reason
        Why: required in effect for ``fail`` (it becomes the run's ``error``), optional for a stop.
    values
        Further columns to set with the move (the statistics of a completed run).

    Raises
    ------
    NotFoundError
        If there is no such run.
    RunTransitionError
        If the table has no move from the run's status (also when another writer moved the
        run first).
    """
    session = uow.session
    for _ in range(_ATTEMPTS):
        row = (await session.execute(select(RUNS).where(RUNS.c.id == run_id))).first()
        if row is None:
            raise _no_run(run_id)
        target = next_status(row.status, action, run_id=run_id)
        now = datetime.now(timezone.utc)
        changes: dict[str, Any] = {"status": target.value, **(values or {})}
        if target is RunStatus.RUNNING:
            changes["started_at"] = now
        if target in TERMINAL:
            changes["stopped_at"] = now
        if target is RunStatus.ERROR:
            reason = reason or "unknown"
            changes["error"] = reason
        done = await session.execute(update(RUNS).where(RUNS.c.id == run_id, RUNS.c.status == row.status)
                                     .values(**changes))
        if done.rowcount == 1:  # type: ignore[attr-defined]
            payload: dict[str, Any] = {"run_id": run_id}
            if reason:
                payload["reason"] = reason
            uow.emit(RUN_EVENTS[target], payload, run_id=run_id, correlation_id=correlation_id, ts=now)
            moved = (await session.execute(select(RUNS).where(RUNS.c.id == run_id))).one()
            return _record(moved)
    raise ConflictError(f"run {run_id!r} kept changing while it was being moved by {RunAction(action).value}; "
                        "try again")


async def record_backtest(uow: UnitOfWork, run_id: str, result: BacktestLike, *,
                          correlation_id: str | None = None) -> RunRecord:
    """Complete running run ``run_id`` with a backtest's result: statistics, orders, fills, equity, positions.

    The run moves first (``running`` -> ``completed``, told by ``run.completed`` with
    ``correlation_id``: the request that started the run), so a run
    stopped or failed meanwhile refuses the whole result and nothing of it is written.
    ``data_start`` and ``data_end`` are set from the equity curve where the run had none.

    Raises
    ------
    RunTransitionError
        If the run is not running.
    DataError
        For a value the store cannot keep exactly (see :func:`weaver.store.runs.save_backtest`).
    """
    rows = backtest_rows(run_id, result)
    record = await transition_run(uow, run_id, RunAction.COMPLETE, correlation_id=correlation_id, values={
        "stats": rows.stats,
        "data_start": func.coalesce(RUNS.c.data_start, rows.data_start),
        "data_end": func.coalesce(RUNS.c.data_end, rows.data_end)})
    await insert_backtest_rows(uow, rows, datetime.now(timezone.utc), first_seq=await _next_seq(uow, run_id))
    return record


async def delete_run(uow: UnitOfWork, run_id: str) -> None:
    """Delete run ``run_id`` and everything it left (its events stay in the log).

    Raises
    ------
    NotFoundError
        If there is no such run.
    ConflictError
        If the run is running (or halted): stop it first.
    """
    session = uow.session
    for _ in range(_ATTEMPTS):
        row = (await session.execute(select(RUNS.c.status).where(RUNS.c.id == run_id))).first()
        if row is None:
            raise _no_run(run_id)
        if row.status in (RunStatus.RUNNING, RunStatus.HALTED):
            raise ConflictError(f"run {run_id!r} is {row.status}: stop it before deleting it")
        done = await session.execute(delete(RUNS).where(RUNS.c.id == run_id, RUNS.c.status == row.status))
        if done.rowcount == 1:  # type: ignore[attr-defined]
            return
    raise ConflictError(f"run {run_id!r} kept changing while it was being deleted; try again")


async def append_log(uow: UnitOfWork, run_id: str, level: str, message: str) -> int:
    """Add a line to run ``run_id``'s log and return its number (from 0 within the run).

    Raises
    ------
    NotFoundError
        If there is no such run.
    """
    seq = await _next_seq(uow, run_id)
    await uow.session.execute(insert(LOGS), [{"run_id": run_id, "seq": seq, "ts": datetime.now(timezone.utc),
                                               "level": level, "message": message}])
    return seq


async def _next_seq(uow: UnitOfWork, run_id: str) -> int:
    # the run's row is locked first (PostgreSQL; SQLite serializes writers anyway), so two
    # writers appending to one run's log take turns instead of taking the same number
    lock = select(RUNS.c.id).where(RUNS.c.id == run_id).with_for_update()
    if (await uow.session.execute(lock)).first() is None:
        raise _no_run(run_id)
    last = (await uow.session.execute(select(func.max(LOGS.c.seq)).where(LOGS.c.run_id == run_id))).scalar()
    return 0 if last is None else int(last) + 1


# --- reading ----------------------------------------------------------------------------------


async def get_run(store: AsyncStore, run_id: str) -> RunRecord:
    """Return run ``run_id``.

    Raises
    ------
    NotFoundError
        If there is no such run.
    """
    async with store.connect() as conn:
        row = (await conn.execute(select(RUNS).where(RUNS.c.id == run_id))).first()
    if row is None:
        raise _no_run(run_id)
    return _record(row)


async def list_runs(store: AsyncStore, *, status: RunStatus | str | None = None, mode: RunMode | str | None = None,
                    strategy: str | None = None, offset: int = 0, limit: int = 20) -> tuple[list[RunRecord], int]:
    """Return a page of runs, newest first, and how many match the filters in all.

    ``strategy`` is a strategy's name or id.
    """
    where = []
    if status is not None:
        where.append(RUNS.c.status == RunStatus(status).value)
    if mode is not None:
        where.append(RUNS.c.mode == RunMode(mode).value)
    if strategy is not None:
        named = RUNS.c.strategy == strategy
        where.append(named | (RUNS.c.strategy_id == int(strategy)) if is_id(strategy) else named)
    query = select(RUNS).where(*where).order_by(RUNS.c.created_at.desc(), RUNS.c.id.desc())
    rows, total = await _page(store, query, RUNS, where, offset, limit)
    return [_record(row) for row in rows], total


async def runs_in_status(store: AsyncStore, status: RunStatus | str) -> list[RunRecord]:
    """Return every run in ``status``, oldest first."""
    async with store.connect() as conn:
        rows = (await conn.execute(select(RUNS).where(RUNS.c.status == RunStatus(status).value)
                                   .order_by(RUNS.c.created_at))).all()
    return [_record(row) for row in rows]


async def _page(store: AsyncStore, query: Select[Any], table: Table, where: list[Any], offset: int,
                limit: int) -> tuple[list[Row[Any]], int]:
    async with store.connect() as conn:
        rows = (await conn.execute(query.offset(offset).limit(limit))).all()
        if offset == 0 and len(rows) < limit:
            return list(rows), len(rows)  # the whole answer is on this page
        total = (await conn.execute(select(func.count()).select_from(table).where(*where))).scalar_one()
    return list(rows), int(total)


async def list_orders(store: AsyncStore, *, run_id: str | None = None, status: str | None = None,
                      symbol: str | None = None, offset: int = 0, limit: int = 50) -> tuple[list[Row[Any]], int]:
    """Return a page of orders (rows of ``orders``, in the order they were written) and the matching total."""
    where = []
    if run_id is not None:
        where.append(ORDERS.c.run_id == run_id)
    if status is not None:
        where.append(ORDERS.c.status == status)
    if symbol is not None:
        where.append(ORDERS.c.symbol == symbol)
    return await _page(store, select(ORDERS).where(*where).order_by(ORDERS.c.id), ORDERS, where, offset, limit)


async def get_order(store: AsyncStore, order_id: int) -> Row[Any]:
    """Return order ``order_id`` (a row of ``orders``).

    Raises
    ------
    NotFoundError
        If there is no such order.
    """
    async with store.connect() as conn:
        row = (await conn.execute(select(ORDERS).where(ORDERS.c.id == order_id))).first()
    if row is None:
        raise NotFoundError(f"there is no order {order_id}")
    return row


async def list_fills(store: AsyncStore, run_id: str, *, offset: int = 0,
                     limit: int = 50) -> tuple[list[Row[Any]], int]:
    """Return a page of run ``run_id``'s fills, in the order they happened, and their total."""
    where = [FILLS.c.run_id == run_id]
    return await _page(store, select(FILLS).where(*where).order_by(FILLS.c.id), FILLS, where, offset, limit)


async def list_positions(store: AsyncStore, run_id: str, *, latest: bool = False, symbol: str | None = None,
                         offset: int = 0, limit: int = 50) -> tuple[list[Row[Any]], int]:
    """Return a page of run ``run_id``'s position snapshots by time, or with ``latest`` each symbol's last."""
    where = [POSITIONS.c.run_id == run_id]
    if symbol is not None:
        where.append(POSITIONS.c.symbol == symbol)
    if latest:
        newest = (select(POSITIONS.c.symbol, func.max(POSITIONS.c.ts).label("ts")).where(*where)
                  .group_by(POSITIONS.c.symbol).subquery())
        query = select(POSITIONS).join(newest, (POSITIONS.c.symbol == newest.c.symbol)
                                        & (POSITIONS.c.ts == newest.c.ts)).where(POSITIONS.c.run_id == run_id)
        async with store.connect() as conn:
            rows = (await conn.execute(query.order_by(POSITIONS.c.symbol).offset(offset).limit(limit))).all()
            total = (await conn.execute(select(func.count()).select_from(newest))).scalar_one()
        return list(rows), int(total)
    query = select(POSITIONS).where(*where).order_by(POSITIONS.c.ts, POSITIONS.c.symbol)
    return await _page(store, query, POSITIONS, where, offset, limit)


async def list_equity(store: AsyncStore, run_id: str, *, offset: int = 0,
                      limit: int = 50) -> tuple[list[Row[Any]], int]:
    """Return a page of run ``run_id``'s equity curve, by time, and its length."""
    where = [EQUITY.c.run_id == run_id]
    return await _page(store, select(EQUITY).where(*where).order_by(EQUITY.c.ts), EQUITY, where, offset, limit)


async def list_logs(store: AsyncStore, run_id: str, *, offset: int = 0,
                    limit: int = 50) -> tuple[list[Row[Any]], int]:
    """Return a page of run ``run_id``'s log lines, by number, and their count."""
    where = [LOGS.c.run_id == run_id]
    return await _page(store, select(LOGS).where(*where).order_by(LOGS.c.seq), LOGS, where, offset, limit)
