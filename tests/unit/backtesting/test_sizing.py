"""How a size becomes a quantity, and how refused orders show (DESIGN §4).

A ``size`` becomes whole shares at submit, from the last close; a buy that no longer fits
the cash at the fill is reduced to what the cash covers, with the reason recorded; nothing
the broker refuses is dropped silently: the orders table, the statistics, the repr and the
notes say so.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import weaver as wv
from weaver.core.errors import BacktestError, ParameterError
from weaver.strategy import Strategy
from weaver.strategy.indicators import crossover, sma

from .conftest import flat_bars, make_bars

GOOG = "data/GOOG.csv"


class DocExample(Strategy):
    """The example of ``Strategy``'s docstring: all equity on the cross up, close on the cross down."""

    fast: int = 10
    slow: int = 30

    def init(self) -> None:
        self.f = self.indicator(sma, self.data.close, self.fast)
        self.s = self.indicator(sma, self.data.close, self.slow)

    def next(self) -> None:
        if crossover(self.f, self.s):
            self.buy()
        elif crossover(self.s, self.f):
            self.close()


class Once(Strategy):
    """Place one order on the first bar: ``buy(**order)``."""

    def init(self) -> None:
        self.done = False

    def next(self) -> None:
        if not self.done:
            self.done = True
            self.buy(**self.order)


def once(**order: object) -> type[Strategy]:
    return type("Once", (Once,), {"order": order})


def test_the_docstring_example_on_goog_trades_every_entry() -> None:
    res = wv.backtest(DocExample, GOOG)

    buys = res.orders[res.orders["side"] == "buy"]
    assert len(buys) == 33 and len(res.trades) == 33
    assert (buys["filled_qty"] > 0).all()  # no entry lost to a gap
    reduced = buys[buys["filled_qty"] < buys["qty"]]
    assert len(reduced) == res.stats["n_orders_reduced"] > 0
    assert reduced["reason"].str.startswith("insufficient cash at fill: reduced from").all()
    assert res.stats["n_orders_rejected"] == 0
    assert res.equity.min() > 0 and (res.fills["qty"] == res.fills["qty"].round()).all()


def test_the_docstring_example_says_how_many_orders_were_reduced() -> None:
    res = wv.backtest(DocExample, GOOG)
    n = res.stats["n_orders_reduced"]
    reduced = res.orders[res.orders["reason"].notna()]
    first = reduced["updated_at"].min()  # when the first was reduced: its fill bar

    note = f"{n} orders reduced: insufficient cash at fill, first on {first:%Y-%m-%d}"
    assert res.notes == [note]
    assert note in repr(res) and note in res._repr_html_()


def test_a_size_becomes_whole_shares_from_the_last_close_even_with_a_limit() -> None:
    # equity 10,000, close 30: size 0.5 -> floor(5,000 / 30) = 166, the limit 25 notwithstanding
    res = wv.backtest(once(size=0.5, limit=25.0), flat_bars(5, price=30.0), cash=10_000)

    assert res.orders["qty"].tolist() == [166.0]


@pytest.mark.parametrize("size", [1.5, 0, -0.5, math.nan, 2])
def test_a_size_outside_zero_to_one_is_refused_at_the_call(size: float) -> None:
    with pytest.raises(BacktestError) as err:
        wv.backtest(once(size=size), flat_bars(5))

    assert f"buy(size={size!r})" in str(err.value) and "0 < size <= 1" in str(err.value)
    assert isinstance(err.value.__cause__, ParameterError)


def test_qty_and_size_together_are_refused() -> None:
    with pytest.raises(BacktestError, match=r"buy\(qty=5, size=0.5\): give qty .* or size"):
        wv.backtest(once(qty=5, size=0.5), flat_bars(5))


# -- refusals are visible --------------------------------------------------------------------


class Mixed(Strategy):
    """Bar 0: a buy too big for the cash (rejected), a day limit that never fills (expires),
    a GTC limit canceled on bar 1; bar 2: a buy that fills."""

    def init(self) -> None:
        self.bar = -1

    def next(self) -> None:
        self.bar += 1
        if self.bar == 0:
            self.buy(10_000)
            self.buy(1, limit=1.0)
            self.gtc = self.buy(1, limit=1.0, tif="gtc")
        elif self.bar == 1:
            self.cancel(self.gtc)
        elif self.bar == 2:
            self.buy(1)


def test_orders_carry_the_reason_of_every_rejection_cancelation_and_expiry() -> None:
    res = wv.backtest(Mixed, flat_bars(5), cash=1_000)

    rows = res.orders[["status", "reason"]].to_dict("records")
    assert [r["status"] for r in rows] == ["rejected", "expired", "canceled", "filled"]
    assert rows[0]["reason"].startswith("insufficient cash: need 1,000,000.00, have 1,000.00")
    assert rows[1]["reason"] == "day order unfilled at the session's end"
    assert rows[2]["reason"] == "canceled by request"
    assert pd.isna(rows[3]["reason"])
    assert "reject_reason" not in res.orders.columns  # one name: the reason


def test_stats_count_rejected_orders_and_the_notes_say_so() -> None:
    res = wv.backtest(Mixed, flat_bars(5), cash=1_000)

    assert res.stats["n_orders"] == 4
    assert res.stats["n_orders_rejected"] == 1 and res.stats["n_orders_reduced"] == 0
    assert res.notes == ["1 order rejected: insufficient cash, first on 2024-01-01"]
    assert "1 order rejected: insufficient cash, first on 2024-01-01" in repr(res)


def test_a_clean_run_has_no_notes() -> None:
    res = wv.backtest(once(qty=1), flat_bars(5))

    assert res.notes == [] and res.stats["n_orders_rejected"] == 0
    assert "rejected" not in repr(res)


def test_a_buy_the_cash_covers_no_share_of_at_the_fill_counts_as_rejected() -> None:
    # the last close is 100 (10 fit in 1,000); the next open gaps to 2,000: not one share
    bars = make_bars([(100, 101, 99, 100), (2_000, 2_001, 1_999, 2_000), (2_000, 2_001, 1_999, 2_000)])
    res = wv.backtest(once(qty=10), bars, cash=1_000)

    (row,) = res.orders.to_dict("records")
    assert row["status"] == "canceled" and row["filled_qty"] == 0
    assert res.stats["n_orders_rejected"] == 1
    assert res.notes == ["1 order rejected: insufficient cash at fill, first on 2024-01-02"]


def test_intraday_notes_give_the_time_of_day() -> None:
    bars = make_bars([(100, 101, 99, 100)] * 5, freq="1min", start="2024-01-02 14:30")
    res = wv.backtest(once(qty=10_000), bars, cash=1_000)

    assert res.notes == ["1 order rejected: insufficient cash, first on 2024-01-02 14:30:00+00:00"]


def test_fractional_quantities_point_to_the_backtest_option() -> None:
    res = wv.backtest(once(qty=2.5), flat_bars(5))

    reason = res.orders["reason"].iloc[0]
    assert "wv.backtest(..., fractional=True)" in reason and "SimulatedBroker" not in reason


def test_a_sweep_row_counts_rejections_too() -> None:
    sw = wv.sweep(DocExample, GOOG, fast=[10, 20], executor=1, progress=False, method="event")

    assert (sw.frame["n_orders_reduced"] > 0).all() and (sw.frame["n_orders_rejected"] == 0).all()
    assert np.issubdtype(sw.frame["n_orders_rejected"].dtype, np.integer)


def test_notes_are_plain_data() -> None:
    res = wv.backtest(Mixed, flat_bars(5), cash=1_000)

    assert isinstance(res.stats, pd.Series) and all(isinstance(n, str) for n in res.notes)
