"""``SimulatedBroker``: the ``Broker`` port over a portfolio, filled bar by bar.

Conventions (documented defaults, each pinned by a test in ``tests/unit/sim``):

- ``submit`` only queues. The engine calls ``process_bar`` for bar t+1 after the strategy
  ran on bar t, so an order placed on bar t is first eligible at t+1. An order submitted
  from an ``on_update`` handler during ``process_bar`` waits for the symbol's next bar.
- Rejections are not exceptions: ``submit`` of an invalid order applies ``OrderRejected``
  with a reason that names the values, records the order and returns it.
- Cash check at submit: an *opening* buy (the part of a buy beyond the short it covers)
  is rejected when its estimated cost at ``price_of(symbol)`` plus estimated commission
  exceeds cash minus what other open buy orders reserve (their remaining qty at their
  symbol's ``price_of`` plus their estimated commission). Limit and stop prices are not
  used for the estimate.
- Cash check at fill (DESIGN §4): a buy fill whose cost plus commission exceeds cash
  (e.g. after a gap up) is reduced to the most units the cash pays for, commission
  included (whole units unless ``fractional``, else down to 1e-8); that part fills and the
  rest of the order is canceled with the reason "insufficient cash at fill: reduced from
  ... to ...". When the cash pays for no unit at all, nothing fills and the order is
  canceled with the reason. A venue checks buying power at submit and fills what it
  accepted; the simulator can only check at submit against the last close, so this is how
  it honours a gap without dropping the order.
- ``refused`` lists, in order, every order refused in whole or in part: rejected at
  submit, or canceled (reduced or not) for lack of cash at the fill.
- Buying power (DESIGN §4): the cash checks at submit and at the fill let a buy spend
  ``cash + (margin - 1) * equity``, equity being cash plus the positions marked at
  ``price_of`` (the symbol being filled at its fill price). ``margin=1`` (the default) is a
  cash account: the amount is the cash, and the checks and their messages are the ones
  above. A margin account's cash goes below zero when it borrows.
- Short sales are allowed by default and credit their proceeds to cash; margin does not
  limit them. With ``allow_short=False`` a sell that would take the position, net of open
  sell orders, below zero is rejected.
- Time in force: DAY expires on the first bar with ``session_end=True`` it sees (the
  last bar of the session in which it was first eligible); GTC persists; IOC and FOK are
  decided on their first eligible bar (IOC cancels its unfilled remainder; FOK fills in
  full or is canceled).
- Volume participation: ``participation * volume`` shares per bar and symbol, shared by
  that symbol's working orders in submission order (rounded down to whole shares unless
  ``fractional``).
- Prices: comparisons use floats; a fill's price is ``Decimal(repr(price))``, the shortest
  decimal that reads back as the same float: 100.01 stays exactly 100.01, and a price
  computed in floats (a synthetic bar, a slippage adjustment) is kept to the last bit, as
  float-based engines keep it.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import datetime
from decimal import ROUND_DOWN, Decimal, InvalidOperation
from types import MappingProxyType
from typing import TYPE_CHECKING

from weaver.core import (
    Account,
    Fill,
    FillRecord,
    Order,
    OrderAccepted,
    OrderCanceled,
    OrderEvent,
    OrderExpired,
    OrderFilled,
    OrderPartiallyFilled,
    OrderRejected,
    OrderSide,
    OrderStatus,
    OrderSubmitted,
    OrderTriggered,
    OrderType,
    Portfolio,
    Position,
    TimeInForce,
    WeaverError,
)
from weaver.core.fills import RECORD_WIDTH
from weaver.sim.bar import BarView
from weaver.sim.costs import CommissionModel, CommissionSpec, NoCommission, SlippageFn, make_commission
from weaver.sim.fill import FillModel

if TYPE_CHECKING:
    import numpy as np

__all__ = ["CASH_AT_FILL", "PriceDecimals", "SimulatedBroker", "UpdateHandler"]

UpdateHandler = Callable[[Order, OrderEvent], None]

_ZERO = Decimal(0)
_QUANTUM = Decimal("1e-8")
_BUY = OrderSide.BUY
_MARKET = OrderType.MARKET
_TRAIL = OrderType.TRAILING_STOP
_DAY = TimeInForce.DAY
_IOC = TimeInForce.IOC
_FOK = TimeInForce.FOK
_OPEN = frozenset(s for s in OrderStatus if s.is_open)
_INF = float("inf")
_CLEARLY = 1.0 - 1e-9  # a float comparison this far inside a bound decides as the Decimal one
_NO_SYMBOLS: frozenset[str] = frozenset()
_PENDING = OrderStatus.PENDING
_SUBMITTED = OrderStatus.SUBMITTED

#: the reason of an order canceled, in whole or in part, because cash did not pay for its fill
CASH_AT_FILL = "insufficient cash at fill"

class PriceDecimals:
    """``Decimal(repr(price))`` of float prices, remembered: a run converts the same bar prices again
    and again, and a sweep's runs on the same bars share one (the engine's prepared bars hold it).

    At most ``limit`` prices are kept; when full it starts again. Zero is not kept (0.0 and
    -0.0 are equal keys, of different reprs).
    """

    __slots__ = ("values", "limit")

    def __init__(self, limit: int = 1 << 16) -> None:
        self.values: dict[float, Decimal] = {}
        self.limit = limit

    def __call__(self, price: float) -> Decimal:
        """Return ``Decimal(repr(price))``, the shortest decimal that reads back as ``price``."""
        values = self.values
        value = values.get(price)
        if value is None:
            value = Decimal(repr(price))
            if price:
                if len(values) >= self.limit:
                    values.clear()
                values[price] = value
        return value

    def __len__(self) -> int:
        return len(self.values)


def _money(value: Decimal) -> str:
    """Format an amount for a message: 12345.678 -> '12,345.68'."""
    return f"{value:,.2f}"


def _number(value: Decimal) -> str:
    """Format a multiplier for a message: Decimal('1.50') -> '1.5', Decimal('10') -> '10'."""
    return format(value.normalize(), "f")


class SimulatedBroker:
    """A broker that fills orders against bars, for backtests and the emulator.

    Parameters
    ----------
    portfolio
        The account the broker owns: every fill is applied to it.
    symbols
        The tradable symbols; orders for any other symbol are rejected.
    clock
        Returns the current (timezone-aware) time; stamps submit and cancel events.
    price_of
        Returns the reference price of a symbol (the last close the engine knows); used
        for the cash check at submit and for ``account()``.
    commission
        None, a ``Percent`` rate, a ``CommissionModel`` or a callable ``(qty, price) -> fee``.
    slippage
        None, basis points, or a callable ``(order, price, bar) -> price`` for market and
        stop fills. Only with the default fill model.
    participation
        The fraction of a bar's volume that may fill per bar and symbol, or None for all.
    allow_short
        Whether a sell may take a position below zero.
    fractional
        Whether non-integral quantities are accepted.
    fill_model
        The fill model; by default ``FillModel(slippage=slippage, rng=rng)``.
    rng
        A ``numpy.random.Generator`` for the default fill model. Only with it.
    decimals
        The bar prices' Decimals, to share between brokers over the same bars (a sweep's);
        by default the broker's own.
    margin
        The buying-power multiplier, >= 1: a buy may spend ``cash + (margin - 1) * equity``
        (1: a cash account).

    Raises
    ------
    ValueError
        If ``participation`` is not in (0, 1], ``margin`` is below 1, or
        ``slippage``/``rng`` come with a ``fill_model`` (give them to the model instead).
    """

    def __init__(
        self,
        portfolio: Portfolio,
        *,
        symbols: Collection[str],
        clock: Callable[[], datetime],
        price_of: Callable[[str], float],
        commission: CommissionSpec = None,
        slippage: None | float | SlippageFn = None,
        participation: float | None = None,
        allow_short: bool = True,
        fractional: bool = False,
        fill_model: FillModel | None = None,
        rng: np.random.Generator | None = None,
        decimals: PriceDecimals | None = None,
        margin: Decimal | float | int | str = 1,
    ) -> None:
        if participation is not None and not 0 < participation <= 1:
            raise ValueError(f"participation must be in (0, 1], got {participation!r}")
        try:
            multiple = margin if isinstance(margin, Decimal) else Decimal(
                repr(float(margin)) if isinstance(margin, float) else str(margin))
        except InvalidOperation:
            multiple = Decimal("NaN")
        if not (multiple.is_finite() and multiple >= 1):
            raise ValueError(f"margin must be a number >= 1 (1: a cash account), got {margin!r}")
        if fill_model is not None and (slippage is not None or rng is not None):
            raise ValueError("pass slippage and rng to the fill model, not to SimulatedBroker")
        self.portfolio = portfolio
        self.symbols = frozenset(symbols)
        self.clock = clock
        self.price_of = price_of
        self.commission: CommissionModel = make_commission(commission)
        self._free = isinstance(self.commission, NoCommission)  # no fee: nothing to track per order
        self.participation = participation
        self.allow_short = allow_short
        self.fractional = fractional
        self.margin = multiple
        # what the equity adds to the cash a buy may spend; zero (falsy) for a cash account
        self._leverage = multiple - 1
        self.fill_model = fill_model if fill_model is not None else FillModel(
            slippage=slippage, rng=rng
        )
        # the default rules without slippage or volume limits: a market order fills what remains
        # at the open, kept within the bar, as FillModel.match decides, without building a match
        self._plain = (
            self.fill_model.__class__ is FillModel and self.fill_model.slippage is None and participation is None
        )
        self._decimals = decimals if decimals is not None else PriceDecimals()
        self._price_values = self._decimals.values  # read on every fill
        self.orders: dict[str, Order] = {}
        """Every order ever submitted (also rejected ones), in submission order."""
        self.fill_log: list[object] = []
        """Every fill's record (``Fill.record()``) laid end to end, in execution order: a list of
        plain values, which adds nothing for the garbage collector to track or count."""
        self._working: dict[str, list[Order]] = {}
        self.working: Mapping[str, Sequence[Order]] = MappingProxyType(self._working)
        """A live, read-only view: symbol -> its working orders; empty (falsy) when none."""
        self._notional: dict[str, Decimal] = {}  # filled notional per order, for commission
        self.refused: list[Order] = []
        """Orders refused in whole or in part: rejected, or canceled or reduced for cash at the fill."""
        self._handlers: list[UpdateHandler] = []

    # --- the Broker port -------------------------------------------------------------------

    def submit(self, order: Order) -> Order:
        """Submit an order; return it accepted and working, or rejected with a reason.

        Idempotent by ``client_order_id``: submitting an id again returns the order
        recorded first and changes nothing.

        Raises
        ------
        WeaverError
            If a new order is not pending (it was already submitted elsewhere).
        """
        existing = self.orders.get(order.client_order_id)
        if existing is not None:
            return existing
        if order.status is not _PENDING:
            raise WeaverError(
                f"cannot submit order {order.client_order_id!r} in status "
                f"'{order.status.value}': only a pending order can be submitted"
            )
        now = self.clock()
        self.orders[order.client_order_id] = order
        reason = self._rejection(order)
        if reason is not None:
            self.refused.append(order)
            self._emit(order, OrderRejected(order.client_order_id, now, reason))
            return order
        if order.type is _TRAIL and order.hwm is None:  # the mark starts at the last price
            order.trail(self._ref_price(order.symbol))  # type: ignore[arg-type]
        if self._handlers:
            coid = order.client_order_id
            self._emit(order, OrderSubmitted(coid, now))
            if order.status is _SUBMITTED:  # a handler may have canceled it already
                self._emit(order, OrderAccepted(coid, now))
            if order.status not in _OPEN:
                return order
        else:  # no one to tell: the two events' changes, straight onto the order
            order.acknowledge(now)
        queue = self._working.get(order.symbol)
        if queue is None:
            self._working[order.symbol] = [order]
        else:
            queue.append(order)
        return order

    def cancel(self, client_order_id: str) -> Order:
        """Cancel a working order and return it; a finished order is returned unchanged.

        Raises
        ------
        KeyError
            If no order has this id (as the ``Broker`` port specifies).
        """
        order = self.orders.get(client_order_id)
        if order is None:
            raise KeyError(f"cannot cancel unknown order {client_order_id!r}")
        if order.is_open:
            self._emit(order, OrderCanceled(client_order_id, self.clock(), "canceled by request"))
            self._unqueue(order)
        return order

    def get_order(self, client_order_id: str) -> Order | None:
        """Return the order with this id, or None."""
        return self.orders.get(client_order_id)

    def open_orders(self, symbol: str | None = None) -> list[Order]:
        """Return the working orders, of one symbol or all, in submission order."""
        if symbol is not None:
            return list(self._working.get(symbol, ()))
        return [o for o in self.orders.values() if o.is_open]

    def positions(self) -> dict[str, Position]:
        """Return the non-flat positions by symbol."""
        return {s: p for s, p in self.portfolio.positions.items() if p.qty}

    def account(self) -> Account:
        """Return cash, equity at ``price_of`` and buying power.

        Buying power is the cash less what open buys reserve, plus ``(margin - 1) * equity``.
        """
        positions = self.positions()
        prices = {s: Decimal(repr(float(self.price_of(s)))) for s in positions}
        cash = self.portfolio.cash
        equity = self.portfolio.equity(prices)
        return Account(
            cash=cash,
            equity=equity,
            buying_power=cash - self._reserved(None) + self._leverage * equity,
        )

    @property
    def fill_records(self) -> list[FillRecord]:
        """Return every fill as a record (``Fill.record()``), in execution order."""
        log = self.fill_log
        return [tuple(log[k:k + RECORD_WIDTH]) for k in range(0, len(log), RECORD_WIDTH)]  # type: ignore[misc]

    @property
    def fills(self) -> list[Fill]:
        """Return every fill, in execution order (made from the records on each call)."""
        return [Fill.from_record(r) for r in self.fill_records]

    def on_update(self, handler: UpdateHandler) -> None:
        """Call ``handler(order, event)`` for every event applied to any order from now on."""
        self._handlers.append(handler)

    # --- the engine's hot path ---------------------------------------------------------------

    def has_working(self, symbol: str) -> bool:
        """Return whether ``symbol`` has working orders (O(1))."""
        return symbol in self._working

    @property
    def working_symbols(self) -> frozenset[str]:
        """Return the symbols that have working orders, as a snapshot.

        A snapshot rather than a live view, so the engine can iterate over it while
        ``process_bar`` retires symbols.
        """
        return frozenset(self._working) if self._working else _NO_SYMBOLS

    def process_bar(
        self,
        symbol: str,
        ts: datetime,
        open: float,
        high: float,
        low: float,
        close: float,
        volume: float,
        session_end: bool = False,
    ) -> list[Fill]:
        """Match ``symbol``'s working orders against one bar; return the fills it made.

        Orders are matched in submission order. Each fill is applied to the portfolio and
        its order; IOC/FOK remainders are canceled after their first bar, and DAY orders
        expire when ``session_end`` is true. Every event goes to the ``on_update`` handlers.
        :meth:`match_bar` does the same and returns only how many fills it made.

        Parameters
        ----------
        symbol
            The bar's symbol.
        ts
            The bar's timestamp (timezone-aware); stamps the fills and events.
        open, high, low, close, volume
            The bar, as plain floats.
        session_end
            Whether this is the last bar of its trading session.
        """
        log = self.fill_log
        start = len(log)
        made = self.match_bar(symbol, ts, open, high, low, close, volume, session_end)
        return [Fill.from_record(tuple(log[k:k + RECORD_WIDTH])) for k in range(start, start + made * RECORD_WIDTH,
                                                                                  RECORD_WIDTH)]

    def match_bar(
        self,
        symbol: str,
        ts: datetime,
        open: float,
        high: float,
        low: float,
        close: float,
        volume: float,
        session_end: bool = False,
    ) -> int:
        """Match ``symbol``'s working orders against one bar (as :meth:`process_bar`); return how many fills it made.

        The loops' call: the fills are in ``fill_log``, and no ``Fill`` object is made.
        """
        queue = self._working.get(symbol)
        if not queue:
            return 0
        bar = None
        capacity = None if self.participation is None else self._capacity(volume)
        model = self.fill_model
        plain = self._plain
        made = 0
        closed = False
        # A snapshot: orders submitted by handlers during this bar wait for the next one.
        for order in tuple(queue):
            if order.status not in _OPEN:  # canceled by a handler earlier in this loop
                closed = True
                continue
            if plain and order.type is _MARKET:
                qty = order.qty - order.filled_qty
                price = high if open > high else low if open < low else open
            else:
                if bar is None:
                    bar = BarView(ts, open, high, low, close, volume)
                match = model.match(order, bar, capacity)
                if match is None:
                    qty = price = None
                else:
                    if match.triggered:
                        self._emit(order, OrderTriggered(order.client_order_id, ts))
                    qty, price = match.qty, match.price
            if qty is not None:
                filled = self._execute(order, qty, price, ts)
                if filled is not None:
                    made += 1
                    if capacity is not None:
                        capacity -= filled
            if order.status in _OPEN:
                tif = order.tif
                if tif is _IOC or tif is _FOK:
                    unfilled = order.remaining_qty
                    self._emit(order, OrderCanceled(
                        order.client_order_id, ts, f"{tif.value}: {unfilled} of {order.qty} unfilled on first bar"
                    ))
                    closed = True
                elif session_end and tif is _DAY:
                    self._emit(order, OrderExpired(order.client_order_id, ts, "day order unfilled at the session's end"))
                    closed = True
            else:
                closed = True
        if closed:
            if len(queue) == 1 and queue[0].status not in _OPEN:  # the usual case: its one order is done
                queue.clear()
            else:
                queue[:] = [o for o in queue if o.status in _OPEN]
            if not queue and self._working.get(symbol) is queue:
                del self._working[symbol]
        return made

    # --- internals -------------------------------------------------------------------------

    def _emit(self, order: Order, event: OrderEvent) -> None:
        order.apply(event)
        if self._handlers:
            for handler in self._handlers:
                handler(order, event)

    def _unqueue(self, order: Order) -> None:
        queue = self._working.get(order.symbol)
        if queue is None:
            return
        queue[:] = [o for o in queue if o is not order]
        if not queue:
            del self._working[order.symbol]

    def _capacity(self, volume: float) -> Decimal:
        cap = float(self.participation * volume)  # type: ignore[operator]
        if not cap > 0:  # also NaN volume
            return _ZERO
        if self.fractional:
            return Decimal(repr(cap)).quantize(_QUANTUM, rounding=ROUND_DOWN)
        return Decimal(int(cap))

    def _execute(self, order: Order, qty: Decimal, price: float, ts: datetime) -> Decimal | None:
        """Apply one fill to the portfolio and the order (return its quantity), or cancel a buy cash cannot pay."""
        # float(): a numpy scalar's repr is 'np.float64(...)'
        px = self._price_values.get(price) or self._decimals(price if price.__class__ is float else float(price))
        coid = order.client_order_id
        if self._free:
            prev_notional = fee = _ZERO
        else:
            prev_notional = self._notional.get(coid, _ZERO)
            fee = self.commission.charge(order.filled_qty, prev_notional, qty, px)
        reduced = None  # why the rest of the order goes, when the cash pays for part of it
        if order.side is _BUY:
            cost = qty * px + fee
            cash = self.portfolio.cash
            if cost > cash:  # a margin account may spend its buying power, more than its cash (DESIGN §4)
                cash, said = self._buying_power(order.symbol, px) if self._leverage else (cash, f"cash {_money(cash)}")
            if cost > cash:
                wanted = order.qty - order.filled_qty
                affordable, fee = self._affordable(order, qty, px, cash, prev_notional)
                if not affordable:
                    self.refused.append(order)
                    self._emit(order, OrderCanceled(
                        coid, ts, f"{CASH_AT_FILL}: {wanted} {order.symbol} at {px} would cost {_money(cost)}, "
                            f"{said} pays for none"))
                    return None
                reduced = (f"{CASH_AT_FILL}: reduced from {wanted} to {affordable} {order.symbol} at {px} "
                           f"({qty} would cost {_money(cost)}, {said})")
                qty = affordable
        bought = order.side is _BUY
        # the execution's id: the order's n-th fill, so a run made again names it again
        exec_id = f"{coid}.{self._fill_number(order)}" if order.filled_qty else f"{coid}.1"
        self.portfolio.book(order.symbol, qty if bought else -qty, px, fee)
        self.fill_log += (coid, order.symbol, bought, qty, px, ts, fee, exec_id)
        completes = qty == order.qty - order.filled_qty  # remaining_qty, inline: per fill
        if not self._free:  # what the order filled so far, for per-order minimums and caps
            if completes:
                self._notional.pop(coid, None)
            else:
                self._notional[coid] = prev_notional + qty * px
        if self._handlers:
            kind = OrderFilled if completes else OrderPartiallyFilled
            self._emit(order, kind(coid, ts, exec_id, qty, px, fee))
        else:  # no one to tell: the event's changes, straight onto the order
            order.fill(ts, exec_id, qty, px, fee)
        if reduced is not None and order.status in _OPEN:  # a handler may have canceled it
            self.refused.append(order)
            self._emit(order, OrderCanceled(coid, ts, reduced))
        return qty

    @staticmethod
    def _fill_number(order: Order) -> int:
        """Return the number the order's next fill gets (1 for its first)."""
        return len(order.exec_ids) + 1

    def _affordable(self, order: Order, qty: Decimal, px: Decimal, cash: Decimal,
                    prev_notional: Decimal) -> tuple[Decimal, Decimal]:
        """Return the most of ``qty`` that ``cash`` pays for at ``px`` with its commission, and that commission.

        Whole units, or units of 1e-8 when fractional. Commission grows with the quantity,
        so the largest quantity whose cost fits is found by bisection.
        """
        unit = _QUANTUM if self.fractional else Decimal(1)

        def fee(q: Decimal) -> Decimal:
            return _ZERO if self._free else self.commission.charge(order.filled_qty, prev_notional, q, px)

        lo, hi = 0, min(int(qty / unit), int(cash / px / unit))  # counts of units; lo always fits
        while lo < hi:
            mid = (lo + hi + 1) // 2
            q = mid * unit
            if q * px + fee(q) <= cash:
                lo = mid
            else:
                hi = mid - 1
        best = lo * unit
        return (best, fee(best)) if lo else (_ZERO, _ZERO)

    def _rejection(self, order: Order) -> str | None:
        """Return why ``order`` must be rejected, or None if it may work."""
        qty = order.qty
        if qty <= _ZERO:
            return f"qty {qty} must be > 0"
        if order.symbol not in self.symbols:
            known = ", ".join(sorted(self.symbols)[:10])
            return f"unknown symbol {order.symbol!r} (known: {known})"
        if not self.fractional and qty != qty.to_integral_value():
            return f"fractional qty {qty} not enabled: run with fractional=True, e.g. wv.backtest(..., fractional=True)"
        kind = order.type
        if kind is not _MARKET:
            if kind in (OrderType.LIMIT, OrderType.STOP_LIMIT) and not (
                order.limit_price is not None and order.limit_price > 0
            ):
                return f"{kind.value} order needs a limit_price > 0, got {order.limit_price}"
            if kind in (OrderType.STOP, OrderType.STOP_LIMIT) and not (
                order.stop_price is not None and order.stop_price > 0
            ):
                return f"{kind.value} order needs a stop_price > 0, got {order.stop_price}"
            if kind is _TRAIL and order.hwm is None and self._ref_price(order.symbol) is None:
                return (f"no reference price for {order.symbol} yet (price_of returned "
                        f"{self.price_of(order.symbol)!r}): a trailing stop starts there")

        held = self.portfolio.positions.get(order.symbol)
        position = held.qty if held is not None else _ZERO
        if order.side is _BUY:
            if position or order.symbol in self._working:
                open_buys = self._open_qty(order.symbol, _BUY) if order.symbol in self._working else _ZERO
                covers = max(_ZERO, -position - open_buys)  # short not yet covered by other buys
                opening = qty - covers
            else:  # flat, nothing working: all of it opens
                opening = qty
            if opening > _ZERO:
                if self._free and not self._working:
                    # the usual case, decided in floats when the cost is clearly within the
                    # cash: the same decision the Decimals below make, as the margin is far
                    # wider than a float's rounding, without making the price's Decimal
                    last = self.price_of(order.symbol)
                    if (last.__class__ is float and 0.0 < last < _INF
                            and float(opening) * last < float(self.portfolio.cash) * _CLEARLY):
                        return None
                ref = self._ref_price(order.symbol)
                if ref is None:
                    return (
                        f"no reference price for {order.symbol} yet "
                        f"(price_of returned {self.price_of(order.symbol)!r})"
                    )
                need = opening * ref
                if not self._free:
                    need += self.commission.charge(_ZERO, _ZERO, opening, ref)
                available = self.portfolio.cash - self._reserved(order) if self._working else self.portfolio.cash
                if need > available and self._leverage:
                    return self._beyond_buying_power(order, opening, ref, need, available)
                if need > available:
                    return (
                        f"insufficient cash: need {_money(need)}, have {_money(available)} "
                        f"({opening} {order.symbol} at {ref}{'' if self._free else ' plus commission'})"
                    )
        elif not self.allow_short:
            open_sells = self._open_qty(order.symbol, OrderSide.SELL)
            after = position - open_sells - qty
            if after < 0:
                return (
                    f"short selling not allowed: position {position}, open sells "
                    f"{open_sells}, selling {qty} would leave {after}"
                )
        return None

    def _equity(self, symbol: str | None = None, price: Decimal | None = None) -> Decimal:
        """Return cash plus the positions at ``price_of`` (``symbol`` at ``price``, when given).

        A position whose symbol has no reference price yet counts at its average price.
        """
        total = self.portfolio.cash
        for sym, p in self.portfolio.positions.items():
            if p.qty:
                mark = price if sym == symbol else self._ref_price(sym)
                total += p.qty * (mark if mark is not None else p.avg_price)
        return total

    def _buying_power(self, symbol: str, price: Decimal) -> tuple[Decimal, str]:
        """Return what a margin account's buy of ``symbol`` at ``price`` may spend at its fill, and in words."""
        cash = self.portfolio.cash
        equity = self._equity(symbol, price)
        power = cash + self._leverage * equity
        return power, (f"buying power {_money(power)}: cash {_money(cash)} + {_number(self._leverage)} x "
                       f"equity {_money(equity)}")

    def _beyond_buying_power(self, order: Order, opening: Decimal, ref: Decimal, need: Decimal,
                             available: Decimal) -> str | None:
        """Return why a margin account refuses a buy at submit, or None when its buying power pays for it."""
        equity = self._equity()
        power = available + self._leverage * equity
        if need <= power:
            return None
        cash = self.portfolio.cash
        reserved = cash - available
        return (
            f"insufficient buying power: need {_money(need)}, have {_money(power)} (cash {_money(cash)}"
            f"{f' less {_money(reserved)} reserved by open buys' if reserved else ''}, + {_number(self._leverage)} x "
            f"equity {_money(equity)}; {opening} {order.symbol} at {ref}{'' if self._free else ' plus commission'})"
        )

    def _ref_price(self, symbol: str) -> Decimal | None:
        """Return ``price_of(symbol)`` as a Decimal, or None if it is not a positive number."""
        price = self.price_of(symbol)
        if price.__class__ is not float:
            price = float(price)
        if not price > 0 or price == _INF:  # NaN fails the first test
            return None
        return self._price_values.get(price) or self._decimals(price)

    def _open_qty(self, symbol: str, side: OrderSide) -> Decimal:
        return sum(
            (o.remaining_qty for o in self._working.get(symbol, ()) if o.side is side), _ZERO
        )

    def _reserved(self, exclude: Order | None) -> Decimal:
        """Return the cash that working buy orders (other than ``exclude``) may spend.

        Per symbol, only the part of the open buys beyond the current short is reserved
        (covering a short frees cash rather than spending it), at ``price_of``, plus
        each order's estimated commission.
        """
        total = _ZERO
        for symbol, queue in self._working.items():
            buys = [o for o in queue if o.side is _BUY and o is not exclude]
            if not buys:
                continue
            ref = self._ref_price(symbol)
            if ref is None:  # nothing to estimate with yet
                continue
            short = max(_ZERO, -self.portfolio.position(symbol).qty)
            opening = sum((o.remaining_qty for o in buys), _ZERO) - short
            if opening > 0:
                total += opening * ref
            for o in buys:
                notional = self._notional.get(o.client_order_id, _ZERO)
                total += self.commission.charge(o.filled_qty, notional, o.remaining_qty, ref)
        return total
