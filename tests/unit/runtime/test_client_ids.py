"""Client order ids across a restart (DESIGN §7): the same decision re-derives the same id.

A venue here is the real kind of broker (no bar matching): it fills a market order when it
takes it and tells the run through ``on_update``; its ``submit`` is idempotent by client
order id, as Alpaca's uniqueness check is. "Nothing lost, nothing doubled" means: after a
runner dies mid-run and a new one re-feeds the bars, the venue holds exactly the orders an
uninterrupted run places, with the same ids, and none twice.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

import weaver as wv
from weaver.core import Order, OrderAccepted, OrderFilled, OrderSubmitted, Portfolio, Tick
from weaver.core.ids import MAX_LENGTH
from weaver.runtime import Driver
from weaver.strategy import Strategy

from . import venues

T0 = datetime(2024, 1, 2, 14, 30, tzinfo=timezone.utc)


class Venue(venues.Venue):
    """Fills market orders at the last close as it takes them; idempotent by client order id."""

    def __init__(self) -> None:
        super().__init__()
        self.now = T0
        self.portfolio = Portfolio(cash=Decimal(1_000_000))
        self.submits = 0
        self.last: dict[str, float] = {}

    def submit(self, order: Order) -> Order:
        self.submits += 1
        known = self.orders.get(order.client_order_id)
        if known is not None:  # the uniqueness check: the first order stands
            return known
        self.orders[order.client_order_id] = order
        coid = order.client_order_id
        for event in (OrderSubmitted(coid, self.now), OrderAccepted(coid, self.now, venue_order_id=f"v{len(self.orders)}"),
                      OrderFilled(coid, self.now, f"{coid}.1", order.qty, Decimal(repr(self.last[order.symbol])))):
            self.emit(order, event)
        return order

    def emit(self, order: Order, event: object) -> None:
        order.apply(event)  # type: ignore[arg-type]
        if isinstance(event, OrderFilled):
            signed = event.qty if order.side.value == "buy" else -event.qty
            self.portfolio.book(order.symbol, signed, event.price, event.commission)
        for handler in self.handlers:
            handler(order, event)


class Feed:
    """Hands out ticks, tells the time of the last, and shows each bar to the venue."""

    def __init__(self, ticks: list[Tick], venue: Venue) -> None:
        self.ticks, self.venue, self.now_ = ticks, venue, T0

    def now(self) -> datetime:
        return self.now_

    def feed(self, ticks: list[Tick]):  # noqa: ANN201
        for tick in ticks:
            self.now_ = self.venue.now = tick.ts
            self.venue.last.update({s: bar[3] for s, bar in tick.bars.items()})
            yield tick


def make_ticks(n: int) -> list[Tick]:
    return [Tick(T0 + timedelta(minutes=k), {"ABC": (10.0 + k, 11.0 + k, 9.0 + k, 10.0 + k, 100.0),
                                             "XYZ": (50.0, 51.0, 49.0, 50.0, 100.0)}, False)
            for k in range(n)]


class Decides(Strategy):
    """Two orders on every other bar, and a protective order placed in on_fill for every buy."""

    def next(self) -> None:
        if len(self.data["ABC"]) % 2 == 0:
            self.buy(2, symbol="ABC")
            self.sell(1, symbol="XYZ")

    def on_fill(self, fill) -> None:  # noqa: ANN001
        if fill.side.value == "buy":
            self.sell(1, symbol=fill.symbol)


def run(venue: Venue, ticks: list[Tick], warm: list[Tick] = (), run_id: str = "paper-7") -> Driver:  # type: ignore[assignment]
    feed = Feed(ticks, venue)
    driver = Driver(Decides, {}, broker=venue, clock=feed, portfolio=venue.portfolio, symbols=["ABC", "XYZ"],
                    run_id=run_id)
    driver.warm_up(feed.feed(list(warm)))
    driver.run(feed.feed(ticks))
    return driver


def test_an_uninterrupted_run_names_every_decision_once() -> None:
    venue = Venue()
    run(venue, make_ticks(6))

    ids = list(venue.orders)
    assert venue.submits == len(ids) == len(set(ids)) == 9  # 3 bars x (2 orders + 1 hook order)
    assert ids[:3] == ["paper-7-20240102T143100Z-1",  # the bar's first order
                       # its fill's hook: named after the execution, the run's prefix dropped
                       "paper-7-20240102T143100Z-1.1-1",
                       "paper-7-20240102T143100Z-2"]  # the bar's second order
    assert all(len(i) <= MAX_LENGTH and i.startswith("paper-7-") for i in ids)


@pytest.mark.parametrize("crash_after", [1, 2, 3, 4])
def test_a_restarted_runner_re_derives_the_same_ids_and_the_venue_stops_the_double_orders(crash_after: int) -> None:
    ticks = make_ticks(6)
    reference = Venue()
    run(reference, ticks)

    venue = Venue()
    run(venue, ticks[:crash_after + 1])  # dies after bar `crash_after` is decided and sent...
    # ...and a new runner, knowing nothing of what was sent, warms up on the bars before it
    # and decides that bar again, then carries on
    run(venue, ticks[crash_after:], warm=ticks[:crash_after])

    assert list(venue.orders) == list(reference.orders)  # the same decisions, the same ids
    assert venue.submits > reference.submits  # the re-sent decisions were refused as known
    assert venue.portfolio.positions["ABC"].qty == reference.portfolio.positions["ABC"].qty


def test_a_fill_delivered_again_after_a_restart_names_the_hooks_order_again() -> None:
    # at-least-once delivery: a stream that reconnects may hand the run a fill it saw already
    ticks = make_ticks(2)
    venue = Venue()
    run(venue, ticks)
    before = dict(venue.orders)
    first = venue.orders["paper-7-20240102T143100Z-1"]
    fill = first.events[-1]

    restarted = Venue()
    restarted.orders, restarted.last, restarted.portfolio = venue.orders, venue.last, venue.portfolio
    run(restarted, [], warm=ticks)
    for handler in restarted.handlers:
        handler(first, fill)

    assert restarted.orders == before and restarted.submits == 1  # one submit, refused as known


def test_two_runs_never_share_an_id() -> None:
    a, b = Venue(), Venue()
    run(a, make_ticks(4), run_id="run-a")
    run(b, make_ticks(4), run_id="run-b")
    assert not set(a.orders) & set(b.orders)


def test_a_backtest_names_hook_orders_after_the_fill_that_called_the_hook() -> None:
    bars = wv.synthetic(300, "1d", seed=3)

    class Protects(Strategy):
        def next(self) -> None:
            if not self.position and len(self.data) % 20 == 0:
                self.buy(10)

        def on_fill(self, fill) -> None:  # noqa: ANN001
            if fill.side.value == "buy":
                self.sell(10, stop=fill.price * Decimal("0.9"), tif="gtc")

    result = wv.backtest(Protects, bars)

    ids = result.orders["client_order_id"].tolist()
    assert len(ids) == len(set(ids))
    entries = [i for i in ids if i.count(".") == 0]
    stops = [i for i in ids if ".1-" in i]
    assert entries and all(f"{entry}.1-1" in stops for entry in entries[:len(stops)])


def test_a_backtest_names_on_order_orders_after_the_order_and_its_event() -> None:
    bars = wv.synthetic(60, "1d", seed=5)

    class Retries(Strategy):
        def next(self) -> None:
            if len(self.data) == 10:
                self.buy(1, limit=self.data.close[-1] * 0.5, tif="ioc")  # far below: canceled unfilled

        def on_order(self, order) -> None:  # noqa: ANN001
            if order.status.value == "canceled" and order.limit_price is not None:
                self.buy(1)  # at market instead

    result = wv.backtest(Retries, bars)

    first, retry = result.orders["client_order_id"].tolist()
    assert first == f"bt-{bars.index[9]:%Y%m%dT%H%M%S}Z-1"
    assert retry == f"{first}.canceled-1"
