from __future__ import annotations

from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

import weaver as wv
from weaver.core.errors import BacktestError, DataError
from weaver.strategy import Strategy
from weaver.strategy.indicators import sma

from .conftest import flat_bars


class BuyOnBar(Strategy):
    """Buy ``qty`` on bar ``at`` and close on bar ``until`` (−1: never)."""

    at: int = 0
    until: int = -1
    qty: float = 10.0

    def init(self) -> None:
        self.bar = -1

    def next(self) -> None:
        self.bar += 1
        if self.bar == self.at:
            self.buy(self.qty)
        if self.bar == self.until:
            self.close()


def test_next_sees_only_the_bars_up_to_the_current_one(ramp: pd.DataFrame) -> None:
    seen = []

    class Spy(Strategy):
        def next(self) -> None:
            seen.append((len(self.data.close), self.data.close[-1], len(self.data.df), self.data.time))

    wv.backtest(Spy, ramp)

    assert [s[0] for s in seen] == list(range(1, 11))
    assert [s[1] for s in seen] == ramp["close"].tolist()
    assert [s[2] for s in seen] == list(range(1, 11))
    assert [s[3] for s in seen] == list(ramp.index)


def test_market_order_fills_at_the_next_bars_open(ramp: pd.DataFrame) -> None:
    res = wv.backtest(BuyOnBar, ramp, at=2, until=5, qty=10.0)

    fills = res.fills
    # placed on bar 2, filled at bar 3's open 130; closed on bar 5, filled at bar 6's open 160
    assert fills["timestamp"].tolist() == [ramp.index[3], ramp.index[6]]
    assert fills["price"].tolist() == [130.0, 160.0]
    trade = res.trades.iloc[0]
    assert (trade["entry_price"], trade["exit_price"], trade["pnl"]) == (130.0, 160.0, 300.0)
    assert trade["duration"] == pd.Timedelta(days=3)


def test_equity_has_one_value_per_bar_marked_at_the_close(ramp: pd.DataFrame) -> None:
    res = wv.backtest(BuyOnBar, ramp, at=2, qty=10.0, cash=10_000)

    # bought 10 at 130 on bar 3: cash 8,700; bar i's close is 105 + 10 i
    expected = [10_000.0] * 3 + [8_700 + 10 * (105 + 10 * i) for i in range(3, 10)]
    assert res.equity.tolist() == pytest.approx(expected)
    assert res.equity.index.equals(ramp.index)


def test_a_trade_open_at_the_end_has_empty_exit_fields(ramp: pd.DataFrame) -> None:
    res = wv.backtest(BuyOnBar, ramp, at=2, qty=10.0)

    trade = res.trades.iloc[0]
    assert pd.isna(trade["exit_time"]) and np.isnan(trade["exit_price"]) and pd.isna(trade["duration"])
    assert trade["pnl"] == pytest.approx(10 * (195.0 - 130.0))  # marked at the last close
    # counted apart from the closed trades, which the trade statistics describe
    assert (res.stats["n_trades"], res.stats["n_open_trades"]) == (0, 1)
    assert np.isnan(res.stats["win_rate"])


def test_stats_have_every_documented_field(ramp: pd.DataFrame) -> None:
    res = wv.backtest(BuyOnBar, ramp, at=2, until=5)

    for key in ["start", "end", "total_return", "cagr", "volatility", "sharpe", "sortino", "calmar",
                "max_drawdown", "max_drawdown_duration", "n_trades", "win_rate", "profit_factor",
                "avg_trade_pct", "best_trade_pct", "worst_trade_pct", "exposure_pct",
                "n_open_trades", "n_orders", "n_orders_rejected", "n_orders_reduced"]:
        assert key in res.stats.index, key
    # one name per statistic: the roadmap's RunStats names belong to the API's schema
    for alias in ["total_trades", "winning_trades", "total_pnl", "sharpe_ratio"]:
        assert alias not in res.stats.index, alias
    assert res.stats["n_orders"] == 2 and res.stats["n_trades"] == 1
    assert res.stats["exposure_pct"] == pytest.approx(30.0)  # held over bars 3, 4, 5


def test_a_strategy_error_names_the_bar_and_symbol_and_chains_the_cause(ramp: pd.DataFrame) -> None:
    class Boom(Strategy):
        def next(self) -> None:
            if len(self.data.close) == 4:
                raise ZeroDivisionError("oops")

    with pytest.raises(BacktestError) as err:
        wv.backtest(Boom, ramp)

    message = str(err.value)
    assert "Boom.next() raised ZeroDivisionError: oops" in message
    assert str(ramp.index[3]) in message and "TEST" in message
    assert isinstance(err.value.__cause__, ZeroDivisionError)


def test_empty_and_invalid_bars_are_refused_clearly(ramp: pd.DataFrame) -> None:
    broken = ramp.copy()
    broken.iloc[4, broken.columns.get_loc("high")] = 1.0  # high below low

    with pytest.raises(DataError, match="high"):
        wv.backtest(BuyOnBar, broken)
    with pytest.raises(DataError):
        wv.backtest(BuyOnBar, ramp.iloc[:0])


def test_nan_during_indicator_warmup_is_normal() -> None:
    class Slow(Strategy):
        def init(self) -> None:
            self.s = self.indicator(sma, self.data.close, 50)

        def next(self) -> None:
            assert not np.isnan(self.s[-1])  # next() starts once every indicator has a value

    res = wv.backtest(Slow, wv.synthetic(120, "1d", seed=2))

    assert len(res.equity) == 120


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"qty": 0}, "qty"),
        ({"qty": -5}, "qty"),
        ({"qty": 10_000}, "insufficient cash"),
        ({"qty": 1, "symbol": "NOPE"}, "NOPE"),
    ],
)
def test_invalid_orders_are_rejected_with_a_reason_and_recorded(kwargs: dict, reason: str) -> None:
    class Place(Strategy):
        def init(self) -> None:
            self.done = False
            self.results = []

        def next(self) -> None:
            if not self.done:
                self.done = True
                self.results.append(self.buy(**kwargs))

    res = wv.backtest(Place, flat_bars(5), cash=1_000)

    assert len(res.orders) == 1
    row = res.orders.iloc[0]
    assert row["status"] == "rejected"
    assert reason in row["reason"]
    assert len(res.fills) == 0


def test_shorting_is_rejected_when_disabled() -> None:
    class Short(Strategy):
        def init(self) -> None:
            self.done = False

        def next(self) -> None:
            if not self.done:
                self.done = True
                self.sell(5)

    allowed = wv.backtest(Short, flat_bars(5))
    refused = wv.backtest(Short, flat_bars(5), allow_short=False)

    assert allowed.fills["side"].tolist() == ["sell"]
    assert refused.orders.iloc[0]["status"] == "rejected"
    assert "short" in refused.orders.iloc[0]["reason"]


def test_hooks_receive_fills_and_order_updates(ramp: pd.DataFrame) -> None:
    fills, statuses = [], []

    class Hooked(BuyOnBar):
        def on_fill(self, fill) -> None:  # noqa: ANN001
            fills.append((fill.price, fill.qty))

        def on_order(self, order) -> None:  # noqa: ANN001
            statuses.append(order.status.value)

    wv.backtest(Hooked, ramp, at=1, qty=10.0)

    assert fills == [(Decimal("120"), Decimal("10"))]
    assert statuses == ["submitted", "new", "filled"]


def test_position_cash_and_equity_are_visible_in_next(ramp: pd.DataFrame) -> None:
    seen = []

    class Watch(BuyOnBar):
        def next(self) -> None:
            super().next()
            seen.append((bool(self.position), self.position.qty, self.cash, self.equity, self.position.pnl))

    wv.backtest(Watch, ramp, at=0, qty=10.0, cash=10_000)

    assert seen[0] == (False, 0.0, 10_000.0, 10_000.0, 0.0)
    # filled at bar 1's open 110; bar 1's close is 115
    assert seen[1] == (True, 10.0, 8_900.0, 10_050.0, 50.0)
    assert seen[1][1] == 10.0


def test_size_buys_a_fraction_of_equity_in_whole_units() -> None:
    class Half(Strategy):
        def init(self) -> None:
            self.done = False

        def next(self) -> None:
            if not self.done:
                self.done = True
                self.buy(size=0.5)

    res = wv.backtest(Half, flat_bars(5, price=30.0), cash=1_000)

    assert res.fills["qty"].tolist() == [16.0]  # floor(0.5 * 1000 / 30)


def test_several_symbols_share_one_cash_account() -> None:
    a = flat_bars(6, price=100.0, symbol="AAA")
    b = flat_bars(6, price=50.0, symbol="BBB")

    class Both(Strategy):
        def init(self) -> None:
            self.done = False

        def next(self) -> None:
            if not self.done:
                self.done = True
                self.buy(5, symbol="AAA")
                self.buy(10, symbol="BBB")

    res = wv.backtest(Both, {"AAA": a, "BBB": b}, cash=2_000)

    assert sorted(res.fills["symbol"]) == ["AAA", "BBB"]
    assert res.equity.iloc[-1] == pytest.approx(2_000.0)
    assert res.equity.iloc[1] == pytest.approx(2_000.0)
    assert res.trades["symbol"].tolist() == ["AAA", "BBB"]


def test_unaligned_symbols_are_merged_and_only_trade_on_their_own_bars() -> None:
    a = flat_bars(6, price=100.0, symbol="AAA")
    b = flat_bars(3, price=50.0, symbol="BBB", start="2024-01-04")
    seen = []

    class Watch(Strategy):
        def next(self) -> None:
            seen.append(self.data["BBB"].close[-1])
            if len(seen) in (1, 4):  # Jan 1, before BBB's first bar; Jan 4, its first bar
                self.buy(1, symbol="BBB")

    res = wv.backtest(Watch, {"AAA": a, "BBB": b})

    assert len(res.equity) == 6
    assert np.isnan(seen[:3]).all() and seen[3:] == [50.0] * 3
    first, second = res.orders.to_dict("records")
    assert first["status"] == "rejected" and "no reference price for BBB" in first["reason"]
    assert second["status"] == "filled"
    assert res.fills["timestamp"].tolist() == [pd.Timestamp("2024-01-05", tz="UTC")]


def test_plot_and_html_repr(ramp: pd.DataFrame) -> None:
    res = wv.backtest(BuyOnBar, ramp, at=2, until=5)

    fig = res.plot()
    html = res._repr_html_()

    names = [t.name for t in fig.data]
    assert names[:1] == ["TEST"] and "equity" in names and "drawdown %" in names
    assert "entry" in names and "exit" in names
    assert "sharpe" in html and "BuyOnBar" in html


def test_backtest_accepts_a_file_path(tmp_path) -> None:  # noqa: ANN001
    res = wv.backtest(BuyOnBar, "data/GOOG.csv", at=5, until=50)

    assert list(res.bars) == ["GOOG"]
    assert len(res.equity) == 2148


def test_equity_is_cash_before_a_later_symbols_first_bar() -> None:
    a = flat_bars(6, price=100.0, symbol="AAA")
    b = flat_bars(3, price=50.0, symbol="BBB", start="2024-01-04")

    class Idle(Strategy):
        def next(self) -> None:
            pass

    res = wv.backtest(Idle, {"AAA": a, "BBB": b}, cash=1_000)

    assert res.equity.tolist() == [1_000.0] * 6
    assert res.stats["equity_start"] == 1_000.0 and res.stats["total_return"] == 0.0


WATCHED: list = []


class MakesCycles(Strategy):
    """Leaves a reference cycle behind on every bar, watched through a weak reference."""

    def next(self) -> None:
        import weakref

        class Node:
            pass

        node = Node()
        node.me = node
        WATCHED.append(weakref.ref(node))


def test_cycles_a_strategy_leaves_behind_are_collected_as_young_garbage() -> None:
    import gc

    WATCHED.clear()
    wv.backtest(MakesCycles, wv.synthetic(2_000, "1min", seed=3))
    gc.collect(1)  # the young generations only: no full collection needed

    assert len(WATCHED) > 1_900
    assert [r for r in WATCHED if r() is not None] == []


def test_a_dropped_result_frees_its_orders_events_and_fills_without_the_cycle_collector() -> None:
    import gc

    from weaver.strategy.examples import SmaCross

    bars = wv.synthetic(3_000, "1min", seed=3)
    gc.collect()
    gc.disable()
    try:
        res = wv.backtest(SmaCross, bars, fast=5, slow=20)
        res.stats  # noqa: B018 - computed, as a sweep does
        orders = len(res._orders)
        del res
        gc.set_debug(gc.DEBUG_SAVEALL)
        gc.collect()
        left = {type(o).__name__ for o in gc.garbage}
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()

    assert orders > 100
    assert not left & {"Order", "OrderFilled", "Fill", "SimulatedBroker", "SmaCross", "Run"}, left


@pytest.mark.parametrize("start", [100, "2005-01-12"])
def test_start_warms_the_indicators_up_on_the_bars_before_it(start: object) -> None:
    goog = wv.load_bars("data/GOOG.csv").iloc[:200]
    calls = []

    class Spy(Strategy):
        def init(self) -> None:
            self.s = self.indicator(sma, self.data.close, 30)

        def next(self) -> None:
            calls.append((len(self.data), self.s[-1]))

    res = wv.backtest(Spy, goog, start=start)

    first = 100 if start == 100 else int(goog.index.searchsorted(pd.Timestamp(start, tz="UTC")))
    assert calls[0][0] == first + 1 and not np.isnan(calls[0][1])  # the SMA has its value already
    assert res.equity.index[0] == goog.index[first] and len(res.equity) == 200 - first
    assert res.bars[next(iter(res.bars))].index[0] == goog.index[first]


@pytest.mark.parametrize(("start", "message"), [(500, r"start=500 is not a bar position: the run has 200 bars"),
                                                ("2030-01-01", r"start='2030-01-01' is after the last bar"),
                                                ("soon", r"start='soon' is neither a bar position nor a time")])
def test_a_start_outside_the_bars_is_refused(start: object, message: str) -> None:
    from weaver.core.errors import ParameterError

    with pytest.raises(ParameterError, match=message):
        wv.backtest(BuyOnBar, wv.load_bars("data/GOOG.csv").iloc[:200], start=start)
