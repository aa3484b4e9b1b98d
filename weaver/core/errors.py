"""Domain exceptions: every message names the offending value and where it came from."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from weaver.core.enums import OrderStatus
    from weaver.core.orders import OrderEvent

__all__ = [
    "BacktestError",
    "DataError",
    "InvalidOrder",
    "InvalidTransition",
    "LookAheadError",
    "OrderRejectedError",
    "ParameterError",
    "StrategyError",
    "WeaverError",
]


class WeaverError(Exception):
    """Base class of every error Weaver raises on purpose."""


class DataError(WeaverError, ValueError):
    """Raise for malformed market or accounting data (bars, fills, prices)."""


class ParameterError(WeaverError, ValueError):
    """Raise for an invalid strategy or engine parameter."""


class InvalidOrder(WeaverError, ValueError):
    """Raise when an order's own fields are inconsistent (e.g. a limit order without a price)."""


class LookAheadError(WeaverError):
    """Raise when an indicator or strategy uses data from after the current bar."""


class BacktestError(WeaverError):
    """Raise when a backtest cannot run or cannot continue."""


class StrategyError(BacktestError):
    """Raise when the strategy's own code fails: its ``init()``, ``next()`` or a hook.

    The message names the strategy, the method, the bar and the exception, which is chained
    as the cause. In a backtest or a rehearsal it is a :class:`BacktestError` too.
    """


class OrderRejectedError(WeaverError):
    """Raise when a broker or a risk check refuses an order outright.

    The lifecycle event of a refusal is ``weaver.core.OrderRejected``.

    Parameters
    ----------
    reason
        Why the order was refused, in words a user can act on.
    client_order_id
        The refused order's id, when known.
    """

    def __init__(self, reason: str, client_order_id: str | None = None) -> None:
        self.reason = reason
        self.client_order_id = client_order_id
        where = f" {client_order_id}" if client_order_id else ""
        super().__init__(f"order{where} rejected: {reason}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.reason, self.client_order_id))


class InvalidTransition(WeaverError):
    """Raise when an event is not legal for an order's current status.

    Parameters
    ----------
    status
        The order's status when the event arrived.
    event
        The refused event.
    order_id
        The order's ``client_order_id``.
    detail
        Why a transition that the table allows was still refused (e.g. an overfill).
    """

    def __init__(
        self,
        status: OrderStatus,
        event: OrderEvent,
        order_id: str = "",
        detail: str = "",
    ) -> None:
        self.status = status
        self.event = event
        self.order_id = order_id
        self.detail = detail
        message = (
            f"cannot apply {type(event).__name__} to an order in status "
            f"'{status.value}' (order {order_id})"
        )
        super().__init__(f"{message}: {detail}" if detail else message)

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.status, self.event, self.order_id, self.detail))
