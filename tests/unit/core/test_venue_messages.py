"""A venue's messages in any order, any number of times: the order always ends in a legal state.

Hypothesis draws what a venue did with one order (acknowledged it, triggered its stop, filled
it in executions, was asked to cancel it, then canceled, expired, replaced or rejected it, or
nothing of the end) and then delivers those messages as a stream does at worst: some twice or
more, out of order, a fill after the cancel request or the cancelation, a fill before the
acknowledgement. After every delivery the order must be in the state the messages seen so far
imply, with a filled quantity equal to the sum of the distinct executions seen, and its
history must rebuild it.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from weaver.core import (
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
    OrderStatus,
    OrderSubmitted,
    OrderTriggered,
)

T0 = datetime(2024, 1, 2, 14, 30, tzinfo=timezone.utc)
ID = "run-20240102T143000Z-1"
S = OrderStatus
ENDS = {"canceled": (OrderCanceled, S.CANCELED), "expired": (OrderExpired, S.EXPIRED),
        "replaced": (OrderReplaced, S.REPLACED), "rejected": (OrderRejected, S.REJECTED)}


@st.composite
def venue_stories(draw: st.DrawFn) -> tuple[Decimal, list[OrderEvent]]:
    """Return an order's quantity and the messages a venue sends about it, in the venue's order."""
    qty = draw(st.integers(1, 40))
    end = draw(st.sampled_from([None, "canceled", "expired", "replaced", "rejected", "filled"]))
    at = iter(T0 + timedelta(seconds=k) for k in range(100))
    learned = timedelta(milliseconds=draw(st.integers(0, 500)))  # the stream's delay
    venue = {"venue_order_id": "9f1c0c2e-5a3e-4c59-a1b4-6f0d9d7ab001"}

    def stamp() -> dict:
        ts = next(at)
        return {**venue, "ts_init": ts + learned}, ts  # type: ignore[return-value]

    messages: list[OrderEvent] = []
    extra, ts = stamp()
    messages.append(OrderAccepted(ID, ts, **extra))
    if end == "rejected":  # a venue may reject after the acknowledgement; nothing fills
        extra, ts = stamp()
        messages.append(OrderRejected(ID, ts, "rejected by the exchange", **extra))
        return Decimal(qty), messages
    if draw(st.booleans()):
        extra, ts = stamp()
        messages.append(OrderTriggered(ID, ts, **extra))
    # executions: all of it when the order fills, less than all when it ends otherwise
    cap = qty if end in (None, "filled") else qty - 1
    parts: list[int] = []
    while sum(parts) < cap and len(parts) < 6 and (end == "filled" or draw(st.booleans())):
        parts.append(draw(st.integers(1, cap - sum(parts))))
    if end == "filled" and sum(parts) < qty:
        parts.append(qty - sum(parts))
    requested = end != "filled" and draw(st.booleans())
    cancel_at = draw(st.integers(0, len(parts))) if requested else -1
    for k, part in enumerate(parts):
        if k == cancel_at:
            extra, ts = stamp()
            messages.append(OrderCancelRequested(ID, ts, **extra))
        extra, ts = stamp()
        kind = OrderFilled if sum(parts[:k + 1]) == qty else OrderPartiallyFilled
        price = Decimal(100) + Decimal(k) / 4
        messages.append(kind(ID, ts, f"exec-{k}", Decimal(part), price, Decimal("0.01"), **extra))
    if cancel_at == len(parts):
        extra, ts = stamp()
        messages.append(OrderCancelRequested(ID, ts, **extra))
    if end in ("canceled", "expired", "replaced"):
        extra, ts = stamp()
        messages.append(ENDS[end][0](ID, ts, **extra))
    return Decimal(qty), messages


class VenueStream(RuleBasedStateMachine):
    """Delivers one venue story's messages in any order, any number of times."""

    @initialize(story=venue_stories())
    def submit(self, story: tuple[Decimal, list[OrderEvent]]) -> None:
        qty, self.messages = story
        self.order = Order("AAPL", "buy", qty, type="stop", stop_price=Decimal(101), client_order_id=ID)
        self.order.apply(OrderSubmitted(ID, T0 - timedelta(seconds=1)))  # Weaver's own record of sending it
        self.seen: list[OrderEvent] = []

    @rule(data=st.data())
    def deliver(self, data: st.DataObject) -> None:
        message = data.draw(st.sampled_from(self.messages))
        self.order.apply(message)  # never raises: every message is news or stale news
        self.seen.append(message)

    @invariant()
    def filled_qty_is_the_sum_of_the_distinct_executions(self) -> None:
        executions = {m.exec_id: m for m in self.seen if isinstance(m, OrderFilled | OrderPartiallyFilled)}
        filled = sum((m.qty for m in executions.values()), Decimal(0))
        assert self.order.filled_qty == filled
        assert sorted(self.order.exec_ids) == sorted(executions)
        if executions:
            paid = sum((m.qty * m.price for m in executions.values()), Decimal(0))
            # a running average, weighed fill by fill: equal up to Decimal's last digit
            assert abs(self.order.avg_fill_price - paid / filled) < Decimal("1e-20")

    @invariant()
    def the_status_is_what_the_messages_seen_imply(self) -> None:
        kinds = {type(m) for m in self.seen}
        order = self.order
        if order.filled_qty == order.qty:
            expected = S.FILLED
        elif ended := [status for kind, status in ENDS.values() if kind in kinds]:
            (expected,) = ended  # a story has one end
        elif OrderCancelRequested in kinds:
            expected = S.PENDING_CANCEL
        elif order.filled_qty:
            expected = S.PARTIALLY_FILLED
        elif OrderAccepted in kinds:
            expected = S.NEW
        else:
            expected = S.SUBMITTED
        assert order.status is expected
        assert order.venue_order_id == (self.seen[0].venue_order_id if self.seen else None)
        assert not order.triggered or OrderTriggered in kinds

    @invariant()
    def the_history_rebuilds_the_order(self) -> None:
        assert Order.replay(self.order) == self.order


VenueStream.TestCase.settings = settings(max_examples=300, stateful_step_count=25, deadline=None)
test_any_sequence_of_venue_messages_leaves_a_legal_order = VenueStream.TestCase
