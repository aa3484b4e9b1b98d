"""Runs and what they leave, as the API serves them: create (checked whole before anything is
written), list, get, start, stop, delete, and a run's orders, fills, positions, equity and log.

A run names its strategy by name or id; the version found when the run is created is pinned
(the run keeps the registered row's id and source hash), so a run always executes the source
it was created with. Its ``config`` holds the strategy's ``params`` and the run options of
:class:`~weaver.core.config.RunConfig`; both are checked here, with the domain's own checks
(``RunConfig.from_dict`` and the parameters' :class:`~weaver.strategy.params.Param` rules,
rebuilt from the registered parameter schema, so no strategy code runs in the server).

Backtest runs are started on the run manager's worker processes; paper and live runs come
with the paper-trading issue and answer ``INVALID_RUN_MODE`` until then.
"""

from __future__ import annotations

import asyncio
import difflib
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from weaver.api.cache import PageCache
from weaver.api.errors import ApiError, ErrorCode
from weaver.api.services.strategies import resolve_strategy
from weaver.core.config import RunConfig
from weaver.core.enums import RunMode, RunStatus
from weaver.core.errors import DataError, ParameterError
from weaver.core.runs import RunAction, RunTransitionError

if TYPE_CHECKING:
    from sqlalchemy import Row

    from weaver.catalog import Catalog
    from weaver.core.envelope import Envelope
    from weaver.live.manager import RunManager
    from weaver.store.database import AsyncStore
    from weaver.store.run_records import RunRecord
    from weaver.store.uow import UnitOfWork
    from weaver.store.runs import StrategyRecord

__all__ = ["RunService"]

#: the most symbols one run trades
MAX_SYMBOLS = 100
_RUN_OPTIONS = frozenset(RunConfig.__dataclass_fields__)


def _invalid(field: str, message: str) -> ApiError:
    return ApiError(422, ErrorCode.VALIDATION_ERROR, f"invalid request: {field}: {message}", {"field": field})


@dataclass(frozen=True, slots=True)
class RunSpec:
    """A checked run request: what :func:`weaver.store.run_records.create_run` writes."""

    strategy: StrategyRecord
    mode: RunMode
    symbols: list[str]
    timeframe: str
    start: datetime | None
    end: datetime | None
    spec: dict[str, Any]


class RunService:
    """Runs over the store, started and stopped through the run manager.

    ``pages`` keeps the runs list's pages as served (:mod:`weaver.api.cache`): this service drops
    them after each of its own writes, failed ones too (a commit lost with its connection may
    have gone through), and :meth:`saw` after each ``run.*`` event the server's event reader
    reads, whoever wrote it.
    """

    def __init__(self, store: AsyncStore, catalog: Catalog, manager: RunManager) -> None:
        self._store, self._catalog, self._manager = store, catalog, manager
        self.pages = PageCache()

    @asynccontextmanager
    async def _writing(self) -> AsyncIterator[UnitOfWork]:
        """A unit of work on runs; the runs list's pages are dropped when it ends, committed or not."""
        try:
            async with self._store.unit_of_work() as uow:
                yield uow
        finally:
            self.pages.changed()

    def saw(self, event: Envelope) -> None:
        """Note an event read from the log: a run's change drops the runs list's pages."""
        if event.type.startswith("run."):
            self.pages.changed()

    # --- the lifecycle ---------------------------------------------------------------------------

    async def create(self, *, strategy_id: str, mode: RunMode, symbols: Sequence[str], timeframe: str,
                     start_time: datetime | None, end_time: datetime | None, config: Mapping[str, Any] | None,
                     correlation_id: str | None = None) -> RunRecord:
        """Check a run request whole and write the run, ``pending``.

        Raises
        ------
        ApiError
            ``INVALID_RUN_MODE`` (400) for paper and live runs; ``VALIDATION_ERROR`` (422)
            naming the field for an unknown strategy, symbol or timeframe, times out of order
            or without bars, an unknown run option or parameter, or a value either refuses.
        """
        from weaver.store.run_records import create_run

        checked = await self._check(strategy_id, mode, symbols, timeframe, start_time, end_time, config)
        async with self._writing() as uow:
            return await create_run(uow, strategy=checked.strategy, mode=checked.mode, symbols=checked.symbols,
                                    timeframe=checked.timeframe, spec=checked.spec, data_start=checked.start,
                                    data_end=checked.end, correlation_id=correlation_id)

    async def get(self, run_id: str) -> RunRecord:
        """Return run ``run_id`` (``NotFoundError``: 404)."""
        from weaver.store.run_records import get_run

        return await get_run(self._store, run_id)

    async def list(self, *, status: RunStatus | None, mode: RunMode | None, strategy: str | None, offset: int,
                   limit: int) -> tuple[list[RunRecord], int]:
        """Return a page of runs, newest first, and how many match."""
        from weaver.store.run_records import list_runs

        return await list_runs(self._store, status=status, mode=mode, strategy=strategy, offset=offset, limit=limit)

    async def start(self, run_id: str, correlation_id: str | None = None) -> RunRecord:
        """Move a pending run to running and launch its worker.

        Raises
        ------
        ApiError
            ``RUN_NOT_STARTABLE`` (409) unless the run is pending.
        """
        from weaver.store.run_records import transition_run

        try:
            async with self._writing() as uow:
                run = await transition_run(uow, run_id, RunAction.START, correlation_id=correlation_id)
        except RunTransitionError as exc:
            raise ApiError(409, ErrorCode.RUN_NOT_STARTABLE, str(exc),
                           {"run_id": run_id, "status": exc.status.value}) from None
        self._manager.launch(run_id, correlation_id)
        return run

    async def stop(self, run_id: str, correlation_id: str | None = None) -> RunRecord:
        """Stop a running run and end its worker; a stopped run is returned as it is.

        Raises
        ------
        ApiError
            ``RUN_NOT_STOPPABLE`` (409) for a run that is pending or finished otherwise.
        """
        from weaver.store.run_records import append_log, get_run, transition_run

        current = await get_run(self._store, run_id)
        if current.status is RunStatus.STOPPED:
            return current
        try:
            async with self._writing() as uow:
                run = await transition_run(uow, run_id, RunAction.STOP, reason="stopped on request",
                                           correlation_id=correlation_id)
                await append_log(uow, run_id, "info", "stopped on request")
        except RunTransitionError as exc:
            raise ApiError(409, ErrorCode.RUN_NOT_STOPPABLE, str(exc),
                           {"run_id": run_id, "status": exc.status.value}) from None
        await self._manager.terminate(run_id)
        return run

    async def delete(self, run_id: str) -> None:
        """Delete a run that is not running, and what it left (``ConflictError``: 409)."""
        from weaver.store.run_records import delete_run

        async with self._writing() as uow:
            await delete_run(uow, run_id)

    # --- what a run left -------------------------------------------------------------------------

    async def orders(self, *, run_id: str | None, status: str | None, symbol: str | None, offset: int,
                     limit: int) -> tuple[list[Row[Any]], int]:
        """Return a page of orders, filtered by run, status and symbol, and how many match."""
        from weaver.store.run_records import list_orders

        return await list_orders(self._store, run_id=run_id, status=status, symbol=symbol, offset=offset, limit=limit)

    async def order(self, order_id: int) -> Row[Any]:
        """Return order ``order_id`` (``NotFoundError``: 404)."""
        from weaver.store.run_records import get_order

        return await get_order(self._store, order_id)

    async def fills(self, run_id: str, *, offset: int, limit: int) -> tuple[list[Row[Any]], int]:
        """Return a page of the run's fills (404 for an unknown run)."""
        from weaver.store.run_records import list_fills

        await self.get(run_id)
        return await list_fills(self._store, run_id, offset=offset, limit=limit)

    async def positions(self, run_id: str, *, latest: bool, symbol: str | None, offset: int,
                        limit: int) -> tuple[list[Row[Any]], int]:
        """Return a page of the run's position snapshots, or each symbol's latest (404 for an unknown run)."""
        from weaver.store.run_records import list_positions

        await self.get(run_id)
        return await list_positions(self._store, run_id, latest=latest, symbol=symbol, offset=offset, limit=limit)

    async def equity(self, run_id: str, *, offset: int, limit: int) -> tuple[list[Row[Any]], int]:
        """Return a page of the run's equity curve (404 for an unknown run)."""
        from weaver.store.run_records import list_equity

        await self.get(run_id)
        return await list_equity(self._store, run_id, offset=offset, limit=limit)

    async def logs(self, run_id: str, *, offset: int, limit: int) -> tuple[list[Row[Any]], int]:
        """Return a page of the run's log lines (404 for an unknown run)."""
        from weaver.store.run_records import list_logs

        await self.get(run_id)
        return await list_logs(self._store, run_id, offset=offset, limit=limit)

    # --- checking a request ----------------------------------------------------------------------

    async def _check(self, strategy_id: str, mode: RunMode, symbols: Sequence[str], timeframe: str,
                     start: datetime | None, end: datetime | None, config: Mapping[str, Any] | None) -> RunSpec:
        from weaver.data.timeframe import normalize_timeframe
        from weaver.store.json_values import encode_mapping

        if mode is not RunMode.BACKTEST:
            raise ApiError(400, ErrorCode.INVALID_RUN_MODE,
                           f"{mode.value} runs are not available yet: this server runs backtests only (mode "
                           "'backtest'); paper and live runs come with paper trading",
                           {"mode": mode.value, "supported": [RunMode.BACKTEST.value]})
        try:
            strategy = await resolve_strategy(self._store, strategy_id, field="strategy_id")
        except ApiError as exc:  # a body naming what does not exist is invalid, not a missing resource
            raise _invalid("strategy_id", exc.message.removeprefix("strategy_id: ")) from None
        if not symbols:
            raise _invalid("symbols", "name at least one symbol of the catalog")
        if len(symbols) > MAX_SYMBOLS or len(set(symbols)) != len(symbols):
            raise _invalid("symbols", f"at most {MAX_SYMBOLS} symbols, each once (got {len(symbols)})")
        try:
            timeframe = normalize_timeframe(timeframe)
        except DataError as exc:
            raise _invalid("timeframe", str(exc)) from None
        start, end = _utc(start), _utc(end)
        if start is not None and end is not None and end < start:
            raise _invalid("end_time", f"{end.isoformat()} is before start_time {start.isoformat()}")
        await asyncio.to_thread(self._check_bars, list(symbols), timeframe, start, end)
        spec = _check_config(strategy, config)
        spec = {"config": spec[0].to_dict(), "params": encode_mapping(spec[1], "params")}
        return RunSpec(strategy, mode, list(symbols), timeframe, start, end, spec)

    def _check_bars(self, symbols: list[str], timeframe: str, start: datetime | None, end: datetime | None) -> None:
        """Refuse a symbol or timeframe the catalog lacks, or a period without bars (file IO: off the loop)."""
        catalog = self._catalog
        for symbol in symbols:
            if not catalog.has_symbol(symbol):
                raise _invalid("symbols", f"the catalog has no symbol {symbol!r}; it holds: "
                                          f"{', '.join(catalog.symbols()) or 'nothing yet'}")
            if not catalog.has(symbol, timeframe):
                raise _invalid("timeframe", f"the catalog has no {timeframe!r} bars of {symbol!r}; its timeframes: "
                                            f"{', '.join(catalog.timeframes(symbol))}")
            if start is None and end is None:
                continue
            bars = catalog.read(symbol, timeframe, start, end)
            if bars.empty:
                held = catalog.read(symbol, timeframe)
                period = f"from {_day(start) if start else 'its first bar'} to {_day(end) if end else 'its last bar'}"
                raise _invalid("start_time" if start is not None else "end_time",
                               f"the catalog has no {timeframe} bars of {symbol!r} {period}; it holds "
                               f"{_day(held.index[0])} to {_day(held.index[-1])}")


def _utc(when: datetime | None) -> datetime | None:
    """A naive time is UTC (as the catalog reads it); an aware one is converted."""
    if when is None:
        return None
    return when.replace(tzinfo=timezone.utc) if when.tzinfo is None else when.astimezone(timezone.utc)


def _day(when: Any) -> str:
    text = when.isoformat()
    return text[:10] if text[10:].startswith(("T00:00:00", " 00:00:00")) else text


def _check_config(strategy: StrategyRecord, config: Mapping[str, Any] | None) -> tuple[RunConfig, dict[str, Any]]:
    """Split a run's config into its checked run options and the strategy's checked parameters."""
    options = dict(config or {})
    params = options.pop("params", None) or {}
    if not isinstance(params, Mapping):
        raise _invalid("config.params", f"the strategy's parameters by name, e.g. {{\"fast\": 10}}; got {params!r}")
    declared = strategy.params_schema.get("properties") or {}
    misplaced = [name for name in options if name in declared and name not in _RUN_OPTIONS]
    if misplaced:
        raise _invalid(f"config.{misplaced[0]}", f"{misplaced[0]!r} is a parameter of {strategy.name}: give the "
                                                 "strategy's parameters under config.params")
    try:
        run_config = RunConfig.from_dict(options)
    except ParameterError as exc:
        raise _invalid("config", str(exc)) from None
    return run_config, _check_params(strategy, params)


def _check_params(strategy: StrategyRecord, given: Mapping[str, Any]) -> dict[str, Any]:
    """Check parameters against the registered JSON Schema with the domain's Param rules; defaults filled in."""
    from weaver.strategy.params import params_from_json_schema

    declared = params_from_json_schema(strategy.params_schema)
    listed = ", ".join(f"{n}: {p.type.__name__} = {p.default!r}" if p else n for n, p in declared.items())
    unknown = [name for name in given if name not in declared]
    if unknown:
        near = difflib.get_close_matches(unknown[0], list(declared), n=1)
        hint = f" (did you mean {near[0]!r}?)" if near else ""
        raise _invalid(f"config.params.{unknown[0]}", f"{strategy.name} has no parameter {unknown[0]!r}{hint}; "
                                                      f"its parameters are: {listed or '(none)'}")
    values = {name: p.default for name, p in declared.items() if p is not None}
    for name, value in given.items():
        p = declared[name]
        if p is None:  # a type the schema cannot say in JSON (an Enum): the worker checks it
            values[name] = value
            continue
        try:
            values[name] = p.coerce(value, owner=strategy.name)
        except ParameterError as exc:
            raise _invalid(f"config.params.{name}", str(exc)) from None
    return values


