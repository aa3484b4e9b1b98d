"""Result charts, monthly returns, trade distribution and comparisons."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import weaver as wv
from weaver.backtesting.plots import format_stat, monthly_returns, stats_html, trades_html
from weaver.core.errors import WeaverError
from weaver.strategy.examples import SmaCross

GOOG = Path(__file__).resolve().parents[3] / "data" / "GOOG.csv"


@pytest.fixture(scope="module")
def result() -> wv.BacktestResult:
    return wv.backtest(SmaCross, wv.load_bars(GOOG).loc["2008":"2010"])


def test_monthly_returns_compound_to_the_total_return() -> None:
    index = pd.to_datetime(["2024-01-15", "2024-01-31", "2024-02-29", "2024-04-30"], utc=True)
    equity = pd.Series([100.0, 110.0, 99.0, 108.9], index=index)

    table = monthly_returns(equity, start_equity=100.0)

    assert table.loc[2024, "Jan"] == pytest.approx(0.10)
    assert table.loc[2024, "Feb"] == pytest.approx(-0.10)
    assert np.isnan(table.loc[2024, "Mar"])
    assert table.loc[2024, "Apr"] == pytest.approx(0.10)
    assert table.loc[2024, "Year"] == pytest.approx(0.089)


def test_result_monthly_returns_match_its_total_return(result: wv.BacktestResult) -> None:
    table = result.monthly_returns()

    compounded = (1 + table["Year"]).prod() - 1

    assert compounded == pytest.approx(result.stats["total_return"])
    assert list(table.index) == [2008, 2009, 2010]


def test_heatmap_and_trade_distribution(result: wv.BacktestResult) -> None:
    heat = result.plot_monthly()
    dist = result.plot_trade_returns()

    assert heat.data[0].type == "heatmap" and len(heat.data[0].z) == 3 and len(heat.data[0].z[0]) == 12
    closed = result.trades[result.trades["exit_time"].notna()]
    winners, losers = dist.data
    assert len(winners.x) + len(losers.x) == len(closed)
    assert (np.asarray(winners.x) >= 0).all() and (np.asarray(losers.x) < 0).all()


def test_result_plot_keeps_its_traces(result: wv.BacktestResult) -> None:
    fig = result.plot()

    assert [t.name for t in fig.data] == ["GOOG", "entry", "exit", "equity", "drawdown %"]
    assert len(fig.data[1].x) == len(result.trades)
    np.testing.assert_allclose(fig.data[3].y, result.equity.to_numpy())


def test_compare_overlays_equity_and_puts_stats_side_by_side(result: wv.BacktestResult) -> None:
    other = wv.backtest(SmaCross, result.bars["GOOG"], fast=20, slow=60)

    cmp = wv.compare([result, other])
    fig = cmp.plot()

    assert list(cmp.stats.columns) == ["SmaCross(fast=10, slow=30, qty=100)", "SmaCross(fast=20, slow=60, qty=100)"]
    assert cmp.stats.loc["n_trades"].tolist() == [result.stats["n_trades"], other.stats["n_trades"]]
    assert [t.name for t in fig.data if t.showlegend is not False] == list(cmp.stats.columns)
    assert "SmaCross(fast=20, slow=60, qty=100)" in cmp._repr_html_()


def test_compare_labels_and_duplicates(result: wv.BacktestResult) -> None:
    assert list(wv.compare([result, result]).stats.columns) == [
        "SmaCross(fast=10, slow=30, qty=100)", "SmaCross(fast=10, slow=30, qty=100) #2"]
    assert list(wv.compare({"a": result}).results) == ["a"]
    assert list(wv.compare([result], labels=["base"]).results) == ["base"]
    with pytest.raises(WeaverError, match="1 results but 2 labels"):
        wv.compare([result], labels=["a", "b"])
    with pytest.raises(WeaverError, match="at least one"):
        wv.compare([])


def test_tables_format_fractions_percentages_and_dates(result: wv.BacktestResult) -> None:
    assert format_stat("total_return", 0.1234) == "12.34%"
    assert format_stat("exposure_pct", 54.6) == "54.60%"
    assert format_stat("start", pd.Timestamp("2008-01-02", tz="UTC")) == "2008-01-02"
    assert format_stat("sharpe", float("nan")) == "—"
    assert "<table class='weaver-stats' id='s'>" in stats_html(result.stats, table_id="s")
    assert trades_html(result.trades.iloc[:0]) == "<p><i>no trades</i></p>"
    assert "entry_price" in trades_html(result.trades)
