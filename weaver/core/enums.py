"""Enumerations shared by every layer; values are the lowercase strings of the API (roadmap A.2)."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["OrderSide", "OrderStatus", "OrderType", "RunMode", "RunStatus", "TimeInForce"]


class RunMode(StrEnum):
    """Where a run's orders go."""

    LIVE = "live"
    PAPER = "paper"
    BACKTEST = "backtest"


class RunStatus(StrEnum):
    """Lifecycle state of a run."""

    PENDING = "pending"
    RUNNING = "running"
    STOPPED = "stopped"
    COMPLETED = "completed"
    ERROR = "error"
    HALTED = "halted"


class OrderSide(StrEnum):
    """Direction of an order or fill."""

    BUY = "buy"
    SELL = "sell"

    @property
    def sign(self) -> int:
        """Return +1 for a buy and -1 for a sell."""
        return 1 if self is OrderSide.BUY else -1

    @property
    def opposite(self) -> OrderSide:
        """Return the side that closes a position opened by this side."""
        return OrderSide.SELL if self is OrderSide.BUY else OrderSide.BUY


class OrderType(StrEnum):
    """How an order's price is determined."""

    MARKET = "market"
    LIMIT = "limit"
    STOP = "stop"
    STOP_LIMIT = "stop_limit"
    TRAILING_STOP = "trailing_stop"


class OrderStatus(StrEnum):
    """Lifecycle state of an order, in Alpaca's spellings (DESIGN §5).

    Legal moves are in ``weaver.core.orders.TRANSITIONS``. ``pending`` is Weaver's own (the
    order is not yet sent); the rest are the venue's: ``submitted`` (sent, not yet
    acknowledged), ``new`` (acknowledged and working), ``partially_filled``, ``filled``,
    ``pending_cancel`` (a cancel was requested: fills may still arrive), ``canceled``,
    ``expired``, ``rejected`` and ``replaced`` (a replacement order took its place).
    """

    PENDING = "pending"
    SUBMITTED = "submitted"
    NEW = "new"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    PENDING_CANCEL = "pending_cancel"
    CANCELED = "canceled"
    EXPIRED = "expired"
    REJECTED = "rejected"
    REPLACED = "replaced"

    @property
    def is_terminal(self) -> bool:
        """Return whether the order is done: only a late fill can still change it."""
        return self in _TERMINAL

    @property
    def is_open(self) -> bool:
        """Return whether an order in this status is working at the venue."""
        return self in _OPEN


_TERMINAL = frozenset(
    {OrderStatus.FILLED, OrderStatus.CANCELED, OrderStatus.EXPIRED, OrderStatus.REJECTED, OrderStatus.REPLACED}
)
_OPEN = frozenset(
    {OrderStatus.SUBMITTED, OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED, OrderStatus.PENDING_CANCEL}
)


class TimeInForce(StrEnum):
    """How long an order stays working."""

    DAY = "day"
    GTC = "gtc"
    IOC = "ioc"
    FOK = "fok"
