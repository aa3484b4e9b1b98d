"""Tests for the order lifecycle: the transition table, fills and replay."""

from __future__ import annotations

import copy
import pickle
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from weaver.core import (
    TRANSITIONS,
    InvalidOrder,
    InvalidTransition,
    Order,
    OrderAccepted,
    OrderCanceled,
    OrderEvent,
    OrderExpired,
    OrderFilled,
    OrderPartiallyFilled,
    OrderRejected,
    OrderSide,
    OrderStatus,
    OrderSubmitted,
    OrderType,
    TimeInForce,
)

T0 = datetime(2024, 1, 2, 14, 30, tzinfo=timezone.utc)
S = OrderStatus


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def make_order(**overrides: object) -> Order:
    fields: dict[str, object] = dict(
        symbol="AAPL", side=OrderSide.BUY, qty=Decimal("10"), client_order_id="abc",
    )
    fields.update(overrides)
    return Order(**fields)  # type: ignore[arg-type]


def make_event(event_type: type[OrderEvent], qty: str = "10") -> OrderEvent:
    """Build an event of any type; fills carry ``qty`` at price 100."""
    if event_type in (OrderFilled, OrderPartiallyFilled):
        return event_type(T0, Decimal(qty), Decimal("100"))  # type: ignore[call-arg]
    if event_type is OrderRejected:
        return OrderRejected(T0, "no buying power")
    return event_type(T0)


PATH_TO: dict[OrderStatus, list[type[OrderEvent]]] = {
    S.PENDING: [],
    S.SUBMITTED: [OrderSubmitted],
    S.ACCEPTED: [OrderSubmitted, OrderAccepted],
    S.PARTIALLY_FILLED: [OrderSubmitted, OrderAccepted, OrderPartiallyFilled],
    S.FILLED: [OrderSubmitted, OrderFilled],
    S.CANCELLED: [OrderSubmitted, OrderCanceled],
    S.REJECTED: [OrderRejected],
    S.EXPIRED: [OrderSubmitted, OrderAccepted, OrderExpired],
}


def order_in(status: OrderStatus) -> Order:
    order = make_order()
    for event_type in PATH_TO[status]:
        order.apply(fitting_event(order, event_type))
    assert order.status is status
    return order


def fitting_event(order: Order, event_type: type[OrderEvent]) -> OrderEvent:
    """Build an event whose fill quantity is legal for ``order``."""
    if event_type is OrderFilled:
        return make_event(event_type, qty=str(order.remaining_qty or 1))
    if event_type is OrderPartiallyFilled:
        return make_event(event_type, qty="1")
    return make_event(event_type)


# --- the table --------------------------------------------------------------------

EXPECTED_TABLE = {
    (S.PENDING, OrderSubmitted): S.SUBMITTED,
    (S.PENDING, OrderRejected): S.REJECTED,
    (S.SUBMITTED, OrderAccepted): S.ACCEPTED,
    (S.SUBMITTED, OrderRejected): S.REJECTED,
    (S.SUBMITTED, OrderCanceled): S.CANCELLED,
    (S.SUBMITTED, OrderPartiallyFilled): S.PARTIALLY_FILLED,
    (S.SUBMITTED, OrderFilled): S.FILLED,
    (S.ACCEPTED, OrderPartiallyFilled): S.PARTIALLY_FILLED,
    (S.ACCEPTED, OrderFilled): S.FILLED,
    (S.ACCEPTED, OrderCanceled): S.CANCELLED,
    (S.ACCEPTED, OrderExpired): S.EXPIRED,
    (S.PARTIALLY_FILLED, OrderPartiallyFilled): S.PARTIALLY_FILLED,
    (S.PARTIALLY_FILLED, OrderFilled): S.FILLED,
    (S.PARTIALLY_FILLED, OrderCanceled): S.CANCELLED,
    (S.PARTIALLY_FILLED, OrderExpired): S.EXPIRED,
}
EVENT_TYPES = [
    OrderSubmitted, OrderAccepted, OrderPartiallyFilled, OrderFilled,
    OrderCanceled, OrderRejected, OrderExpired,
]


def test_table_is_exactly_the_documented_lifecycle() -> None:
    assert dict(TRANSITIONS) == EXPECTED_TABLE


def test_table_is_immutable() -> None:
    with pytest.raises(TypeError):
        TRANSITIONS[(S.FILLED, OrderCanceled)] = S.CANCELLED  # type: ignore[index]


@pytest.mark.parametrize(("key", "target"), list(EXPECTED_TABLE.items()))
def test_every_legal_transition(
    key: tuple[OrderStatus, type[OrderEvent]], target: OrderStatus
) -> None:
    status, event_type = key
    order = order_in(status)
    event = fitting_event(order, event_type)

    result = order.apply(event)

    assert result is order
    assert order.status is target
    assert order.events[-1] == event  # kept as a record, made again: the same fact


ILLEGAL = [
    (status, event_type)
    for status in OrderStatus
    for event_type in EVENT_TYPES
    if (status, event_type) not in EXPECTED_TABLE
]


@pytest.mark.parametrize(("status", "event_type"), ILLEGAL)
def test_every_illegal_transition_raises_and_changes_nothing(
    status: OrderStatus, event_type: type[OrderEvent]
) -> None:
    order = order_in(status)
    before = copy.deepcopy(order)
    event = fitting_event(order, event_type)

    with pytest.raises(InvalidTransition) as info:
        order.apply(event)

    assert info.value.status is status
    assert info.value.event is event
    assert f"cannot apply {event_type.__name__}" in str(info.value)
    assert f"status '{status.value}'" in str(info.value)
    assert "(order abc)" in str(info.value)
    assert order == before


def test_message_example_from_the_spec() -> None:
    order = order_in(S.CANCELLED)
    with pytest.raises(InvalidTransition) as info:
        order.apply(OrderFilled(T0, Decimal(10), Decimal(100)))
    assert str(info.value) == (
        "cannot apply OrderFilled to an order in status 'cancelled' (order abc)"
    )


@pytest.mark.parametrize("status", [s for s in OrderStatus if s.is_terminal])
def test_terminal_states_accept_nothing(status: OrderStatus) -> None:
    assert not [k for k in TRANSITIONS if k[0] is status]
    order = order_in(status)
    for event_type in EVENT_TYPES:
        with pytest.raises(InvalidTransition):
            order.apply(make_event(event_type, qty="1"))


# --- fills ------------------------------------------------------------------------


def test_partial_fills_accumulate_and_average() -> None:
    order = make_order(qty=Decimal("10"))
    order.apply(OrderSubmitted(at(0)))

    order.apply(OrderPartiallyFilled(at(1), Decimal("2"), Decimal("100")))
    order.apply(OrderPartiallyFilled(at(2), Decimal("3"), Decimal("110")))

    assert order.status is S.PARTIALLY_FILLED
    assert order.filled_qty == Decimal("5")
    assert order.remaining_qty == Decimal("5")
    assert order.avg_fill_price == Decimal("106")  # (2*100 + 3*110) / 5
    assert order.is_open and not order.is_terminal

    order.apply(OrderFilled(at(3), Decimal("5"), Decimal("94")))

    assert order.status is S.FILLED
    assert order.filled_qty == Decimal("10")
    assert order.remaining_qty == 0
    assert order.avg_fill_price == Decimal("100")  # (530 + 470) / 10
    assert order.filled_at == at(3)
    assert order.is_terminal and not order.is_open


def test_overfill_is_refused() -> None:
    order = order_in(S.ACCEPTED)
    order.apply(OrderPartiallyFilled(T0, Decimal("4"), Decimal("100")))

    with pytest.raises(InvalidTransition, match="exceeds remaining qty 6"):
        order.apply(OrderPartiallyFilled(T0, Decimal("7"), Decimal("100")))
    with pytest.raises(InvalidTransition, match="exceeds remaining qty 6"):
        order.apply(OrderFilled(T0, Decimal("7"), Decimal("100")))
    assert order.filled_qty == Decimal("4")


def test_filled_must_complete_the_order() -> None:
    order = order_in(S.ACCEPTED)
    with pytest.raises(InvalidTransition, match="leaves 4 unfilled"):
        order.apply(OrderFilled(T0, Decimal("6"), Decimal("100")))
    assert order.status is S.ACCEPTED and order.filled_qty == 0


def test_partially_filled_must_not_complete_the_order() -> None:
    order = order_in(S.ACCEPTED)
    with pytest.raises(InvalidTransition, match="completes the order"):
        order.apply(OrderPartiallyFilled(T0, Decimal("10"), Decimal("100")))
    assert order.status is S.ACCEPTED


@pytest.mark.parametrize(
    ("qty", "price"), [("0", "100"), ("-1", "100"), ("1", "0"), ("1", "-5")]
)
def test_fill_events_validate_qty_and_price(qty: str, price: str) -> None:
    with pytest.raises(ValueError):
        OrderFilled(T0, Decimal(qty), Decimal(price))


def test_events_need_aware_timestamps() -> None:
    with pytest.raises(ValueError, match="naive"):
        OrderSubmitted(datetime(2024, 1, 2))


# --- side effects of events --------------------------------------------------------


def test_timestamps_and_reasons_are_recorded() -> None:
    order = make_order()
    order.apply(OrderSubmitted(at(0)))
    order.apply(OrderCanceled(at(5), "user request"))

    assert order.submitted_at == at(0)
    assert order.canceled_at == at(5)
    assert order.filled_at is None

    rejected = make_order()
    rejected.apply(OrderRejected(at(1), "insufficient buying power"))
    assert rejected.reject_reason == "insufficient buying power"
    assert rejected.status is S.REJECTED


def test_reason_says_why_an_order_ended_without_filling_in_full() -> None:
    rejected = make_order().apply(OrderRejected(at(1), "insufficient buying power"))
    canceled = make_order().apply(OrderSubmitted(at(0))).apply(OrderCanceled(at(5), "canceled by request"))
    expired = make_order().apply(OrderSubmitted(at(0))).apply(OrderAccepted(at(0))).apply(
        OrderExpired(at(9), "day order unfilled at the session's end"))
    silent = make_order().apply(OrderSubmitted(at(0))).apply(OrderAccepted(at(0))).apply(OrderExpired(at(9)))
    filled = make_order().apply(OrderSubmitted(at(0))).apply(OrderFilled(at(1), Decimal(10), Decimal(100)))

    assert rejected.reason == "insufficient buying power"
    assert canceled.reason == "canceled by request"
    assert expired.reason == "day order unfilled at the session's end"
    assert silent.reason == "expired"  # a venue that gives no reason: the status says it
    assert filled.reason is None and make_order().reason is None


# --- construction -------------------------------------------------------------------


def test_defaults() -> None:
    order = Order("AAPL", OrderSide.BUY, Decimal("1"))

    assert order.type is OrderType.MARKET
    assert order.tif is TimeInForce.DAY
    assert order.status is S.PENDING
    assert order.filled_qty == 0
    assert order.avg_fill_price is None
    assert order.events == []
    assert len(order.client_order_id) == 32
    assert order.client_order_id != Order("AAPL", OrderSide.BUY, Decimal("1")).client_order_id


def test_constructor_coerces_plain_values() -> None:
    order = Order(
        "AAPL", "sell", 5, type="limit", limit_price="101.5", tif="gtc",  # type: ignore[arg-type]
    )

    assert order.side is OrderSide.SELL
    assert order.qty == Decimal("5") and type(order.qty) is Decimal
    assert order.type is OrderType.LIMIT
    assert order.limit_price == Decimal("101.5")
    assert order.tif is TimeInForce.GTC


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"qty": "many"}, "qty must be a number, got 'many'"),
        ({"type": OrderType.LIMIT}, "limit_price"),
        ({"type": OrderType.STOP}, "stop_price"),
        ({"type": OrderType.STOP_LIMIT, "stop_price": Decimal(1)}, "limit_price"),
        ({"type": OrderType.STOP_LIMIT, "limit_price": Decimal(1)}, "stop_price"),
        ({"limit_price": Decimal("100")}, "market order must not have limit_price 100"),
        ({"stop_price": Decimal("90")}, "market order must not have stop_price 90"),
        ({"type": OrderType.LIMIT, "limit_price": Decimal("-1")}, "limit_price -1"),
        ({"side": "hold"}, "side 'hold'"),
        ({"symbol": ""}, "symbol"),
    ],
)
def test_invalid_orders_name_the_field_and_value(
    overrides: dict[str, object], fragment: str
) -> None:
    with pytest.raises(InvalidOrder, match=fragment.replace("[", r"\[")):
        make_order(**overrides)


def test_invalid_order_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        make_order(type=OrderType.LIMIT)


@pytest.mark.parametrize("qty", [Decimal(0), Decimal(-3)])
def test_order_without_positive_qty_exists_to_be_rejected_but_never_fills(qty: Decimal) -> None:
    order = make_order(qty=qty)
    order.apply(OrderRejected(T0, reason=f"qty must be > 0, got {qty}"))
    assert order.status is S.REJECTED

    other = make_order(qty=qty)
    other.apply(OrderSubmitted(T0))
    other.apply(OrderAccepted(T0))
    with pytest.raises(InvalidTransition, match="exceeds remaining"):
        other.apply(OrderFilled(T0, qty=Decimal(1), price=Decimal(10)))
    assert other.filled_qty == 0


def test_mark_triggered_only_for_working_stop_orders() -> None:
    stop = make_order(type=OrderType.STOP, stop_price=Decimal("90"))
    stop.apply(OrderSubmitted(T0))

    stop.mark_triggered()

    assert stop.triggered and stop.status is S.SUBMITTED
    with pytest.raises(InvalidOrder, match="market"):
        make_order().mark_triggered()


# --- replay -------------------------------------------------------------------------


def test_replay_rebuilds_state() -> None:
    order = make_order(type=OrderType.LIMIT, limit_price=Decimal("101"), tag="entry")
    for event in [
        OrderSubmitted(at(0)),
        OrderAccepted(at(1)),
        OrderPartiallyFilled(at(2), Decimal("3"), Decimal("101")),
        OrderPartiallyFilled(at(3), Decimal("3"), Decimal("100.5")),
        OrderCanceled(at(4), "eod"),
    ]:
        order.apply(event)

    rebuilt = Order.replay(order)

    assert rebuilt == order
    assert rebuilt is not order
    assert rebuilt.events is not order.events


def test_replay_with_explicit_events_starts_from_the_intent() -> None:
    order = order_in(S.PARTIALLY_FILLED)

    fresh = order.replay([])

    assert fresh.status is S.PENDING
    assert fresh.filled_qty == 0
    assert fresh.client_order_id == order.client_order_id
    assert order.replay(order.events[:1]).status is S.SUBMITTED


def test_invalid_transition_pickles() -> None:
    err = InvalidTransition(S.FILLED, OrderCanceled(T0), "abc", "too late")
    clone = pickle.loads(pickle.dumps(err))
    assert str(clone) == str(err)
    assert clone.status is S.FILLED and clone.event == err.event
