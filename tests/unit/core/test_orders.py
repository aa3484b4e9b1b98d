"""Tests for the order lifecycle: the transition table, fills and replay."""

from __future__ import annotations

import copy
import pickle
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from weaver.core import (
    IGNORED,
    TRANSITIONS,
    InvalidOrder,
    InvalidTransition,
    Order,
    OrderAccepted,
    OrderCanceled,
    OrderCancelRequested,
    OrderEvent,
    OrderExpired,
    OrderFilled,
    OrderPartiallyFilled,
    OrderRejected,
    OrderReplaced,
    OrderSide,
    OrderStatus,
    OrderSubmitted,
    OrderTriggered,
    OrderType,
    TimeInForce,
)
from weaver.core.errors import DataError

T0 = datetime(2024, 1, 2, 14, 30, tzinfo=timezone.utc)
S = OrderStatus
ID = "abc"


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def make_order(**overrides: object) -> Order:
    fields: dict[str, object] = dict(
        symbol="AAPL", side=OrderSide.BUY, qty=Decimal("10"), client_order_id=ID,
    )
    fields.update(overrides)
    return Order(**fields)  # type: ignore[arg-type]


_EXECS = iter(range(1, 10**9))


def make_event(event_type: type[OrderEvent], qty: str = "10", when: datetime = T0) -> OrderEvent:
    """Build an event of any type for order ``abc``; fills carry ``qty`` at price 100, each its own execution."""
    if event_type in (OrderFilled, OrderPartiallyFilled):
        return event_type(ID, when, f"x{next(_EXECS)}", Decimal(qty), Decimal("100"))  # type: ignore[call-arg]
    if event_type is OrderRejected:
        return OrderRejected(ID, when, "no buying power")
    return event_type(ID, when)


PATH_TO: dict[OrderStatus, list[type[OrderEvent]]] = {
    S.PENDING: [],
    S.SUBMITTED: [OrderSubmitted],
    S.NEW: [OrderSubmitted, OrderAccepted],
    S.PARTIALLY_FILLED: [OrderSubmitted, OrderAccepted, OrderPartiallyFilled],
    S.FILLED: [OrderSubmitted, OrderFilled],
    S.PENDING_CANCEL: [OrderSubmitted, OrderAccepted, OrderCancelRequested],
    S.CANCELED: [OrderSubmitted, OrderCanceled],
    S.REJECTED: [OrderRejected],
    S.EXPIRED: [OrderSubmitted, OrderAccepted, OrderExpired],
    S.REPLACED: [OrderSubmitted, OrderAccepted, OrderReplaced],
}


def order_in(status: OrderStatus) -> Order:
    order = make_order()
    for event_type in PATH_TO[status]:
        order.apply(fitting_event(order, event_type))
    assert order.status is status
    return order


def fitting_event(order: Order, event_type: type[OrderEvent]) -> OrderEvent:
    """Build an event whose fill quantity is legal for ``order``: OrderFilled completes it, OrderPartiallyFilled does not."""
    if event_type is OrderFilled:
        return make_event(event_type, qty=str(order.remaining_qty or 1))
    if event_type is OrderPartiallyFilled:
        return make_event(event_type, qty="1")
    return make_event(event_type)


# --- the table --------------------------------------------------------------------

WORKING = [S.SUBMITTED, S.NEW, S.PARTIALLY_FILLED, S.PENDING_CANCEL]
DONE = [S.FILLED, S.CANCELED, S.EXPIRED, S.REJECTED, S.REPLACED]
EXPECTED_TABLE = {
    (S.PENDING, OrderSubmitted): S.SUBMITTED,
    (S.PENDING, OrderRejected): S.REJECTED,
    (S.PENDING, OrderCanceled): S.CANCELED,
    (S.PENDING, OrderAccepted): S.NEW,
    (S.PENDING, OrderPartiallyFilled): S.PARTIALLY_FILLED,
    (S.PENDING, OrderFilled): S.FILLED,
    (S.SUBMITTED, OrderAccepted): S.NEW,
    (S.SUBMITTED, OrderRejected): S.REJECTED,
    (S.NEW, OrderRejected): S.REJECTED,
    (S.SUBMITTED, OrderPartiallyFilled): S.PARTIALLY_FILLED,
    (S.NEW, OrderPartiallyFilled): S.PARTIALLY_FILLED,
    (S.PARTIALLY_FILLED, OrderPartiallyFilled): S.PARTIALLY_FILLED,
    (S.PENDING_CANCEL, OrderPartiallyFilled): S.PENDING_CANCEL,
    (S.CANCELED, OrderPartiallyFilled): S.CANCELED,
    (S.EXPIRED, OrderPartiallyFilled): S.EXPIRED,
    (S.REPLACED, OrderPartiallyFilled): S.REPLACED,
    **{(s, OrderFilled): S.FILLED for s in [*WORKING, S.CANCELED, S.EXPIRED, S.REPLACED]},
    **{(s, OrderTriggered): s for s in WORKING},
    (S.SUBMITTED, OrderCancelRequested): S.PENDING_CANCEL,
    (S.NEW, OrderCancelRequested): S.PENDING_CANCEL,
    (S.PARTIALLY_FILLED, OrderCancelRequested): S.PENDING_CANCEL,
    **{(s, OrderCanceled): S.CANCELED for s in WORKING},
    **{(s, OrderExpired): S.EXPIRED for s in WORKING},
    **{(s, OrderReplaced): S.REPLACED for s in WORKING},
}
EXPECTED_IGNORED = {
    *((s, OrderSubmitted) for s in OrderStatus if s is not S.PENDING),
    *((s, OrderAccepted) for s in [S.NEW, S.PARTIALLY_FILLED, S.PENDING_CANCEL, *DONE]),
    *((s, OrderTriggered) for s in DONE),
    *((s, OrderCancelRequested) for s in [S.PENDING_CANCEL, *DONE]),
    *((s, kind) for s in DONE for kind in (OrderCanceled, OrderExpired, OrderRejected, OrderReplaced)),
}
EVENT_TYPES = [
    OrderSubmitted, OrderAccepted, OrderTriggered, OrderPartiallyFilled, OrderFilled, OrderCancelRequested,
    OrderCanceled, OrderExpired, OrderRejected, OrderReplaced,
]


def test_table_is_exactly_the_documented_lifecycle() -> None:
    assert dict(TRANSITIONS) == EXPECTED_TABLE
    assert set(IGNORED) == EXPECTED_IGNORED
    assert not set(TRANSITIONS) & set(IGNORED)


def test_table_is_immutable() -> None:
    with pytest.raises(TypeError):
        TRANSITIONS[(S.FILLED, OrderCanceled)] = S.CANCELED  # type: ignore[index]


def test_events_are_named_as_the_event_log_names_them() -> None:
    assert [kind.event_type for kind in EVENT_TYPES] == [
        "order.submitted", "order.accepted", "order.triggered", "order.partially_filled", "order.filled",
        "order.cancel_requested", "order.canceled", "order.expired", "order.rejected", "order.replaced",
    ]


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


@pytest.mark.parametrize(("status", "event_type"), sorted(EXPECTED_IGNORED, key=str))
def test_stale_news_changes_nothing_and_is_not_recorded(status: OrderStatus, event_type: type[OrderEvent]) -> None:
    order = order_in(status)
    before = copy.deepcopy(order)

    order.apply(fitting_event(order, event_type))

    assert order == before


ILLEGAL = [
    (status, event_type)
    for status in OrderStatus
    for event_type in EVENT_TYPES
    if (status, event_type) not in EXPECTED_TABLE and (status, event_type) not in EXPECTED_IGNORED
    and not (status is S.FILLED and event_type in (OrderFilled, OrderPartiallyFilled))  # an overfill, below
]


def test_what_is_illegal() -> None:
    # contradictions, not news: a venue cannot trigger, expire, replace or cancel-request an order
    # never sent, fill an order it rejected, or reject one it has filled in part
    assert set(ILLEGAL) == {
        *((S.PENDING, kind) for kind in (OrderTriggered, OrderCancelRequested, OrderExpired, OrderReplaced)),
        (S.REJECTED, OrderPartiallyFilled), (S.REJECTED, OrderFilled),
        (S.PARTIALLY_FILLED, OrderRejected), (S.PENDING_CANCEL, OrderRejected),
    }


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
    order = order_in(S.PENDING)
    with pytest.raises(InvalidTransition) as info:
        order.apply(OrderExpired(ID, T0))
    assert str(info.value) == "cannot apply OrderExpired to an order in status 'pending' (order abc)"


def test_an_event_of_another_order_is_refused() -> None:
    order = order_in(S.NEW)
    with pytest.raises(InvalidTransition, match="the event is for order 'xyz'"):
        order.apply(OrderCanceled("xyz", T0))
    assert order.status is S.NEW


@pytest.mark.parametrize("status", [s for s in OrderStatus if s.is_terminal])
def test_terminal_states_only_take_a_late_fill(status: OrderStatus) -> None:
    moves = {k: v for k, v in TRANSITIONS.items() if k[0] is status}
    if status in (S.FILLED, S.REJECTED):
        assert not moves
    else:  # a fill from before the end, reported after it
        assert moves == {(status, OrderPartiallyFilled): status, (status, OrderFilled): S.FILLED}


# --- fills ------------------------------------------------------------------------


def fill(kind: type[OrderEvent], exec_id: str, qty: str, price: str = "100", when: datetime = T0) -> OrderEvent:
    return kind(ID, when, exec_id, Decimal(qty), Decimal(price))  # type: ignore[call-arg]


def test_partial_fills_accumulate_and_average() -> None:
    order = make_order(qty=Decimal("10"))
    order.apply(OrderSubmitted(ID, at(0)))

    order.apply(fill(OrderPartiallyFilled, "e1", "2", "100", at(1)))
    order.apply(fill(OrderPartiallyFilled, "e2", "3", "110", at(2)))

    assert order.status is S.PARTIALLY_FILLED
    assert order.filled_qty == Decimal("5")
    assert order.remaining_qty == Decimal("5")
    assert order.avg_fill_price == Decimal("106")  # (2*100 + 3*110) / 5
    assert order.is_open and not order.is_terminal

    order.apply(fill(OrderFilled, "e3", "5", "94", at(3)))

    assert order.status is S.FILLED
    assert order.filled_qty == Decimal("10")
    assert order.remaining_qty == 0
    assert order.avg_fill_price == Decimal("100")  # (530 + 470) / 10
    assert order.filled_at == at(3)
    assert order.is_terminal and not order.is_open
    assert order.exec_ids == ["e1", "e2", "e3"]


def test_the_same_execution_twice_counts_once() -> None:
    order = order_in(S.NEW)
    order.apply(fill(OrderPartiallyFilled, "e1", "4"))
    before = copy.deepcopy(order)

    order.apply(fill(OrderPartiallyFilled, "e1", "4"))
    order.apply(fill(OrderFilled, "e1", "4"))  # the same execution, however it is called

    assert order == before and order.filled_qty == 4


def test_the_same_execution_with_other_numbers_is_refused() -> None:
    order = order_in(S.NEW)
    order.apply(fill(OrderPartiallyFilled, "e1", "4"))

    with pytest.raises(InvalidTransition, match="execution 'e1' was applied before as 4 at 100, now reported as 5"):
        order.apply(fill(OrderPartiallyFilled, "e1", "5"))
    assert order.filled_qty == 4


def test_a_fill_moves_the_order_by_what_it_does_not_what_it_is_called() -> None:
    # the venue's final fill can overtake an earlier partial one
    order = order_in(S.NEW)
    order.apply(fill(OrderFilled, "last", "6"))
    assert order.status is S.PARTIALLY_FILLED and order.filled_qty == 6

    order.apply(fill(OrderPartiallyFilled, "first", "4"))
    assert order.status is S.FILLED and order.filled_qty == 10


def test_fills_after_a_cancel_request_count_and_keep_it_pending() -> None:
    order = order_in(S.NEW)
    order.apply(OrderCancelRequested(ID, at(1)))
    order.apply(fill(OrderPartiallyFilled, "e1", "4", when=at(2)))

    assert order.status is S.PENDING_CANCEL and order.filled_qty == 4 and order.is_open

    order.apply(OrderCanceled(ID, at(3), "canceled by request"))
    assert order.status is S.CANCELED and order.reason == "canceled by request"


def test_a_late_fill_after_the_end_counts_and_keeps_the_end() -> None:
    order = order_in(S.NEW)
    order.apply(OrderCanceled(ID, at(3), "user"))
    order.apply(fill(OrderPartiallyFilled, "e1", "4", when=at(2)))

    assert order.status is S.CANCELED and order.filled_qty == 4
    assert order.reason == "user"  # the event that ended it, not the late fill


def test_fills_that_complete_a_canceled_order_fill_it() -> None:
    order = order_in(S.NEW)
    order.apply(OrderCanceled(ID, at(3)))
    order.apply(fill(OrderFilled, "e1", "10", when=at(2)))

    assert order.status is S.FILLED


def test_a_fill_before_the_acknowledgement() -> None:
    order = order_in(S.SUBMITTED)
    order.apply(fill(OrderPartiallyFilled, "e1", "4"))
    order.apply(OrderAccepted(ID, T0))  # overtaken: changes nothing

    assert order.status is S.PARTIALLY_FILLED and len(order.events) == 2


def test_overfill_is_refused() -> None:
    order = order_in(S.NEW)
    order.apply(fill(OrderPartiallyFilled, "e1", "4"))

    with pytest.raises(InvalidTransition, match="exceeds remaining qty 6"):
        order.apply(fill(OrderPartiallyFilled, "e2", "7"))
    with pytest.raises(InvalidTransition, match="exceeds remaining qty 6"):
        order.apply(fill(OrderFilled, "e3", "7"))
    assert order.filled_qty == Decimal("4")


@pytest.mark.parametrize(
    ("qty", "price"), [("0", "100"), ("-1", "100"), ("1", "0"), ("1", "-5")]
)
def test_fill_events_validate_qty_and_price(qty: str, price: str) -> None:
    with pytest.raises(ValueError, match="order abc"):
        OrderFilled(ID, T0, "e1", Decimal(qty), Decimal(price))


@pytest.mark.parametrize("exec_id", ["", None, 7])
def test_every_fill_carries_an_execution_id(exec_id: object) -> None:
    with pytest.raises(DataError, match="exec_id"):
        OrderFilled(ID, T0, exec_id, Decimal(1), Decimal(100))  # type: ignore[arg-type]


# --- identity ---------------------------------------------------------------------


def test_events_need_aware_timestamps_and_an_order_id() -> None:
    with pytest.raises(ValueError, match="naive"):
        OrderSubmitted(ID, datetime(2024, 1, 2))
    with pytest.raises(ValueError, match="ts_init"):
        OrderSubmitted(ID, T0, ts_init=datetime(2024, 1, 2))
    with pytest.raises(DataError, match="client_order_id must be a non-empty string"):
        OrderSubmitted("", T0)
    with pytest.raises(DataError, match="reason"):
        OrderRejected(ID, T0, "")


def test_events_carry_their_identity_and_the_order_keeps_the_venues_id() -> None:
    learned = at(1) + timedelta(milliseconds=40)
    order = make_order()
    order.apply(OrderSubmitted(ID, at(0)))
    accepted = OrderAccepted(ID, at(1), venue_order_id="61e69015-8549-4bfd-b9c3-01e75843f47d", ts_init=learned)
    order.apply(accepted)

    assert OrderSubmitted(ID, at(0)).ts_init == at(0)  # learned as it happened (a simulator)
    assert (accepted.client_order_id, accepted.ts_event, accepted.ts_init) == (ID, at(1), learned)
    assert order.venue_order_id == "61e69015-8549-4bfd-b9c3-01e75843f47d"
    assert order.events[-1] == accepted
    assert order.updated_at == at(1)


def test_side_effects_are_recorded() -> None:
    order = make_order()
    order.apply(OrderSubmitted(ID, at(0)))
    order.apply(OrderCanceled(ID, at(5), "user request"))

    assert order.submitted_at == at(0)
    assert order.canceled_at == at(5)
    assert order.filled_at is None

    rejected = make_order()
    rejected.apply(OrderRejected(ID, at(1), "insufficient buying power"))
    assert rejected.reject_reason == "insufficient buying power"
    assert rejected.status is S.REJECTED

    replaced = order_in(S.NEW).apply(OrderReplaced(ID, at(2), replaced_by="new-id"))
    assert replaced.replaced_by == "new-id" and replaced.reason == "replaced"


def test_reason_says_why_an_order_ended_without_filling_in_full() -> None:
    rejected = make_order().apply(OrderRejected(ID, at(1), "insufficient buying power"))
    canceled = make_order().apply(OrderSubmitted(ID, at(0))).apply(OrderCanceled(ID, at(5), "canceled by request"))
    expired = make_order().apply(OrderSubmitted(ID, at(0))).apply(OrderAccepted(ID, at(0))).apply(
        OrderExpired(ID, at(9), "day order unfilled at the session's end"))
    silent = make_order().apply(OrderSubmitted(ID, at(0))).apply(OrderAccepted(ID, at(0))).apply(OrderExpired(ID, at(9)))
    filled = make_order().apply(OrderSubmitted(ID, at(0))).apply(fill(OrderFilled, "e1", "10", when=at(1)))

    assert rejected.reason == "insufficient buying power"
    assert canceled.reason == "canceled by request"
    assert expired.reason == "day order unfilled at the session's end"
    assert silent.reason == "expired"  # a venue that gives no reason: the status says it
    assert filled.reason is None and make_order().reason is None


# --- triggers -----------------------------------------------------------------------


def test_a_trigger_is_an_event_and_replay_rebuilds_it() -> None:
    stop = make_order(type=OrderType.STOP, stop_price=Decimal("90"))
    stop.apply(OrderSubmitted(ID, at(0)))
    stop.apply(OrderAccepted(ID, at(0)))

    stop.apply(OrderTriggered(ID, at(3)))
    stop.apply(OrderTriggered(ID, at(4)))  # a duplicate: changes nothing

    assert stop.triggered and stop.status is S.NEW
    assert [type(e) for e in stop.events] == [OrderSubmitted, OrderAccepted, OrderTriggered]
    rebuilt = Order.replay(stop)
    assert rebuilt.triggered and rebuilt == stop
    assert not stop.replay(stop.events[:2]).triggered


def test_a_trigger_of_an_order_never_sent_is_refused() -> None:
    with pytest.raises(InvalidTransition):
        make_order(type=OrderType.STOP, stop_price=Decimal("90")).apply(OrderTriggered(ID, T0))


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
    order.apply(OrderRejected(ID, T0, reason=f"qty must be > 0, got {qty}"))
    assert order.status is S.REJECTED

    other = make_order(qty=qty)
    other.apply(OrderSubmitted(ID, T0))
    other.apply(OrderAccepted(ID, T0))
    with pytest.raises(InvalidTransition, match="exceeds remaining"):
        other.apply(OrderFilled(ID, T0, "e1", qty=Decimal(1), price=Decimal(10)))
    assert other.filled_qty == 0


# --- replay -------------------------------------------------------------------------


def test_replay_rebuilds_state() -> None:
    order = make_order(type=OrderType.LIMIT, limit_price=Decimal("101"), tag="entry")
    for event in [
        OrderSubmitted(ID, at(0)),
        OrderAccepted(ID, at(1), venue_order_id="v-1", ts_init=at(2)),
        fill(OrderPartiallyFilled, "e1", "3", "101", at(2)),
        fill(OrderPartiallyFilled, "e2", "3", "100.5", at(3)),
        OrderCancelRequested(ID, at(4)),
        OrderCanceled(ID, at(4), "eod"),
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
    err = InvalidTransition(S.FILLED, OrderCanceled(ID, T0), "abc", "too late")
    clone = pickle.loads(pickle.dumps(err))
    assert str(clone) == str(err)
    assert clone.status is S.FILLED and clone.event == err.event
