"""Every executor returns the same rows: in-process, local processes (also when one dies), Dask."""

from __future__ import annotations

import os

import pandas as pd
import pytest

import weaver as wv
from tests.unit.research.strategies import FlakySma, KillOnce
from weaver.research.executors import DaskExecutor, ProcessExecutor
from weaver.strategy.examples import SmaCross

GRID = {"fast": [5, 10, 20], "slow": [30, 60]}


def run(strategy, bars, executor, **kw):
    return wv.sweep(strategy, bars, executor=executor, method="event", progress=False, **kw)


@pytest.fixture(scope="module")
def reference(goog):
    return run(SmaCross, goog, "in-process", **GRID).frame


@pytest.fixture(scope="module")
def cluster():
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as lc, \
            Client(lc) as client:
        yield lc, client


def test_processes_match_in_process(goog, reference) -> None:
    res = run(SmaCross, goog, ProcessExecutor(2), **GRID)

    assert res.executor == "processes"
    pd.testing.assert_frame_equal(res.frame, reference)


def test_default_executor_is_local_processes(goog, reference) -> None:
    res = run(SmaCross, goog, None, **GRID)

    assert res.executor == "processes"
    pd.testing.assert_frame_equal(res.frame, reference)


def test_dask_client_matches_in_process(goog, reference, cluster) -> None:
    _, client = cluster

    res = run(SmaCross, goog, client, **GRID)

    assert res.executor == "dask"
    assert res.info["batches"] >= 1
    pd.testing.assert_frame_equal(res.frame, reference)


def test_a_dask_sweep_runs_no_combination_in_the_client(goog, reference, cluster, monkeypatch) -> None:
    # the workers time their first combinations themselves: nothing runs here alone first
    from weaver.backtesting import engine

    here = []
    real = engine.run_backtest
    monkeypatch.setattr(engine, "run_backtest", lambda *a, **k: here.append(a) or real(*a, **k))

    res = run(SmaCross, goog, cluster[1], **GRID)

    assert here == []
    pd.testing.assert_frame_equal(res.frame, reference)


def test_dask_scheduler_address_matches_in_process(goog, reference, cluster) -> None:
    lc, _ = cluster

    res = run(SmaCross, goog, lc.scheduler_address, **GRID)

    pd.testing.assert_frame_equal(res.frame, reference)


@pytest.mark.parametrize("where", ["processes", "dask"])
def test_a_failing_combination_records_its_error_on_every_executor(goog, cluster, where) -> None:
    executor = ProcessExecutor(2) if where == "processes" else cluster[1]

    res = run(FlakySma, goog, executor, bad=10, **GRID)

    assert list(res.errors["fast"]) == [10, 10]
    assert res.errors["error"].str.contains("cursed").all()
    assert res.frame[res.frame.fast != 10]["error"].isna().all()


def test_unreachable_scheduler_is_a_clear_error(goog) -> None:
    with pytest.raises(wv.BacktestError, match="cannot reach the Dask scheduler"):
        run(SmaCross, goog, DaskExecutor("tcp://127.0.0.1:9", connect_timeout="1s"), fast=[5, 10])


def test_a_killed_worker_s_combinations_run_again_and_every_row_is_present(goog, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("WEAVER_TEST_PARENT", str(os.getpid()))
    marker = tmp_path / "killed"
    grid = {"fast": list(range(2, 22)), "slow": [30]}

    res = run(KillOnce, goog, ProcessExecutor(2), victim=12, marker=str(marker), **grid)

    assert marker.exists() and int(marker.read_text()) != os.getpid()  # a worker really died
    assert res.info["restarts"] == 1
    assert len(res.frame) == 20 and res.frame["error"].isna().all()
    reference = run(KillOnce, goog, "in-process", **grid).frame
    pd.testing.assert_frame_equal(res.frame.drop(columns=["victim", "marker"]), reference)
