"""SimulatedBroker: the Broker port, rejections, accounting and the engine's hot path."""

from __future__ import annotations

from decimal import Decimal

import pytest

from weaver.core import (
    Broker,
    InvalidOrder,
    Order,
    OrderSide,
    OrderStatus,
    WeaverError,
)
from weaver.sim import FillModel, PerOrder, PerShare, SimulatedBroker

from .builders import D, at, feed, make_bar, make_broker, make_order

S = OrderStatus


def test_implements_the_broker_port() -> None:
    broker, _, _ = make_broker()
    assert isinstance(broker, Broker)


# --- submit -------------------------------------------------------------------------------


def test_submit_accepts_and_queues_without_filling() -> None:
    broker, _, events = make_broker()
    order = broker.submit(make_order("buy", 10, client_order_id="a"))

    assert order.status is S.NEW
    assert broker.has_working("AAPL") and not broker.has_working("MSFT")
    assert set(broker.working_symbols) == {"AAPL"}
    assert broker.fills == []
    assert events == [("a", "OrderSubmitted"), ("a", "OrderAccepted")]


def test_submit_is_idempotent_by_client_order_id() -> None:
    broker, _, events = make_broker()
    first = broker.submit(make_order("buy", 10, client_order_id="a"))
    again = broker.submit(make_order("buy", 99, client_order_id="a"))

    assert again is first and again.qty == D(10)
    assert list(broker.orders) == ["a"]
    assert len(broker.open_orders()) == 1
    assert len(events) == 2


def test_orders_are_recorded_in_submission_order_including_rejections() -> None:
    broker, _, _ = make_broker()
    broker.submit(make_order("buy", 1, client_order_id="x"))
    broker.submit(make_order("buy", 1, symbol="NOPE", client_order_id="y"))
    broker.submit(make_order("sell", 1, client_order_id="z"))

    assert list(broker.orders) == ["x", "y", "z"]
    assert broker.get_order("y").status is S.REJECTED
    assert broker.get_order("missing") is None


def test_market_order_fills_at_next_bar_open_and_updates_the_account() -> None:
    broker, _, events = make_broker(cash=10_000)
    broker.submit(make_order("buy", 10, client_order_id="a"))

    fills = feed(broker, make_bar(101, 102, 100, 101.5))

    # 10 * 101 = 1010 -> cash 10,000 - 1,010 = 8,990
    assert [(f.qty, f.price, f.order_id) for f in fills] == [(D(10), D(101), "a")]
    assert broker.fills == fills
    assert broker.portfolio.cash == D(8990)
    assert broker.positions()["AAPL"].qty == D(10)
    assert broker.get_order("a").status is S.FILLED
    assert not broker.has_working("AAPL") and not broker.working_symbols
    assert events[-1] == ("a", "OrderFilled")


def test_fill_timestamp_is_the_bar_timestamp() -> None:
    broker, _, _ = make_broker()
    broker.submit(make_order("buy", 1))
    (fill,) = feed(broker, make_bar(100, 101, 99, 100, minute=7))
    assert fill.timestamp == at(7)


def test_fill_prices_are_exact_decimals() -> None:
    broker, _, _ = make_broker()
    broker.submit(make_order("buy", 3))
    (fill,) = feed(broker, make_bar(100.01, 101, 99, 100))
    assert fill.price == Decimal("100.01")


def test_commission_is_charged_on_the_fill_and_the_cash() -> None:
    broker, _, _ = make_broker(cash=10_000, commission=PerShare(0.01, minimum=1) + PerOrder(0.5))
    broker.submit(make_order("buy", 10))

    (fill,) = feed(broker, make_bar(100, 101, 99, 100))

    # per share 10 * 0.01 = 0.1 -> minimum 1 ; + 0.5 per order = 1.5
    assert fill.commission == D("1.5")
    assert broker.portfolio.cash == D("8998.5")  # 10,000 - 1,000 - 1.5


def test_float_commission_is_a_percent_of_notional() -> None:
    broker, _, _ = make_broker(commission=0.001)
    broker.submit(make_order("buy", 10))
    (fill,) = feed(broker, make_bar(100, 101, 99, 100))
    assert fill.commission == D(1)  # 10 * 100 * 0.001 = 1


def test_short_sale_credits_proceeds_without_margin() -> None:
    broker, _, _ = make_broker(cash=1_000)
    broker.submit(make_order("sell", 50))  # 50 * 100 = 5,000 > cash: allowed, no margin model

    feed(broker, make_bar(100, 101, 99, 100))

    assert broker.positions()["AAPL"].qty == D(-50)
    assert broker.portfolio.cash == D(6_000)  # 1,000 + 5,000


def test_orders_match_in_submission_order() -> None:
    broker, _, _ = make_broker()
    broker.submit(make_order("buy", 1, type="limit", limit=99, client_order_id="first"))
    broker.submit(make_order("buy", 1, client_order_id="second"))
    fills = feed(broker, make_bar(98, 100, 97, 99))
    assert [f.order_id for f in fills] == ["first", "second"]


# --- rejections ---------------------------------------------------------------------------


def _non_positive_qty_order() -> Order:
    try:
        return make_order("buy", 0, client_order_id="zero")
    except InvalidOrder:
        # The constructor refuses qty <= 0 today; an order can still reach the broker
        # with one (the dataclass is mutable), and the broker must reject it, not raise.
        order = make_order("buy", 1, client_order_id="zero")
        order.qty = D(0)
        return order


def test_reject_non_positive_qty() -> None:
    broker, _, events = make_broker()
    order = broker.submit(_non_positive_qty_order())

    assert order.status is S.REJECTED
    assert order.reject_reason == "qty 0 must be > 0"
    assert broker.get_order("zero") is order
    assert events == [("zero", "OrderRejected")]
    assert not broker.has_working("AAPL")


def test_reject_unknown_symbol() -> None:
    broker, _, _ = make_broker()
    order = broker.submit(make_order("buy", 1, symbol="TSLA"))
    assert order.status is S.REJECTED
    assert order.reject_reason == "unknown symbol 'TSLA' (known: AAPL, MSFT)"


def test_reject_fractional_qty_unless_enabled() -> None:
    broker, _, _ = make_broker()
    order = broker.submit(make_order("buy", "0.5"))
    assert order.status is S.REJECTED
    assert "fractional qty 0.5 not enabled" in order.reject_reason

    fractional, _, _ = make_broker(fractional=True)
    assert fractional.submit(make_order("buy", "0.5")).status is S.NEW


def test_reject_insufficient_cash_names_need_and_have() -> None:
    broker, ref, _ = make_broker(cash=10_000)
    ref.prices["AAPL"] = 123.4567
    order = broker.submit(make_order("buy", 100))
    # 100 * 123.4567 = 12,345.67
    assert order.status is S.REJECTED
    assert order.reject_reason.startswith("insufficient cash: need 12,345.67, have 10,000.00")


def test_insufficient_cash_counts_estimated_commission() -> None:
    broker, _, _ = make_broker(cash=10_000, commission=PerOrder(1))
    # 100 * 100 = 10,000 fits exactly, + 1 commission does not
    order = broker.submit(make_order("buy", 100))
    assert order.reject_reason.startswith("insufficient cash: need 10,001.00, have 10,000.00")


def test_insufficient_cash_counts_other_open_buys() -> None:
    broker, _, _ = make_broker(cash=10_000)
    assert broker.submit(make_order("buy", 60)).status is S.NEW  # reserves 6,000
    order = broker.submit(make_order("buy", 50))  # 5,000 > 4,000 left
    assert order.reject_reason.startswith("insufficient cash: need 5,000.00, have 4,000.00")


def test_buy_covering_a_short_needs_no_cash() -> None:
    broker, _, _ = make_broker(cash=0)
    broker.submit(make_order("sell", 10))
    feed(broker, make_bar(100, 100, 100, 100))  # short 10, cash 1,000
    broker.portfolio.cash = D(0)  # make the point: covering is not an opening buy
    assert broker.submit(make_order("buy", 10)).status is S.NEW
    assert broker.submit(make_order("buy", 1)).reject_reason.startswith(
        "insufficient cash: need 100.00, have 0.00"
    )


def test_reject_buy_without_a_reference_price() -> None:
    broker, ref, _ = make_broker()
    ref.prices["AAPL"] = float("nan")
    order = broker.submit(make_order("buy", 1))
    assert order.reject_reason == "no reference price for AAPL yet (price_of returned nan)"


def test_submitting_an_order_that_is_not_pending_raises() -> None:
    broker, _, _ = make_broker()
    other, _, _ = make_broker()
    order = other.submit(make_order("buy", 1, client_order_id="a"))
    with pytest.raises(WeaverError, match="'a' in status 'new'"):
        broker.submit(order)
    assert broker.orders == {}


def test_reject_short_when_not_allowed_counts_open_sells() -> None:
    broker, _, _ = make_broker(allow_short=False)
    broker.submit(make_order("buy", 10))
    feed(broker, make_bar(100, 100, 100, 100))  # long 10
    assert broker.submit(make_order("sell", 6)).status is S.NEW
    order = broker.submit(make_order("sell", 6))
    assert order.reject_reason == (
        "short selling not allowed: position 10, open sells 6, selling 6 would leave -2"
    )


def test_short_allowed_by_default() -> None:
    broker, _, _ = make_broker()
    assert broker.submit(make_order("sell", 5)).status is S.NEW


def test_gap_up_beyond_cash_reduces_the_buy_to_the_shares_cash_covers() -> None:
    # DESIGN §4: a market buy that no longer fits the cash at the fill is reduced, with the
    # reason recorded, never dropped. 90 at the last close 100 = 9,000 fits at submit; the
    # open gaps to 120, where 90 would cost 10,800 > 10,000: floor(10,000 / 120) = 83 fill.
    broker, _, events = make_broker(cash=10_000)
    broker.submit(make_order("buy", 90, client_order_id="a"))

    fills = feed(broker, make_bar(120, 121, 119, 120))

    order = broker.get_order("a")
    assert [(f.qty, f.price) for f in fills] == [(D(83), D(120))]
    assert broker.portfolio.cash == D(10_000) - D(83 * 120)
    assert order.status is S.CANCELED and order.filled_qty == D(83)
    assert events[-2:] == [("a", "OrderPartiallyFilled"), ("a", "OrderCanceled")]
    assert order.reason == (
        "insufficient cash at fill: reduced from 90 to 83 AAPL at 120.0 "
        "(90 would cost 10,800.00, cash 10,000.00)"
    )
    assert broker.refused == [order]
    assert not broker.has_working("AAPL")


@pytest.mark.parametrize(
    ("commission", "cash", "expected"),
    [
        (PerOrder(10), 10_000, 83),  # 83 * 120 + 10 = 9,970 <= 10,000
        (PerOrder(50), 10_000, 82),  # 83 * 120 + 50 = 10,010 > 10,000; 82 * 120 + 50 = 9,890
        (PerShare(D("0.5")), 10_000, 82),  # 83 * 120.5 = 10,001.5 > 10,000; 82 * 120.5 = 9,881
        (0.01, 10_000, 82),  # 1% of 83 * 120 = 99.6 -> 10,059.6 > 10,000; 82 -> 9,938.4
    ],
)
def test_the_reduced_buy_leaves_room_for_its_commission(commission: object, cash: int, expected: int) -> None:
    broker, _, _ = make_broker(cash=cash, commission=commission)
    broker.submit(make_order("buy", 90, client_order_id="a"))

    (fill,) = feed(broker, make_bar(120, 121, 119, 120))

    assert fill.qty == D(expected)
    assert broker.portfolio.cash >= 0
    cost_of_one_more = broker.commission.charge(D(0), D(0), D(expected + 1), D(120)) + D(expected + 1) * 120
    assert cost_of_one_more > D(cash)


def test_a_fractional_buy_is_reduced_to_the_cash_to_the_last_unit() -> None:
    broker, _, _ = make_broker(cash=10_000, fractional=True)
    broker.submit(make_order("buy", "90.5", client_order_id="a"))

    (fill,) = feed(broker, make_bar(120, 121, 119, 120))

    assert fill.qty == D("83.33333333")  # 10,000 / 120, down to 1e-8
    assert broker.portfolio.cash >= 0


def test_a_buy_cash_cannot_pay_one_share_of_is_canceled_with_the_reason() -> None:
    broker, ref, _ = make_broker(cash=100)
    ref.prices["AAPL"] = 90.0
    broker.submit(make_order("buy", 1, client_order_id="a"))

    fills = feed(broker, make_bar(120, 121, 119, 120))

    order = broker.get_order("a")
    assert fills == [] and broker.portfolio.cash == D(100)
    assert order.status is S.CANCELED and order.filled_qty == 0
    assert order.reason == (
        "insufficient cash at fill: 1 AAPL at 120.0 would cost 120.00, cash 100.00 pays for none"
    )
    assert broker.refused == [order]


def test_rejections_at_submit_are_listed_with_the_refused_orders() -> None:
    broker, _, _ = make_broker(cash=1_000)
    ok = broker.submit(make_order("buy", 1))
    refused = broker.submit(make_order("buy", 100))

    assert ok.status is S.NEW and refused.status is S.REJECTED
    assert broker.refused == [refused]


def test_a_fractional_rejection_says_how_to_allow_fractions() -> None:
    broker, _, _ = make_broker()
    order = broker.submit(make_order("buy", "2.5"))

    assert order.reject_reason == (
        "fractional qty 2.5 not enabled: run with fractional=True, e.g. wv.backtest(..., fractional=True)"
    )


# --- cancel, queries, account -------------------------------------------------------------


def test_cancel_stops_a_working_order() -> None:
    broker, _, events = make_broker()
    broker.submit(make_order("buy", 1, type="limit", limit=90, tif="gtc", client_order_id="a"))

    order = broker.cancel("a")

    assert order.status is S.CANCELED
    assert events[-1] == ("a", "OrderCanceled")
    assert not broker.has_working("AAPL") and broker.open_orders() == []


def test_cancel_of_a_finished_order_changes_nothing() -> None:
    broker, _, events = make_broker()
    broker.submit(make_order("buy", 1, client_order_id="a"))
    feed(broker, make_bar(100, 100, 100, 100))
    count = len(events)
    assert broker.cancel("a").status is S.FILLED
    assert len(events) == count


def test_cancel_unknown_raises_naming_the_id() -> None:
    broker, _, _ = make_broker()
    with pytest.raises(KeyError, match="'nope'"):
        broker.cancel("nope")


def test_open_orders_by_symbol() -> None:
    broker, _, _ = make_broker()
    broker.submit(make_order("buy", 1, client_order_id="a"))
    broker.submit(make_order("buy", 1, symbol="MSFT", client_order_id="m"))
    assert [o.client_order_id for o in broker.open_orders()] == ["a", "m"]
    assert [o.client_order_id for o in broker.open_orders("MSFT")] == ["m"]
    assert broker.open_orders("GOOG") == []


def test_account_cash_equity_and_buying_power() -> None:
    broker, ref, _ = make_broker(cash=10_000)
    broker.submit(make_order("buy", 10))
    feed(broker, make_bar(100, 100, 100, 100))  # cash 9,000, long 10
    ref.prices["AAPL"] = 110.0
    broker.submit(make_order("buy", 5, type="limit", limit=105))  # reserves 5 * 110 = 550

    account = broker.account()

    assert account.cash == D(9_000)
    assert account.equity == D(10_100)  # 9,000 + 10 * 110
    assert account.buying_power == D(8_450)  # 9,000 - 550


# --- handlers -----------------------------------------------------------------------------


def test_handlers_receive_every_event_in_order() -> None:
    broker, _, events = make_broker(participation=0.1)
    broker.submit(make_order("buy", 15, client_order_id="a"))
    feed(broker, make_bar(100, 100, 100, 100, volume=100))  # 10 of 15
    feed(broker, make_bar(100, 100, 100, 100, volume=100, minute=2))  # last 5

    assert events == [
        ("a", "OrderSubmitted"),
        ("a", "OrderAccepted"),
        ("a", "OrderPartiallyFilled"),
        ("a", "OrderFilled"),
    ]
    assert [type(e).__name__ for e in broker.get_order("a").events] == [e for _, e in events]


def test_handler_sees_the_order_already_updated() -> None:
    broker, _, _ = make_broker()
    seen = []
    broker.on_update(lambda order, event: seen.append(order.status))
    broker.submit(make_order("buy", 1))
    assert seen == [S.SUBMITTED, S.NEW]


def test_order_canceled_by_a_handler_on_submit_is_not_queued() -> None:
    broker, _, events = make_broker()
    broker.on_update(
        lambda order, event: type(event).__name__ == "OrderSubmitted"
        and broker.cancel(order.client_order_id)
    )
    order = broker.submit(make_order("buy", 1, client_order_id="a"))
    assert order.status is S.CANCELED
    assert events == [("a", "OrderSubmitted"), ("a", "OrderCanceled")]
    assert not broker.has_working("AAPL")


def test_order_submitted_by_a_handler_during_a_bar_waits_for_the_next_bar() -> None:
    broker, _, _ = make_broker()

    def on_fill(order, event):
        if type(event).__name__ == "OrderFilled" and order.client_order_id == "entry":
            broker.submit(make_order("sell", 1, client_order_id="exit"))

    broker.on_update(on_fill)
    broker.submit(make_order("buy", 1, client_order_id="entry"))

    first = feed(broker, make_bar(100, 101, 99, 100))
    second = feed(broker, make_bar(105, 106, 104, 105, minute=2))

    assert [f.order_id for f in first] == ["entry"]
    assert [(f.order_id, f.price) for f in second] == [("exit", D(105))]


def test_an_order_a_handler_puts_in_place_of_a_canceled_one_keeps_working() -> None:
    # the handler submits a replacement, then cancels the rest of the partly filled order:
    # the symbol's queue holds one order again, the new one, which must stay
    broker, _, _ = make_broker(participation=0.5)

    def replace(order, event):
        if order.client_order_id == "big" and type(event).__name__ == "OrderPartiallyFilled":
            broker.submit(make_order("buy", 1, client_order_id="small"))
            broker.cancel("big")

    broker.on_update(replace)
    broker.submit(make_order("buy", 100, client_order_id="big"))

    first = feed(broker, make_bar(100, 101, 99, 100, volume=10))
    second = feed(broker, make_bar(102, 103, 101, 102, volume=10, minute=2))

    assert [(f.order_id, f.qty) for f in first] == [("big", D(5))]
    assert [(f.order_id, f.qty) for f in second] == [("small", D(1))]
    assert broker.get_order("big").status is S.CANCELED


def test_order_canceled_by_a_handler_mid_bar_does_not_fill() -> None:
    broker, _, _ = make_broker()

    def cancel_second(order, event):
        if order.client_order_id == "first" and type(event).__name__ == "OrderFilled":
            broker.cancel("second")

    broker.on_update(cancel_second)
    broker.submit(make_order("buy", 1, client_order_id="first"))
    broker.submit(make_order("buy", 1, client_order_id="second"))

    fills = feed(broker, make_bar(100, 101, 99, 100))

    assert [f.order_id for f in fills] == ["first"]
    assert broker.get_order("second").status is S.CANCELED
    assert not broker.has_working("AAPL")


# --- construction -------------------------------------------------------------------------


def test_participation_out_of_range_is_refused() -> None:
    with pytest.raises(ValueError, match="1.5"):
        make_broker(participation=1.5)


def test_slippage_with_a_custom_fill_model_is_refused() -> None:
    with pytest.raises(ValueError, match="fill model"):
        make_broker(fill_model=FillModel(), slippage=5)


def test_slippage_applies_through_the_broker() -> None:
    broker, _, _ = make_broker(slippage=10)
    broker.submit(make_order("buy", 1))
    broker.submit(make_order("sell", 1))
    buy, sell = feed(broker, make_bar(100, 101, 99, 100))
    assert (buy.price, sell.price) == (D("100.1"), D("99.9"))  # 10 bps of 100 = 0.1


def test_engine_can_iterate_working_symbols_while_processing() -> None:
    broker, _, _ = make_broker()
    broker.submit(make_order("buy", 1, symbol="AAPL"))
    broker.submit(make_order("buy", 1, symbol="MSFT"))
    bar = make_bar(100, 100, 100, 100)

    for symbol in broker.working_symbols:  # each fill retires its symbol
        broker.process_bar(symbol, bar.ts, 100, 100, 100, 100, 1e6)

    assert broker.working_symbols == frozenset() and len(broker.fills) == 2


def test_numpy_scalars_from_the_engine_are_accepted() -> None:
    import numpy as np

    broker, _, _ = make_broker(participation=0.1, slippage=1)
    broker.submit(make_order("buy", 5))
    o, h, low, c, v = np.array([100.01, 101.0, 99.0, 100.5, 1000.0])

    (fill,) = broker.process_bar("AAPL", at(1), o, h, low, c, v)

    assert fill.qty == D(5)
    assert fill.price == Decimal(repr(100.01 * 1.0001))  # 1 bp on 100.01, to the float's last bit


def test_process_bar_without_working_orders_returns_nothing() -> None:
    broker, _, _ = make_broker()
    assert broker.process_bar("AAPL", at(1), 1, 1, 1, 1, 1) == []


def test_side_is_an_enum_on_fills() -> None:
    broker, _, _ = make_broker()
    broker.submit(make_order("sell", 1))
    (fill,) = feed(broker, make_bar(100, 100, 100, 100))
    assert fill.side is OrderSide.SELL


def test_constructor_takes_keyword_only_options() -> None:
    with pytest.raises(TypeError):
        SimulatedBroker(None, ("AAPL",))  # type: ignore[misc, arg-type]
