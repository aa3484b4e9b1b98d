from __future__ import annotations

import pandas as pd
import pytest

import weaver as wv
from weaver.core.errors import ParameterError
from weaver.research.walkforward import folds
from weaver.strategy.examples import SmaCross


def index(n: int) -> pd.DatetimeIndex:
    return pd.date_range("2024-01-01", periods=n, freq="D", tz="UTC")


def test_rolling_folds_tile_the_test_windows() -> None:
    assert folds(index(10), 4, 2) == [(0, 4, 4, 6), (2, 6, 6, 8), (4, 8, 8, 10)]


def test_anchored_folds_train_from_the_first_bar() -> None:
    assert folds(index(10), 4, 3, anchored=True) == [(0, 4, 4, 7), (0, 7, 7, 10)]


def test_the_last_test_window_may_be_short_and_step_spaces_folds() -> None:
    assert folds(index(11), 4, 3, step=4) == [(0, 4, 4, 7), (4, 8, 8, 11)]


def test_duration_windows() -> None:
    assert folds(index(10), "4D", "3D") == [(0, 4, 4, 7), (3, 7, 7, 10)]


@pytest.mark.parametrize(("train", "test", "step", "message"), [
    (10, 5, None, "no fold fits"),
    (0, 2, None, "at least 1 bar"),
    ("soon", 2, None, "a duration"),
    (4, "2D", None, "all as numbers of bars or all as durations"),
    (4, 3, 2, "would overlap"),
])
def test_bad_windows(train, test, step, message) -> None:
    with pytest.raises(ParameterError, match=message):
        folds(index(10), train, test, step)


def test_walk_forward_picks_in_sample_and_stitches_out_of_sample(goog) -> None:
    wf = wv.walk_forward(SmaCross, goog, train=500, test=250, executor="in-process", progress=False,
                         metric="total_return", constraint=lambda p: p.fast < p.slow,
                         fast=[5, 10, 20], slow=[30, 60])

    assert len(wf.folds) == 7  # 500 + 6 * 250 < 2148 bars; the last test window is short
    assert wf.folds["test_end"].iloc[-1] == goog.index[-1]
    assert list(wf.folds.columns[:7]) == ["fold", "train_start", "train_end", "test_start", "test_end", "fast", "slow"]
    for k, row in wf.folds.iterrows():
        sweep = wf.sweeps[k]
        best = sweep.best("total_return")
        assert (row["fast"], row["slow"]) == (best["fast"], best["slow"])
        assert row["is_total_return"] == best["total_return"]
        assert row["train_end"] < row["test_start"]
    # out of sample: one continuous curve, each fold starting with the capital the last one ended with
    assert wf.equity.index.is_monotonic_increasing and wf.equity.index.is_unique
    assert wf.equity.index[0] == goog.index[500]
    assert wf.equity.iloc[0] == 100_000
    expected = 100_000 * (1 + wf.folds["oos_return"]).prod()
    assert wf.stats["equity_final"] == pytest.approx(expected, rel=1e-9)
    assert wf.stats["n_trades"] == wf.folds["oos_trades"].sum()
    assert wf.stats["n_trades"] + wf.stats["n_open_trades"] == len(wf.trades)


def test_numpy_window_lengths_are_numbers_of_bars(goog) -> None:
    import numpy as np

    from weaver.research.walkforward import folds

    assert folds(goog.index, np.int64(500), np.int64(250)) == folds(goog.index, 500, 250)


def test_walk_forward_rejects_a_bad_grid_before_work(goog) -> None:
    with pytest.raises(ParameterError, match="no parameter 'speed'"):
        wv.walk_forward(SmaCross, goog, train=500, test=250, speed=[1])


def test_walk_forward_plot_and_repr(goog) -> None:
    wf = wv.walk_forward(SmaCross, goog, train=800, test=600, executor=1, progress=False, fast=[5, 10], slow=[30])

    fig = wf.plot()
    assert fig.data[0].name == "out-of-sample equity"
    assert "walk-forward: 3 folds" in wf._repr_html_()


def test_folds_that_all_fail_give_a_flat_curve_and_an_empty_trade_table(goog) -> None:
    from tests.unit.research.strategies import FlakySma
    from weaver.backtesting.result import TRADE_COLUMNS

    wf = wv.walk_forward(FlakySma, goog, train=800, test=600, executor="in-process", method="event",
                         progress=False, bad=5, fast=[5], slow=[30])

    assert wf.folds["error"].notna().all()
    assert (wf.equity == 100_000).all() and wf.stats["n_trades"] == 0
    assert list(wf.trades.columns) == TRADE_COLUMNS and len(wf.trades) == 0


def test_each_window_trades_as_a_continuous_run_warmed_up_on_the_bars_before_it(goog) -> None:
    # fold k's piece of the stitched curve is a run with its parameters over all the bars up to
    # the window's end, trading from the window's first bar with the capital fold k-1 left
    wf = wv.walk_forward(SmaCross, goog, train=500, test=250, executor="in-process", progress=False,
                         metric="total_return", constraint=lambda p: p.fast < p.slow,
                         fast=[5, 10, 20], slow=[30, 60])

    capital = 100_000.0
    for _, fold in wf.folds.iterrows():
        piece = wf.equity.loc[fold["test_start"]:fold["test_end"]]
        continuous = wv.backtest(SmaCross, goog.loc[:fold["test_end"]], start=fold["test_start"], cash=capital,
                                 fast=int(fold["fast"]), slow=int(fold["slow"]))
        pd.testing.assert_series_equal(piece, continuous.equity, check_names=False, check_freq=False)
        capital = float(piece.iloc[-1])
