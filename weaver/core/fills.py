"""Executions reported by a broker or a fill model."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from weaver.core._checks import check_aware, to_decimal
from weaver.core.enums import OrderSide
from weaver.core.errors import DataError

__all__ = ["Fill"]


@dataclass(frozen=True, slots=True)
class Fill:
    """One execution of (part of) an order.

    Parameters
    ----------
    order_id
        The ``client_order_id`` of the filled order.
    symbol, side
        What was traded, in which direction.
    qty, price
        Executed quantity and price, both > 0.
    timestamp
        Execution time (timezone-aware).
    commission
        Fees charged for this execution, >= 0.

    Raises
    ------
    DataError
        If a number is not positive (commission: negative) or the timestamp is naive.
    """

    order_id: str
    symbol: str
    side: OrderSide
    qty: Decimal
    price: Decimal
    timestamp: datetime
    commission: Decimal = Decimal(0)

    def __post_init__(self) -> None:
        check_aware(self.timestamp)
        qty, price, fee = self.qty, self.price, self.commission
        if (self.side.__class__ is OrderSide and qty.__class__ is Decimal and price.__class__ is Decimal
                and fee.__class__ is Decimal and qty > 0 and price > 0 and fee >= 0):
            return  # already clean: the broker's hot path
        where = f"in fill of order {self.order_id!r} ({self.symbol})"
        try:
            object.__setattr__(self, "side", OrderSide(self.side))
        except ValueError:
            raise DataError(f"side {self.side!r} is not buy or sell {where}") from None
        for name in ("qty", "price", "commission"):
            value = getattr(self, name)
            if not isinstance(value, Decimal):
                value = to_decimal(value, name)
                object.__setattr__(self, name, value)
            if value < 0 or (value == 0 and name != "commission"):
                bound = ">= 0" if name == "commission" else "> 0"
                raise DataError(f"{name} {value} must be {bound} {where}")

    @property
    def signed_qty(self) -> Decimal:
        """Return the quantity, positive for a buy and negative for a sell."""
        return self.qty if self.side is OrderSide.BUY else -self.qty

    @property
    def notional(self) -> Decimal:
        """Return ``qty * price`` (unsigned, before commission)."""
        return self.qty * self.price
