from __future__ import annotations

import math
import sys

import pandas as pd
import plotly.graph_objects as go
import pytest

import weaver as wv
import weaver.research.vectorized  # noqa: F401 - patched below
from weaver.backtesting.stats import compute_stats
from weaver.core.errors import ParameterError, WeaverError
from weaver.research._work import STAT_NAMES
from weaver.strategy.examples import MomentumRotation, SmaCross

from .strategies import FlakySma

GRID = {"fast": [5, 10, 20], "slow": [30, 60]}


def sweep_here(strategy, bars, **kw):
    kw.setdefault("executor", "in-process")
    kw.setdefault("method", "event")
    kw.setdefault("progress", False)
    return wv.sweep(strategy, bars, **kw)


def test_one_row_per_combination_with_parameters_and_stats(goog) -> None:
    res = sweep_here(SmaCross, goog, **GRID)

    assert len(res.frame) == 6
    assert list(res.frame.columns) == ["fast", "slow", *STAT_NAMES, "error"]
    assert res.frame["error"].isna().all()
    assert res.method == "event" and res.executor == "in-process"


def test_rows_equal_single_backtests(goog) -> None:
    res = sweep_here(SmaCross, goog, **GRID)

    row = res.frame[(res.frame.fast == 10) & (res.frame.slow == 30)].iloc[0]
    single = wv.backtest(SmaCross, goog, fast=10, slow=30).stats
    assert row["n_trades"] == single["n_trades"] == 32
    assert row["n_open_trades"] == single["n_open_trades"] == 1
    assert row["equity_final"] == single["equity_final"] == 177_394.0
    assert row["sharpe"] == single["sharpe"]


def test_stat_names_follow_compute_stats(goog) -> None:
    res = wv.backtest(SmaCross, goog)

    stats = compute_stats(res.equity, res.trades, goog["close"], res.exposure, res.timeframe)
    assert tuple(stats.index) == STAT_NAMES


def test_constraint_and_best_top_and_best_params(goog) -> None:
    res = sweep_here(SmaCross, goog, constraint=lambda p: p.fast < p.slow, fast=[10, 20, 40], slow=[20, 30, 60])

    assert len(res.frame) == 6
    best = res.best("total_return")
    assert best["total_return"] == res.frame["total_return"].max()
    assert res.best_params("total_return") == {"fast": best["fast"], "slow": best["slow"], "qty": 100}
    top = res.top(3, "sharpe")
    assert list(top["sharpe"]) == sorted(res.frame["sharpe"], reverse=True)[:3]
    assert res.best()["sharpe"] == top["sharpe"].iloc[0]  # default metric: the sweep's


def test_lower_is_better_metrics_rank_ascending(goog) -> None:
    res = sweep_here(SmaCross, goog, **GRID)

    assert res.best("volatility")["volatility"] == res.frame["volatility"].min()


def test_heatmap_is_a_plotly_figure_of_the_metric(goog) -> None:
    res = sweep_here(SmaCross, goog, **GRID)

    fig = res.heatmap("fast", "slow")

    assert isinstance(fig, go.Figure)
    assert fig.data[0].type == "heatmap"
    assert len(fig.data[0].z) == 2 and len(fig.data[0].z[0]) == 3
    with pytest.raises(ParameterError, match="not a swept parameter"):
        res.heatmap("fast", "sharpe")


def test_a_failing_combination_records_its_error_and_the_others_complete(goog) -> None:
    res = sweep_here(FlakySma, goog, bad=10, **GRID)

    failed = res.errors
    assert list(failed["fast"]) == [10, 10]
    assert failed["error"].str.contains("fast=10 is cursed").all()
    assert failed["sharpe"].isna().all()
    assert res.frame[res.frame.fast != 10]["error"].isna().all()
    assert res.best()["fast"] != 10


@pytest.mark.parametrize(("kw", "message"), [
    ({}, "the grid is empty"),
    ({"fast": []}, "no values"),
    ({"speed": [1]}, "no parameter 'speed'"),
    ({"fast": [50], "slow": [20], "constraint": lambda p: p.fast < p.slow}, "rejects all"),
    ({"fast": [5], "metric": "alpha"}, "unknown metric 'alpha'"),
    ({"fast": [5], "method": "gpu"}, "method must be one of"),
])
def test_bad_input_fails_before_any_work(goog, monkeypatch, kw, message) -> None:
    def boom(*a, **k):
        raise AssertionError("a backtest ran")

    monkeypatch.setattr(sys.modules["weaver.backtesting.engine"], "run_backtest", boom)
    monkeypatch.setattr(sys.modules["weaver.research.vectorized"], "run_vectorized", boom)

    with pytest.raises(ParameterError, match=message):
        sweep_here(SmaCross, goog, **kw)


def test_best_with_no_usable_row_raises(goog) -> None:
    res = sweep_here(FlakySma, goog, bad=10, fast=[10])

    with pytest.raises(WeaverError, match="no combination has a sharpe value"):
        res.best()


def test_per_symbol_gives_a_row_per_symbol_and_combination(two_symbols) -> None:
    res = sweep_here(SmaCross, two_symbols, per_symbol=True, fast=[5, 10], slow=[30])

    assert list(res.frame.columns[:3]) == ["symbol", "fast", "slow"]
    assert list(zip(res.frame.symbol, res.frame.fast, strict=True)) == [("AAA", 5), ("BBB", 5), ("AAA", 10), ("BBB", 10)]
    single = wv.backtest(SmaCross, two_symbols["BBB"], fast=10, slow=30).stats
    assert res.frame.iloc[3]["equity_final"] == single["equity_final"]


def test_a_portfolio_sweep_runs_one_backtest_over_all_symbols(two_symbols) -> None:
    res = sweep_here(MomentumRotation, two_symbols, lookback=[10, 20], every=[5])

    assert "symbol" not in res.frame.columns
    single = wv.backtest(MomentumRotation, two_symbols, lookback=20, every=5).stats
    assert res.frame.iloc[1]["equity_final"] == single["equity_final"]


def test_progress_bar_shows_and_can_be_disabled(goog, capsys) -> None:
    sweep_here(SmaCross, goog, progress=True, fast=[5, 10])
    assert "SmaCross sweep" in capsys.readouterr().err

    sweep_here(SmaCross, goog, progress=False, fast=[5, 10])
    assert capsys.readouterr().err == ""


def test_repr_html_shows_the_best_rows(goog) -> None:
    res = sweep_here(SmaCross, goog, **GRID)

    page = res._repr_html_()
    assert "SmaCross sweep: 6 rows (0 failed)" in page and "<table" in page
    assert "6 rows" in repr(res)


def test_public_names_are_lazy_attributes_of_weaver() -> None:
    from weaver.research import SweepResult, sweep, walk_forward

    assert wv.sweep is sweep and wv.walk_forward is walk_forward and wv.SweepResult is SweepResult


def test_frame_types(goog) -> None:
    res = sweep_here(SmaCross, goog, fast=[5, 10])

    assert res.frame["n_trades"].dtype == "int64"
    assert isinstance(res.frame["start"].iloc[0], pd.Timestamp)
    assert not math.isnan(res.frame["sharpe"].iloc[0])


def test_a_users_executor_gets_every_combination_untimed(goog) -> None:
    # executors time their first combinations where they run them; the sweep runs none first
    from weaver.research.executors import InProcessExecutor

    class Recording:  # the Executor protocol, not one of Weaver's classes
        name, workers, target_batch_seconds = "recording", 1, 0.05

        def run(self, job, frames, items, on_rows, seconds_per_item=None):  # noqa: ANN001, ANN202
            self.seen = (len(items), seconds_per_item)
            return InProcessExecutor().run(job, frames, items, on_rows, seconds_per_item)

    mine = Recording()
    res = wv.sweep(SmaCross, goog, executor=mine, method="event", progress=False, fast=[5, 10], slow=[30, 60])

    assert mine.seen == (4, None)
    assert res.frame["error"].isna().all() and len(res.frame) == 4
