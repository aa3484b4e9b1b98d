"""A sweep prepares its bars once per process and its rows equal single backtests."""

from __future__ import annotations

import pickle

import cloudpickle
import pandas as pd
import pytest

import weaver as wv
from weaver.backtesting import engine
from weaver.core import RunConfig
from weaver.research._work import (
    STAT_NAMES,
    Job,
    SweepBars,
    init_worker,
    run_in_dask,
    run_in_worker,
    run_items,
)
from weaver.strategy.examples import MomentumRotation, SmaCross

GRID = {"fast": [5, 10, 20], "slow": [30, 60]}
OPTIONS = RunConfig(cash=100_000, commission=0.001, session_tz="America/New_York")


def sweep_here(strategy, bars, **kw):
    return wv.sweep(strategy, bars, executor="in-process", method="event", progress=False, **kw)


def stats_row(result) -> dict:
    return {k: result.stats[k] for k in STAT_NAMES}


def assert_rows_equal_single_backtests(res, single) -> None:
    for (_, row), params in zip(res.frame.iterrows(), res.params, strict=True):
        want = stats_row(single(row, params))
        got = {k: row[k] for k in STAT_NAMES}
        pd.testing.assert_series_equal(pd.Series(got, dtype=object), pd.Series(want, dtype=object),
                                       check_exact=True, obj=f"row {params}")


@pytest.fixture
def count_preparations(monkeypatch):
    calls = []
    merged = engine._merged_index

    def counting(frames):
        calls.append(tuple(frames))
        return merged(frames)

    monkeypatch.setattr(engine, "_merged_index", counting)
    return calls


def test_every_row_equals_its_single_backtest(goog) -> None:
    res = sweep_here(SmaCross, goog, commission=0.001, **GRID)

    assert_rows_equal_single_backtests(res, lambda row, p: wv.backtest(SmaCross, goog, commission=0.001, **p))


def test_every_per_symbol_row_equals_its_single_backtest(two_symbols) -> None:
    res = sweep_here(SmaCross, two_symbols, per_symbol=True, fast=[5, 10], slow=[30, 60])

    assert_rows_equal_single_backtests(res, lambda row, p: wv.backtest(SmaCross, two_symbols[row["symbol"]], **p))


def test_every_portfolio_row_equals_its_single_backtest(two_symbols) -> None:
    res = sweep_here(MomentumRotation, two_symbols, lookback=[10, 20, 30], every=[5, 10])

    assert_rows_equal_single_backtests(res, lambda row, p: wv.backtest(MomentumRotation, two_symbols, **p))


def test_an_in_process_sweep_prepares_the_bars_once(goog, count_preparations) -> None:
    sweep_here(SmaCross, goog, **GRID)

    assert count_preparations == [("GOOG",)]


def test_a_per_symbol_sweep_prepares_each_symbol_once(two_symbols, count_preparations) -> None:
    sweep_here(SmaCross, two_symbols, per_symbol=True, fast=[5, 10, 20], slow=[30])

    assert sorted(count_preparations) == [("AAA",), ("BBB",)]


def test_a_pool_worker_prepares_once_for_all_its_batches(goog, count_preparations) -> None:
    frames = SweepBars({"GOOG": goog})
    blob = cloudpickle.dumps(Job(SmaCross, OPTIONS))
    init_worker(blob, pickle.loads(pickle.dumps(frames)))

    first, _ = run_in_worker([(0, None, SmaCross.validate_params(fast=5, slow=30))])
    second, _ = run_in_worker([(1, None, SmaCross.validate_params(fast=10, slow=30))])

    assert count_preparations == [("GOOG",)]
    assert first[0]["error"] is None and second[0]["error"] is None


def test_a_dask_worker_prepares_once_per_scattered_bars(goog, count_preparations) -> None:
    shared = pickle.loads(pickle.dumps(SweepBars({"GOOG": goog})))  # what a worker holds after the scatter
    blob = cloudpickle.dumps(Job(SmaCross, OPTIONS))

    a, _ = run_in_dask(blob, shared, [(0, None, SmaCross.validate_params(fast=5, slow=30))])
    b, _ = run_in_dask(blob, shared, [(1, None, SmaCross.validate_params(fast=10, slow=30))])

    assert count_preparations == [("GOOG",)]
    assert a[0]["sharpe"] == stats_row(wv.backtest(SmaCross, goog, commission=0.001, fast=5, slow=30))["sharpe"]
    assert b[0]["error"] is None


def test_a_plain_dict_of_frames_still_works_and_is_prepared_once_per_batch(goog, count_preparations) -> None:
    items = [(k, None, SmaCross.validate_params(fast=f, slow=30)) for k, f in enumerate((5, 10, 20))]

    rows, _ = run_items(Job(SmaCross, OPTIONS), {"GOOG": goog}, items)

    assert [r["error"] for r in rows] == [None] * 3
    assert count_preparations == [("GOOG",)]


def test_sweep_bars_travel_without_their_prepared_bars(goog) -> None:
    bars = SweepBars({"GOOG": goog})
    bars.prepared(None)

    for dumps, loads in ((pickle.dumps, pickle.loads), (cloudpickle.dumps, pickle.loads)):
        copy = loads(dumps(bars))
        assert isinstance(copy, SweepBars) and list(copy) == ["GOOG"]
        assert copy._prepared == {}
        pd.testing.assert_frame_equal(copy["GOOG"], goog)
    assert len(pickle.dumps(bars)) < len(pickle.dumps(dict(bars))) * 1.05


def test_a_combination_is_freed_before_the_collector_scans_it(goog) -> None:
    # a young collection right after each run would scan every order, event and fill it made
    import gc

    items = [(k, None, SmaCross.validate_params(fast=f, slow=s)) for k, (f, s) in
             enumerate([(2, 3), (2, 4), (3, 4), (2, 5), (3, 5), (4, 5)])]
    seen = []

    def watch(phase: str, info: dict) -> None:
        if phase == "start":
            seen.append(info["generation"])

    shared = SweepBars({"GOOG": goog})
    run_items(Job(SmaCross, OPTIONS), shared, items[:1])  # prepared bars and memos, untimed
    gc.callbacks.append(watch)
    try:
        rows, _ = run_items(Job(SmaCross, OPTIONS), shared, items)
    finally:
        gc.callbacks.remove(watch)

    assert [r["error"] for r in rows] == [None] * len(items) and min(r["n_trades"] for r in rows) > 50
    assert len(seen) < len(items) / 2, seen
