"""The driver on its own: given a clock and a broker, and knowing nothing else of them."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import numpy as np
import pytest

import weaver as wv
from weaver.core import LookAheadError, Portfolio, Tick
from weaver.core.errors import ParameterError
from weaver.runtime import Driver
from weaver.strategy import Strategy
from weaver.strategy.context import StrategyContext
from weaver.strategy.indicators import bollinger, crossover, ema, rsi, sma

from .venues import Venue

T0 = datetime(2024, 1, 2, tzinfo=timezone.utc)


class Feed:
    """A clock that hands out the given ticks and tells the time of the last."""

    def __init__(self, ticks: list[Tick]) -> None:
        self.ticks = ticks
        self.now_ = None

    def now(self) -> datetime:
        return self.now_

    def __iter__(self):  # noqa: ANN204
        for tick in self.ticks:
            self.now_ = tick.ts
            yield tick


def ticks(closes: list[float], symbol: str = "ABC") -> list[Tick]:
    return [Tick(T0 + timedelta(days=k), {symbol: (c, c + 1, c - 1, c, 100.0)}, True) for k, c in enumerate(closes)]


class BuyEveryThird(Strategy):
    def next(self) -> None:
        if len(self.data) % 3 == 0:
            self.buy(1)


def test_a_venue_that_matches_nothing_gets_the_orders_and_next_runs_on_every_bar() -> None:
    venue, feed = Venue(), Feed(ticks([10.0 + k for k in range(9)]))
    driver = Driver(BuyEveryThird, {}, broker=venue, clock=feed, portfolio=Portfolio(cash=Decimal(1_000)),
                    symbols=["ABC"], run_id="r1")

    driver.run()

    # run id, the bar's time, the order's place among the bar's orders (DESIGN §7)
    assert list(venue.orders) == ["r1-20240104T000000Z-1", "r1-20240107T000000Z-1", "r1-20240110T000000Z-1"]
    assert [o.created_at for o in venue.orders.values()] == [feed.ticks[k].ts for k in (2, 5, 8)]
    assert driver.fill_bars == []


def test_warm_up_bars_trade_nothing() -> None:
    venue, feed = Venue(), Feed(ticks([10.0 + k for k in range(9)]))
    driver = Driver(BuyEveryThird, {}, broker=venue, clock=feed, portfolio=Portfolio(cash=Decimal(1_000)),
                    symbols=["ABC"])
    stream = iter(feed)

    driver.warm_up([next(stream) for _ in range(6)])
    driver.run(stream)

    assert [o.client_order_id for o in venue.orders.values()] == ["bt-20240110T000000Z-1"]


def test_the_strategy_sees_a_context_not_the_broker_or_the_clock() -> None:
    venue, feed = Venue(), Feed(ticks([10.0, 11.0, 12.0]))
    driver = Driver(BuyEveryThird, {}, broker=venue, clock=feed, portfolio=Portfolio(cash=Decimal(1_000)),
                    symbols=["ABC"])
    driver.run()

    kept = vars(driver.strategy).values()
    assert isinstance(driver.strategy._ctx, StrategyContext)
    assert not any(v is venue or v is feed or v is driver for v in kept)


def peek(close: np.ndarray) -> np.ndarray:
    return np.append(np.asarray(close, dtype=float)[1:], np.nan)


def test_indicators_are_checked_for_look_ahead_on_the_warm_up_history() -> None:
    class Peeks(Strategy):
        def init(self) -> None:
            self.p = self.indicator(peek, self.data.close)

    history = wv.synthetic(50, "1d", seed=2)
    history.attrs["symbol"] = "ABC"
    feed = Feed(ticks([10.0, 11.0]))
    driver = Driver(Peeks, {}, broker=Venue(), clock=feed, portfolio=Portfolio(cash=Decimal(1_000)),
                    symbols=["ABC"], history={"ABC": history})

    with pytest.raises(LookAheadError, match=r"indicator peek\(…\) looks ahead"):
        driver.run()


def test_bars_of_a_symbol_the_run_does_not_trade_are_refused() -> None:
    feed = Feed(ticks([10.0]) + [Tick(T0 + timedelta(days=1), {"XYZ": (1.0, 1.0, 1.0, 1.0, 1.0)}, True)])
    driver = Driver(BuyEveryThird, {}, broker=Venue(), clock=feed, portfolio=Portfolio(cash=Decimal(1_000)),
                    symbols=["ABC"])

    with pytest.raises(ParameterError, match=r"bars for \['XYZ'\], which the run does not trade"):
        driver.run()
    assert driver.price_of("ABC") == 10.0


class Record(Strategy):
    def init(self) -> None:
        c = self.data.close
        self.lines = [self.indicator(sma, c, 20), self.indicator(ema, c, 12), self.indicator(rsi, c, 14),
                      *self.indicator(bollinger, c, 20, 2.0)]
        self.seen: list[tuple[float, ...]] = []
        self.crossed: list[bool] = []

    def next(self) -> None:
        self.seen.append(tuple(line[-1] for line in self.lines))
        self.crossed.append(crossover(self.lines[1], self.lines[0]))


def test_indicators_and_crossings_equal_the_vectorized_pass_bar_by_bar() -> None:

    bars = wv.load_bars("data/GOOG.csv").iloc[:400]
    seen = {}
    for name, run in (("backtest", wv.backtest), ("rehearsal", wv.rehearse)):
        box = {}

        class Kept(Record):
            def init(self) -> None:
                super().init()
                box["strategy"] = self

        run(Kept, bars)
        seen[name] = (box["strategy"].seen, box["strategy"].crossed)

    assert len(seen["backtest"][0]) == 400 - 19 and any(seen["backtest"][1])
    assert np.array_equal(np.array(seen["rehearsal"][0]), np.array(seen["backtest"][0]), equal_nan=True)
    assert seen["rehearsal"][1] == seen["backtest"][1]
