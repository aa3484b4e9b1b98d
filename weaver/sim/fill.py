"""Fill models: whether, how much and at what price a working order fills on a bar.

The base ``FillModel`` is a template method (STYLE #6). ``match`` walks one bar for one
order: it notes a stop trigger, asks ``fill_price`` -- the one pure function of
(order, bar) that subclasses override -- applies slippage to market-like fills, clamps the
price into the bar and to the limit, and sizes the fill against the bar's participation
capacity and the order's time in force. It touches no account; the broker does that.

Fill rules (DESIGN §4), for a bar with open O, high H, low L:

- market: fills at O (plus slippage).
- limit buy at P: O <= P -> O (the bar gapped through); elif L <= P -> P; else keeps working.
  A limit sell mirrors it: O >= P -> O; elif H >= P -> P.
- stop buy at S: O >= S -> O (a gap through a stop fills at the open); elif H >= S -> S;
  slippage applies. A stop sell mirrors it: O <= S -> O; elif L <= S -> S.
  A stop that triggered but could not fill completely (participation) is a market order
  from then on and fills at later bars' opens.
- stop-limit buy at S, limit P: the stop triggers like a stop and the trigger persists
  across bars (the broker applies ``OrderTriggered``; ``order.triggered``). After a trigger on an earlier bar, or on a gap
  (O >= S), it is a limit buy for the whole bar. After an intrabar trigger (O < S <= H) the
  price was at S at the trigger: if S <= P it fills at S (= min(S, P)); if S > P it fills
  at P when L <= P, ASSUMING the bar's low may come after the trigger (an OHLC bar does not
  say; this is the optimistic reading, the same one backtesting.py makes). Sells mirror it.
- trailing stop sell with trail T (a price, or a percent of the mark): the mark starts at the
  last close when the order is placed (the broker sets it); each bar is checked against the
  stop as it stood at the bar's open (mark - T): O <= stop -> O (a gap), elif L <= stop ->
  the stop; slippage applies, as to a stop. A bar that does not trigger it then raises the
  mark to its high, if higher, and the stop with it (``order.trail``): the bar's own high
  never moves the stop it is checked against, as an OHLC bar does not say whether its high
  came before its low. A buy mirrors it with the low-water mark and the stop above it.
- Slippage never moves a fill outside the bar's [low, high], and never past a limit.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from weaver.core import OrderSide, OrderType, TimeInForce
from weaver.sim.costs import SlippageFn, make_slippage

if TYPE_CHECKING:
    import numpy as np

    from weaver.core import Order
    from weaver.sim.bar import BarView

__all__ = ["FillModel", "Match", "RandomSlippageFillModel"]

_MARKET = OrderType.MARKET
_LIMIT = OrderType.LIMIT
_STOP = OrderType.STOP
_STOP_LIMIT = OrderType.STOP_LIMIT
_TRAIL = OrderType.TRAILING_STOP
_BUY = OrderSide.BUY
_FOK = TimeInForce.FOK


class Match:
    """The outcome of matching an order on a bar: fill ``qty`` at ``price``, and whether its stop triggered.

    ``qty`` and ``price`` are None when the bar triggers the stop but fills nothing (a
    stop-limit whose limit the bar does not reach).
    """

    __slots__ = ("qty", "price", "triggered")

    def __init__(self, qty: Decimal | None, price: float | None, triggered: bool = False) -> None:
        self.qty = qty
        self.price = price
        self.triggered = triggered

    def __repr__(self) -> str:
        return f"Match(qty={self.qty}, price={self.price}, triggered={self.triggered})"


_TRIGGERED_ONLY = Match(None, None, True)


class FillModel:
    """Decide whether, how much and at what price an order fills on a bar.

    Parameters
    ----------
    slippage
        None, basis points, or a callable ``(order, price, bar) -> price``; applied to
        market and stop (triggered-to-market) fills only, never to limit prices.
    rng
        A ``numpy.random.Generator`` for models that draw random numbers; never seeded
        globally.
    """

    def __init__(
        self,
        *,
        slippage: None | float | SlippageFn = None,
        rng: np.random.Generator | None = None,
    ) -> None:
        self.slippage = make_slippage(slippage)
        self.rng = rng

    # -- the template ---------------------------------------------------------------------
    def match(self, order: Order, bar: BarView, capacity: Decimal | None = None) -> Match | None:
        """Match one working order against one bar.

        Tells (``Match.triggered``) when the bar touches the stop of an untriggered stop,
        stop-limit or trailing stop order, also when it then does not fill; the broker
        applies ``OrderTriggered``. Moves an untriggered trailing stop's mark after the bar
        was checked.

        Parameters
        ----------
        order
            A working order of this bar's symbol.
        bar
            The bar, which is at least the order's first eligible bar.
        capacity
            The most shares this bar can still fill (volume participation), or None for
            no limit.

        Returns
        -------
        Match or None
            None when the order neither fills nor triggers on this bar (a fill-or-kill
            order that cannot fill completely does not fill).
        """
        kind = order.type
        touched = False
        if (kind is _STOP or kind is _STOP_LIMIT or kind is _TRAIL) and not order.triggered:
            touched = self.stop_touched(order, bar)
            if not touched:
                if kind is _TRAIL:  # the mark follows the bar, after it was checked
                    order.trail(Decimal(repr(float(bar.high if order.side is not _BUY else bar.low))))
                return None
        price = self.fill_price(order, bar)
        if price is None:
            return _TRIGGERED_ONLY if touched else None

        remaining = order.remaining_qty
        qty = remaining if capacity is None or capacity >= remaining else capacity
        if qty <= 0 or (qty < remaining and order.tif is _FOK):
            return _TRIGGERED_ONLY if touched else None

        buy = order.side is _BUY
        if kind is _MARKET or kind is _STOP or kind is _TRAIL:
            if self.slippage is not None:
                price = self.slippage(order, price, bar)
        else:  # a limit never fills worse than its limit, whatever a subclass returned
            limit = float(order.limit_price)
            if buy and price > limit:
                price = limit
            elif not buy and price < limit:
                price = limit
        # A fill price always lies within the bar.
        if price > bar.high:
            price = bar.high
        elif price < bar.low:
            price = bar.low
        return Match(qty, price, touched)

    # -- the rules ------------------------------------------------------------------------
    @staticmethod
    def stop_touched(order: Order, bar: BarView) -> bool:
        """Return whether ``bar`` reaches the order's stop price (buy: high >= stop)."""
        stop = float(order.stop_price)
        if order.side is _BUY:
            return bar.high >= stop
        return bar.low <= stop

    def fill_price(self, order: Order, bar: BarView) -> float | None:
        """Return the price the order fills at on ``bar`` before slippage, or None.

        This is the pure rule of the model (see the module docstring); override it to
        model fills differently. ``order.triggered`` tells whether a stop triggered on an
        earlier bar; ``match`` calls this only for an untriggered stop the bar touches.
        """
        kind = order.type
        o = bar.open
        buy = order.side is _BUY
        if kind is _MARKET:
            return o
        if kind is _LIMIT:
            return _limit_price(buy, float(order.limit_price), bar)
        if kind is _STOP or kind is _TRAIL:
            if order.triggered:  # triggered earlier and partly filled: now a market order
                return o
            stop = float(order.stop_price)
            if buy:
                return o if o >= stop else stop
            return o if o <= stop else stop
        if kind is _STOP_LIMIT:
            limit = float(order.limit_price)
            if order.triggered:
                return _limit_price(buy, limit, bar)
            stop = float(order.stop_price)
            if buy:
                if o >= stop:  # gap through the stop: a limit order from the open on
                    return _limit_price(buy, limit, bar)
                if stop <= limit:  # at the trigger the price is the stop, within the limit
                    return stop
                return limit if bar.low <= limit else None
            if o <= stop:
                return _limit_price(buy, limit, bar)
            if stop >= limit:
                return stop
            return limit if bar.high >= limit else None
        raise ValueError(f"unsupported order type {kind!r} for order {order.client_order_id!r}")


def _limit_price(buy: bool, limit: float, bar: BarView) -> float | None:
    """Fill a limit order at the open when it gapped through, at the limit when touched."""
    o = bar.open
    if buy:
        if o <= limit:
            return o
        return limit if bar.low <= limit else None
    if o >= limit:
        return o
    return limit if bar.high >= limit else None


class RandomSlippageFillModel(FillModel):
    """Fill like ``FillModel``, plus a random adverse move on market and stop fills.

    Each market-like fill moves against the order by ``U(0, max_bps)`` basis points drawn
    from the injected generator (clamped into the bar like any fill).

    Parameters
    ----------
    max_bps
        The largest adverse move, in basis points.
    rng
        The ``numpy.random.Generator`` to draw from (required: no global seeding).
    slippage
        Additional deterministic slippage, as for ``FillModel``.
    """

    def __init__(
        self,
        max_bps: float,
        rng: np.random.Generator,
        *,
        slippage: None | float | SlippageFn = None,
    ) -> None:
        if rng is None:
            raise ValueError("RandomSlippageFillModel needs a numpy.random.Generator as rng")
        if max_bps < 0:
            raise ValueError(f"max_bps must be >= 0, got {max_bps!r}")
        super().__init__(slippage=slippage, rng=rng)
        self.max_bps = float(max_bps)

    def fill_price(self, order: Order, bar: BarView) -> float | None:
        """Return the base price, moved adversely at random for market and stop orders."""
        price = super().fill_price(order, bar)
        if price is None or order.type is _LIMIT or order.type is _STOP_LIMIT:
            return price
        move = self.rng.uniform(0.0, self.max_bps) / 10_000.0
        return price * (1.0 + move) if order.side is _BUY else price * (1.0 - move)
