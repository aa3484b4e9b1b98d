"""Property tests: fills never leave the bar or break a limit; accounting adds up."""

from __future__ import annotations

import copy
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from weaver.sim import FillModel

from .builders import D, Ref, at, feed, make_bar, make_broker, make_order, working

PRICE = st.floats(min_value=1.0, max_value=1_000.0, allow_nan=False, allow_infinity=False)


@st.composite
def bars(draw, minute: int = 1):
    a, b = draw(PRICE), draw(PRICE)
    low, high = min(a, b), max(a, b)
    within = st.floats(min_value=low, max_value=high)
    volume = draw(st.sampled_from([0.0, 5.0, 100.0, 1e6]))
    return make_bar(draw(within), high, low, draw(within), volume, minute=minute)


@st.composite
def orders(draw, symbol: str = "AAPL"):
    kind = draw(st.sampled_from(["market", "limit", "stop", "stop_limit", "trailing_stop"]))

    def price() -> str:
        return str(round(draw(PRICE), 2))

    order = make_order(
        draw(st.sampled_from(["buy", "sell"])),
        draw(st.integers(min_value=1, max_value=500)),
        type="market" if kind == "trailing_stop" else kind,
        limit=price() if kind in ("limit", "stop_limit") else None,
        stop=price() if kind in ("stop", "stop_limit") else None,
        tif=draw(st.sampled_from(["day", "gtc", "ioc", "fok"])),
        symbol=symbol,
    )
    if kind == "trailing_stop":  # a trail in price or in percent, its mark where the broker would set it
        from weaver.core import Order, OrderType

        trail = {"trail_price": D(price()) / 10} if draw(st.booleans()) else {"trail_percent": D(draw(st.integers(1, 30)))}
        order = Order(order.symbol, order.side, order.qty, type=OrderType.TRAILING_STOP, tif=order.tif,
                      client_order_id=order.client_order_id, **trail)
        order.trail(D(price()))
    return order


def wild(order, price, bar):
    """A slippage function that returns absurd prices; the model must clamp them."""
    return price * 10 if order.side.sign > 0 else price / 10 - 5


SLIPPAGE = st.sampled_from([None, 1.0, 50.0, 10_000.0, wild])


@settings(max_examples=300, deadline=None)
@given(bar=bars(), order=orders(), slippage=SLIPPAGE, triggered=st.booleans())
def test_no_fill_outside_the_bar_or_beyond_the_limit(bar, order, slippage, triggered) -> None:
    from weaver.core import OrderTriggered

    order = working(order)
    if triggered and order.type.value in ("stop", "stop_limit", "trailing_stop"):
        order.apply(OrderTriggered(order.client_order_id, bar.ts))
    match = FillModel(slippage=slippage).match(order, bar)
    if match is None or match.qty is None:  # no fill (perhaps a trigger only)
        return
    price = Decimal(repr(match.price))
    assert Decimal(repr(bar.low)) <= price <= Decimal(repr(bar.high))
    if order.limit_price is not None:
        if order.side.value == "buy":
            assert price <= order.limit_price
        else:
            assert price >= order.limit_price
    assert 0 < match.qty <= order.remaining_qty


@settings(max_examples=60, deadline=None)
@given(
    steps=st.lists(
        st.tuples(st.lists(orders(), max_size=3), bars(), st.booleans()), min_size=1, max_size=8
    ),
    slippage=SLIPPAGE,
    participation=st.sampled_from([None, 0.1, 1.0]),
)
def test_broker_accounting_adds_up(steps, slippage, participation) -> None:
    broker, ref, _ = make_broker(cash=1_000_000, slippage=slippage, participation=participation)
    bar_of = {}
    for minute, (new_orders, bar, session_end) in enumerate(steps, start=1):
        ref.now = at(minute - 1)
        for order in new_orders:
            broker.submit(order)
        bar = make_bar(bar.open, bar.high, bar.low, bar.close, bar.volume, minute=minute)
        bar_of[bar.ts] = bar
        if broker.has_working("AAPL"):
            broker.process_bar(
                "AAPL", bar.ts, bar.open, bar.high, bar.low, bar.close, bar.volume, session_end
            )
        ref.prices["AAPL"] = bar.close

    fills = broker.fills
    for fill in fills:
        bar = bar_of[fill.timestamp]
        assert Decimal(repr(bar.low)) <= fill.price <= Decimal(repr(bar.high))
    position = broker.portfolio.position("AAPL").qty
    assert position == sum((f.signed_qty for f in fills), D(0))
    spent = sum((f.signed_qty * f.price + f.commission for f in fills), D(0))
    assert broker.portfolio.cash == D(1_000_000) - spent
    for order in broker.orders.values():
        own = [f.qty for f in fills if f.order_id == order.client_order_id]
        assert order.filled_qty == sum(own, D(0)) <= order.qty
        if order.tif.value in ("ioc", "fok") and order.is_open:  # only if it saw no bar yet
            assert type(order.events[-1]).__name__ == "OrderAccepted"
    assert set(broker.working_symbols) == {o.symbol for o in broker.orders.values() if o.is_open}


@settings(max_examples=500, deadline=None)
@given(price=st.floats(allow_nan=False) | st.sampled_from([0.0, -0.0, 100.01, 1e-300, 5e-324]))
def test_price_decimals_are_the_shortest_decimal_of_the_float(price) -> None:
    from weaver.sim.broker import PriceDecimals

    decimals = PriceDecimals()
    for _ in range(2):  # the second call may come from the cache: the same value, sign and exponent
        got = decimals(price)
        want = Decimal(repr(price))
        assert got == want or (got.is_nan() and want.is_nan())
        assert str(got) == str(want)


def test_the_price_decimals_are_bounded() -> None:
    from weaver.sim.broker import PriceDecimals

    decimals = PriceDecimals(limit=100)
    for k in range(110):
        decimals(1.0 + k / 1024)
    assert 0 < len(decimals) <= 100


class _SameModel(FillModel):
    """The default rules through a subclass: the broker must take the general matching path."""


def _replay(steps, **kwargs):  # noqa: ANN001, ANN202
    broker, ref, events = make_broker(cash=1_000_000, **kwargs)
    for minute, (new_orders, bar, session_end) in enumerate(steps, start=1):
        ref.now = at(minute - 1)
        for order in new_orders:
            broker.submit(copy.deepcopy(order))
        bar = make_bar(bar.open, bar.high, bar.low, bar.close, bar.volume, minute=minute)
        feed(broker, bar, session_end=session_end)
        ref.prices["AAPL"] = bar.close
    orders = [(o.client_order_id, o.status, o.filled_qty, o.avg_fill_price) for o in broker.orders.values()]
    return broker.fills, orders, events, broker.portfolio.cash


@settings(max_examples=150, deadline=None)
@given(
    steps=st.lists(st.tuples(st.lists(orders(), max_size=3), bars(), st.booleans()), min_size=1, max_size=8),
    participation=st.sampled_from([None, 0.1]),
)
def test_the_default_model_fills_as_its_general_matching_does(steps, participation) -> None:  # noqa: ANN001
    fast = _replay(steps, participation=participation)
    general = _replay(steps, participation=participation, fill_model=_SameModel())

    assert fast == general


@settings(max_examples=400, deadline=None)
@given(qty=st.integers(1, 10_000), price=st.floats(0.01, 5_000, allow_nan=False),
       nudge=st.sampled_from([Decimal(0), Decimal("1e-12"), Decimal("-1e-12"), Decimal("1e-9"), Decimal("-1e-9"),
                              Decimal("1e-6"), Decimal("-1e-6"), Decimal("0.01"), Decimal("-0.01")]))
def test_the_cash_check_at_submit_decides_as_the_decimals_do(qty, price, nudge) -> None:
    # a buy clearly within the cash is accepted from floats; the decision must be the Decimal one:
    # cost = qty x Decimal(repr(last price)) against the cash, also a hair either side of it
    need = Decimal(qty) * Decimal(repr(price))
    cash = need + nudge
    if cash <= 0:
        return
    ref = Ref({"AAPL": price})
    broker, _, _ = make_broker(cash=str(cash), ref=ref)

    order = broker.submit(make_order("buy", qty=qty))

    assert (order.status.value == "new") == (need <= cash)
