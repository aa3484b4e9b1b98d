"""Builders shared by the simulation tests (make_* functions, no fixtures)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

from weaver.core import Order, OrderAccepted, OrderSide, OrderSubmitted, OrderType, TimeInForce
from weaver.sim import BarView

T0 = datetime(2024, 1, 2, 14, 30, tzinfo=timezone.utc)
D = Decimal


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def make_bar(
    open: float, high: float, low: float, close: float, volume: float = 1_000_000, minute: int = 1
) -> BarView:
    return BarView(at(minute), open, high, low, close, volume)


def make_order(
    side: str = "buy",
    qty: float | str = 100,
    type: str = "market",
    limit: float | str | None = None,
    stop: float | str | None = None,
    tif: str = "day",
    symbol: str = "AAPL",
    client_order_id: str | None = None,
) -> Order:
    extra = {} if client_order_id is None else {"client_order_id": client_order_id}
    return Order(
        symbol,
        OrderSide(side),
        D(str(qty)),
        type=OrderType(type),
        limit_price=None if limit is None else D(str(limit)),
        stop_price=None if stop is None else D(str(stop)),
        tif=TimeInForce(tif),
        **extra,
    )


def working(order: Order) -> Order:
    """Move an order to ``new`` (acknowledged), as the broker does on submit."""
    order.apply(OrderSubmitted(order.client_order_id, T0))
    order.apply(OrderAccepted(order.client_order_id, T0))
    return order


class Ref:
    """A mutable clock and reference-price table for a broker under test."""

    def __init__(self, prices: dict[str, float] | None = None) -> None:
        self.now = T0
        self.prices = {"AAPL": 100.0, "MSFT": 200.0} if prices is None else prices

    def clock(self) -> datetime:
        return self.now

    def price_of(self, symbol: str) -> float:
        return self.prices[symbol]


def make_broker(cash: float | str = 100_000, ref: Ref | None = None, **kwargs: object):
    """Build a SimulatedBroker on a fresh portfolio; returns (broker, ref, events)."""
    from weaver.core import Portfolio
    from weaver.sim import SimulatedBroker

    ref = ref or Ref()
    broker = SimulatedBroker(
        Portfolio(cash=D(str(cash))),
        symbols=kwargs.pop("symbols", ("AAPL", "MSFT")),  # type: ignore[arg-type]
        clock=ref.clock,
        price_of=ref.price_of,
        **kwargs,  # type: ignore[arg-type]
    )
    events: list[tuple[str, str]] = []
    broker.on_update(
        lambda order, event: events.append((order.client_order_id, type(event).__name__))
    )
    return broker, ref, events


def feed(broker, bar: BarView, symbol: str = "AAPL", session_end: bool = False):
    """Hand one bar to the broker the way the engine does (only when it has working orders)."""
    if not broker.has_working(symbol):
        return []
    return broker.process_bar(
        symbol, bar.ts, bar.open, bar.high, bar.low, bar.close, bar.volume, session_end
    )
