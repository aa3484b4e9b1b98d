"""Volume participation: at most a fraction of each bar's volume fills."""

from __future__ import annotations

from weaver.core import OrderStatus

from .builders import D, feed, make_bar, make_broker, make_order

S = OrderStatus


def test_participation_is_off_by_default() -> None:
    broker, _, _ = make_broker()
    broker.submit(make_order("buy", 500))
    (fill,) = feed(broker, make_bar(100, 101, 99, 100, volume=10))  # tiny volume, full fill
    assert fill.qty == D(500)


def test_market_order_fills_10_percent_of_volume_then_continues_at_later_opens() -> None:
    broker, _, _ = make_broker(participation=0.1)
    order = broker.submit(make_order("buy", 250, tif="gtc"))

    f1 = feed(broker, make_bar(100, 101, 99, 100, volume=1_000, minute=1))  # 100 at 100
    assert order.status is S.PARTIALLY_FILLED and order.remaining_qty == D(150)
    f2 = feed(broker, make_bar(102, 103, 101, 102, volume=1_000, minute=2))  # 100 at 102
    f3 = feed(broker, make_bar(104, 105, 103, 104, volume=1_000, minute=3))  # last 50 at 104

    assert [(f.qty, f.price) for f in f1 + f2 + f3] == [
        (D(100), D(100)), (D(100), D(102)), (D(50), D(104)),
    ]
    assert order.status is S.FILLED
    # (100*100 + 100*102 + 50*104) / 250 = 25,400 / 250 = 101.6
    assert order.avg_fill_price == D("101.6")


def test_capacity_is_shared_by_the_symbols_orders_in_submission_order() -> None:
    broker, _, _ = make_broker(participation=0.1)
    broker.submit(make_order("buy", 70, client_order_id="a"))
    broker.submit(make_order("buy", 70, client_order_id="b"))
    fills = feed(broker, make_bar(100, 101, 99, 100, volume=1_000))  # 100: a 70, b 30
    assert [(f.order_id, f.qty) for f in fills] == [("a", D(70)), ("b", D(30))]


def test_capacity_rounds_down_to_whole_shares() -> None:
    broker, _, _ = make_broker(participation=0.1)
    broker.submit(make_order("buy", 200))
    (fill,) = feed(broker, make_bar(100, 101, 99, 100, volume=1_239))  # 123.9 -> 123
    assert fill.qty == D(123)


def test_capacity_below_one_share_fills_nothing() -> None:
    broker, _, _ = make_broker(participation=0.1)
    order = broker.submit(make_order("buy", 10))
    assert feed(broker, make_bar(100, 101, 99, 100, volume=9)) == []  # 0.9 -> 0
    assert order.status is S.NEW


def test_fractional_capacity_when_fractional() -> None:
    broker, _, _ = make_broker(participation=0.1, fractional=True)
    broker.submit(make_order("buy", 10))
    (fill,) = feed(broker, make_bar(100, 101, 99, 100, volume=25))  # 2.5
    assert fill.qty == D("2.5")


def test_limit_order_partial_keeps_its_limit_on_later_bars() -> None:
    broker, _, _ = make_broker(participation=0.5)
    order = broker.submit(make_order("buy", 10, type="limit", limit=99, tif="gtc"))
    feed(broker, make_bar(100, 101, 98, 99, volume=10))  # 5 at 99
    assert feed(broker, make_bar(100, 101, 99.5, 100, volume=10, minute=2)) == []  # not reached
    (fill,) = feed(broker, make_bar(98, 99, 97, 98, volume=10, minute=3))  # gap: 5 at 98
    assert (fill.qty, fill.price) == (D(5), D(98))
    assert order.avg_fill_price == D("98.5")  # (5*99 + 5*98) / 10


def test_partial_fills_pay_a_per_order_minimum_once() -> None:
    from weaver.sim import PerShare

    broker, _, _ = make_broker(participation=0.1, commission=PerShare(0.005, minimum=1))
    broker.submit(make_order("buy", 200, tif="gtc"))
    f1 = feed(broker, make_bar(100, 101, 99, 100, volume=1_000, minute=1))  # 100 sh: 0.5 -> 1
    f2 = feed(broker, make_bar(100, 101, 99, 100, volume=1_000, minute=2))  # total 200*0.005=1
    assert [f.commission for f in f1 + f2] == [D(1), D(0)]
