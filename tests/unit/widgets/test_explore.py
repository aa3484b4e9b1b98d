"""The explore panel, driven headlessly: controls from parameters, Run updates figure and tables."""

from __future__ import annotations

import enum
from pathlib import Path

import ipywidgets as w
import numpy as np
import pandas as pd
import pytest

import weaver as wv
from weaver.strategy.examples import MomentumRotation, SmaCross
from weaver.widgets.explore import Explorer

GOOG = Path(__file__).resolve().parents[3] / "data" / "GOOG.csv"


@pytest.fixture(scope="module")
def goog() -> pd.DataFrame:
    return wv.load_bars(GOOG).loc["2008":"2011"]


def find(panel: Explorer, description: str) -> w.Widget:
    """Return the one widget in the panel's tree with this description."""
    found, stack = [], [panel.widget]
    while stack:
        widget = stack.pop()
        if getattr(widget, "description", None) == description:
            found.append(widget)
        stack.extend(getattr(widget, "children", ()))
    assert len(found) == 1, f"{len(found)} widgets described {description!r}"
    return found[0]


class Mode(enum.Enum):
    FAST = "fast"
    SLOW = "slow"


class Knobs(wv.Strategy):
    """Every kind of parameter; raises in next() when ``explode`` is set."""

    window: int = wv.param(5, low=1, high=50)
    big: int = wv.param(100, low=1, high=1_000_000)
    ratio: float = wv.param(0.5, low=0.0, high=1.0)
    free: float = 1.5
    explode: bool = False
    mode: Mode = Mode.FAST
    label: str = "x"

    def init(self) -> None:
        pass

    def next(self) -> None:
        if self.explode:
            raise ZeroDivisionError("boom in next")


def test_controls_follow_the_parameter_types(goog: pd.DataFrame) -> None:
    panel = wv.explore(Knobs, goog, run=False)

    kinds = {name: type(c) for name, c in panel.controls.items()}

    assert kinds == {"window": w.IntSlider, "big": w.BoundedIntText, "ratio": w.FloatSlider,
                     "free": w.BoundedFloatText, "explode": w.Checkbox, "mode": w.Dropdown, "label": w.Text}
    assert (panel.controls["window"].min, panel.controls["window"].max) == (1, 50)
    assert panel.controls["mode"].value is Mode.FAST


def test_sma_cross_panel_has_the_expected_controls(goog: pd.DataFrame) -> None:
    panel = wv.explore(SmaCross, goog, run=False)

    fast, slow, qty = find(panel, "fast"), find(panel, "slow"), find(panel, "qty")

    assert isinstance(fast, w.IntSlider) and (fast.min, fast.max, fast.value) == (2, 200, 10)
    assert isinstance(slow, w.IntSlider) and slow.value == 30
    assert isinstance(qty, w.BoundedIntText) and qty.value == 100
    for name in ("symbol", "start", "end", "cash", "commission", "slippage (bps)", "Run"):
        find(panel, name)
    assert find(panel, "symbol").options == ("GOOG",)
    assert find(panel, "start").value == goog.index[0].date()
    assert panel.result is None and panel.figure.data[3].y is None


def test_run_updates_the_figure_and_the_stats_in_place(goog: pd.DataFrame) -> None:
    panel = wv.explore(SmaCross, goog)
    figure = panel.figure
    equity_before = np.array(figure.data[3].y)
    stats_before = panel.stats.value

    find(panel, "fast").value = 5
    find(panel, "slow").value = 60
    find(panel, "commission").value = 0.001
    find(panel, "Run").click()

    expected = wv.backtest(SmaCross, goog, fast=5, slow=60, commission=0.001)
    assert panel.figure is figure
    assert not np.array_equal(np.array(figure.data[3].y), equity_before)
    np.testing.assert_allclose(np.array(figure.data[3].y), expected.equity.to_numpy())
    assert len(figure.data[1].x) == len(expected.trades)
    assert panel.stats.value != stats_before and f"{expected.stats['n_trades']}" in panel.stats.value
    assert panel.result.params == {"fast": 5, "slow": 60, "qty": 100}
    assert panel.progress.value == 1.0 and "error" not in panel.status.value.lower()


def test_date_range_limits_the_run(goog: pd.DataFrame) -> None:
    panel = wv.explore(SmaCross, goog, run=False)

    find(panel, "start").value = pd.Timestamp("2010-01-01").date()
    find(panel, "end").value = pd.Timestamp("2010-12-31").date()
    find(panel, "Run").click()

    assert panel.result.equity.index[0] == pd.Timestamp("2010-01-04", tz="UTC")
    assert panel.result.equity.index[-1] == pd.Timestamp("2010-12-31", tz="UTC")


def test_a_strategy_exception_is_shown_and_the_panel_keeps_working(goog: pd.DataFrame) -> None:
    panel = wv.explore(Knobs, goog)
    good = panel.result

    find(panel, "explode").value = True
    find(panel, "Run").click()
    failed_status, kept = panel.status.value, panel.result
    find(panel, "explode").value = False
    find(panel, "Run").click()

    assert "ZeroDivisionError: boom in next" in failed_status and kept is good
    assert panel.result is not good and "trades" in panel.status.value
    assert not panel.run_button.disabled


def test_bad_input_is_a_short_message(goog: pd.DataFrame) -> None:
    panel = wv.explore(MomentumRotation, goog, run=False)

    panel.run()
    one_symbol = panel.status.value
    panel.start.value = pd.Timestamp("2011-01-01").date()
    panel.end.value = pd.Timestamp("2010-01-01").date()
    panel.run()

    assert one_symbol.startswith("<span") and "MomentumRotation" in one_symbol  # needs two symbols
    assert "start 2011-01-01 is after end 2010-01-01" in panel.status.value
    assert panel.progress.bar_style == "danger"


def test_several_symbols_offer_all_of_them(goog: pd.DataFrame) -> None:
    other = goog * 1.0
    other.attrs = {**goog.attrs, "symbol": "COPY"}
    other["close"] = other["close"][::-1].to_numpy()
    other["high"] = other[["open", "high", "close"]].max(axis=1)
    other["low"] = other[["open", "low", "close"]].min(axis=1)

    panel = wv.explore(MomentumRotation, {"GOOG": goog, "COPY": other}, lookback=10)

    assert panel.symbol.options == ("(all)", "GOOG", "COPY")
    assert panel.result is not None and set(panel.result.bars) == {"GOOG", "COPY"}


def test_the_panel_displays_as_a_widget(goog: pd.DataFrame) -> None:
    panel = wv.explore(SmaCross, goog, run=False)

    bundle = panel._repr_mimebundle_()

    assert "application/vnd.jupyter.widget-view+json" in bundle
