"""Orders, their lifecycle events, and the one table of legal transitions."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal
from enum import Enum
from types import MappingProxyType
from typing import Any, TypeVar

from weaver.core._checks import check_aware, to_decimal
from weaver.core.enums import OrderSide, OrderStatus, OrderType, TimeInForce
from weaver.core.errors import DataError, InvalidOrder, InvalidTransition

__all__ = [
    "TRANSITIONS",
    "Order",
    "OrderAccepted",
    "OrderCanceled",
    "OrderEvent",
    "OrderExpired",
    "OrderFilled",
    "OrderPartiallyFilled",
    "OrderRejected",
    "OrderSubmitted",
]

_ZERO = Decimal(0)
_UTC = timezone.utc
_MARKET = OrderType.MARKET
_PENDING = OrderStatus.PENDING
_HUNDRED = Decimal(100)
_TICK = Decimal("0.01")
_UNFILLED_ENDS = frozenset({OrderStatus.REJECTED, OrderStatus.CANCELLED, OrderStatus.EXPIRED})
_E = TypeVar("_E", bound=Enum)


# --- events ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OrderEvent:
    """Base of the facts that move an order through its lifecycle.

    Parameters
    ----------
    timestamp
        When the fact happened (timezone-aware).
    """

    timestamp: datetime

    def __init__(self, timestamp: datetime) -> None:
        # cheaper than a frozen dataclass's generated __init__ (object.__setattr__ per
        # field); every order gets several events
        _set_timestamp(self, timestamp)
        if timestamp.__class__ is not datetime or timestamp.tzinfo is not _UTC:
            check_aware(timestamp)

    def __post_init__(self) -> None:  # for the events with a generated __init__
        check_aware(self.timestamp)


@dataclass(frozen=True, slots=True, init=False)
class OrderSubmitted(OrderEvent):
    """The order was sent to the venue."""


@dataclass(frozen=True, slots=True, init=False)
class OrderAccepted(OrderEvent):
    """The venue acknowledged the order and it is working."""


@dataclass(frozen=True, slots=True)
class _FillEvent(OrderEvent):
    qty: Decimal
    price: Decimal
    commission: Decimal

    def __init__(self, timestamp: datetime, qty: Decimal, price: Decimal, commission: Decimal = _ZERO) -> None:
        _set_timestamp(self, timestamp)
        _set_qty(self, qty)
        _set_price(self, price)
        _set_commission(self, commission)
        if (timestamp.__class__ is datetime and timestamp.tzinfo is _UTC and qty.__class__ is Decimal
                and price.__class__ is Decimal and commission.__class__ is Decimal and qty > 0 and price > 0
                and commission >= 0):
            return  # already clean: the broker's hot path
        check_aware(timestamp)
        for name in ("qty", "price"):
            value = to_decimal(getattr(self, name), name)
            if value <= 0:
                raise DataError(f"{type(self).__name__} {name} {value} must be > 0")
            object.__setattr__(self, name, value)
        fee = to_decimal(commission, "commission")
        if fee < 0:
            raise DataError(f"{type(self).__name__} commission {fee} must be >= 0")
        object.__setattr__(self, "commission", fee)


_set_timestamp = OrderEvent.__dict__["timestamp"].__set__
_set_qty = _FillEvent.__dict__["qty"].__set__
_set_price = _FillEvent.__dict__["price"].__set__
_set_commission = _FillEvent.__dict__["commission"].__set__


@dataclass(frozen=True, slots=True, init=False)
class OrderPartiallyFilled(_FillEvent):
    """Part of the order filled; ``qty``, ``price`` and ``commission`` are those of this fill only."""


@dataclass(frozen=True, slots=True, init=False)
class OrderFilled(_FillEvent):
    """The last fill completed the order; ``qty``, ``price`` and ``commission`` are those of this fill only."""


@dataclass(frozen=True, slots=True)
class OrderCanceled(OrderEvent):
    """The order was cancelled (by the user, the strategy or the venue)."""

    reason: str = ""


@dataclass(frozen=True, slots=True)
class OrderRejected(OrderEvent):
    """The venue or a risk check refused the order."""

    reason: str


@dataclass(frozen=True, slots=True)
class OrderExpired(OrderEvent):
    """The order's time in force ran out."""

    reason: str = ""


# An order's history is kept as one flat tuple of plain values: for each event, its type's
# number and then its field values. That holds nothing the garbage collector tracks (a
# backtest keeps every order of the run, and their event objects would be most of what each
# collection scans), and appending to it frees the tuple it replaces, so it adds nothing to
# the count that starts a collection either. ``Order.events`` makes the event objects again
# on use. An event of another type (none of Weaver's) is kept as the object.
_EVENT_TYPES: tuple[type[OrderEvent], ...] = (
    OrderSubmitted, OrderAccepted, OrderPartiallyFilled, OrderFilled, OrderCanceled, OrderRejected, OrderExpired,
)


def _recorder(code: int, kind: type[OrderEvent]) -> Any:
    if issubclass(kind, _FillEvent):
        return lambda e: (code, e.timestamp, e.qty, e.price, e.commission)
    if "reason" in kind.__dataclass_fields__:
        return lambda e: (code, e.timestamp, e.reason)
    return lambda e: (code, e.timestamp)


_RECORDERS = {kind: _recorder(code, kind) for code, kind in enumerate(_EVENT_TYPES)}
#: how many field values follow each event type's number in a history
_WIDTHS = tuple(4 if issubclass(kind, _FillEvent) else 2 if "reason" in kind.__dataclass_fields__ else 1
                for kind in _EVENT_TYPES)


def _events_of(history: tuple[Any, ...]) -> list[OrderEvent]:
    """Return the events a flat history stands for, oldest first."""
    events: list[OrderEvent] = []
    i, n = 0, len(history)
    while i < n:
        code = history[i]
        if code.__class__ is int:
            width = _WIDTHS[code]
            events.append(_EVENT_TYPES[code](*history[i + 1:i + 1 + width]))
            i += 1 + width
        else:  # an event object of another type
            events.append(code)
            i += 1
    return events


S = OrderStatus

_TABLE: dict[tuple[OrderStatus, type[OrderEvent]], OrderStatus] = {
    (S.PENDING, OrderSubmitted): S.SUBMITTED,
    (S.PENDING, OrderRejected): S.REJECTED,  # refused before it left (e.g. risk check)
    (S.SUBMITTED, OrderAccepted): S.ACCEPTED,
    (S.SUBMITTED, OrderRejected): S.REJECTED,
    (S.SUBMITTED, OrderCanceled): S.CANCELLED,
    (S.SUBMITTED, OrderPartiallyFilled): S.PARTIALLY_FILLED,  # a venue may skip the ack
    (S.SUBMITTED, OrderFilled): S.FILLED,
    (S.ACCEPTED, OrderPartiallyFilled): S.PARTIALLY_FILLED,
    (S.ACCEPTED, OrderFilled): S.FILLED,
    (S.ACCEPTED, OrderCanceled): S.CANCELLED,
    (S.ACCEPTED, OrderExpired): S.EXPIRED,
    (S.PARTIALLY_FILLED, OrderPartiallyFilled): S.PARTIALLY_FILLED,
    (S.PARTIALLY_FILLED, OrderFilled): S.FILLED,
    (S.PARTIALLY_FILLED, OrderCanceled): S.CANCELLED,
    (S.PARTIALLY_FILLED, OrderExpired): S.EXPIRED,
}
TRANSITIONS: Mapping[tuple[OrderStatus, type[OrderEvent]], OrderStatus] = MappingProxyType(_TABLE)
"""``(from_status, event type) -> to_status``: the only source of the order lifecycle."""

# TRANSITIONS by event type, then status: what ``Order.apply`` looks up (no key tuple per event)
_NEXT: dict[type[OrderEvent], dict[OrderStatus, OrderStatus]] = {}
for (_status, _kind), _target in _TABLE.items():
    _NEXT.setdefault(_kind, {})[_status] = _target
del _status, _kind, _target
_NOWHERE: dict[OrderStatus, OrderStatus] = {}
_SUBMITTED_CODE, _ACCEPTED_CODE = _EVENT_TYPES.index(OrderSubmitted), _EVENT_TYPES.index(OrderAccepted)
_FILLED_CODE, _PARTIAL_CODE = _EVENT_TYPES.index(OrderFilled), _EVENT_TYPES.index(OrderPartiallyFilled)
#: where ``acknowledge`` leaves a pending order: where submitting then accepting takes it
_ACKNOWLEDGED = _NEXT[OrderAccepted][_NEXT[OrderSubmitted][OrderStatus.PENDING]]

del S


# --- the order ------------------------------------------------------------------------


@dataclass(slots=True)
class Order:
    """An order and its lifecycle state; the state changes only through ``apply(event)``.

    Numbers given as ``int``, ``float`` or ``str`` are converted to ``Decimal`` and enum
    fields accept their string values (``side="buy"``).

    Raises
    ------
    InvalidOrder
        If a price is not positive, or the prices do not match
        the order type (limit needs ``limit_price``, stop needs ``stop_price``, stop_limit
        needs both, market has neither, trailing_stop needs one of ``trail_price`` and
        ``trail_percent``).

    Notes
    -----
    A trailing stop (Alpaca's ``trailing_stop``) carries its trail, ``trail_price`` (a
    price offset) or ``trail_percent`` (percent: 2 is 2 %), and the broker keeps ``hwm``:
    the high-water mark of a sell (the low-water mark of a buy), which it starts at the last
    price when the order is placed; ``stop_price`` is then the trail below (above) the mark.
    """

    symbol: str
    side: OrderSide
    qty: Decimal
    type: OrderType = OrderType.MARKET
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    tif: TimeInForce = TimeInForce.DAY
    client_order_id: str = ""
    created_at: datetime | None = None
    status: OrderStatus = OrderStatus.PENDING
    filled_qty: Decimal = _ZERO
    avg_fill_price: Decimal | None = None
    reject_reason: str | None = None
    submitted_at: datetime | None = None
    filled_at: datetime | None = None
    canceled_at: datetime | None = None
    triggered: bool = False
    tag: str | None = None
    trail_price: Decimal | None = None
    trail_percent: Decimal | None = None
    hwm: Decimal | None = None
    _history: tuple[Any, ...] = field(default=(), repr=False)

    def __post_init__(self) -> None:
        qty = self.qty
        if (self.type is _MARKET and self.status is _PENDING and self.limit_price is None
                and self.stop_price is None and self.trail_price is None and self.trail_percent is None
                and self.filled_qty is _ZERO and self.client_order_id
                and self.side.__class__ is OrderSide and self.tif.__class__ is TimeInForce
                and self.symbol.__class__ is str and self.symbol
                and qty.__class__ is Decimal and qty.is_finite()):
            return  # a new market order built from clean values: the strategy's hot path
        if not self.client_order_id:
            self.client_order_id = uuid.uuid4().hex
        if not isinstance(self.symbol, str) or not self.symbol:
            raise InvalidOrder(f"symbol must be a non-empty string, got {self.symbol!r}")
        self.side = self._enum(OrderSide, self.side, "side")
        self.type = self._enum(OrderType, self.type, "type")
        self.tif = self._enum(TimeInForce, self.tif, "tif")
        self.status = self._enum(OrderStatus, self.status, "status")
        # a quantity <= 0 is allowed here so that a broker can reject the order with a
        # reason and keep it on record; such an order can never fill (nothing remains)
        self.qty = self._decimal(self.qty, "qty")
        if self.limit_price is not None:
            self.limit_price = self._positive(self.limit_price, "limit_price")
        if self.stop_price is not None:
            self.stop_price = self._positive(self.stop_price, "stop_price")
        for name in ("trail_price", "trail_percent", "hwm"):
            if getattr(self, name) is not None:
                setattr(self, name, self._positive(getattr(self, name), name))
        self._check_prices()
        self.filled_qty = self._decimal(self.filled_qty, "filled_qty")
        if not _ZERO <= self.filled_qty <= max(self.qty, _ZERO):
            raise self._invalid(f"filled_qty {self.filled_qty} is outside [0, qty {self.qty}]")

    def _invalid(self, message: str) -> InvalidOrder:
        return InvalidOrder(f"{message} (order {self.client_order_id}, {self.symbol})")

    def _enum(self, enum_cls: type[_E], value: object, name: str) -> _E:
        if value.__class__ is enum_cls:
            return value  # type: ignore[return-value]
        try:
            return enum_cls(value)
        except ValueError:
            allowed = ", ".join(m.value for m in enum_cls)
            raise self._invalid(f"{name} {value!r} is not one of {allowed}") from None

    def _decimal(self, value: object, name: str) -> Decimal:
        try:
            return to_decimal(value, name)  # type: ignore[arg-type]
        except DataError as err:
            raise self._invalid(str(err)) from None

    def _positive(self, value: object, name: str) -> Decimal:
        result = self._decimal(value, name)
        if result <= 0:
            raise self._invalid(f"{name} {result} must be > 0")
        return result

    def _check_prices(self) -> None:
        kind = self.type
        trail = self.trail_price is not None or self.trail_percent is not None
        if kind is OrderType.MARKET and self.limit_price is None and self.stop_price is None and not trail:
            return
        if kind is OrderType.TRAILING_STOP:
            if not trail:
                raise self._invalid("trailing_stop order needs trail_price or trail_percent")
            if self.trail_price is not None and self.trail_percent is not None:
                raise self._invalid(
                    f"trailing_stop order takes trail_price {self.trail_price} or trail_percent "
                    f"{self.trail_percent}, not both")
            if self.limit_price is not None:
                raise self._invalid(f"trailing_stop order must not have limit_price {self.limit_price}")
            return  # its stop_price is the broker's, from the mark
        needs_limit = kind in (OrderType.LIMIT, OrderType.STOP_LIMIT)
        needs_stop = kind in (OrderType.STOP, OrderType.STOP_LIMIT)
        for name, needed in (("limit_price", needs_limit), ("stop_price", needs_stop),
                             ("trail_price", False), ("trail_percent", False)):
            value = getattr(self, name)
            if needed and value is None:
                raise self._invalid(f"{self.type.value} order needs {name}")
            if not needed and value is not None:
                raise self._invalid(f"{self.type.value} order must not have {name} {value}")

    # --- state ------------------------------------------------------------------------

    @property
    def remaining_qty(self) -> Decimal:
        """Return the quantity still to fill."""
        return self.qty - self.filled_qty

    @property
    def reason(self) -> str | None:
        """Return why the order ended without filling in full, or None.

        The reason of its rejection, cancelation or expiry, as the venue or the simulator
        gave it (``"insufficient cash at fill: ..."``); the status itself when none was given.
        """
        status = self.status
        if status not in _UNFILLED_ENDS:
            return None
        if status is OrderStatus.REJECTED and self.reject_reason:
            return self.reject_reason
        events = self.events
        return (getattr(events[-1], "reason", "") if events else "") or status.value

    @property
    def events(self) -> list[OrderEvent]:
        """Return the events applied to the order, oldest first (made anew on each call)."""
        return _events_of(self._history)

    @property
    def updated_at(self) -> datetime | None:
        """Return the time of the latest event (None before the first)."""
        history, i, last = self._history, 0, None
        while i < len(history):  # a few events: walk to the last one's time
            code = history[i]
            if code.__class__ is int:
                last, i = history[i + 1], i + 1 + _WIDTHS[code]
            else:
                last, i = code.timestamp, i + 1
        return last

    @property
    def is_open(self) -> bool:
        """Return whether the order is working at the venue."""
        return self.status.is_open

    @property
    def is_terminal(self) -> bool:
        """Return whether the order can no longer change."""
        return self.status.is_terminal

    def apply(self, event: OrderEvent) -> Order:
        """Apply a lifecycle event and record it in the order's history (``events``).

        The order is either fully updated or, on error, left untouched.

        Parameters
        ----------
        event
            The fact to apply. Fill events carry the quantity and price of that fill.

        Returns
        -------
        Order
            This order, for chaining.

        Raises
        ------
        InvalidTransition
            If ``TRANSITIONS`` has no entry for ``(status, type(event))``, a fill exceeds
            the remaining quantity, an ``OrderFilled`` leaves quantity unfilled, or an
            ``OrderPartiallyFilled`` completes the order.
        """
        kind = event.__class__
        target = _NEXT.get(kind, _NOWHERE).get(self.status)  # TRANSITIONS, without a key tuple per event
        if target is None:
            raise InvalidTransition(self.status, event, self.client_order_id)
        # each branch records the event in the history as _recorder would (the hot path inline)
        if kind is OrderSubmitted:
            self.submitted_at = ts = event.timestamp
            self._history += (_SUBMITTED_CODE, ts)
        elif kind is OrderAccepted:
            self._history += (_ACCEPTED_CODE, event.timestamp)
        elif kind is OrderFilled or kind is OrderPartiallyFilled:
            self._apply_fill(event)  # type: ignore[arg-type]
            self._history += _RECORDERS[kind](event)
        else:
            if kind is OrderCanceled:
                self.canceled_at = event.timestamp
            elif kind is OrderRejected:
                self.reject_reason = event.reason  # type: ignore[attr-defined]
            record = _RECORDERS.get(kind)
            self._history += (event,) if record is None else record(event)
        self.status = target
        return self

    def _apply_fill(self, event: _FillEvent) -> None:
        qty, done = event.qty, self.filled_qty
        remaining = self.qty - done  # remaining_qty, inline: every fill passes here
        completes = event.__class__ is OrderFilled  # the two fill events are final classes
        detail = ""
        if qty > remaining:
            detail = f"fill qty {qty} exceeds remaining qty {remaining}"
        elif completes and qty < remaining:
            detail = f"fill qty {qty} leaves {remaining - qty} unfilled; use OrderPartiallyFilled"
        elif not completes and qty == remaining:
            detail = f"fill qty {qty} completes the order; use OrderFilled"
        if detail:
            raise InvalidTransition(self.status, event, self.client_order_id, detail)
        filled = done + qty
        if self.avg_fill_price is None:
            self.avg_fill_price = event.price
        else:
            self.avg_fill_price = (self.avg_fill_price * done + event.price * qty) / filled
        self.filled_qty = filled
        if completes:
            self.filled_at = event.timestamp

    # -- the simulator's fast paths: what ``apply`` does, without making the events --------------

    def acknowledge(self, timestamp: datetime) -> Order:
        """Apply ``OrderSubmitted`` then ``OrderAccepted``, both at ``timestamp``, as ``apply`` would.

        For a venue that acknowledges an order as it takes it (the simulator) when nobody
        listens to its updates: the same state and history, without making the two event
        objects. A property test holds it equal to the two ``apply`` calls.
        """
        if self.status is not _PENDING:  # the general path says why not
            return self.apply(OrderSubmitted(timestamp)).apply(OrderAccepted(timestamp))
        self.submitted_at = timestamp
        self._history += (_SUBMITTED_CODE, timestamp, _ACCEPTED_CODE, timestamp)
        self.status = _ACKNOWLEDGED
        return self

    def fill(self, timestamp: datetime, qty: Decimal, price: Decimal, commission: Decimal = _ZERO) -> Order:
        """Apply the fill of ``qty`` at ``price`` as ``apply`` would apply its event.

        ``OrderFilled`` when it completes the order, else ``OrderPartiallyFilled``; for the
        simulator when nobody listens to its updates. The values must be clean (positive
        Decimals, an aware UTC time), as the simulator's are. A property test holds it equal
        to ``apply``.
        """
        completes = qty == self.qty - self.filled_qty
        kind = OrderFilled if completes else OrderPartiallyFilled
        target = _NEXT[kind].get(self.status)
        if target is None or qty > self.qty - self.filled_qty:  # the general path says why not
            return self.apply(kind(timestamp, qty, price, commission))
        done = self.filled_qty
        filled = done + qty
        if self.avg_fill_price is None:
            self.avg_fill_price = price
        else:
            self.avg_fill_price = (self.avg_fill_price * done + price * qty) / filled
        self.filled_qty = filled
        if completes:
            self.filled_at = timestamp
        self._history += (_FILLED_CODE if completes else _PARTIAL_CODE, timestamp, qty, price, commission)
        self.status = target
        return self

    def mark_triggered(self) -> None:
        """Record that a stop or stop-limit order's stop price has been touched.

        This is a fill-model annotation, not a status change; it is idempotent.

        Raises
        ------
        InvalidOrder
            If the order has no stop price or is already terminal.
        """
        if self.type not in (OrderType.STOP, OrderType.STOP_LIMIT, OrderType.TRAILING_STOP):
            raise self._invalid(f"cannot trigger a {self.type.value} order: it has no stop")
        if self.is_terminal:
            raise self._invalid(f"cannot trigger an order in status '{self.status.value}'")
        self.triggered = True

    def trail(self, price: Decimal) -> None:
        """Move a trailing stop's mark to ``price`` if it is beyond it, and its stop with it.

        The mark of a sell is its high-water mark (it only rises), of a buy its low-water
        mark (it only falls); the stop sits ``trail_price`` or ``trail_percent`` percent below
        (above) it. Like :meth:`mark_triggered`, this is a fill-model annotation, not a status
        change. The first call sets the mark (the broker does, at submit, from the last price).

        Raises
        ------
        InvalidOrder
            If the order is not a trailing stop, or is already terminal.
        """
        if self.type is not OrderType.TRAILING_STOP:
            raise self._invalid(f"cannot trail a {self.type.value} order: it has no trail")
        if self.is_terminal:
            raise self._invalid(f"cannot trail an order in status '{self.status.value}'")
        sell = self.side is OrderSide.SELL
        mark = self.hwm
        if mark is not None and (price <= mark if sell else price >= mark):
            return
        self.hwm = price
        if self.trail_price is not None:
            stop = price - self.trail_price if sell else price + self.trail_price
        else:
            ratio = self.trail_percent / _HUNDRED  # type: ignore[operator]
            stop = price * (1 - ratio) if sell else price * (1 + ratio)
        # a trail wider than the price leaves no stop a sell can reach: it stays at the least price
        self.stop_price = stop if stop > 0 else _TICK

    def replay(self, events: Iterable[OrderEvent] | None = None) -> Order:
        """Rebuild an order from this order's intent and a sequence of events.

        Also callable as ``Order.replay(order, events)``.

        Parameters
        ----------
        events
            The events to apply to a fresh pending copy; by default this order's own
            history, which reproduces its current state.

        Returns
        -------
        Order
            A new order. Its intent (symbol, side, qty, type, prices, trail, tif, ids, tag,
            ``created_at``) and the fill model's annotations (``triggered``, a trailing stop's
            mark and stop) are copied; everything else comes from the events.

        Raises
        ------
        InvalidTransition
            If the events are not a legal history.
        """
        history = list(self.events if events is None else events)
        order = Order(
            symbol=self.symbol,
            side=self.side,
            qty=self.qty,
            type=self.type,
            limit_price=self.limit_price,
            stop_price=self.stop_price,
            tif=self.tif,
            client_order_id=self.client_order_id,
            created_at=self.created_at,
            triggered=self.triggered,
            tag=self.tag,
            trail_price=self.trail_price,
            trail_percent=self.trail_percent,
            hwm=self.hwm,
        )
        for event in history:
            order.apply(event)
        return order
