from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import weaver as wv
from weaver.backtesting.stats import (
    OrderCounts,
    compute_stats,
    max_drawdown_duration,
    periods_per_year,
    return_ratios,
)
from weaver.strategy import Strategy

from .conftest import flat_bars, make_bars

ROOT = Path(__file__).resolve().parents[3]

# a short backtest and its statistics, run in a fresh interpreter
BACKTEST = """
import sys
import weaver as wv
from weaver.strategy.examples import SmaCross

res = wv.backtest(SmaCross, wv.synthetic(2_000, "1min", seed=1), fast=5, slow=20)
assert res.stats["n_trades"] > 0 and res.stats["sharpe"] == res.stats["sharpe"]
"""


def run_fresh(*parts: str) -> str:
    code = "\n".join(textwrap.dedent(part) for part in parts)
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def reference_max_drawdown_duration(equity: pd.Series) -> pd.Timedelta:
    """The longest time below a previous peak, bar by bar, with whole-length arrays."""
    values = equity.to_numpy()
    peak = np.maximum.accumulate(values)
    last_peak = np.maximum.accumulate(np.where(values >= peak, np.arange(len(values)), 0))
    times = equity.index.asi8
    return pd.Timedelta(int((times - times[last_peak]).max()), unit=equity.index.unit)


class BuyThenSell(Strategy):
    """Buy 10 on the first bar and close on bar ``until``."""

    until: int = 4

    def init(self) -> None:
        self.bar = -1

    def next(self) -> None:
        self.bar += 1
        if self.bar == 0:
            self.buy(10, symbol=self.symbols[0])
        if self.bar == self.until:
            self.close(symbol=self.symbols[0])


def test_computing_stats_imports_neither_scipy_nor_empyrical() -> None:
    # their imports cost about 0.6 s and 60 MB, for formulas that need numpy alone
    out = run_fresh(BACKTEST, "print(','.join(m for m in ('scipy', 'scipy.stats', 'empyrical') if m in sys.modules))")

    assert out == ""


def test_a_backtest_leaves_scipy_stats_a_real_module_when_imported_after() -> None:
    out = run_fresh(BACKTEST, """
        import scipy.stats

        assert type(sys.modules["scipy.stats"]).__name__ == "module" and scipy.stats.norm.cdf(0) == 0.5
        print("ok")
    """)

    assert out == "ok"


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.floats(-1e6, 1e6), st.just(np.nan)), min_size=1, max_size=300),
       st.lists(st.integers(1, 10_000), min_size=300, max_size=300))
def test_max_drawdown_duration_is_the_longest_time_below_a_peak(values, gaps) -> None:  # noqa: ANN001
    stamps = np.cumsum(gaps[: len(values)]) * 60_000_000_000
    equity = pd.Series(values, index=pd.DatetimeIndex(stamps.astype("datetime64[ns]"), tz="UTC"))

    assert max_drawdown_duration(equity) == reference_max_drawdown_duration(equity)


def test_max_drawdown_duration_spans_chunks() -> None:
    n = 300_000  # longer than one chunk
    values = np.full(n, 100.0)
    values[1_000:250_001] = 99.0  # under water from bar 1,000 to bar 250,000
    values[-5:] = 98.0
    equity = pd.Series(values, index=pd.date_range("2024-01-01", periods=n, freq="1min", tz="UTC"))

    assert max_drawdown_duration(equity) == pd.Timedelta(minutes=250_000 - 999)
    assert max_drawdown_duration(equity) == reference_max_drawdown_duration(equity)


def test_buy_and_hold_uses_the_first_symbols_carried_closes() -> None:
    a = make_bars([(10.0 + i, 11.0 + i, 9.0 + i, 10.0 + i) for i in range(8)], symbol="AAA")
    b = flat_bars(8, price=50.0, symbol="BBB").iloc[[0, 2, 3, 5]]  # missing the last two bars

    for frames in ({"AAA": a, "BBB": b}, {"BBB": b, "AAA": a}):
        with pytest.warns(wv.data.DataWarning, match="bars missing from BBB"):  # BBB looks like "2d"
            res = wv.backtest(BuyThenSell, frames)

        first = next(iter(frames.values()))
        closes = first["close"].reindex(res.equity.index).ffill()
        expected = compute_stats(res.equity, res.trades, closes, res.exposure, res.timeframe,
                                 OrderCounts(len(res.orders), 0, 0))
        pd.testing.assert_series_equal(res.stats, expected)
    assert res.stats["buy_hold_return"] == pytest.approx(0.0)  # BBB: 50 -> 50 (carried)


def test_stats_of_one_symbol_match_compute_stats_on_its_closes() -> None:
    bars = wv.synthetic(3_000, "1min", seed=2)
    res = wv.backtest(BuyThenSell, bars, until=1_500)

    expected = compute_stats(res.equity, res.trades, bars["close"], res.exposure, res.timeframe,
                             OrderCounts(len(res.orders), 0, 0))
    pd.testing.assert_series_equal(res.stats, expected)
    assert res.stats["max_drawdown_duration"] == reference_max_drawdown_duration(res.equity)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(-0.05, 0.05), min_size=2, max_size=300), st.sampled_from([None, "1d", "1m"]))
def test_return_ratios_are_empyricals(steps, timeframe) -> None:  # noqa: ANN001
    import empyrical as ep

    values = 100_000 * np.cumprod(1.0 + np.array(steps))
    index = pd.date_range("2024-01-01", periods=len(values), freq="1min" if timeframe == "1m" else "1D", tz="UTC")
    equity = pd.Series(values, index=index)
    trades = wv.backtest(BuyThenSell, flat_bars(6)).trades.iloc[:0]
    returns = np.concatenate(([0.0], values[1:] / values[:-1] - 1.0))
    ppy = periods_per_year(index, timeframe)
    with np.errstate(over="ignore"):  # a few minutes' return compounded over a year
        stats = compute_stats(equity, trades, pd.Series([1.0, 1.0], index=index[[0, -1]]),
                              np.zeros(len(values), bool), timeframe)
        expected = [("cagr", ep.cagr(returns, annualization=ppy)),
                    ("calmar", ep.calmar_ratio(returns, annualization=ppy)),
                    ("sharpe", ep.sharpe_ratio(returns, annualization=ppy)),
                    ("sortino", ep.sortino_ratio(returns, annualization=ppy)),
                    ("volatility", ep.annual_volatility(returns, annualization=ppy)),
                    ("max_drawdown", ep.max_drawdown(returns))]
    for name, want in expected:
        want = float(want) if np.isfinite(want) else np.nan
        # the same formulas; sums may differ in their last bits (empyrical uses bottleneck)
        assert stats[name] == pytest.approx(want, rel=1e-12, abs=1e-15, nan_ok=True), name


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.floats(-0.05, 0.05) | st.just(np.nan), min_size=3, max_size=3), min_size=1, max_size=60))
def test_return_ratios_of_several_curves_are_each_curves(rows) -> None:  # noqa: ANN001
    import empyrical as ep

    returns = np.array(rows)  # one column per curve, NaN returns included
    ratios = return_ratios(returns, 252.0)
    for k in range(returns.shape[1]):
        alone = return_ratios(returns[:, k], 252.0)
        for name, got, want in zip(ratios._fields, ratios, alone, strict=True):
            assert got[k] == pytest.approx(want, rel=1e-12, abs=1e-15, nan_ok=True), name
        with np.errstate(all="ignore"):
            assert alone.cagr == pytest.approx(float(ep.cagr(returns[:, k], annualization=252.0)), rel=1e-12,
                                               abs=1e-15, nan_ok=True)


# -- periods per year: measured from the bars --------------------------------------------------


def test_daily_bars_annualize_by_the_bars_they_have_per_year() -> None:
    goog = wv.load_bars(ROOT / "data" / "GOOG.csv")  # 2,148 exchange days, 2004-08-19 .. 2013-03-01
    span_years = (goog.index[-1] - goog.index[0]) / pd.Timedelta(days=365.25)

    assert periods_per_year(goog.index, "1d") == pytest.approx(2_148 / span_years, rel=1e-15)
    assert periods_per_year(goog.index, "1d") == pytest.approx(251.78, abs=0.01)  # not 252
    assert periods_per_year(goog.index, None) == periods_per_year(goog.index, "1d")  # the size plays no part


def test_daily_bars_of_a_market_open_every_day_annualize_by_365() -> None:
    every_day = pd.date_range("2023-01-01", "2024-01-01", freq="1D", tz="UTC")  # 366 bars over 365 days

    assert periods_per_year(every_day, "1d") == pytest.approx(366 / (365 / 365.25), rel=1e-15)


@pytest.mark.parametrize(("freq", "timeframe", "n", "expected"), [
    ("1D", "1d", 20, 252.0),                       # a month of exchange days
    ("1D", None, 20, 252.0),                       # a size unknown: daily
    ("2D", "2d", 10, 126.0),
    ("1min", "1m", 10_000, 252 * 390.0),            # sessions of 6.5 hours
    ("5min", "5m", 500, 252 * 78.0),
    ("1W", "1w", 4, 365.25 / 7),                  # calendar weeks
    ("MS", "1mo", 2, 12.0),                        # February: 28 days
])
def test_histories_shorter_than_30_days_annualize_by_their_bar_size(freq, timeframe, n, expected) -> None:  # noqa: ANN001
    index = pd.date_range("2024-01-01" if freq != "MS" else "2023-02-01", periods=n, freq=freq, tz="UTC")
    assert (index[-1] - index[0]) < pd.Timedelta(days=30)

    assert periods_per_year(index, timeframe) == pytest.approx(expected, rel=1e-15)


def test_one_bar_annualizes_by_its_bar_size() -> None:
    index = pd.DatetimeIndex(["2024-01-02"], tz="UTC")

    assert periods_per_year(index, "1d") == 252.0
    assert periods_per_year(index, "1m") == 252 * 390.0
