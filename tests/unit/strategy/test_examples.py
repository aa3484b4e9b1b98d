from __future__ import annotations

import pytest

import weaver as wv
from weaver.core.errors import ParameterError
from weaver.strategy.examples import EXAMPLES, MomentumRotation, RsiReversion, SmaCross, resolve


def test_examples_are_known_by_short_name_and_by_module_path() -> None:
    assert resolve("sma_cross") is SmaCross
    assert resolve("weaver.strategy.examples:RsiReversion") is RsiReversion
    assert set(EXAMPLES) == {"sma_cross", "rsi_reversion", "momentum_rotation"}
    with pytest.raises(ParameterError, match="unknown strategy 'nope'"):
        resolve("nope")
    with pytest.raises(ParameterError, match="cannot load strategy"):
        resolve("weaver.strategy.examples:Nope")


def test_sma_cross_reproduces_the_reference_figures_on_goog() -> None:
    res = wv.backtest(SmaCross, "data/GOOG.csv", fast=10, slow=30)

    assert res.stats["n_trades"] == 33
    assert res.stats["equity_final"] == pytest.approx(177_394.00, abs=1e-6)


def test_rsi_reversion_enters_with_limit_orders_and_protects_with_stops() -> None:
    res = wv.backtest(RsiReversion, "data/GOOG.csv")
    orders = res.orders

    entries = orders[(orders["side"] == "buy") & (orders["type"] == "limit")]
    stops = orders[orders["type"] == "stop"]
    assert len(entries) > 5 and (entries["tif"] == "gtc").all()
    assert len(stops) > 0
    filled = entries[entries["status"] == "filled"]
    assert (filled["avg_fill_price"] <= filled["limit_price"]).all()  # at the limit or better
    assert res.stats["n_trades"] >= len(filled) - 1


def test_momentum_rotation_holds_the_strongest_symbols_from_one_cash_account() -> None:
    bars = {s: wv.synthetic(400, "1d", seed=k, symbol=s) for k, s in enumerate(["AAA", "BBB", "CCC"])}

    res = wv.backtest(MomentumRotation, bars, lookback=20, top=1, every=5)

    assert set(res.trades["symbol"]) <= {"AAA", "BBB", "CCC"}
    assert len(set(res.trades["symbol"])) >= 2
    assert len(res.equity) == 400
    assert res.equity.min() > 0


def test_momentum_rotation_needs_several_symbols() -> None:
    with pytest.raises(ParameterError, match="at least two symbols"):
        wv.backtest(MomentumRotation, wv.synthetic(100, "1d", seed=1))
