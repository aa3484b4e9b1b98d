"""A rehearsal (bars fed one at a time through the driver) gives the backtest's orders, fills and equity.

Every example strategy, on the shipped data and on synthetic data with gaps and with bars
missing in one symbol; with warm-up; with hooks, user indicators and declared windows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import weaver as wv
from weaver.core.errors import ParameterError, StrategyError
from weaver.strategy import Strategy
from weaver.strategy.examples import MomentumRotation, RsiReversion, SmaCross
from weaver.strategy.indicators import crossover, ema, sma

from .builders import reversed_copy, with_gaps

GOOG = wv.load_bars("data/GOOG.csv")


def assert_same_run(strategy: type[Strategy], bars: object, **kw: object) -> wv.BacktestResult:
    expected = wv.backtest(strategy, bars, **kw)
    got = wv.rehearse(strategy, bars, **kw)

    pd.testing.assert_frame_equal(got.orders, expected.orders)  # client order ids included
    pd.testing.assert_frame_equal(got.fills, expected.fills)
    pd.testing.assert_frame_equal(got.trades, expected.trades)
    pd.testing.assert_series_equal(got.equity, expected.equity)
    assert got.stats["equity_final"] == expected.stats["equity_final"]
    assert got.notes == expected.notes
    return got


def test_sma_cross_on_goog() -> None:
    got = assert_same_run(SmaCross, GOOG)

    assert len(got.trades) == 33 and round(got.stats["equity_final"], 2) == 177_394.00


def test_rsi_reversion_with_limits_stops_and_gtc_orders_on_goog() -> None:
    got = assert_same_run(RsiReversion, GOOG, commission=0.001)

    assert {"limit", "stop"} <= set(got.orders["type"]) and (got.orders["status"] == "canceled").any()


def test_momentum_rotation_on_two_symbols_one_missing_bars() -> None:
    other = with_gaps(reversed_copy(GOOG, "REV"), (100, 140), (900, 905))

    got = assert_same_run(MomentumRotation, {"GOOG": GOOG, "REV": other}, lookback=10, every=3)

    assert set(got.fills["symbol"]) == {"GOOG", "REV"}


@pytest.mark.parametrize("strategy", [SmaCross, RsiReversion])
def test_intraday_bars_with_gaps_and_day_orders(strategy: type[Strategy]) -> None:
    bars = with_gaps(wv.synthetic(12_000, "1min", seed=3), (3_000, 4_500), (9_000, 9_010))

    got = assert_same_run(strategy, bars)

    assert len(got.orders) > 10


def test_a_warm_up_before_the_first_tradable_bar() -> None:
    got = assert_same_run(SmaCross, GOOG, start="2008-01-01")

    assert got.equity.index[0] >= pd.Timestamp("2008-01-01", tz="UTC")
    assert got.orders["created_at"].min() >= pd.Timestamp("2008-01-01", tz="UTC")


class Hooked(Strategy):
    """Places orders from its hooks: a protective stop on each fill, a re-entry on each cancel."""

    fast: int = 5
    slow: int = 20

    def init(self) -> None:
        self.f = self.indicator(ema, self.data.close, self.fast)
        self.s = self.indicator(sma, self.data.close, self.slow)
        self.seen: list[str] = []

    def next(self) -> None:
        if crossover(self.f, self.s) and not self.position:
            self.buy(size=0.5)
        elif crossover(self.s, self.f) and self.position:
            for order in self.orders:
                self.cancel(order)
            self.close()

    def on_fill(self, fill) -> None:  # noqa: ANN001
        if fill.side.value == "buy":
            self.sell(float(fill.qty), trail_percent=4.0, tif="gtc")

    def on_order(self, order) -> None:  # noqa: ANN001
        self.seen.append(order.status.value)


def test_orders_placed_from_hooks_and_trailing_stops() -> None:
    got = assert_same_run(Hooked, GOOG)

    assert (got.orders["type"] == "trailing_stop").sum() > 5


def user_momentum(close: np.ndarray, n: int) -> np.ndarray:
    """A user's indicator (no incremental twin): recomputed on the history as bars arrive."""
    c = np.asarray(close, dtype=float)
    out = np.full_like(c, np.nan)
    out[n:] = c[n:] / c[:-n] - 1.0
    return out


class UserIndicators(Strategy):
    window: int = 0

    def init(self) -> None:
        window = self.window or None
        self.m = self.indicator(user_momentum, self.data.close, 20, window=window)

    def next(self) -> None:
        if self.m[-1] > 0.05 and not self.position:
            self.buy(10)
        elif self.m[-1] < 0 and self.position:
            self.close()


@pytest.mark.parametrize("window", [0, 21, 60])
def test_a_users_indicator_recomputed_on_the_history_or_its_window(window: int) -> None:
    got = assert_same_run(UserIndicators, GOOG.iloc[:800], window=window)

    assert len(got.trades) > 3


def test_a_rehearsal_runs_fast_enough_to_rehearse_a_year_of_minutes() -> None:
    # the speed itself is benchmarks/engine.py's to measure; here, that it scales linearly
    bars = wv.synthetic(20_000, "1min", seed=1)

    got = wv.rehearse(SmaCross, bars)

    assert len(got.equity) == 20_000 and got.timings["loop"] > 0


def test_an_indicator_on_derived_data_is_refused_with_its_name() -> None:
    class Derived(Strategy):
        def init(self) -> None:
            self.x = self.indicator(sma, self.data.close * 2, 5)

    wv.backtest(Derived, GOOG.iloc[:50])  # a backtest computes it once over all bars
    with pytest.raises(ParameterError, match=r"sma\(…, 5\): argument 0 is derived from the data"):
        wv.rehearse(Derived, GOOG.iloc[:50], start=10)


def test_an_exception_in_next_names_the_strategy_the_bar_and_the_exception() -> None:
    class Boom(Strategy):
        def next(self) -> None:
            if len(self.data) == 7:
                raise ZeroDivisionError("nope")

    for run in (wv.backtest, wv.rehearse):
        with pytest.raises(StrategyError, match=r"Boom\.next\(\) raised ZeroDivisionError: nope at bar 6 \(2004-08-27") \
                as err:
            run(Boom, GOOG.iloc[:20])
        assert isinstance(err.value.__cause__, ZeroDivisionError)


def test_an_exception_in_a_hook_names_the_hook() -> None:
    class BadHook(Strategy):
        def next(self) -> None:
            if len(self.data) == 3:
                self.buy(1)

        def on_fill(self, fill) -> None:  # noqa: ANN001
            raise KeyError("fill")

    for run in (wv.backtest, wv.rehearse):
        with pytest.raises(StrategyError, match=r"BadHook\.on_fill\(\) raised KeyError: 'fill' at bar 3"):
            run(BadHook, GOOG.iloc[:20])


def test_rehearse_takes_the_same_options_and_checks_the_same_parameters() -> None:
    with pytest.raises(ParameterError, match="SmaCross has no parameter 'fats'"):
        wv.rehearse(SmaCross, GOOG, fats=3)

    got = assert_same_run(SmaCross, GOOG, cash=50_000, commission=0.002, slippage=3, fast=np.int64(8), slow=40)
    assert got.params["fast"] == 8


class Scripted(Strategy):
    """Every kind of order, at moments drawn from a seed: the same in every run on the same bars."""

    draws: int = 0  # the seed of its draws (a parameter named seed would be the run option)

    def init(self) -> None:
        self.f = self.indicator(sma, self.data.close, 5)

    def next(self) -> None:
        rng = np.random.default_rng((self.draws, len(self.data)))
        action = rng.integers(0, 9)
        close = self.data.close[-1]
        if action == 1:
            self.buy(int(rng.integers(1, 20)))
        elif action == 2:
            self.sell(int(rng.integers(1, 20)))
        elif action == 3:
            self.buy(size=float(rng.uniform(0.05, 0.5)), limit=close * 0.99, tif="gtc")
        elif action == 4:
            self.sell(int(rng.integers(1, 10)), stop=close * 0.98, tif="day")
        elif action == 5:
            self.close()
        elif action == 6:
            for order in self.orders[:1]:
                self.cancel(order)
        elif action == 7 and self.position:
            self.sell(abs(self.position.qty), trail_percent=float(rng.uniform(1, 5)), tif="gtc")
        elif action == 8:
            self.buy(int(rng.integers(1, 5)), limit=close * 1.01, stop=close * 1.005, tif="ioc")


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), bars_seed=st.integers(0, 100), intraday=st.booleans(),
       commission=st.sampled_from([None, 0.001]), participation=st.sampled_from([None, 0.5]))
def test_the_fast_loop_equals_the_driver_for_any_orders(seed, bars_seed, intraday, commission,
                                                         participation) -> None:  # noqa: ANN001
    bars = wv.synthetic(300, "1min" if intraday else "1d", seed=bars_seed)
    if intraday:  # a stretch without bars, across a session end
        bars = with_gaps(bars, (100, 180))

    assert_same_run(Scripted, bars, draws=seed, cash=20_000, commission=commission, participation=participation)
