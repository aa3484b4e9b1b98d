"""``/api/v1/runs``: create, list, get, start, stop and delete runs, and read a run's fills, positions,
equity curve and log (roadmap A.1 and A.2; DESIGN §5's names)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, TypeAdapter

from weaver.api.deps import RunServiceDep
from weaver.api.errors import ErrorResponse, correlation_id
from weaver.api.paging import Page, Paging, paging
from weaver.core.enums import OrderSide, RunMode, RunStatus

if TYPE_CHECKING:
    import pandas as pd

    from weaver.store.run_records import RunRecord

__all__ = ["RunCreate", "RunResponse", "RunStats", "run_response", "v1"]

v1 = APIRouter(prefix="/runs", tags=["runs"])

_RUN_PAGE = Annotated[Paging, Depends(paging(20))]
_ITEM_PAGE = Annotated[Paging, Depends(paging(50))]
_NOT_FOUND = {404: {"model": ErrorResponse, "description": "No such run"}}


def _id_as_text(value: Any) -> Any:
    """A strategy's id may come as a JSON number."""
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


class RunCreate(BaseModel):
    """A run to create: a registered strategy, where it runs, on which bars, with which config."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "strategy_id": "sma_cross", "mode": "backtest", "symbols": ["GOOG"], "timeframe": "1d",
        "start_time": "2006-01-01T00:00:00Z", "end_time": "2012-12-31T00:00:00Z",
        "config": {"params": {"fast": 10, "slow": 30}, "cash": 100000, "commission": 0.001}}]})

    strategy_id: Annotated[str, BeforeValidator(_id_as_text)] = Field(min_length=1, max_length=200,
                             description="A registered strategy's name (its newest version) or id; the version "
                                         "found is pinned to the run")
    mode: RunMode = Field(description="backtest (paper and live: not yet, INVALID_RUN_MODE)")
    symbols: list[str] = Field(min_length=1, description="Catalog symbols the run trades")
    timeframe: str = Field("1m", description="The bars' size, as the catalog keeps them: 1m, 1h, 1d ...")
    start_time: datetime | None = Field(None, description="The first bar read (UTC if naive); none: the first held")
    end_time: datetime | None = Field(None, description="The last bar read, inclusive; none: the last held")
    config: dict[str, Any] | None = Field(
        None, description="The strategy's parameters under \"params\", and the run options of RunConfig (cash, "
                          "commission, slippage, seed, participation, allow_short, fractional, margin, "
                          "session_tz, start, lookahead_check); unknown names are refused")


class RunStats(BaseModel):
    """A finished run's performance (roadmap A.2), and every statistic the backtest computed."""

    total_trades: int = Field(description="Closed trades")
    winning_trades: int = Field(description="Closed trades with a profit")
    total_pnl: Decimal = Field(description="Final equity minus starting equity")
    max_drawdown: Decimal = Field(description="The deepest fall from a peak, as a fraction of it (<= 0)")
    sharpe_ratio: float | None = Field(description="Annualized Sharpe ratio; null when undefined")
    values: dict[str, Any] = Field(description="Every statistic by name: numbers (null for NaN), times and "
                                               "durations in ISO 8601")


class RunResponse(BaseModel):
    """A run: what it runs, where, its status and times, and its statistics once finished."""

    id: str
    strategy_id: str | None = Field(description="The registered strategy version's id")
    strategy: str = Field(description="The strategy's name")
    strategy_version: str | None = Field(description="SHA-256 of the source the run executes")
    mode: RunMode
    status: RunStatus
    symbols: list[str]
    timeframe: str | None
    start_time: datetime | None
    end_time: datetime | None
    config: dict[str, Any] = Field(description="params and every run option, as the run uses them")
    created_at: datetime
    started_at: datetime | None
    stopped_at: datetime | None
    stats: RunStats | None
    error: str | None = Field(description="Why the run ended in error")


class FillResponse(BaseModel):
    """An execution of one of the run's orders."""

    id: int
    exec_id: str
    client_order_id: str
    timestamp: datetime
    symbol: str
    side: OrderSide
    qty: Decimal
    price: Decimal
    commission: Decimal


class PositionResponse(BaseModel):
    """The run's position in a symbol after the fills at ``timestamp``: signed qty (negative short)."""

    symbol: str
    timestamp: datetime
    qty: Decimal
    avg_price: Decimal | None


class EquityPointResponse(BaseModel):
    """The run's account value at a bar's close."""

    timestamp: datetime
    equity: Decimal


class LogLineResponse(BaseModel):
    """A line of the run's log."""

    seq: int
    timestamp: datetime
    level: str
    message: str


#: a page of runs, serialized as FastAPI would serialize the response model
_RUNS_PAGE = TypeAdapter(Page[RunResponse])


def run_response(run: RunRecord) -> RunResponse:
    """Return the API's view of a stored run."""
    from weaver.store.json_values import decode_items, decode_mapping

    config = {"params": decode_mapping(run.spec.get("params", {})), **run.spec.get("config", {})}
    return RunResponse(
        id=run.id, strategy_id=None if run.strategy_id is None else str(run.strategy_id), strategy=run.strategy,
        strategy_version=run.strategy_version, mode=run.mode, status=run.status, symbols=run.symbols,
        timeframe=run.timeframe, start_time=run.data_start, end_time=run.data_end, config=config,
        created_at=run.created_at, started_at=run.started_at, stopped_at=run.stopped_at,
        stats=None if run.stats_data is None else run_stats(decode_items(run.stats_data)), error=run.error)


def run_stats(stats: Mapping[str, Any] | pd.Series) -> RunStats:
    """Return roadmap A.2's statistics from a backtest's (by name), with every value as plain JSON."""
    values = {str(key): _plain(value) for key, value in stats.items()}
    trades = int(values.get("n_trades") or 0)
    win_rate = values.get("win_rate")
    start, final = values.get("equity_start"), values.get("equity_final")
    pnl = Decimal(repr(final)) - Decimal(repr(start)) if start is not None and final is not None else Decimal(0)
    drawdown = values.get("max_drawdown")
    return RunStats(total_trades=trades, winning_trades=round(win_rate * trades) if win_rate is not None else 0,
                    total_pnl=pnl, max_drawdown=Decimal(repr(drawdown)) if drawdown is not None else Decimal(0),
                    sharpe_ratio=values.get("sharpe"), values=values)


def _plain(value: Any) -> Any:
    """A statistic as JSON: a float (None for NaN), an int, a string; times and durations in ISO 8601."""
    if value is None or isinstance(value, bool | str):
        return value
    if hasattr(value, "isoformat"):  # a Timestamp, or a Timedelta (its ISO 8601 duration)
        return None if value != value else value.isoformat()
    if isinstance(value, int):
        return value
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    if not math.isfinite(number):
        return None
    return int(number) if type(value).__name__.startswith(("int", "uint")) else number


@v1.post("", status_code=201, response_model=RunResponse, summary="Create a run (pending)",
         responses={400: {"model": ErrorResponse, "description": "INVALID_RUN_MODE: paper and live, for now"}})
async def create_run(body: RunCreate, request: Request, response: Response, runs: RunServiceDep) -> RunResponse:
    """Check the run whole (strategy, symbols, timeframe, times, params and run options) and create it."""
    run = await runs.create(strategy_id=body.strategy_id, mode=body.mode, symbols=body.symbols,
                            timeframe=body.timeframe, start_time=body.start_time, end_time=body.end_time,
                            config=body.config, correlation_id=correlation_id(request))
    response.headers["Location"] = f"/api/v1/runs/{run.id}"
    return run_response(run)


@v1.get("", response_model=Page[RunResponse], summary="List runs, newest first")
async def list_runs(runs: RunServiceDep, page: _RUN_PAGE, status: RunStatus | None = None,
                    mode: RunMode | None = None,
                    strategy: str | None = Query(None, description="A strategy's name or id")) -> Response:
    """Return a page of runs, filtered by status, mode and strategy.

    The page is served as it was kept until a run changes, or for a second at most (see
    :mod:`weaver.api.cache`), as JSON made once: the response model documents it.
    """

    async def make() -> bytes:
        found, total = await runs.list(status=status, mode=mode, strategy=strategy, offset=page.offset,
                                       limit=page.page_size)
        return _RUNS_PAGE.dump_json(page.of([run_response(run) for run in found], total))

    content = await runs.pages.page((status, mode, strategy, page.page, page.page_size), make)
    return Response(content, media_type="application/json")


@v1.get("/{run_id}", response_model=RunResponse, summary="Get a run", responses=_NOT_FOUND)
async def get_run(run_id: str, runs: RunServiceDep) -> RunResponse:
    """Return the run, with its statistics once it completed."""
    return run_response(await runs.get(run_id))


@v1.post("/{run_id}/start", response_model=RunResponse, summary="Start a pending run", responses={
    **_NOT_FOUND, 409: {"model": ErrorResponse, "description": "RUN_NOT_STARTABLE: the run is not pending"}})
async def start_run(run_id: str, request: Request, runs: RunServiceDep) -> RunResponse:
    """Move the run to running and start its worker; poll the run (or follow its events) for the outcome."""
    return run_response(await runs.start(run_id, correlation_id(request)))


@v1.post("/{run_id}/stop", response_model=RunResponse, summary="Stop a running run", responses={
    **_NOT_FOUND, 409: {"model": ErrorResponse, "description": "RUN_NOT_STOPPABLE: the run is not running"}})
async def stop_run(run_id: str, request: Request, runs: RunServiceDep) -> RunResponse:
    """Stop the run and end its worker; a stopped run answers as it is."""
    return run_response(await runs.stop(run_id, correlation_id(request)))


@v1.delete("/{run_id}", status_code=204, response_class=Response, summary="Delete a run", responses={
    **_NOT_FOUND, 409: {"model": ErrorResponse, "description": "CONFLICT: the run is running; stop it first"}})
async def delete_run(run_id: str, runs: RunServiceDep) -> Response:
    """Delete the run and its orders, fills, positions, equity and log (its events stay in the log)."""
    await runs.delete(run_id)
    return Response(status_code=204)


@v1.get("/{run_id}/fills", response_model=Page[FillResponse], summary="A run's fills", responses=_NOT_FOUND)
async def run_fills(run_id: str, runs: RunServiceDep, page: _ITEM_PAGE) -> Page[FillResponse]:
    """Return a page of the run's fills, in the order they happened."""
    rows, total = await runs.fills(run_id, offset=page.offset, limit=page.page_size)
    return page.of([FillResponse(id=r.id, exec_id=r.exec_id, client_order_id=r.client_order_id, timestamp=r.ts,
                                 symbol=r.symbol, side=r.side, qty=r.qty, price=r.price, commission=r.commission)
                    for r in rows], total)


@v1.get("/{run_id}/positions", response_model=Page[PositionResponse], summary="A run's positions",
        responses=_NOT_FOUND)
async def run_positions(run_id: str, runs: RunServiceDep, page: _ITEM_PAGE,
                        latest: bool = Query(False, description="Only each symbol's latest position"),
                        symbol: str | None = None) -> Page[PositionResponse]:
    """Return a page of the run's positions after each fill, by time, or each symbol's latest."""
    rows, total = await runs.positions(run_id, latest=latest, symbol=symbol, offset=page.offset,
                                       limit=page.page_size)
    return page.of([PositionResponse(symbol=r.symbol, timestamp=r.ts, qty=r.qty, avg_price=r.avg_price)
                    for r in rows], total)


@v1.get("/{run_id}/equity", response_model=Page[EquityPointResponse], summary="A run's equity curve",
        responses=_NOT_FOUND)
async def run_equity(run_id: str, runs: RunServiceDep, page: _ITEM_PAGE) -> Page[EquityPointResponse]:
    """Return a page of the run's equity curve, one point per bar, by time."""
    rows, total = await runs.equity(run_id, offset=page.offset, limit=page.page_size)
    return page.of([EquityPointResponse(timestamp=r.ts, equity=r.equity) for r in rows], total)


@v1.get("/{run_id}/logs", response_model=Page[LogLineResponse], summary="A run's log", responses=_NOT_FOUND)
async def run_logs(run_id: str, runs: RunServiceDep, page: _ITEM_PAGE) -> Page[LogLineResponse]:
    """Return a page of the run's log lines: its worker, its notes, why it stopped or failed."""
    rows, total = await runs.logs(run_id, offset=page.offset, limit=page.page_size)
    return page.of([LogLineResponse(seq=r.seq, timestamp=r.ts, level=r.level, message=r.message) for r in rows],
                   total)
