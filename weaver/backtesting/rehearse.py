"""Rehearsals: a strategy fed known bars one at a time through the driver, as a paper run feeds it.

A backtest computes each indicator once over the whole history; a paper run cannot, as its
bars arrive one at a time. A rehearsal runs the paper run's loop (:class:`weaver.runtime.Driver`)
on bars already known, against :class:`~weaver.sim.SimulatedBroker` with the same fill rules,
and records orders, fills and events as a paper run records them. On the same bars it gives a
backtest's orders (client ids included), fills, trades and equity: the suite holds the two equal,
and a difference between them points at a strategy or an indicator that a live feed would
see otherwise.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from weaver.backtesting.engine import BarsLike, PreparedBars, first_bar, make_broker, prepare_bars, traded_part
from weaver.backtesting.result import BacktestResult, RunRecord, build_result
from weaver.clock.replay import ReplayClock
from weaver.core import Portfolio, RunConfig
from weaver.core.errors import BacktestError
from weaver.core.options import run_options
from weaver.runtime import Driver
from weaver.strategy.base import Strategy

__all__ = ["rehearse"]


@run_options
def rehearse(
    strategy: type[Strategy],
    bars: BarsLike,
    *,
    progress: Callable[[int, int], None] | None = None,
    config: RunConfig,
    **params: Any,
) -> BacktestResult:
    """Run ``strategy`` on ``bars`` fed one at a time, as a paper run will, and return the result.

    It takes :func:`weaver.backtest`'s run options and parameters and returns the same result
    type. Each bar joins a growing history; Weaver's own indicators update in O(1) a bar with
    the values of the vectorized pass, any other indicator is recomputed on the history so far
    (or its declared ``window``); the simulated broker fills orders by the same rules. The
    strategy's ``init()`` runs on the first bar, and its indicators' look-ahead check
    (``lookahead_check``) on the history known then. With ``start``, the bars before it are
    fed as a warm-up, without trading, and the result covers the bars from it on.

    Parameters
    ----------
    strategy, bars
        As for :func:`weaver.backtest`.
    progress
        ``progress(done, total)``, called about a hundred times along the run.
    **params
        The strategy's parameters; unknown names or wrong types raise ``ParameterError``.

    Returns
    -------
    BacktestResult
        As :func:`weaver.backtest` returns; on the same bars, options and parameters, the
        same orders, fills, trades and equity.
    """
    if not (isinstance(strategy, type) and issubclass(strategy, Strategy)):
        raise BacktestError(f"strategy must be a weaver.Strategy subclass, got {strategy!r}")
    values = strategy.validate_params(**params)
    t0 = time.perf_counter()
    prepared = PreparedBars(prepare_bars(bars))
    first = first_bar(prepared.index, config.start)
    clock = ReplayClock(prepared.micros, prepared.arrays, prepared.has_bar, prepared.session_end(config.session_tz))
    initial_cash = config.cash
    portfolio = Portfolio(cash=initial_cash, positions={})
    driver: Driver | None = None
    broker = make_broker(portfolio, config, symbols=prepared.symbols, clock=clock.now,
                         price_of=lambda symbol: driver.price_of(symbol), decimals=prepared.decimals)
    driver = Driver(strategy, values, broker=broker, clock=clock, portfolio=portfolio, symbols=prepared.symbols,
                    fractional=config.fractional, lookahead_check=config.lookahead_check)
    t1 = time.perf_counter()
    n = len(prepared)
    every = max(1, n // 100)
    for i, tick in enumerate(clock):
        if i < first:
            driver.warm_up((tick,))
        else:
            driver.step(tick)
        if progress is not None and (i + 1) % every == 0:
            progress(i + 1, n)
    if progress is not None:
        progress(n, n)
    t2 = time.perf_counter()
    record = RunRecord(
        strategy=strategy.__name__, frames=prepared.frames, index=prepared.index, symbols=list(prepared.symbols),
        closes=dict(prepared.closes), timeframe=prepared.timeframe, initial_cash=initial_cash, config=config,
        orders=list(broker.orders.values()), fill_log=broker.fill_log, fill_bars=driver.fill_bars, refused=broker.refused,
    )
    result = build_result(traded_part(record, first), values)
    result.timings = {"setup": t1 - t0, "loop": t2 - t1, "results": time.perf_counter() - t2}
    return result
