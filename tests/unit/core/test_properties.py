"""Hypothesis property tests: accounting conserves value; no illegal state is reachable."""

from __future__ import annotations

import copy
from collections import deque
from datetime import datetime, timezone
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from weaver.core import (
    IGNORED,
    TRANSITIONS,
    Fill,
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
    Portfolio,
)

T0 = datetime(2024, 1, 2, 14, 30, tzinfo=timezone.utc)
SYMBOLS = ["AAPL", "MSFT", "TSLA"]


def decimals(low: str, high: str, places: int) -> st.SearchStrategy[Decimal]:
    return st.decimals(
        min_value=Decimal(low), max_value=Decimal(high), places=places,
        allow_nan=False, allow_infinity=False,
    )


fills = st.builds(
    Fill,
    order_id=st.just("o"),
    symbol=st.sampled_from(SYMBOLS),
    side=st.sampled_from(OrderSide),
    qty=decimals("0.001", "500", 3),
    price=decimals("0.01", "1000", 2),
    timestamp=st.just(T0),
    commission=decimals("0", "5", 4),
    exec_id=st.just("o.1"),
)
marks = st.fixed_dictionaries({s: decimals("0.01", "1000", 2) for s in SYMBOLS})


@settings(max_examples=300)
@given(st.lists(fills, max_size=60), marks, decimals("0", "1000000", 2))
def test_positions_sum_fills_and_value_is_conserved(
    fill_list: list[Fill], prices: dict[str, Decimal], initial_cash: Decimal
) -> None:
    portfolio = Portfolio(cash=initial_cash)

    realized_returned = sum((portfolio.apply(f) for f in fill_list), Decimal(0))

    for symbol in SYMBOLS:
        signed_sum = sum((f.signed_qty for f in fill_list if f.symbol == symbol), Decimal(0))
        assert portfolio.position(symbol).qty == signed_sum
    total_commission = sum((f.commission for f in fill_list), Decimal(0))
    assert portfolio.commission == total_commission
    assert portfolio.realized_pnl == realized_returned
    assert portfolio.equity(prices) == (
        initial_cash
        + portfolio.realized_pnl
        + portfolio.unrealized_pnl(prices)
        - total_commission
    )


def _reachable() -> set[OrderStatus]:
    seen = {OrderStatus.PENDING}
    queue = deque(seen)
    while queue:
        status = queue.popleft()
        for (src, _), dst in TRANSITIONS.items():
            if src is status and dst not in seen:
                seen.add(dst)
                queue.append(dst)
    return seen


REACHABLE = _reachable()


@st.composite
def event_for(draw: st.DrawFn, order: Order) -> OrderEvent:
    kind = draw(
        st.sampled_from(
            [OrderSubmitted, OrderAccepted, OrderTriggered, OrderPartiallyFilled, OrderFilled,
             OrderCancelRequested, OrderCanceled, OrderRejected, OrderExpired, OrderReplaced]
        )
    )
    if kind in (OrderFilled, OrderPartiallyFilled):
        # Mostly sensible quantities, sometimes over- or under-sized ones; a few execution
        # ids, so some come again (with the same or other numbers)
        remaining = order.remaining_qty
        qty = draw(
            st.one_of(
                st.just(remaining),
                decimals("1", "20", 0),
            ).filter(lambda q: q > 0)
        )
        return kind("o", T0, draw(st.sampled_from(["e1", "e2", "e3", "e4", "e5", "e6"])), qty,
                    draw(st.sampled_from([Decimal(100), Decimal("100.5")])))
    if kind is OrderRejected:
        return OrderRejected("o", T0, "no")
    return kind("o", T0)


@settings(max_examples=300)
@given(st.data(), decimals("1", "20", 0))
def test_no_illegal_state_is_reachable_and_failures_change_nothing(
    data: st.DataObject, qty: Decimal
) -> None:
    order = Order("AAPL", OrderSide.BUY, qty, client_order_id="o")

    for _ in range(data.draw(st.integers(0, 12))):
        event = data.draw(event_for(order))
        before = copy.deepcopy(order)
        try:
            order.apply(event)
        except InvalidTransition as err:
            assert err.status is before.status
            assert order == before
        else:
            if len(order.events) == len(before.events):  # stale news, or an execution seen before
                assert order == before
                assert (before.status, type(event)) in IGNORED or (isinstance(event, OrderTriggered) and before.triggered) or \
                    getattr(event, "exec_id", None) in before.exec_ids
            else:
                kind = type(event)
                if kind in (OrderFilled, OrderPartiallyFilled):  # moved by what it does
                    kind = OrderFilled if order.filled_qty == order.qty else OrderPartiallyFilled
                assert TRANSITIONS[(before.status, kind)] is order.status

        assert order.status in REACHABLE
        assert Decimal(0) <= order.filled_qty <= order.qty
        assert (order.filled_qty == order.qty) == (order.status is OrderStatus.FILLED)
        fills_ = [e for e in order.events if isinstance(e, (OrderFilled, OrderPartiallyFilled))]
        assert order.filled_qty == sum((e.qty for e in fills_), Decimal(0))
        assert len({e.exec_id for e in fills_}) == len(fills_)

    assert order.replay() == order


def _state(order: Order) -> tuple:
    return (order.status, order.filled_qty, order.avg_fill_price, order.submitted_at, order.filled_at,
            order.events, order.updated_at)


@settings(max_examples=300, deadline=None)
@given(total=decimals("1", "1000", 0), parts=st.lists(decimals("0.01", "1", 2), min_size=1, max_size=6),
       prices=st.lists(decimals("0.01", "1000", 2), min_size=6, max_size=6),
       fees=st.lists(decimals("0", "5", 4), min_size=6, max_size=6),
       start=st.sampled_from([OrderStatus.PENDING] * 8 + list(OrderStatus)))
def test_the_simulators_fast_paths_equal_apply(total, parts, prices, fees, start) -> None:  # noqa: ANN001
    # acknowledge() is apply(OrderSubmitted) then apply(OrderAccepted); fill() is apply of the
    # fill event it stands for: the same state and history, or the same refusal
    def fresh() -> Order:
        return Order("AAPL", OrderSide.BUY, total, client_order_id="x", status=start)

    fast, slow = fresh(), fresh()
    outcomes = []
    for order, step in ((fast, lambda o: o.acknowledge(T0)),
                        (slow, lambda o: o.apply(OrderSubmitted("x", T0)).apply(OrderAccepted("x", T0)))):
        try:
            step(order)
            outcomes.append(None)
        except InvalidTransition as exc:
            outcomes.append(str(exc))
    assert outcomes[0] == outcomes[1] and _state(fast) == _state(slow)

    left = total
    for n, (share, price, fee) in enumerate(zip(parts, prices, fees), 1):  # the last fills whatever is left
        qty = max(Decimal(1), (total * share).to_integral_value()) if share != parts[-1] else left
        qty = min(qty, left) if left > 0 else Decimal(1)
        completes = qty == slow.qty - slow.filled_qty
        exec_id = f"x.{n}"
        event = (OrderFilled if completes else OrderPartiallyFilled)("x", T0, exec_id, qty, price, fee)
        results = []
        for order, step in ((fast, lambda o: o.fill(T0, exec_id, qty, price, fee)), (slow, lambda o: o.apply(event))):
            try:
                step(order)
                results.append(None)
            except InvalidTransition as exc:
                results.append(str(exc))
        assert results[0] == results[1] and _state(fast) == _state(slow)
        left -= qty
