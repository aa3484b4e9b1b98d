"""Time in force: DAY, GTC, IOC and FOK, through the broker."""

from __future__ import annotations

from weaver.core import OrderStatus

from .builders import D, feed, make_bar, make_broker, make_order

S = OrderStatus
FAR = dict(type="limit", limit=90)  # a buy limit no bar below reaches


def test_day_order_keeps_working_within_the_session() -> None:
    broker, _, _ = make_broker()
    order = broker.submit(make_order("buy", 1, tif="day", **FAR))
    feed(broker, make_bar(100, 101, 99, 100, minute=1))
    feed(broker, make_bar(100, 101, 99, 100, minute=2))
    assert order.status is S.NEW and broker.has_working("AAPL")


def test_day_order_expires_at_session_end() -> None:
    broker, _, events = make_broker()
    order = broker.submit(make_order("buy", 1, tif="day", client_order_id="d", **FAR))

    feed(broker, make_bar(100, 101, 99, 100, minute=1), session_end=True)

    assert order.status is S.EXPIRED
    assert events[-1] == ("d", "OrderExpired")
    assert not broker.has_working("AAPL")


def test_day_order_placed_on_a_sessions_last_bar_works_through_the_next_session() -> None:
    broker, _, _ = make_broker()
    broker.submit(make_order("buy", 1, tif="gtc", **FAR))  # keeps the symbol fed
    feed(broker, make_bar(100, 101, 99, 100, minute=1), session_end=True)  # day 1 closes
    order = broker.submit(make_order("buy", 1, tif="day", **FAR))  # placed on that last bar

    feed(broker, make_bar(100, 101, 99, 100, minute=2))  # day 2, first eligible bar
    assert order.status is S.NEW
    feed(broker, make_bar(100, 101, 99, 100, minute=3), session_end=True)
    assert order.status is S.EXPIRED


def test_day_order_filling_on_the_last_bar_fills_rather_than_expires() -> None:
    broker, _, _ = make_broker()
    order = broker.submit(make_order("buy", 1, tif="day", type="limit", limit=99.5))
    feed(broker, make_bar(100, 101, 99, 100), session_end=True)  # low 99 <= 99.5 -> fill 99.5
    assert order.status is S.FILLED and order.avg_fill_price == D("99.5")


def test_partially_filled_day_order_expires_its_remainder() -> None:
    broker, _, _ = make_broker(participation=0.1)
    order = broker.submit(make_order("buy", 50, tif="day"))
    feed(broker, make_bar(100, 101, 99, 100, volume=200), session_end=True)  # 20 of 50
    assert order.status is S.EXPIRED and order.filled_qty == D(20)


def test_gtc_order_survives_session_ends() -> None:
    broker, _, _ = make_broker()
    order = broker.submit(make_order("buy", 1, tif="gtc", type="limit", limit=95))
    feed(broker, make_bar(100, 101, 99, 100, minute=1), session_end=True)
    feed(broker, make_bar(100, 101, 99, 100, minute=2), session_end=True)
    assert order.status is S.NEW
    feed(broker, make_bar(96, 97, 94, 95, minute=3))  # low 94 <= 95, open 96 > 95 -> 95
    assert order.status is S.FILLED and order.avg_fill_price == D(95)


def test_ioc_unfilled_is_canceled_after_its_first_bar() -> None:
    broker, _, events = make_broker()
    order = broker.submit(make_order("buy", 1, tif="ioc", client_order_id="i", **FAR))
    feed(broker, make_bar(100, 101, 99, 100))
    assert order.status is S.CANCELED
    assert order.events[-1].reason == "ioc: 1 of 1 unfilled on first bar"
    assert events[-1] == ("i", "OrderCanceled")


def test_ioc_fills_what_it_can_and_cancels_the_rest() -> None:
    broker, _, _ = make_broker(participation=0.1)
    order = broker.submit(make_order("buy", 50, tif="ioc"))
    fills = feed(broker, make_bar(100, 101, 99, 100, volume=300))  # 10 % of 300 = 30 of 50
    assert [f.qty for f in fills] == [D(30)]
    assert order.status is S.CANCELED and order.filled_qty == D(30)
    assert order.events[-1].reason == "ioc: 20 of 50 unfilled on first bar"


def test_ioc_filling_fully_is_filled() -> None:
    broker, _, _ = make_broker()
    order = broker.submit(make_order("buy", 5, tif="ioc"))
    feed(broker, make_bar(100, 101, 99, 100))
    assert order.status is S.FILLED


def test_fok_fills_in_full() -> None:
    broker, _, _ = make_broker(participation=0.1)
    order = broker.submit(make_order("buy", 30, tif="fok"))
    feed(broker, make_bar(100, 101, 99, 100, volume=300))  # 30 allowed = 30 wanted
    assert order.status is S.FILLED


def test_fok_with_insufficient_volume_is_canceled_unfilled() -> None:
    broker, _, _ = make_broker(participation=0.1)
    order = broker.submit(make_order("buy", 31, tif="fok"))
    fills = feed(broker, make_bar(100, 101, 99, 100, volume=300))  # only 30 allowed
    assert fills == []
    assert order.status is S.CANCELED and order.filled_qty == 0
    assert order.events[-1].reason == "fok: 31 of 31 unfilled on first bar"


def test_fok_limit_not_reached_is_canceled() -> None:
    broker, _, _ = make_broker()
    order = broker.submit(make_order("buy", 1, tif="fok", **FAR))
    feed(broker, make_bar(100, 101, 99, 100))
    assert order.status is S.CANCELED


def test_ioc_stop_not_triggered_on_first_bar_is_canceled() -> None:
    broker, _, _ = make_broker()
    order = broker.submit(make_order("buy", 1, tif="ioc", type="stop", stop=110))
    feed(broker, make_bar(100, 101, 99, 100))
    assert order.status is S.CANCELED and not order.triggered
