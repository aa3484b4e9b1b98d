"""Every entry point takes the same run options, written once as RunConfig's fields."""

from __future__ import annotations

import dataclasses
import inspect
import warnings
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import weaver as wv
from weaver.backtesting.engine import run_backtest
from weaver.core import ParameterError, RunConfig
from weaver.sim import FillModel, PerShare, RandomSlippageFillModel
from weaver.strategy.examples import SmaCross
from weaver.widgets.explore import Explorer

GOOG = Path(__file__).resolve().parents[3] / "data" / "GOOG.csv"
FIELDS = [f.name for f in dataclasses.fields(RunConfig)]

ENTRY_POINTS: dict[str, Callable[..., Any]] = {
    "backtest": wv.backtest,
    "rehearse": wv.rehearse,
    "sweep": wv.sweep,
    "walk_forward": wv.walk_forward,
    "explore": wv.explore,
    "Explorer": Explorer,
    "check_lookahead": wv.check_lookahead,
    "run_backtest": run_backtest,
}


@pytest.fixture(scope="module")
def goog() -> pd.DataFrame:
    return wv.load_bars(GOOG).loc["2006":"2009"]


def same_run(a: wv.BacktestResult, b: wv.BacktestResult) -> None:
    pd.testing.assert_series_equal(a.equity, b.equity)
    pd.testing.assert_frame_equal(a.orders, b.orders)
    pd.testing.assert_frame_equal(a.fills, b.fills)
    assert a.config == b.config and a.params == b.params


@pytest.mark.parametrize("name", ENTRY_POINTS)
def test_every_entry_point_lists_every_option_keyword_only(name: str) -> None:
    sig = inspect.signature(ENTRY_POINTS[name])

    for f in dataclasses.fields(RunConfig):
        p = sig.parameters.get(f.name)
        assert p is not None, f"{name} lacks {f.name}"
        assert p.kind is inspect.Parameter.KEYWORD_ONLY and p.default == f.default, (name, f.name)
    assert sig.parameters["config"].default is None
    doc = ENTRY_POINTS[name].__doc__ if name != "Explorer" else Explorer.__init__.__doc__
    assert "Other Parameters" in doc and "margin : " in doc, name


def test_tab_completion_offers_the_options() -> None:
    from IPython.core.completer import IPCompleter

    completer = IPCompleter(namespace={"wv": wv, "S": SmaCross}, global_namespace={})
    completer.use_jedi = False

    for line, wanted in [("wv.backtest(S, bars, ca", "cash="), ("wv.sweep(S, bars, mar", "margin="),
                         ("wv.explore(S, bars, comm", "commission="), ("wv.rehearse(S, bars, fill", "fill_model=")]:
        with warnings.catch_warnings():  # IPython's long-lived API, pending deprecation since IPython 6
            warnings.simplefilter("ignore", PendingDeprecationWarning)
            _, matches = completer.complete(line_buffer=line, cursor_pos=len(line))
        assert wanted in matches, (line, matches)


def test_a_config_equals_the_same_options_as_keywords(goog: pd.DataFrame) -> None:
    config = RunConfig(cash=25_000, commission=0.001, slippage=2, start="2007-01-01")

    by_config = wv.backtest(SmaCross, goog, config=config, fast=5)
    by_keywords = wv.backtest(SmaCross, goog, cash=25_000, commission=0.001, slippage=2, start="2007-01-01", fast=5)

    same_run(by_config, by_keywords)
    assert by_config.config == config
    assert by_config.params == {"fast": 5, "slow": 30, "qty": 100}
    assert by_config.equity.iloc[0] == 25_000


def test_keywords_override_the_config(goog: pd.DataFrame) -> None:
    base = RunConfig(cash=25_000, commission=0.001)

    res = wv.backtest(SmaCross, goog, config=base, cash=30_000)

    assert res.config == RunConfig(cash=30_000, commission=0.001)
    same_run(res, wv.backtest(SmaCross, goog, cash=30_000, commission=0.001))


def test_the_result_keeps_options_and_parameters_apart(goog: pd.DataFrame) -> None:
    res = wv.backtest(SmaCross, goog, commission=PerShare(0.01), fast=8)

    assert res.config.commission == PerShare(0.01) or isinstance(res.config.commission, PerShare)
    assert "commission" not in res.params and res.params["fast"] == 8
    assert res.config.to_dict()["commission"]["object"] == "weaver.sim.costs.PerShare"


@pytest.mark.parametrize("call", [
    lambda g: wv.backtest(SmaCross, g, cahs=5),
    lambda g: wv.rehearse(SmaCross, g, cahs=5),
    lambda g: wv.sweep(SmaCross, g, progress=False, executor=1, cahs=5, fast=[5]),
    lambda g: wv.walk_forward(SmaCross, g, train=300, test=200, progress=False, executor=1, cahs=5, fast=[5]),
    lambda g: wv.explore(SmaCross, g, run=False, cahs=5),
    lambda g: wv.check_lookahead(SmaCross, g, cahs=5),
])
def test_a_keyword_that_is_neither_option_nor_parameter_is_refused(goog: pd.DataFrame, call: Callable) -> None:
    with pytest.raises(ParameterError, match=r"SmaCross has no parameter 'cahs' \(did you mean 'cash'\?\)"):
        call(goog)


def test_run_backtest_refuses_unknown_keywords(goog: pd.DataFrame) -> None:
    with pytest.raises(ParameterError, match="'fast' is not a run option"):
        run_backtest(SmaCross, {"GOOG": goog}, {}, fast=5)


def test_rehearse_and_sweep_run_with_the_config(goog: pd.DataFrame) -> None:
    config = RunConfig(cash=40_000, commission=0.002)

    rehearsed = wv.rehearse(SmaCross, goog, config=config, fast=6)
    swept = wv.sweep(SmaCross, goog, config=config, method="event", executor=1, progress=False, fast=[6])
    vector = wv.sweep(SmaCross, goog, config=config, method="vectorized", progress=False, fast=[6])

    same_run(rehearsed, wv.backtest(SmaCross, goog, config=config, fast=6))
    assert swept.config == config and vector.config == config
    assert swept.frame["equity_start"].iloc[0] == 40_000
    assert swept.frame["equity_final"].iloc[0] == pytest.approx(rehearsed.stats["equity_final"])
    assert vector.frame["equity_final"].iloc[0] == pytest.approx(rehearsed.stats["equity_final"])


@pytest.mark.parametrize(("config", "why"), [
    (RunConfig(margin=2), "margin"),
    (RunConfig(start=300), "start"),
    (RunConfig(fill_model=FillModel()), "fill model"),
])
def test_the_vectorized_path_says_which_option_it_cannot_take(goog: pd.DataFrame, config: RunConfig,
                                                              why: str) -> None:
    with pytest.raises(ParameterError, match=f"method='vectorized' cannot run this sweep: .*{why}"):
        wv.sweep(SmaCross, goog, config=config, method="vectorized", progress=False, fast=[6])
    auto = wv.sweep(SmaCross, goog, config=config, executor=1, progress=False, fast=[6])
    assert auto.method == "event"


def test_walk_forward_passes_the_options_on_and_sets_the_start_itself(goog: pd.DataFrame) -> None:
    wf = wv.walk_forward(SmaCross, goog, train=400, test=200, executor=1, progress=False,
                         config=RunConfig(cash=20_000, commission=0.001), fast=[5, 10])

    assert wf.config == RunConfig(cash=20_000, commission=0.001)
    assert wf.equity.iloc[0] == 20_000
    assert all(s.config == wf.config for s in wf.sweeps)
    with pytest.raises(ParameterError, match="walk_forward sets each test window's start"):
        wv.walk_forward(SmaCross, goog, train=400, test=200, start=10, progress=False, fast=[5])


def test_the_explorer_runs_with_the_config_and_its_controls_on_top(goog: pd.DataFrame) -> None:
    panel = wv.explore(SmaCross, goog, config=RunConfig(cash=30_000, commission=0.001, fractional=True), fast=5)

    assert panel.cash.value == 30_000 and panel.commission.value == 0.001
    assert panel.result.config == RunConfig(cash=30_000, commission=0.001, fractional=True)
    panel.cash.value = 35_000.0
    panel.run()
    assert panel.result.config == RunConfig(cash=35_000, commission=0.001, fractional=True)


def test_the_explorer_shows_a_commission_model_it_cannot_edit(goog: pd.DataFrame) -> None:
    panel = wv.explore(SmaCross, goog, commission=PerShare(0.01, minimum=1))

    assert panel.commission.disabled and "PerShare" in panel.commission.value
    assert isinstance(panel.result.config.commission, PerShare)


def test_a_seed_makes_a_random_fill_model_repeat_itself(goog: pd.DataFrame) -> None:
    model = RandomSlippageFillModel(20, np.random.default_rng(1))
    rng_state = model.rng.bit_generator.state

    one = wv.backtest(SmaCross, goog, fill_model=model, seed=7)
    two = wv.backtest(SmaCross, goog, fill_model=model, seed=7)
    other = wv.backtest(SmaCross, goog, fill_model=model, seed=8)
    rehearsed = wv.rehearse(SmaCross, goog, fill_model=model, seed=7)

    same_run(one, two)
    same_run(one, rehearsed)
    assert not one.fills["price"].equals(other.fills["price"])
    assert model.rng.bit_generator.state == rng_state  # the caller's model draws nothing
    assert one.config.seed == 7 and one.config.fill_model is model


def test_without_a_seed_a_fill_model_draws_from_its_own_generator(goog: pd.DataFrame) -> None:
    model = RandomSlippageFillModel(20, np.random.default_rng(1))

    one = wv.backtest(SmaCross, goog, fill_model=model)
    two = wv.backtest(SmaCross, goog, fill_model=model)

    assert not one.fills["price"].equals(two.fills["price"])  # the generator moved on


def test_the_cash_is_the_exact_decimal(goog: pd.DataFrame) -> None:
    res = wv.backtest(SmaCross, goog, cash="12345.67")

    assert res.config.cash == Decimal("12345.67") and res.equity.iloc[0] == 12345.67


def test_start_as_any_kind_of_time_is_the_same_run(goog: pd.DataFrame) -> None:
    when = goog.index[300]
    starts = (300, when, when.to_pydatetime(), goog.index.tz_convert(None).to_numpy()[300], str(when.date()))

    runs = [wv.backtest(SmaCross, goog, start=s) for s in starts]

    for other in runs[1:]:
        pd.testing.assert_series_equal(runs[0].equity, other.equity)
        pd.testing.assert_frame_equal(runs[0].orders, other.orders)
    assert runs[0].equity.index[0] == when
    assert [r.config.start for r in runs] == [300, when.isoformat(), when.isoformat(),
                                              "2007-03-15T00:00:00.000000000", "2007-03-15"]
