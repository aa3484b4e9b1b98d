"""A trailing stop placed by a strategy, through the engine, with the prices worked out by hand."""

from __future__ import annotations

import pytest

import weaver as wv
from weaver.core.errors import BacktestError, ParameterError
from weaver.strategy import Strategy

from .conftest import make_bars

# bar 0: buy 10 at market -> fills at bar 1's open, 100
# bar 1: a 5 % trailing sell is placed; its mark starts at bar 1's close, 101: stop 95.95
# bar 2: low 101 > 95.95, no trigger; high 110 -> mark 110, stop 104.5
# bar 3: low 105 > 104.5, no trigger; high 112 -> mark 112, stop 106.4
# bar 4: opens 110, low 106 <= 106.4: sold at the stop, 106.4
BARS = [(100, 101, 99, 100), (100, 102, 99, 101), (102, 110, 101, 109), (109, 112, 105, 111),
        (110, 111, 106, 107), (107, 108, 100, 101)]


class Trail(Strategy):
    percent: float = 5.0

    def init(self) -> None:
        self.bar = -1
        self.stop = None

    def next(self) -> None:
        self.bar += 1
        if self.bar == 0:
            self.buy(10)
        elif self.position and self.stop is None:
            self.stop = self.sell(self.position.qty, trail_percent=self.percent, tif="gtc")


def test_a_trailing_stop_exits_at_the_trailed_stop() -> None:
    res = wv.backtest(Trail, make_bars(BARS))

    (trade,) = res.trades.to_dict("records")
    assert (trade["entry_price"], trade["exit_price"]) == (100.0, 106.4)
    assert trade["exit_time"] == make_bars(BARS).index[4]
    assert trade["pnl"] == pytest.approx(64.0)
    stop = res.orders.iloc[1]
    assert (stop["type"], stop["trail_percent"], stop["stop_price"], stop["status"]) == (
        "trailing_stop", 5.0, 106.4, "filled")


def test_a_trail_in_price_units() -> None:
    class ByPrice(Trail):
        def next(self) -> None:
            self.bar += 1
            if self.bar == 0:
                self.buy(10)
            elif self.position and self.stop is None:  # mark 101 -> stop 97; 110 -> 104; 112 -> 106
                self.stop = self.sell(self.position.qty, trail_price=6.0, tif="gtc")

    res = wv.backtest(ByPrice, make_bars(BARS))

    assert res.trades["exit_price"].tolist() == [106.0]  # bar 4's low 106 touches the stop 106


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"trail_price": 1.0, "trail_percent": 1.0}, "not both"),
        ({"trail_percent": 5.0, "stop": 90.0}, "takes no limit or stop"),
        ({"trail_percent": 0.0}, "the trail must be > 0"),
    ],
)
def test_a_bad_trail_is_refused_at_the_call(kwargs: dict, message: str) -> None:
    class Bad(Strategy):
        def next(self) -> None:
            self.sell(1, **kwargs)

    with pytest.raises(BacktestError, match=message) as err:
        wv.backtest(Bad, make_bars(BARS))
    assert isinstance(err.value.__cause__, ParameterError)
