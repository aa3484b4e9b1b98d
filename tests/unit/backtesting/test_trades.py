from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import weaver as wv
from weaver.backtesting.result import _fifo, _flat_to_flat, _paired
from weaver.strategy import Strategy

from .conftest import make_bars


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([1.0, -1.0]), st.integers(1, 500), st.floats(1, 1000),
                          st.floats(0, 5)), min_size=1, max_size=30),
       st.booleans())
def test_the_vectorized_pairing_equals_fifo_on_round_trips(legs, leave_open) -> None:  # noqa: ANN001
    q, price, fee = [], [], []
    for side, size, p, f in legs:  # open, then close the same size
        q += [side * size, -side * size]
        price += [p, p * 1.01]
        fee += [f, f / 2]
    if leave_open:
        q, price, fee = q[:-1], price[:-1], fee[:-1]
    stamps = np.arange(len(q), dtype=np.int64) * 60_000_000_000
    arrays = [np.array(q), np.array(price), np.array(fee)]

    assert _flat_to_flat(arrays[0])
    fast, slow = _paired(stamps, *arrays, 123.0), _fifo(stamps, *arrays, 123.0)
    for a, b in zip(fast, slow, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def test_partial_closes_and_flips_are_paired_first_in_first_out() -> None:
    bars = make_bars([(100 + i, 101 + i, 99 + i, 100 + i) for i in range(8)])
    plan = {0: ("buy", 10), 1: ("sell", 4), 2: ("sell", 10), 3: ("buy", 4)}

    class Plan(Strategy):
        def init(self) -> None:
            self.bar = -1

        def next(self) -> None:
            self.bar += 1
            if self.bar in plan:
                side, qty = plan[self.bar]
                getattr(self, side)(qty)

    res = wv.backtest(Plan, bars)
    t = res.trades

    # fills at the next opens: +10 @101, -4 @102, -10 @103 (closes 6, opens short 4), +4 @104
    assert not _flat_to_flat(res.fills["qty"].to_numpy() * np.where(res.fills["side"] == "buy", 1, -1))
    assert t[["side", "qty", "entry_price", "exit_price"]].values.tolist() == [
        ["long", 4.0, 101.0, 102.0], ["long", 6.0, 101.0, 103.0], ["short", 4.0, 103.0, 104.0]]
    assert t["pnl"].tolist() == pytest.approx([4.0, 12.0, -4.0])
    assert (t["exit_time"] > t["entry_time"]).all() and t["duration"].iloc[0] == pd.Timedelta(days=1)


class BothEveryThird(Strategy):
    """Every third bar buy one share of each symbol (last given first); close them a bar later."""

    def init(self) -> None:
        self.bar = -1

    def next(self) -> None:
        self.bar += 1
        for sym in reversed(self.symbols):
            if self.bar % 3 == 0:
                self.buy(1, symbol=sym)
            elif self.bar % 3 == 1:
                self.close(symbol=sym)


def test_trades_of_several_symbols_are_ordered_by_entry_time_then_symbol() -> None:
    bars = {s: make_bars([(10.0 + i, 11.0 + i, 9.0 + i, 10.0 + i) for i in range(12)], symbol=s)
            for s in ("ZZZ", "AAA")}

    t = wv.backtest(BothEveryThird, bars).trades

    assert len(t) == 8
    assert list(zip(t["entry_time"], t["symbol"], strict=True)) == sorted(zip(t["entry_time"], t["symbol"], strict=True))
    assert list(t["symbol"][:2]) == ["AAA", "ZZZ"]
    assert (t["duration"] == t["exit_time"] - t["entry_time"]).all()
