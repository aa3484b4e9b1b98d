"""A venue for the driver's tests: the Broker port and nothing else (no bar matching)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone

from weaver.core import Order, OrderAccepted, OrderSubmitted

T0 = datetime(2024, 1, 2, tzinfo=timezone.utc)


class Venue:
    """Accepts every order (at ``now``) and fills none; tells ``on_update`` handlers nothing."""

    def __init__(self) -> None:
        self.orders: dict[str, Order] = {}
        self.handlers: list[Callable] = []
        self.now = T0

    def submit(self, order: Order) -> Order:
        order.apply(OrderSubmitted(order.client_order_id, self.now)).apply(OrderAccepted(order.client_order_id, self.now))
        self.orders[order.client_order_id] = order
        return order

    def cancel(self, client_order_id: str) -> Order:
        return self.orders[client_order_id]

    def get_order(self, client_order_id: str) -> Order | None:
        return self.orders.get(client_order_id)

    def open_orders(self, symbol: str | None = None) -> list[Order]:
        return [o for o in self.orders.values() if o.is_open]

    def positions(self) -> dict:
        return {}

    def account(self) -> None:
        return None

    def on_update(self, handler: Callable) -> None:
        self.handlers.append(handler)
