"""Trailing stops (Alpaca's ``trailing_stop``), bar by bar, with the prices worked out by hand.

DESIGN §4: the high-water mark (low-water for buys) starts at the last close when the order is
placed and follows each bar's high (low) from the bar after placement; the stop sits the trail
below (above) it. A bar is checked against the stop as it stood at the bar's open; when the
bar does not trigger it, its high (low) then moves the mark. A triggered stop fills at the
stop, or at the open when the bar gaps through it.
"""

from __future__ import annotations

import pytest

from weaver.core import Fill, InvalidOrder, Order, OrderSide, OrderStatus, OrderType

from .builders import D, feed, make_bar, make_broker

S = OrderStatus


def trailing(side: str, qty: float = 10, *, price: float | None = None, percent: float | None = None,
             tif: str = "gtc", coid: str = "t") -> Order:
    return Order("AAPL", OrderSide(side), D(str(qty)), type=OrderType.TRAILING_STOP,
                 trail_price=None if price is None else D(str(price)),
                 trail_percent=None if percent is None else D(str(percent)), tif=tif, client_order_id=coid)


def placed(order: Order, close: float = 100.0, **broker_kwargs: object):
    broker, ref, events = make_broker(**broker_kwargs)
    ref.prices["AAPL"] = close
    if order.side is OrderSide.SELL:  # hold what a sell stop protects
        broker.portfolio.apply(Fill("seed", "AAPL", OrderSide.BUY, order.qty, D(str(close)), ref.now, exec_id="seed.1"))
    broker.submit(order)
    return broker


def test_a_sell_trail_starts_at_the_last_close() -> None:
    # placed at close 100 with a 5.00 trail: mark 100, stop 95
    order = trailing("sell", price=5)
    placed(order)

    assert order.status is S.NEW
    assert (order.hwm, order.stop_price) == (D(100), D(95))


def test_a_sell_trail_follows_the_high_and_fills_at_the_stop() -> None:
    order = trailing("sell", price=5)
    broker = placed(order)

    # bar 1: low 99 > stop 95, no trigger; then its high 110 lifts the mark: stop 105
    assert feed(broker, make_bar(101, 110, 99, 108, minute=1)) == []
    assert (order.hwm, order.stop_price) == (D(110), D(105))
    # bar 2: opens 108 above the stop, low 104 <= 105: fills at the stop, 105
    (fill,) = feed(broker, make_bar(108, 109, 104, 106, minute=2))
    assert (fill.qty, fill.price) == (D(10), D(105))
    assert order.status is S.FILLED


def test_a_sell_trail_gapped_through_fills_at_the_open() -> None:
    order = trailing("sell", price=5)
    broker = placed(order)
    feed(broker, make_bar(101, 110, 99, 108, minute=1))  # stop 105

    # bar 2 opens 103, below the stop 105: a gap through a stop fills at the open
    (fill,) = feed(broker, make_bar(103, 104, 100, 101, minute=2))
    assert fill.price == D(103)


def test_a_bar_is_checked_against_the_stop_as_it_stood_at_its_open() -> None:
    order = trailing("sell", price=5)
    broker = placed(order)

    # high 120 would put the stop at 115 and the low 100 below it, but the bar is checked
    # against the stop at its open (95): no trigger; the mark then rises to 120
    assert feed(broker, make_bar(101, 120, 100, 118, minute=1)) == []
    assert order.stop_price == D(115)
    (fill,) = feed(broker, make_bar(117, 119, 114, 115, minute=2))  # low 114 <= 115: at 115
    assert fill.price == D(115)


def test_the_mark_never_falls() -> None:
    order = trailing("sell", price=5)
    broker = placed(order)
    feed(broker, make_bar(101, 110, 106, 108, minute=1))  # mark 110, stop 105
    feed(broker, make_bar(108, 109, 106, 107, minute=2))  # high 109 < mark: unchanged

    assert (order.hwm, order.stop_price) == (D(110), D(105))


def test_a_sell_trail_percent() -> None:
    # 10 %: mark 100 -> stop 90; bar 1's high 110 -> stop 99; bar 2's low 98.5 -> fills at 99
    order = trailing("sell", percent=10)
    broker = placed(order)
    assert order.stop_price == D(90)

    feed(broker, make_bar(101, 110, 95, 108, minute=1))
    assert order.stop_price == D(99)
    (fill,) = feed(broker, make_bar(100, 101, 98.5, 99.5, minute=2))
    assert fill.price == D(99)


def test_a_buy_trail_follows_the_low_and_fills_at_the_stop() -> None:
    # placed at close 100 with a 5.00 trail: low-water mark 100, stop 105
    order = trailing("buy", price=5)
    broker = placed(order)
    assert (order.hwm, order.stop_price) == (D(100), D(105))

    # bar 1: high 101 < 105, no trigger; its low 90 lowers the mark: stop 95
    assert feed(broker, make_bar(99, 101, 90, 92, minute=1)) == []
    assert (order.hwm, order.stop_price) == (D(90), D(95))
    # bar 2: opens 93 below the stop, high 96 >= 95: fills at the stop, 95
    (fill,) = feed(broker, make_bar(93, 96, 92, 94, minute=2))
    assert fill.price == D(95)


def test_a_buy_trail_gapped_through_fills_at_the_open() -> None:
    order = trailing("buy", price=5)
    broker = placed(order)
    feed(broker, make_bar(99, 101, 90, 92, minute=1))  # stop 95

    (fill,) = feed(broker, make_bar(97, 99, 96, 98, minute=2))  # opens 97 >= 95
    assert fill.price == D(97)


def test_slippage_applies_to_a_triggered_trail_as_to_a_stop() -> None:
    order = trailing("sell", price=5)
    broker = placed(order, slippage=100)  # 1 %
    feed(broker, make_bar(101, 110, 99, 108, minute=1))  # stop 105

    (fill,) = feed(broker, make_bar(108, 109, 103, 106, minute=2))
    assert float(fill.price) == pytest.approx(103.95)  # 105 * 0.99, within the bar's range


def test_a_day_trail_expires_at_the_session_end() -> None:
    order = trailing("sell", price=5, tif="day")
    broker = placed(order)

    feed(broker, make_bar(101, 102, 99, 101, minute=1), session_end=True)
    assert order.status is S.EXPIRED


def test_a_trail_without_a_reference_price_is_rejected() -> None:
    broker, ref, _ = make_broker()
    ref.prices["AAPL"] = float("nan")

    order = broker.submit(trailing("sell", price=5))
    assert order.status is S.REJECTED
    assert order.reject_reason == "no reference price for AAPL yet (price_of returned nan): a trailing stop starts there"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "trailing_stop order needs trail_price or trail_percent"),
        ({"trail_price": D(1), "trail_percent": D(1)}, "not both"),
        ({"trail_price": D(-1)}, "trail_price -1 must be > 0"),
        ({"trail_percent": D(0)}, "trail_percent 0 must be > 0"),
        ({"trail_price": D(1), "limit_price": D(5)}, "must not have limit_price"),
    ],
)
def test_a_trailing_stop_needs_one_positive_trail(kwargs: dict, message: str) -> None:
    with pytest.raises(InvalidOrder, match=message):
        Order("AAPL", OrderSide.SELL, D(1), type=OrderType.TRAILING_STOP, **kwargs)


def test_a_trail_on_another_order_type_is_refused() -> None:
    with pytest.raises(InvalidOrder, match="market order must not have trail_price 1"):
        Order("AAPL", OrderSide.SELL, D(1), trail_price=D(1))


def test_replay_rebuilds_the_trail() -> None:
    order = trailing("sell", price=5)
    broker = placed(order)
    feed(broker, make_bar(101, 110, 99, 108, minute=1))

    again = order.replay()
    assert (again.status, again.hwm, again.stop_price, again.trail_price) == (order.status, D(110), D(105), D(5))
