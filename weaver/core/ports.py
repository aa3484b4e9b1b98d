"""Ports: the protocols that the outer layers implement and the core depends on."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, NamedTuple, Protocol, runtime_checkable

from weaver.core.bar import Bar
from weaver.core.envelope import Envelope
from weaver.core.orders import Order, OrderEvent
from weaver.core.portfolio import Account, Position

__all__ = ["BarMatching", "BarSource", "Broker", "Clock", "EventLog", "Tick"]

#: one bar's open, high, low, close and volume, as plain floats
OHLCV = tuple[float, float, float, float, float]


class Tick(NamedTuple):
    """One step of a run: the time, and the bars that closed then, by symbol.

    A symbol without a bar at this time is absent from ``bars``. ``session_end`` says
    whether this is the last bar of its trading session (day orders expire on it).
    """

    ts: datetime
    bars: Mapping[str, OHLCV]
    session_end: bool = False


@runtime_checkable
class Broker(Protocol):
    """A venue that takes orders: simulated, Alpaca, or the Alpaca emulator."""

    def submit(self, order: Order) -> Order:
        """Submit an order and return the broker's tracked order.

        Idempotent by ``client_order_id``: submitting an id again returns the existing
        order and places nothing new.

        Raises
        ------
        OrderRejectedError
            If the broker refuses the order outright (a simulator instead applies the
            ``OrderRejected`` event, with the reason, and returns the order).
        """
        ...

    def cancel(self, client_order_id: str) -> Order:
        """Request the cancelation of an open order and return it.

        Raises
        ------
        KeyError
            If no order has this id.
        """
        ...

    def get_order(self, client_order_id: str) -> Order | None:
        """Return the order with this client id, or None if the broker has none."""
        ...

    def open_orders(self, symbol: str | None = None) -> list[Order]:
        """Return the working orders, optionally only those in ``symbol``."""
        ...

    def positions(self) -> dict[str, Position]:
        """Return the non-flat positions by symbol."""
        ...

    def account(self) -> Account:
        """Return a snapshot of cash, equity and buying power."""
        ...

    def on_update(self, handler: Callable[[Order, OrderEvent], None]) -> None:
        """Register ``handler`` to receive every order update as ``(order, event)``.

        The order is passed after the event has been applied to it.
        """
        ...


@runtime_checkable
class BarMatching(Protocol):
    """A broker that fills its working orders against the bars it is handed: the simulator.

    A venue fills orders itself and reports them through ``on_update``; a simulator needs
    each bar. The runtime hands bars to a broker that has this capability, before the
    strategy's ``next()`` on that bar.
    """

    working: Mapping[str, Sequence[Order]]

    def match_bar(self, symbol: str, ts: datetime, open: float, high: float, low: float, close: float,
                  volume: float, session_end: bool = False) -> int:
        """Match ``symbol``'s working orders against one bar; return how many fills it made."""
        ...


@runtime_checkable
class Clock(Protocol):
    """The source of time: nothing in the domain calls ``datetime.now()``."""

    def now(self) -> datetime:
        """Return the current time (UTC): the bar being processed in a backtest."""
        ...

    def __iter__(self) -> Iterator[datetime]:
        """Yield the timestamps of the bars to process, in order.

        A backtest clock is finite; a realtime clock is endless and waits for each bar.
        """
        ...


@runtime_checkable
class EventLog(Protocol):
    """An append-only log of envelopes, read by cursor (DESIGN §5).

    A reader's position is a cursor: an opaque string the log hands out (``Envelope.cursor``,
    :meth:`head`), None for the start. Reading after a cursor yields every committed event
    not yet read, in cursor order, and never skips one, also when concurrent transactions
    commit out of id order: "the events with an id greater than the last one seen" does
    skip them (an id is drawn at insert, not at commit), so the position is not an id.
    """

    def append(self, type: str, payload: Mapping[str, Any], *, run_id: str | None = None,
               correlation_id: str | None = None, causation_id: str | None = None,
               ts: datetime | None = None, version: int | None = None) -> Envelope:
        """Check the payload against its type's schema, write the event, and return it with its cursor."""
        ...

    def read(self, after: str | None = None, limit: int = 100) -> list[Envelope]:
        """Return up to ``limit`` committed events after the cursor ``after``, in cursor order."""
        ...

    def head(self) -> str:
        """Return the cursor after the newest readable event (the start of an empty log)."""
        ...


@runtime_checkable
class BarSource(Protocol):
    """Historical bars by symbol and timeframe."""

    def history(
        self,
        symbol: str,
        timeframe: str,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> Sequence[Bar]:
        """Return the bars of ``symbol`` in ``[start, end]`` (open ends when None), oldest first."""
        ...

    def symbols(self) -> list[str]:
        """Return the symbols this source has bars for."""
        ...
