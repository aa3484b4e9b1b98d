"""Weaver's pure domain: bars, orders, fills, accounting, enums and ports.

Imports only the standard library and nothing else of weaver.
"""

from __future__ import annotations

from weaver.core._checks import to_decimal
from weaver.core.bar import Bar
from weaver.core.config import FillModelLike, RunConfig
from weaver.core.enums import (
    OrderSide,
    OrderStatus,
    OrderType,
    RunMode,
    RunStatus,
    TimeInForce,
)
from weaver.core.envelope import Envelope
from weaver.core.errors import (
    BacktestError,
    DataError,
    InvalidOrder,
    InvalidTransition,
    LookAheadError,
    OrderRejectedError,
    ParameterError,
    StrategyError,
    WeaverError,
)
from weaver.core.fills import Fill, FillRecord
from weaver.core.orders import (
    IGNORED,
    TRANSITIONS,
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
    OrderSubmitted,
    OrderTriggered,
)
from weaver.core.portfolio import Account, Portfolio, Position
from weaver.core.ports import BarMatching, BarSource, Broker, Clock, EventLog, Tick

__all__ = [
    "IGNORED",
    "TRANSITIONS",
    "Account",
    "BacktestError",
    "Bar",
    "BarMatching",
    "BarSource",
    "Broker",
    "Clock",
    "DataError",
    "Envelope",
    "EventLog",
    "Fill",
    "FillModelLike",
    "FillRecord",
    "InvalidOrder",
    "InvalidTransition",
    "LookAheadError",
    "Order",
    "OrderAccepted",
    "OrderCancelRequested",
    "OrderCanceled",
    "OrderEvent",
    "OrderExpired",
    "OrderFilled",
    "OrderPartiallyFilled",
    "OrderRejected",
    "OrderRejectedError",
    "OrderReplaced",
    "OrderSide",
    "OrderStatus",
    "OrderSubmitted",
    "OrderTriggered",
    "OrderType",
    "ParameterError",
    "Portfolio",
    "Position",
    "RunMode",
    "RunConfig",
    "RunStatus",
    "StrategyError",
    "Tick",
    "TimeInForce",
    "WeaverError",
    "to_decimal",
]
