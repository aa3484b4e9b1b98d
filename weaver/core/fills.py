"""Executions reported by a broker or a fill model."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal

from weaver.core._checks import check_aware, to_decimal
from weaver.core.enums import OrderSide
from weaver.core.errors import DataError

__all__ = ["Fill"]

_ZERO = Decimal(0)
_UTC = timezone.utc
_BUY = OrderSide.BUY
_SELL = OrderSide.SELL

#: a fill as a plain tuple: (order_id, symbol, bought, qty, price, timestamp, commission, exec_id)
FillRecord = tuple[str, str, bool, Decimal, Decimal, datetime, Decimal, str]
#: the values in a fill's record (a log of records end to end steps by this)
RECORD_WIDTH = 8


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
    exec_id
        The venue's id of this execution (the simulator's: ``{order_id}.{n}`` for the
        order's n-th fill); the same execution reported twice has the same id.

    Raises
    ------
    DataError
        If a number is not positive (commission: negative), the timestamp is naive or the
        execution id is empty.
    """

    order_id: str
    symbol: str
    side: OrderSide
    qty: Decimal
    price: Decimal
    timestamp: datetime
    commission: Decimal
    exec_id: str

    def __init__(self, order_id: str, symbol: str, side: OrderSide, qty: Decimal, price: Decimal,
                 timestamp: datetime, commission: Decimal = _ZERO, *, exec_id: str) -> None:
        # The generated __init__ of a frozen dataclass sets each field through
        # object.__setattr__; the slots' own setters cost half as much, and a backtest makes
        # one fill per order.
        _set_order_id(self, order_id)
        _set_symbol(self, symbol)
        _set_side(self, side)
        _set_qty(self, qty)
        _set_price(self, price)
        _set_timestamp(self, timestamp)
        _set_commission(self, commission)
        _set_exec_id(self, exec_id)
        if (exec_id.__class__ is str and exec_id and side.__class__ is OrderSide and qty.__class__ is Decimal and price.__class__ is Decimal
                and commission.__class__ is Decimal and timestamp.__class__ is datetime
                and timestamp.tzinfo is _UTC and qty > 0 and price > 0 and commission >= 0):
            return  # already clean: the broker's hot path
        self._normalize()

    def _normalize(self) -> None:
        check_aware(self.timestamp)
        where = f"in fill of order {self.order_id!r} ({self.symbol})"
        if not isinstance(self.exec_id, str) or not self.exec_id:
            raise DataError(f"exec_id {self.exec_id!r} must be a non-empty string {where}")
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

    def record(self) -> FillRecord:
        """Return the fill as a record: a plain tuple the garbage collector does not track.

        ``(order_id, symbol, bought, qty, price, timestamp, commission, exec_id)``, ``bought``
        True for a buy. A run keeps every fill; as records they cost its collections nothing.
        """
        return (self.order_id, self.symbol, self.side is _BUY, self.qty, self.price, self.timestamp,
                self.commission, self.exec_id)

    @classmethod
    def from_record(cls, record: FillRecord) -> Fill:
        """Return the fill a :meth:`record` stands for."""
        order_id, symbol, bought, qty, price, timestamp, commission, exec_id = record
        return cls(order_id, symbol, _BUY if bought else _SELL, qty, price, timestamp, commission, exec_id=exec_id)

    @property
    def signed_qty(self) -> Decimal:
        """Return the quantity, positive for a buy and negative for a sell."""
        return self.qty if self.side is _BUY else -self.qty

    @property
    def notional(self) -> Decimal:
        """Return ``qty * price`` (unsigned, before commission)."""
        return self.qty * self.price


(_set_order_id, _set_symbol, _set_side, _set_qty, _set_price, _set_timestamp, _set_commission, _set_exec_id) = (
    Fill.__dict__[name].__set__
    for name in ("order_id", "symbol", "side", "qty", "price", "timestamp", "commission", "exec_id")
)
