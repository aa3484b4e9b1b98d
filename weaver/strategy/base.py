"""The ``Strategy`` base class: one class that runs unchanged in backtests, sweeps and live runs."""

from __future__ import annotations

import dataclasses
import inspect
import math
from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from weaver.core import Fill, Order, OrderSide, OrderType, RunConfig, TimeInForce
from weaver.core.errors import BacktestError, ParameterError
from weaver.core.ids import BarKeys, check_run_id, client_order_id
from weaver.strategy.context import StrategyContext
from weaver.strategy.lines import Data, Indicator, Universe
from weaver.strategy.params import Param, collect_params, params_json_schema

if TYPE_CHECKING:
    from datetime import datetime

    from weaver.core import Portfolio, Position


_TIF = {t.value: t for t in TimeInForce}
# the members as module constants: an enum class's attribute lookup goes through its
# metaclass's __getattr__ hook, several times slower, and orders are placed in the bar loop
_BUY, _SELL = OrderSide.BUY, OrderSide.SELL
_MARKET, _LIMIT, _STOP, _STOP_LIMIT = OrderType.MARKET, OrderType.LIMIT, OrderType.STOP, OrderType.STOP_LIMIT
_TRAIL = OrderType.TRAILING_STOP
_DAY = TimeInForce.DAY
_ZERO = Decimal(0)


class PositionView:
    """The strategy's view of one symbol's position: truthy while open.

    ``qty`` is signed (negative when short), ``avg_price`` the average entry price and
    ``pnl`` the unrealized profit at the current bar's close.
    """

    # the portfolio and the price lookup rather than the strategy, which holds these views:
    # no reference cycle keeps a finished run's objects waiting for the garbage collector
    __slots__ = ("_portfolio", "_price_of", "symbol")

    def __init__(self, portfolio: Portfolio, price_of: Callable[[str], float], symbol: str) -> None:
        self._portfolio = portfolio
        self._price_of = price_of
        self.symbol = symbol

    def _position(self) -> Position | None:
        return self._portfolio.positions.get(self.symbol)

    def __bool__(self) -> bool:
        p = self._portfolio.positions.get(self.symbol)
        return p is not None and p.qty != _ZERO

    @property
    def qty(self) -> float:
        """Return the signed quantity held (0 when flat)."""
        p = self._position()
        return float(p.qty) if p is not None else 0.0

    @property
    def avg_price(self) -> float:
        """Return the average entry price (0 when flat)."""
        p = self._position()
        return float(p.avg_price) if p is not None else 0.0

    @property
    def pnl(self) -> float:
        """Return the unrealized profit or loss at the current bar's close."""
        p = self._position()
        if p is None or p.qty == 0:
            return 0.0
        return float(p.qty) * (self._price_of(self.symbol) - float(p.avg_price))

    @property
    def is_long(self) -> bool:
        """Return True while long."""
        return self.qty > 0

    @property
    def is_short(self) -> bool:
        """Return True while short."""
        return self.qty < 0

    def __repr__(self) -> str:
        return f"<Position {self.symbol} qty={self.qty:g} avg_price={self.avg_price:g}>"


class Strategy:
    """Base class of every strategy.

    Declare typed parameters as annotated class attributes, indicators in :meth:`init`, and
    decisions in :meth:`next`, which runs once per bar and sees only the bars up to it::

        class SmaCross(Strategy):
            fast: int = 10
            slow: int = 30

            def init(self):
                self.f = self.indicator(sma, self.data.close, self.fast)
                self.s = self.indicator(sma, self.data.close, self.slow)

            def next(self):
                if crossover(self.f, self.s):
                    self.buy()
                elif crossover(self.s, self.f):
                    self.close()

    Optional hooks ``on_fill(fill)`` and ``on_order(order)`` are called as the broker reports.

    Data
        ``self.data`` holds the bars: ``self.data.close`` (also ``open``, ``high``, ``low``,
        ``volume``) is the whole history as a numpy array in ``init()`` and a line ending at
        the current bar in ``next()`` (``close[-1]`` is this bar, ``close[-2]`` the one
        before). ``self.data["GOOG"].close`` reads one symbol's bars and
        ``self.data.symbols`` lists the run's symbols, in a run on one symbol as in one on
        several, so one class runs on either. ``self.data.index``, ``.time`` and ``.df`` give
        the timestamps, the current bar's time and the bars so far as a DataFrame.

    Orders
        ``buy``/``sell(qty=None, size=None, limit=None, stop=None, tif="day", symbol=None,
        trail_price=None, trail_percent=None)``, ``close(symbol=None)``, ``cancel(order)``.
        An order placed on bar t is first eligible at bar t+1: a market order fills at t+1's
        open, a limit at the limit or better, a stop at the stop or at the open when the bar
        gaps through it; no fill is ever outside its bar's low-high range (the README's fill
        rules have them all).

    Sizes
        ``qty`` is units. ``size`` is a fraction of equity, 0 < size <= 1 (anything else is
        refused at the call); with neither, the whole equity. A broker needs a quantity when
        an order is sent, so a size becomes whole units at submit, from the last close
        (fractional units with ``fractional=True``). A buy that no longer fits the cash at
        the fill, because the price gapped, is reduced to the units the cash pays for, with
        the reason on the order; never dropped silently. An order the broker refuses comes
        back with status ``rejected`` and its ``reason``; the result's ``notes`` and
        statistics count them.

    Trailing stops
        ``sell(qty, trail_percent=5, tif="gtc")`` (or ``trail_price=2.5``): the stop follows
        the highest high since the order was placed, 5 % (2.50) below it, and never falls;
        each bar is checked against the stop as it stood at the bar's open, then its high
        moves the mark. It fills at the stop, or at the open on a gap. A buy mirrors it with
        the lowest low. No need to cancel and re-place a stop every bar.

    Account
        ``self.position`` (and ``get_position(symbol)``): truthy while open, with ``qty``
        (signed: negative when short), ``avg_price`` (average entry price), ``pnl``
        (unrealized, at the current close), ``is_long`` and ``is_short``. ``self.cash``,
        ``self.equity`` (cash plus positions at the current close), ``self.orders`` (the
        working orders) and ``self.time``.
    """

    params: ClassVar[dict[str, Param]] = {}
    #: the short name used by the CLI and reports, e.g. ``"sma_cross"``
    short_name: ClassVar[str | None] = None
    #: the bars, set for each run (see Data above)
    data: Data | Universe

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        inherited: dict[str, Param] = {}
        for base in reversed(cls.__mro__[1:]):
            inherited.update(base.__dict__.get("params", {}))
        own = collect_params(cls, cls.__dict__.get("__annotations__", {}), dict(cls.__dict__))
        for name in own:
            _refuse_reserved(cls, name)
        cls.params = {**inherited, **own}
        for name, p in own.items():
            setattr(cls, name, p.default)

    # -- parameters -----------------------------------------------------------------------

    @classmethod
    def validate_params(cls, **params: Any) -> dict[str, Any]:
        """Return every parameter's value, the given ones checked and the rest defaulted.

        Raises
        ------
        ParameterError
            For an unknown name or a value of the wrong type, listing the valid parameters.
        """
        unknown = sorted(set(params) - set(cls.params))
        if unknown:
            raise ParameterError(
                f"{cls.__name__} has no parameter {', '.join(map(repr, unknown))}; "
                f"its parameters are: {cls.describe_params()}"
            )
        out = {name: p.default for name, p in cls.params.items()}
        for name, value in params.items():
            try:
                out[name] = cls.params[name].coerce(value, owner=cls.__name__)
            except ParameterError as exc:
                raise ParameterError(f"{exc}; its parameters are: {cls.describe_params()}") from None
        return out

    @classmethod
    def describe_params(cls) -> str:
        """Return ``"fast: int = 10, slow: int = 30"``: the parameters, their types and defaults."""
        if not cls.params:
            return "(none)"
        return ", ".join(f"{n}: {p.type_name} = {p.default!r}" for n, p in cls.params.items())

    @classmethod
    def params_schema(cls) -> dict[str, Any]:
        """Return the parameters as a JSON Schema object, titled with the class's name.

        See :func:`weaver.strategy.params.params_json_schema`; the description is the first
        paragraph of the class's docstring.
        """
        doc = inspect.getdoc(cls) if "__doc__" in cls.__dict__ and cls.__doc__ else None
        summary = " ".join(doc.split("\n\n", 1)[0].split()) if doc else None
        return params_json_schema(cls.params, title=cls.__name__, description=summary)

    # -- construction (by the run) -----------------------------------------------------------

    def __init__(self, context: StrategyContext, params: dict[str, Any]) -> None:
        datas = context.datas
        self._ctx = context
        # the context's members the order path reads, bound once: they run on every order
        self._submit_order = context.submit
        self._portfolio = context.portfolio
        self._datas = datas
        self._cursor = context.cursor
        self._price_of = context.price_of
        self._now = context.now
        self._fractional = context.fractional
        self._run_id = check_run_id(context.run_id)
        # client order ids (weaver.core.ids): the bar whose place _id_prefix names, and the
        # count of its orders; while a hook runs, the event that called it, and its count
        self._id_bar = -1
        self._id_prefix = ""
        self._bar_key = BarKeys()
        self._seq = 0
        self._cause: str | None = None
        self._cause_seq = 0
        self._indicators: list[IndicatorSpec] = []
        self._primary = next(iter(datas))
        self._positions = {s: PositionView(context.portfolio, context.price_of, s) for s in datas}
        for name, value in params.items():
            setattr(self, name, value)
        self.data: Data | Universe = datas[self._primary] if len(datas) == 1 else Universe(datas)

    # -- the user's hooks ----------------------------------------------------------------

    def init(self) -> None:
        """Declare indicators with :meth:`indicator`; runs once before the first bar."""

    def next(self) -> None:
        """Decide on the current bar; runs once per bar."""

    def on_fill(self, fill: Fill) -> None:
        """React to a fill of one of this strategy's orders."""

    def on_order(self, order: Order) -> None:
        """React to a change of one of this strategy's orders."""

    # -- indicators ------------------------------------------------------------------------

    def indicator(
        self, func: Callable[..., Any], *args: Any, name: str | None = None, window: int | None = None,
        **kwargs: Any,
    ) -> Any:
        """Declare the indicator ``func(*args, **kwargs)`` and return its line (or lines).

        The result must have one value per bar (NaN during the warm-up). A function that
        returns several arrays (a tuple, or a 2-D array with one row per output) gives a
        tuple of lines. In ``next()``, ``line[-1]`` is the current bar's value.

        A backtest computes it once over the whole history. A run fed a bar at a time (a
        rehearsal, a paper or live run) updates Weaver's own indicators (``sma``, ``ema``,
        ``rsi``, ``atr``, ``bollinger``) in O(1) a bar, with the same values, and recomputes any
        other over the history so far, or over its last ``window`` bars when given: declare
        ``window=`` when the indicator's value depends on no more bars than that.
        """
        if window is not None and (not isinstance(window, int) or isinstance(window, bool) or window < 1):
            raise ParameterError(f"indicator window={window!r} must be a whole number of bars >= 1")
        label = name or _label(func, args, kwargs)
        spec = IndicatorSpec(label, func, args, kwargs, [], window=window)
        spec.arrays = self._ctx.declare(spec)
        self._indicators.append(spec)
        arrays = spec.arrays
        lines = tuple(Indicator(a, self._cursor, label if len(arrays) == 1 else f"{label}[{k}]")
                      for k, a in enumerate(arrays))
        spec.lines = lines
        return lines[0] if len(lines) == 1 else lines

    # -- orders ----------------------------------------------------------------------------

    def buy(
        self,
        qty: float | None = None,
        size: float | None = None,
        limit: float | None = None,
        stop: float | None = None,
        tif: str | TimeInForce = "day",
        symbol: str | None = None,
        *,
        trail_price: float | None = None,
        trail_percent: float | None = None,
    ) -> Order:
        """Place a buy order and return it.

        Parameters
        ----------
        qty
            Units to buy.
        size
            Instead of ``qty``: the fraction of equity to spend, ``0 < size <= 1``. It becomes
            whole units at the last close when the order is placed (fractional ones with
            ``fractional=True``), as a broker needs a quantity then. With neither ``qty``
            nor ``size``, the whole equity.
        limit, stop
            Make it a limit, stop or stop-limit order.
        tif
            Time in force: ``"day"``, ``"gtc"``, ``"ioc"`` or ``"fok"``.
        symbol
            The symbol; the strategy's first by default.
        trail_price, trail_percent
            Make it a trailing stop (Alpaca's ``trailing_stop``): the stop follows the
            lowest low since the order was placed, ``trail_price`` above it (a price offset)
            or ``trail_percent`` percent above it (2 is 2 %). See :class:`Strategy`.

        Returns
        -------
        Order
            The order as the broker took it. An order the broker refuses comes back with
            status ``rejected`` and its ``reason``; one the cash at the fill cannot pay for
            in full is reduced to what it pays for (DESIGN §4).

        Raises
        ------
        ParameterError
            For a ``size`` outside (0, 1], both ``qty`` and ``size``, both trails, a trail
            with a limit or stop, or an unknown ``tif``.
        """
        return self._place(_BUY, qty, size, limit, stop, tif, symbol, trail_price, trail_percent)

    def sell(
        self,
        qty: float | None = None,
        size: float | None = None,
        limit: float | None = None,
        stop: float | None = None,
        tif: str | TimeInForce = "day",
        symbol: str | None = None,
        *,
        trail_price: float | None = None,
        trail_percent: float | None = None,
    ) -> Order:
        """Place a sell order and return it (arguments as for :meth:`buy`).

        A trailing sell stop follows the highest high since the order was placed, and sits
        ``trail_price`` (or ``trail_percent`` percent) below it.
        """
        return self._place(_SELL, qty, size, limit, stop, tif, symbol, trail_price, trail_percent)

    def close(self, symbol: str | None = None) -> Order | None:
        """Close the position in ``symbol`` (default: the strategy's symbol) at market.

        Returns the order, or None when already flat.
        """
        sym = symbol or self._primary
        p = self._portfolio.positions.get(sym)
        if p is None or not p.qty:
            return None
        side = _SELL if p.qty > _ZERO else _BUY
        return self._submit(sym, side, abs(p.qty), None, None, _DAY)

    def cancel(self, order: Order) -> Order:
        """Cancel a working order."""
        return self._ctx.cancel(order.client_order_id)

    def _place(
        self,
        side: OrderSide,
        qty: float | None,
        size: float | None,
        limit: float | None,
        stop: float | None,
        tif: str | TimeInForce,
        symbol: str | None,
        trail_price: float | None = None,
        trail_percent: float | None = None,
    ) -> Order:
        sym = symbol or self._primary
        if qty is None:
            if size is not None and not 0 < size <= 1:  # also NaN
                raise ParameterError(
                    f"{side.value}(size={size!r}): size is the fraction of equity to trade, 0 < size <= 1; "
                    f"for a number of shares pass qty={size!r}"
                )
            # a broker needs a quantity when the order is sent (DESIGN §4): the size becomes
            # units at the last close, whole ones unless fractional
            ref = self._price_of(sym) if sym in self._datas else math.nan
            fraction = 1.0 if size is None else float(size)
            units = fraction * self.equity / ref if ref and ref == ref else 0.0
            amount = Decimal(repr(units)) if self._fractional else Decimal(int(units))
        elif size is not None:
            raise ParameterError(
                f"{side.value}(qty={qty!r}, size={size!r}): give qty (units) or size (a fraction of equity), not both"
            )
        else:
            amount = Decimal(repr(float(qty))) if not isinstance(qty, int) else Decimal(qty)
        try:
            tif_enum = tif if tif.__class__ is TimeInForce else _TIF.get(tif) or TimeInForce(tif)
        except ValueError:
            raise ParameterError(
                f"tif={tif!r} is not a time in force; use one of {[t.value for t in TimeInForce]}"
            ) from None
        limit_price = None if limit is None else Decimal(repr(float(limit)))
        stop_price = None if stop is None else Decimal(repr(float(stop)))
        if trail_price is None and trail_percent is None:
            return self._submit(sym, side, amount, limit_price, stop_price, tif_enum)
        return self._submit_trailing(side, sym, amount, limit, stop, tif_enum, trail_price, trail_percent)

    def _submit_trailing(self, side: OrderSide, symbol: str, qty: Decimal, limit: float | None,
                         stop: float | None, tif: TimeInForce, trail_price: float | None,
                         trail_percent: float | None) -> Order:
        call = f"{side.value}(trail_price={trail_price!r}, trail_percent={trail_percent!r})"
        if trail_price is not None and trail_percent is not None:
            raise ParameterError(f"{call}: give trail_price (a price offset) or trail_percent, not both")
        if limit is not None or stop is not None:
            raise ParameterError(f"{call}: a trailing stop takes no limit or stop (its stop follows the price)")
        trail = trail_price if trail_price is not None else trail_percent
        if not float(trail) > 0:  # type: ignore[arg-type]
            raise ParameterError(f"{call}: the trail must be > 0")
        order = Order(
            symbol=symbol, side=side, qty=qty, type=_TRAIL, tif=tif,
            trail_price=None if trail_price is None else Decimal(repr(float(trail_price))),
            trail_percent=None if trail_percent is None else Decimal(repr(float(trail_percent))),
            client_order_id=self._next_id(), created_at=self._now(),
        )
        return self._submit_order(order)

    def _submit(
        self,
        symbol: str,
        side: OrderSide,
        qty: Decimal,
        limit: Decimal | None,
        stop: Decimal | None,
        tif: TimeInForce,
    ) -> Order:
        if limit is None:
            kind = _MARKET if stop is None else _STOP
        else:
            kind = _LIMIT if stop is None else _STOP_LIMIT
        now = self._now()
        # the client order id as _next_id makes it, inline: every order passes here
        if self._cause is None:
            i = self._cursor.i
            if i == self._id_bar:
                self._seq = seq = self._seq + 1
            else:  # the bar's first order: its place in the id, once per bar
                self._id_bar, self._seq, seq = i, 1, 1
                self._id_prefix = f"{self._run_id}-{self._bar_key(now)}-"
            coid = f"{self._id_prefix}{seq}"
        else:
            coid = self._next_id(now)
        # symbol, side, qty, type, limit_price, stop_price, tif, client_order_id, created_at
        return self._submit_order(Order(symbol, side, qty, kind, limit, stop, tif, coid, now))

    def _next_id(self, now: datetime | None = None) -> str:
        """Return the next client order id (DESIGN §7, :mod:`weaver.core.ids`).

        ``{run_id}-{bar}-{seq}`` for the ``seq``-th order of the bar, or, in a hook,
        ``{run_id}-{event}-{seq}`` for the ``seq``-th order placed in reply to the event.
        ``now`` is the bar's time, when the caller has it.
        """
        if self._cause is not None:
            self._cause_seq += 1
            return client_order_id(self._run_id, self._cause, self._cause_seq)
        i = self._cursor.i
        if i != self._id_bar:
            self._id_bar, self._seq = i, 0
            # a bar's key is short and safe: with a checked run id the whole id fits
            self._id_prefix = f"{self._run_id}-{self._bar_key(self._now() if now is None else now)}-"
        self._seq += 1
        return f"{self._id_prefix}{self._seq}"

    def _in_reply_to(self, key: str | None) -> tuple[str | None, int]:
        """Name the orders placed from now on after the event ``key`` (None: after the bar); return the previous naming."""
        previous = (self._cause, self._cause_seq)
        self._cause, self._cause_seq = key, 0
        return previous

    def _restore_naming(self, previous: tuple[str | None, int]) -> None:
        self._cause, self._cause_seq = previous

    # -- account ---------------------------------------------------------------------------

    @property
    def position(self) -> PositionView:
        """Return the position in the strategy's (first) symbol."""
        return self._positions[self._primary]

    def get_position(self, symbol: str) -> PositionView:
        """Return the position in ``symbol``."""
        return self._positions[symbol]

    @property
    def symbols(self) -> list[str]:
        """Return the symbols of the run, the strategy's own symbol first."""
        return list(self._datas)

    @property
    def cash(self) -> float:
        """Return the cash balance."""
        return float(self._portfolio.cash)

    @property
    def equity(self) -> float:
        """Return cash plus open positions marked at the current bar's close."""
        value = float(self._portfolio.cash)
        for sym, p in self._portfolio.positions.items():
            if p.qty:
                value += float(p.qty) * self._price_of(sym)
        return value

    @property
    def orders(self) -> list[Order]:
        """Return the working orders."""
        return self._ctx.open_orders()

    @property
    def time(self) -> Any:
        """Return the current bar's timestamp."""
        return self._now()

    def __repr__(self) -> str:
        params = ", ".join(f"{n}={getattr(self, n)!r}" for n in self.params)
        return f"{type(self).__name__}({params})"


def _refuse_reserved(cls: type, name: str) -> None:
    """Refuse a parameter whose name is a run option or a public attribute of :class:`Strategy`.

    A parameter ``cash`` would be taken for the run option by every entry point (and shadow
    ``self.cash``); one named ``buy`` or ``position`` would hide the strategy's own.
    """
    clashes = []
    if name in {f.name for f in dataclasses.fields(RunConfig)}:
        clashes.append(f"a run option (wv.backtest(..., {name}=...), RunConfig.{name})")
    public = {n for n in dir(Strategy) if not n.startswith("_")} | {
        n for n in Strategy.__annotations__ if not n.startswith("_")}
    if name in public:
        found = inspect.getattr_static(Strategy, name, None)
        kind = ("property" if isinstance(found, property) else
                "method" if inspect.isfunction(found) or isinstance(found, classmethod | staticmethod) else "attribute")
        clashes.append(f"the {kind} Strategy.{name}")
    if clashes:
        raise ParameterError(f"{cls.__name__}.{name}: a parameter cannot be named {name!r}: it is "
                             f"{' and '.join(clashes)}; rename the parameter")


class IndicatorSpec:
    """How an indicator was declared: enough to recompute it on other data."""

    __slots__ = ("name", "func", "args", "kwargs", "arrays", "lines", "key", "window")

    def __init__(self, name: str, func: Callable[..., Any], args: tuple, kwargs: dict,
                 arrays: list[np.ndarray], key: tuple | None = None, window: int | None = None) -> None:
        self.name = name
        self.func = func
        self.args = args
        self.kwargs = kwargs
        self.arrays = arrays
        self.lines: tuple[Indicator, ...] = ()
        #: the declaration's key in its bars' :class:`DeclarationMemo`, None when it has none
        self.key = key
        #: how many of the latest bars its value depends on, when declared
        self.window = window


def _label(func: Callable[..., Any], args: tuple, kwargs: dict) -> str:
    def show(a: Any) -> str:
        if isinstance(a, np.ndarray | list | tuple) or hasattr(a, "__array__"):
            return "…"
        return repr(a)

    inner = ", ".join([show(a) for a in args] + [f"{k}={show(v)}" for k, v in kwargs.items()])
    return f"{getattr(func, '__name__', 'indicator')}({inner})"


def as_arrays(values: Any, n: int, label: str) -> list[np.ndarray]:
    if isinstance(values, tuple | list):
        arrays = [np.asarray(v, dtype=float) for v in values]
    else:
        arr = np.asarray(values, dtype=float)
        if arr.ndim == 2 and arr.shape[0] == n and arr.shape[1] != n:
            arr = arr.T  # one column per output, as a DataFrame gives
        arrays = [arr] if arr.ndim == 1 else list(arr)
    for a in arrays:
        if a.ndim != 1 or len(a) != n:
            raise BacktestError(
                f"indicator {label} returned shape {a.shape}; expected one value per bar ({n})"
            )
    return [np.ascontiguousarray(a) for a in arrays]
