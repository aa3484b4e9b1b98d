"""Orders, their lifecycle events, and the one table of legal transitions."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal
from enum import Enum
from types import MappingProxyType
from typing import Any, ClassVar, TypeVar

from weaver.core._checks import check_aware, to_decimal
from weaver.core.enums import OrderSide, OrderStatus, OrderType, TimeInForce
from weaver.core.errors import DataError, InvalidOrder, InvalidTransition

__all__ = [
    "IGNORED",
    "TRANSITIONS",
    "Order",
    "OrderAccepted",
    "OrderCancelRequested",
    "OrderCanceled",
    "OrderEvent",
    "OrderExpired",
    "OrderFilled",
    "OrderPartiallyFilled",
    "OrderRejected",
    "OrderReplaced",
    "OrderSubmitted",
    "OrderTriggered",
]

_ZERO = Decimal(0)
_UTC = timezone.utc
_MARKET = OrderType.MARKET
_PENDING = OrderStatus.PENDING
_HUNDRED = Decimal(100)
_TICK = Decimal("0.01")
_UNFILLED_ENDS = frozenset({OrderStatus.REJECTED, OrderStatus.CANCELED, OrderStatus.EXPIRED, OrderStatus.REPLACED})
_E = TypeVar("_E", bound=Enum)


# --- events ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, init=False)
class OrderEvent:
    """Base of the facts that move an order through its lifecycle.

    Parameters
    ----------
    client_order_id
        The order's id (Weaver's, as the venue echoes it).
    ts_event
        When it happened at the venue (timezone-aware).
    venue_order_id
        The venue's own id of the order, when known.
    ts_init
        When Weaver learned of it (timezone-aware); ``ts_event`` by default, as for a
        simulator, which learns of what it does as it does it.
    """

    client_order_id: str
    ts_event: datetime
    venue_order_id: str | None
    ts_init: datetime

    #: the event's type in the event log and the API (DESIGN §5), e.g. ``"order.filled"``
    event_type: ClassVar[str] = ""
    #: the fields a subclass adds, in the order its constructor takes them
    _EXTRA: ClassVar[tuple[str, ...]] = ()

    def __init__(self, client_order_id: str, ts_event: datetime, *, venue_order_id: str | None = None,
                 ts_init: datetime | None = None) -> None:
        # a frozen dataclass's generated __init__ sets each field through object.__setattr__;
        # the slots' own setters are cheaper, and a run makes several events per order
        _set_identity(self, client_order_id, ts_event, venue_order_id, ts_init)

    def _values(self) -> tuple[Any, ...]:
        """Return the values of the subclass's own fields, in ``_EXTRA`` order."""
        return tuple(getattr(self, name) for name in self._EXTRA)


def _set_identity(event: OrderEvent, client_order_id: str, ts_event: datetime, venue_order_id: str | None,
                  ts_init: datetime | None) -> None:
    _set_coid(event, client_order_id)
    _set_ts_event(event, ts_event)
    _set_venue(event, venue_order_id)
    _set_ts_init(event, ts_event if ts_init is None else ts_init)
    if (client_order_id.__class__ is str and client_order_id and ts_event.__class__ is datetime
            and ts_event.tzinfo is _UTC and ts_init is None and venue_order_id is None):
        return  # already clean: the simulator's events
    name = type(event).__name__
    if not isinstance(client_order_id, str) or not client_order_id:
        raise DataError(f"{name} client_order_id must be a non-empty string, got {client_order_id!r}")
    check_aware(ts_event, f"{name} ts_event")
    if ts_init is not None:
        check_aware(ts_init, f"{name} ts_init")
    if venue_order_id is not None and (not isinstance(venue_order_id, str) or not venue_order_id):
        raise DataError(f"{name} venue_order_id must be a non-empty string or None, got {venue_order_id!r}")


_set_coid = OrderEvent.__dict__["client_order_id"].__set__
_set_ts_event = OrderEvent.__dict__["ts_event"].__set__
_set_venue = OrderEvent.__dict__["venue_order_id"].__set__
_set_ts_init = OrderEvent.__dict__["ts_init"].__set__


@dataclass(frozen=True, slots=True, init=False)
class OrderSubmitted(OrderEvent):
    """The order was sent to the venue."""

    event_type: ClassVar[str] = "order.submitted"


@dataclass(frozen=True, slots=True, init=False)
class OrderAccepted(OrderEvent):
    """The venue acknowledged the order and it is working (status ``new``)."""

    event_type: ClassVar[str] = "order.accepted"


@dataclass(frozen=True, slots=True, init=False)
class OrderTriggered(OrderEvent):
    """The market touched the order's stop: a stop is now a market order, a stop-limit a limit order.

    The status does not change; ``Order.triggered`` becomes true.
    """

    event_type: ClassVar[str] = "order.triggered"


@dataclass(frozen=True, slots=True, init=False)
class OrderCancelRequested(OrderEvent):
    """A cancel was requested (status ``pending_cancel``); fills may still arrive, and are applied."""

    event_type: ClassVar[str] = "order.cancel_requested"


@dataclass(frozen=True, slots=True, init=False)
class _FillEvent(OrderEvent):
    exec_id: str
    qty: Decimal
    price: Decimal
    commission: Decimal

    _EXTRA: ClassVar[tuple[str, ...]] = ("exec_id", "qty", "price", "commission")

    def __init__(self, client_order_id: str, ts_event: datetime, exec_id: str, qty: Decimal, price: Decimal,
                 commission: Decimal = _ZERO, *, venue_order_id: str | None = None,
                 ts_init: datetime | None = None) -> None:
        _set_identity(self, client_order_id, ts_event, venue_order_id, ts_init)
        _set_exec_id(self, exec_id)
        _set_qty(self, qty)
        _set_price(self, price)
        _set_commission(self, commission)
        if (exec_id.__class__ is str and exec_id and qty.__class__ is Decimal and price.__class__ is Decimal
                and commission.__class__ is Decimal and qty > 0 and price > 0 and commission >= 0):
            return  # already clean: the broker's hot path
        name = type(self).__name__
        if not isinstance(exec_id, str) or not exec_id:
            raise DataError(f"{name} exec_id must be a non-empty string, got {exec_id!r} "
                            f"(order {client_order_id})")
        for field_name in ("qty", "price"):
            value = to_decimal(getattr(self, field_name), field_name)
            if value <= 0:
                raise DataError(f"{name} {field_name} {value} must be > 0 (order {client_order_id})")
            object.__setattr__(self, field_name, value)
        fee = to_decimal(commission, "commission")
        if fee < 0:
            raise DataError(f"{name} commission {fee} must be >= 0 (order {client_order_id})")
        object.__setattr__(self, "commission", fee)


_set_exec_id = _FillEvent.__dict__["exec_id"].__set__
_set_qty = _FillEvent.__dict__["qty"].__set__
_set_price = _FillEvent.__dict__["price"].__set__
_set_commission = _FillEvent.__dict__["commission"].__set__


@dataclass(frozen=True, slots=True, init=False)
class OrderPartiallyFilled(_FillEvent):
    """An execution of part of the order; ``qty``, ``price`` and ``commission`` are this execution's.

    ``exec_id`` names the execution: applying the same one again changes nothing.
    """

    event_type: ClassVar[str] = "order.partially_filled"


@dataclass(frozen=True, slots=True, init=False)
class OrderFilled(_FillEvent):
    """The execution the venue reports as completing the order; its own ``qty``, ``price``, ``commission``.

    ``exec_id`` names the execution: applying the same one again changes nothing.
    """

    event_type: ClassVar[str] = "order.filled"


@dataclass(frozen=True, slots=True, init=False)
class _ReasonEvent(OrderEvent):
    reason: str

    _EXTRA: ClassVar[tuple[str, ...]] = ("reason",)

    def __init__(self, client_order_id: str, ts_event: datetime, reason: str = "", *,
                 venue_order_id: str | None = None, ts_init: datetime | None = None) -> None:
        _set_identity(self, client_order_id, ts_event, venue_order_id, ts_init)
        if reason.__class__ is not str:
            raise DataError(f"{type(self).__name__} reason must be a string, got {reason!r} "
                            f"(order {client_order_id})")
        _set_reason(self, reason)


_set_reason = _ReasonEvent.__dict__["reason"].__set__


@dataclass(frozen=True, slots=True, init=False)
class OrderCanceled(_ReasonEvent):
    """The order was canceled (by the user, the strategy or the venue), with the reason if given."""

    event_type: ClassVar[str] = "order.canceled"


@dataclass(frozen=True, slots=True, init=False)
class OrderExpired(_ReasonEvent):
    """The order's time in force ran out."""

    event_type: ClassVar[str] = "order.expired"


@dataclass(frozen=True, slots=True, init=False)
class OrderRejected(_ReasonEvent):
    """The venue or a risk check refused the order, and said why (``reason``)."""

    event_type: ClassVar[str] = "order.rejected"

    def __init__(self, client_order_id: str, ts_event: datetime, reason: str, *,
                 venue_order_id: str | None = None, ts_init: datetime | None = None) -> None:
        _ReasonEvent.__init__(self, client_order_id, ts_event, reason, venue_order_id=venue_order_id,
                              ts_init=ts_init)
        if not reason:
            raise DataError(f"OrderRejected needs a reason (order {client_order_id})")


@dataclass(frozen=True, slots=True, init=False)
class OrderReplaced(OrderEvent):
    """A replacement took the order's place at the venue; ``replaced_by`` is the new order's id, if known."""

    event_type: ClassVar[str] = "order.replaced"

    replaced_by: str | None

    _EXTRA: ClassVar[tuple[str, ...]] = ("replaced_by",)

    def __init__(self, client_order_id: str, ts_event: datetime, replaced_by: str | None = None, *,
                 venue_order_id: str | None = None, ts_init: datetime | None = None) -> None:
        _set_identity(self, client_order_id, ts_event, venue_order_id, ts_init)
        if replaced_by is not None and (not isinstance(replaced_by, str) or not replaced_by):
            raise DataError(f"OrderReplaced replaced_by must be a non-empty string or None, got {replaced_by!r} "
                            f"(order {client_order_id})")
        object.__setattr__(self, "replaced_by", replaced_by)


# An order's history is kept as one flat tuple of plain values: for each event, its type's
# number, ``ts_event``, ``ts_init``, ``venue_order_id`` and then the type's own field values
# (``_EXTRA``); the client order id is the order's own. That holds nothing the garbage
# collector tracks (a backtest keeps every order of the run, and their event objects would be
# most of what each collection scans), and appending to it frees the tuple it replaces, so it
# adds nothing to the count that starts a collection either. ``Order.events`` makes the event
# objects again on use. An event of another type (none of Weaver's) is kept as the object.
_EVENT_TYPES: tuple[type[OrderEvent], ...] = (
    OrderSubmitted, OrderAccepted, OrderTriggered, OrderPartiallyFilled, OrderFilled, OrderCancelRequested,
    OrderCanceled, OrderExpired, OrderRejected, OrderReplaced,
)
_CODES = {kind: code for code, kind in enumerate(_EVENT_TYPES)}
#: how many values follow each event type's number in a history
_WIDTHS = tuple(3 + len(kind._EXTRA) for kind in _EVENT_TYPES)
_EXEC_AT = 4  # where a fill's exec_id sits in its record, counted from the type's number


def _record(event: OrderEvent) -> tuple[Any, ...]:
    code = _CODES.get(event.__class__)
    if code is None:
        return (event,)
    return (code, event.ts_event, event.ts_init, event.venue_order_id, *event._values())


def _events_of(client_order_id: str, history: tuple[Any, ...]) -> list[OrderEvent]:
    """Return the events a flat history stands for, oldest first."""
    events: list[OrderEvent] = []
    i, n = 0, len(history)
    while i < n:
        code = history[i]
        if code.__class__ is int:
            ts_event, ts_init, venue, *extra = history[i + 1:i + 1 + _WIDTHS[code]]
            events.append(_EVENT_TYPES[code](client_order_id, ts_event, *extra, venue_order_id=venue,
                                             ts_init=ts_init))
            i += 1 + _WIDTHS[code]
        else:  # an event object of another type
            events.append(code)
            i += 1
    return events


S = OrderStatus
_WORKING = (S.SUBMITTED, S.NEW, S.PARTIALLY_FILLED, S.PENDING_CANCEL)
_DONE = (S.FILLED, S.CANCELED, S.EXPIRED, S.REJECTED, S.REPLACED)
_UNFILLED_DONE = (S.CANCELED, S.EXPIRED, S.REPLACED)  # ended, and a fill from before the end may still arrive

_TABLE: dict[tuple[OrderStatus, type[OrderEvent]], OrderStatus] = {
    (S.PENDING, OrderSubmitted): S.SUBMITTED,
    (S.PENDING, OrderRejected): S.REJECTED,  # refused before it left (e.g. a risk check)
    (S.PENDING, OrderCanceled): S.CANCELED,  # withdrawn before it left
    # the venue's reports can overtake Weaver's own record of sending the order
    (S.PENDING, OrderAccepted): S.NEW,
    (S.PENDING, OrderPartiallyFilled): S.PARTIALLY_FILLED,
    (S.PENDING, OrderFilled): S.FILLED,
    (S.SUBMITTED, OrderAccepted): S.NEW,
    (S.SUBMITTED, OrderRejected): S.REJECTED,
    (S.NEW, OrderRejected): S.REJECTED,  # Alpaca: rare, decided by the exchange after the ack
    # a fill is a fact wherever it lands: the execution happened, so it counts. A fill that
    # completes the order moves it by the OrderFilled entry, any other by OrderPartiallyFilled,
    # whatever the venue called it: its reports can arrive out of order.
    **{(s, OrderPartiallyFilled): S.PARTIALLY_FILLED for s in (S.SUBMITTED, S.NEW, S.PARTIALLY_FILLED)},
    (S.PENDING_CANCEL, OrderPartiallyFilled): S.PENDING_CANCEL,  # the cancel is still pending
    **{(s, OrderPartiallyFilled): s for s in _UNFILLED_DONE},  # a late fill from before the end
    **{(s, OrderFilled): S.FILLED for s in (*_WORKING, *_UNFILLED_DONE)},
    **{(s, OrderTriggered): s for s in _WORKING},  # a trigger annotates; the status stays
    **{(s, OrderCancelRequested): S.PENDING_CANCEL for s in (S.SUBMITTED, S.NEW, S.PARTIALLY_FILLED)},
    **{(s, OrderCanceled): S.CANCELED for s in _WORKING},
    **{(s, OrderExpired): S.EXPIRED for s in _WORKING},
    **{(s, OrderReplaced): S.REPLACED for s in _WORKING},
}
TRANSITIONS: Mapping[tuple[OrderStatus, type[OrderEvent]], OrderStatus] = MappingProxyType(_TABLE)
"""``(from_status, event type) -> to_status``: the only source of the order lifecycle.

A fill takes the ``OrderFilled`` entry when it completes the order and the
``OrderPartiallyFilled`` entry otherwise. A pair in neither this table nor :data:`IGNORED`
raises ``InvalidTransition``.
"""

IGNORED: frozenset[tuple[OrderStatus, type[OrderEvent]]] = frozenset({
    # news the order has already moved past (a duplicate, or a report overtaken by a later
    # one): applying it changes nothing and records nothing
    *((s, OrderSubmitted) for s in OrderStatus if s is not S.PENDING),
    *((s, OrderAccepted) for s in (S.NEW, S.PARTIALLY_FILLED, S.PENDING_CANCEL, *_DONE)),
    *((s, OrderTriggered) for s in _DONE),
    *((s, OrderCancelRequested) for s in (S.PENDING_CANCEL, *_DONE)),
    *((s, kind) for s in _DONE for kind in (OrderCanceled, OrderExpired, OrderRejected, OrderReplaced)),
})
"""``(status, event type)`` pairs that are stale news: ``Order.apply`` drops them.

A second ``OrderTriggered`` and an execution applied before (same ``exec_id``) are dropped
as well.
"""

# TRANSITIONS by event type, then status: what ``Order.apply`` looks up (no key tuple per event)
_NEXT: dict[type[OrderEvent], dict[OrderStatus, OrderStatus]] = {kind: {} for kind in _EVENT_TYPES}
for (_status, _kind), _target in _TABLE.items():
    _NEXT[_kind][_status] = _target
_STALE: dict[type[OrderEvent], frozenset[OrderStatus]] = {
    kind: frozenset(s for s, k in IGNORED if k is kind) for kind in _EVENT_TYPES
}
del _status, _kind, _target
_NOWHERE: dict[OrderStatus, OrderStatus] = {}
_SUBMITTED_CODE, _ACCEPTED_CODE = _CODES[OrderSubmitted], _CODES[OrderAccepted]
_FILLED_CODE, _PARTIAL_CODE = _CODES[OrderFilled], _CODES[OrderPartiallyFilled]
_FILL_CODES = (_PARTIAL_CODE, _FILLED_CODE)
_PARTIAL_NEXT, _FILLED_NEXT = _NEXT[OrderPartiallyFilled], _NEXT[OrderFilled]
#: where ``acknowledge`` leaves a pending order: where submitting then accepting takes it
_ACKNOWLEDGED = _NEXT[OrderAccepted][_NEXT[OrderSubmitted][OrderStatus.PENDING]]
_REASON_OF = {S.CANCELED: OrderCanceled, S.EXPIRED: OrderExpired, S.REJECTED: OrderRejected,
              S.REPLACED: OrderReplaced}

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
    venue_order_id: str | None = None
    replaced_by: str | None = None
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
        ended_by = _REASON_OF[status]
        for event in reversed(self.events):  # a late fill may follow the event that ended it
            if event.__class__ is ended_by:
                return getattr(event, "reason", "") or status.value
        return status.value

    @property
    def events(self) -> list[OrderEvent]:
        """Return the events applied to the order, oldest first (made anew on each call)."""
        return _events_of(self.client_order_id, self._history)

    @property
    def updated_at(self) -> datetime | None:
        """Return the venue time (``ts_event``) of the latest event (None before the first)."""
        history, i, last = self._history, 0, None
        while i < len(history):  # a few events: walk to the last one's time
            code = history[i]
            if code.__class__ is int:
                last, i = history[i + 1], i + 1 + _WIDTHS[code]
            else:
                last, i = code.ts_event, i + 1
        return last

    @property
    def exec_ids(self) -> list[str]:
        """Return the ids of the executions applied to the order, oldest first."""
        history, i, found = self._history, 0, []
        while i < len(history):
            code = history[i]
            if code.__class__ is int:
                if code in _FILL_CODES:
                    found.append(history[i + _EXEC_AT])
                i += 1 + _WIDTHS[code]
            else:
                i += 1
        return found

    @property
    def is_open(self) -> bool:
        """Return whether the order is working at the venue."""
        return self.status.is_open

    @property
    def is_terminal(self) -> bool:
        """Return whether the order is done (only a late fill can still change it)."""
        return self.status.is_terminal

    def apply(self, event: OrderEvent) -> Order:
        """Apply a lifecycle event and record it in the order's history (``events``).

        The order is either fully updated or, on error, left untouched. Stale news (a
        duplicate, or a report the order has already moved past, :data:`IGNORED`) changes
        nothing and is not recorded, so a venue's messages may arrive twice or out of order:

        - a fill is a fact wherever it lands: it counts once per ``exec_id``, also after a
          cancel request, a cancelation or an expiry (it happened before them), and the
          order is ``filled`` when the fills complete it, whichever fill the venue called
          final;
        - a second trigger, acknowledgement or cancel request changes nothing.

        Parameters
        ----------
        event
            The fact to apply, carrying this order's ``client_order_id``.

        Returns
        -------
        Order
            This order, for chaining.

        Raises
        ------
        InvalidTransition
            If the event is for another order, ``(status, type(event))`` is in neither
            ``TRANSITIONS`` nor ``IGNORED`` (e.g. a trigger of an order never sent, a
            rejection after a fill), a fill exceeds the remaining quantity, or an execution
            comes again with other numbers.
        """
        kind = event.__class__
        if event.client_order_id != self.client_order_id:
            raise InvalidTransition(self.status, event, self.client_order_id,
                                    f"the event is for order {event.client_order_id!r}")
        if kind is OrderFilled or kind is OrderPartiallyFilled:
            return self._apply_fill(event)  # type: ignore[arg-type]
        status = self.status
        target = _NEXT.get(kind, _NOWHERE).get(status)  # TRANSITIONS, without a key tuple per event
        if target is None:
            if status in _STALE.get(kind, ()):
                return self
            raise InvalidTransition(status, event, self.client_order_id)
        # each branch records the event in the history as _record would (the hot path inline)
        ts = event.ts_event
        if kind is OrderSubmitted:
            self.submitted_at = ts
            self._history += (_SUBMITTED_CODE, ts, event.ts_init, event.venue_order_id)
        elif kind is OrderAccepted:
            self._history += (_ACCEPTED_CODE, ts, event.ts_init, event.venue_order_id)
        else:
            if kind is OrderTriggered:
                if self.triggered:  # a duplicate
                    return self
                self.triggered = True
            elif kind is OrderCanceled:
                self.canceled_at = ts
            elif kind is OrderRejected:
                self.reject_reason = event.reason  # type: ignore[attr-defined]
            elif kind is OrderReplaced:
                self.replaced_by = event.replaced_by  # type: ignore[attr-defined]
            self._history += _record(event)
        if self.venue_order_id is None and event.venue_order_id is not None:
            self.venue_order_id = event.venue_order_id
        self.status = target
        return self

    def _apply_fill(self, event: _FillEvent) -> Order:
        qty, done, status = event.qty, self.filled_qty, self.status
        if done and self._has_execution(event):
            return self  # this execution counted already
        remaining = self.qty - done  # remaining_qty, inline: every fill passes here
        completes = qty == remaining
        target = (_FILLED_NEXT if completes else _PARTIAL_NEXT).get(status)
        if qty > remaining:
            raise InvalidTransition(status, event, self.client_order_id,
                                    f"fill qty {qty} exceeds remaining qty {remaining}")
        if target is None:
            raise InvalidTransition(status, event, self.client_order_id,
                                    "a fill of an order the venue rejected")
        filled = done + qty
        if self.avg_fill_price is None:
            self.avg_fill_price = event.price
        else:
            self.avg_fill_price = (self.avg_fill_price * done + event.price * qty) / filled
        self.filled_qty = filled
        if completes:
            self.filled_at = event.ts_event
        self._history += _record(event)
        if self.venue_order_id is None and event.venue_order_id is not None:
            self.venue_order_id = event.venue_order_id
        self.status = target
        return self

    def _has_execution(self, event: _FillEvent) -> bool:
        """Return whether ``event``'s execution was applied before (raise if with other numbers)."""
        history, i, exec_id = self._history, 0, event.exec_id
        while i < len(history):
            code = history[i]
            if code.__class__ is not int:
                i += 1
                continue
            if code in _FILL_CODES and history[i + _EXEC_AT] == exec_id:
                if history[i + _EXEC_AT + 1:i + _EXEC_AT + 3] != (event.qty, event.price):
                    raise InvalidTransition(
                        self.status, event, self.client_order_id,
                        f"execution {exec_id!r} was applied before as {history[i + _EXEC_AT + 1]} at "
                        f"{history[i + _EXEC_AT + 2]}, now reported as {event.qty} at {event.price}")
                return True
            i += 1 + _WIDTHS[code]
        return False

    # -- the simulator's fast paths: what ``apply`` does, without making the events --------------

    def acknowledge(self, timestamp: datetime) -> Order:
        """Apply ``OrderSubmitted`` then ``OrderAccepted``, both at ``timestamp``, as ``apply`` would.

        For a venue that acknowledges an order as it takes it (the simulator) when nobody
        listens to its updates: the same state and history, without making the two event
        objects. A property test holds it equal to the two ``apply`` calls.
        """
        if self.status is not _PENDING:  # the general path says why not
            coid = self.client_order_id
            return self.apply(OrderSubmitted(coid, timestamp)).apply(OrderAccepted(coid, timestamp))
        self.submitted_at = timestamp
        self._history += (_SUBMITTED_CODE, timestamp, timestamp, None, _ACCEPTED_CODE, timestamp, timestamp, None)
        self.status = _ACKNOWLEDGED
        return self

    def fill(self, timestamp: datetime, exec_id: str, qty: Decimal, price: Decimal,
             commission: Decimal = _ZERO) -> Order:
        """Apply the execution ``exec_id`` of ``qty`` at ``price`` as ``apply`` would apply its event.

        ``OrderFilled`` when it completes the order, else ``OrderPartiallyFilled``; for the
        simulator when nobody listens to its updates. The values must be clean (positive
        Decimals, an aware UTC time, an id new to the order), as the simulator's are. A
        property test holds it equal to ``apply``.
        """
        remaining = self.qty - self.filled_qty
        completes = qty == remaining
        target = (_FILLED_NEXT if completes else _PARTIAL_NEXT).get(self.status)
        if target is None or qty > remaining or self.filled_qty:  # the general path says why not
            kind = OrderFilled if completes else OrderPartiallyFilled
            return self.apply(kind(self.client_order_id, timestamp, exec_id, qty, price, commission))
        # the first fill: no execution to compare with, no average to weigh
        self.avg_fill_price = price
        self.filled_qty = qty
        if completes:
            self.filled_at = timestamp
        self._history += (_FILLED_CODE if completes else _PARTIAL_CODE, timestamp, timestamp, None,
                          exec_id, qty, price, commission)
        self.status = target
        return self

    def trail(self, price: Decimal) -> None:
        """Move a trailing stop's mark to ``price`` if it is beyond it, and its stop with it.

        The mark of a sell is its high-water mark (it only rises), of a buy its low-water
        mark (it only falls); the stop sits ``trail_price`` or ``trail_percent`` percent below
        (above) it. This is the fill model's annotation, not a status change: the venue
        keeps the mark (Alpaca reports it as ``hwm``), and :meth:`replay` copies it. The first call sets the mark (the broker does, at submit, from the last price).

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
            ``created_at``) and a trailing stop's mark and stop (the venue's) are copied;
            everything else, ``triggered`` included, comes from the events.

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
            venue_order_id=self.venue_order_id,
            created_at=self.created_at,
            tag=self.tag,
            trail_price=self.trail_price,
            trail_percent=self.trail_percent,
            hwm=self.hwm,
        )
        for event in history:
            order.apply(event)
        return order
