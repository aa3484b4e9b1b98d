"""The driver: the one loop that runs a strategy on bars arriving one at a time.

A rehearsal, a paper run and a live run all run here; a backtest runs a fast specialization
of the same order of work (``weaver.backtesting.engine``) that tests hold equal to it. The
driver is given a clock, which hands it bars as :class:`~weaver.core.Tick`\\s and tells the
time, and a broker; it knows nothing else about either. It owns:

- the strategy's context (:class:`~weaver.strategy.context.StrategyContext`): the history
  it sees grows a bar at a time, and its indicators are kept current, Weaver's own in O(1) a
  bar (:mod:`weaver.strategy.incremental`), any other recomputed on the history so far (or its
  declared ``window``);
- warm-up: bars fed without trading, before the first tradable one; trading also waits for
  the first bar at which every declared indicator has a value, as a backtest does;
- the look-ahead check of the indicators, on the history known when they are declared;
- hook wiring: ``on_fill`` and ``on_order`` from the broker's updates;
- error wrapping: an exception in the strategy's code is a :class:`~weaver.core.StrategyError`
  naming the strategy, the method, the bar and the exception;
- the order of work inside a bar: the bar joins the history, the indicators update, the
  broker matches its working orders against the bar (when it is a simulator,
  :class:`~weaver.core.BarMatching`), then ``next()`` runs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np

from weaver.clock.cursor import Cursor
from weaver.core import BarMatching, Fill, OrderFilled, OrderPartiallyFilled, StrategyError, Tick, WeaverError
from weaver.core.errors import BacktestError, ParameterError
from weaver.core.ids import event_key
from weaver.strategy.base import IndicatorSpec, Strategy, as_arrays
from weaver.strategy.context import StrategyContext
from weaver.strategy.incremental import twin_for
from weaver.strategy.lines import Data
from weaver.strategy.lookahead import check_indicators

if TYPE_CHECKING:
    import pandas as pd

    from weaver.core import Broker, Order, OrderEvent, Portfolio

__all__ = ["Driver", "strategy_failed", "wire_hooks"]

_FIELDS = ("open", "high", "low", "close", "volume")
_CLOSE = 3


def strategy_failed(strategy: type, method: str, exc: BaseException, where: str = "") -> StrategyError:
    """Return the error that says the strategy's own code raised ``exc`` (chain it as the cause)."""
    at = f" {where}" if where else ""
    return StrategyError(f"{strategy.__name__}.{method}() raised {type(exc).__name__}: {exc}{at}")


def wire_hooks(strategy: Strategy, on_update: Callable[[Callable[[Order, OrderEvent], None]], None],
               where: Callable[[], str]) -> None:
    """Call the strategy's ``on_fill`` and ``on_order`` from a broker's updates (when it has them).

    ``on_update`` is the broker's registration; ``where()`` describes the bar being processed,
    for the error an exception in a hook becomes.
    """
    cls = type(strategy)
    wants_fill = cls.on_fill is not Strategy.on_fill
    wants_order = cls.on_order is not Strategy.on_order
    if not (wants_fill or wants_order):
        return

    def call(hook: str, argument: Any) -> None:
        try:
            getattr(strategy, hook)(argument)
        except BacktestError:  # a StrategyError from an order the hook placed, already naming the bar
            raise
        except Exception as exc:
            raise strategy_failed(cls, hook, exc, where()) from exc

    run_id = strategy._run_id

    def handler(order: Order, event: OrderEvent) -> None:
        # the orders a hook places are named after the event that called it (DESIGN §7), so
        # a restarted run that sees the event again names them again
        fill = isinstance(event, OrderFilled | OrderPartiallyFilled)
        cause = event.exec_id if fill else f"{order.client_order_id}.{event.event_type.removeprefix('order.')}"
        previous = strategy._in_reply_to(event_key(run_id, cause))
        try:
            if wants_fill and fill:
                call("on_fill", Fill(order.client_order_id, order.symbol, order.side, event.qty, event.price,
                                     event.ts_event, event.commission, exec_id=event.exec_id))
            if wants_order:
                call("on_order", order)
        finally:
            strategy._restore_naming(previous)

    on_update(handler)


class _Growing:
    """An array that grows at its end in amortized O(1); ``view()`` is what it holds so far."""

    __slots__ = ("data", "n")

    def __init__(self, values: np.ndarray, dtype: Any = np.float64) -> None:
        self.n = len(values)
        self.data = np.empty(max(64, 2 * self.n), dtype=dtype)
        self.data[: self.n] = values

    def append(self, value: Any) -> bool:
        """Append one value; return True when the storage moved (views of it must be renewed)."""
        moved = False
        if self.n == len(self.data):
            bigger = np.empty(2 * len(self.data), dtype=self.data.dtype)
            bigger[: self.n] = self.data
            self.data = bigger
            moved = True
        self.data[self.n] = value
        self.n += 1
        return moved

    def view(self) -> np.ndarray:
        return self.data[: self.n]


class _Times:
    """The timestamps of a growing history, indexed as a ``DatetimeIndex`` is (made on use)."""

    __slots__ = ("_us",)

    def __init__(self, us: _Growing) -> None:
        self._us = us

    def __len__(self) -> int:
        return self._us.n

    def __getitem__(self, key: Any) -> Any:
        import pandas as pd

        index = pd.DatetimeIndex(self._us.view().view("datetime64[us]")).tz_localize("UTC")
        return index[key]


class _Updater:
    """Keeps one declared indicator's values current as bars arrive."""

    __slots__ = ("spec", "outputs", "twin", "inputs", "args", "kwargs", "window", "times")

    def __init__(self, spec: IndicatorSpec, outputs: list[_Growing], twin: Any, inputs: list[_Growing],
                 args: list[Any], kwargs: dict[str, Any], window: int | None, times: _Growing) -> None:
        self.times = times  # the history's timestamps: how many bars there are
        self.spec = spec
        self.outputs = outputs
        self.twin = twin  # an incremental twin, or None: recompute
        self.inputs = inputs  # the twin's input series, in push order
        self.args = args  # a _Growing where the declaration had a series, else the value
        self.kwargs = kwargs
        self.window = window

    def update(self) -> bool:
        """Append this bar's value(s); return True when an output's storage moved."""
        if self.twin is not None:
            value = self.twin.push(*(g.data[g.n - 1] for g in self.inputs))
            values = value if isinstance(value, tuple) else (value,)
        else:
            values = self._recompute()
        moved = False
        for out, v in zip(self.outputs, values, strict=True):
            moved |= out.append(v)
        return moved

    def _recompute(self) -> tuple[float, ...]:
        n = self.times.n
        lo = 0 if self.window is None else max(0, n - self.window)

        def arg(a: Any) -> Any:
            return a.data[lo:n] if isinstance(a, _Growing) else a

        spec = self.spec
        arrays = as_arrays(spec.func(*map(arg, self.args), **{k: arg(v) for k, v in self.kwargs.items()}),
                           n - lo, spec.name)
        return tuple(float(a[-1]) for a in arrays)


class Driver:
    """Run one strategy on the bars a clock hands out, against a broker.

    Parameters
    ----------
    strategy
        The strategy class.
    params
        Its parameters, already checked (``Strategy.validate_params``).
    broker
        Where orders go (the ``Broker`` port). A simulator (``BarMatching``) is handed each
        bar to match its working orders; a venue fills them itself.
    clock
        Hands out the bars, one :class:`~weaver.core.Tick` at a time, and tells the time.
    portfolio
        The run's own account (cash and positions from its fills).
    symbols
        The symbols, the strategy's own first.
    history
        Bars known before the run, ``{symbol: frame}`` (warm-up history): the strategy's
        ``init()`` sees them. Without it, ``init()`` runs on the first bar.
    fractional
        Whether sizes become fractional quantities.
    run_id
        The prefix of client order ids.
    lookahead_check
        Check declared indicators for look-ahead on the history known at ``init()``.

    Notes
    -----
    ``fill_bars`` lists the bar of each fill the driver saw made, in order.
    """

    def __init__(
        self,
        strategy: type[Strategy],
        params: Mapping[str, Any],
        *,
        broker: Broker,
        clock: Any,
        portfolio: Portfolio,
        symbols: Sequence[str],
        history: Mapping[str, pd.DataFrame] | None = None,
        fractional: bool = False,
        run_id: str = "bt",
        lookahead_check: bool = True,
    ) -> None:
        if not symbols:
            raise ParameterError("a run needs at least one symbol")
        unknown = set(history or {}) - set(symbols)
        if unknown:
            raise ParameterError(f"history for {sorted(unknown)}, which the run does not trade ({list(symbols)})")
        self.strategy_cls = strategy
        self.params = dict(params)
        self.broker = broker
        self.clock = clock
        self.portfolio = portfolio
        self.symbols = list(symbols)
        self.fractional = fractional
        self.run_id = run_id
        self.lookahead_check = lookahead_check
        self.cursor = Cursor()
        self.fill_bars: list[int] = []
        self._matcher = broker if isinstance(broker, BarMatching) else None
        self._last_close: dict[str, float] = {}
        self._times = _Growing(np.zeros(0, dtype=np.int64), dtype=np.int64)
        self._fields: dict[str, dict[str, _Growing]] = {}
        self._history = {sym: frame for sym, frame in (history or {}).items()}
        self._updaters: list[_Updater] = []
        self._waiting: list[IndicatorSpec] = []  # indicators without a value yet
        self._now: datetime | None = None
        self.strategy: Strategy | None = None
        self.started = False

    # -- what the strategy reads --------------------------------------------------------

    def price_of(self, symbol: str) -> float:
        """Return ``symbol``'s latest close (NaN before its first bar)."""
        return self._last_close.get(symbol, np.nan)

    def _where(self) -> str:
        i = self.cursor.i
        when = self._now if self._now is not None else "the warm-up history"
        return f"at bar {i} ({when}, {', '.join(self.symbols)})"

    # -- feeding bars ------------------------------------------------------------------

    def run(self, ticks: Iterable[Tick] | None = None) -> None:
        """Run every tick of ``ticks`` (by default the clock's) through :meth:`step`."""
        for tick in self.clock if ticks is None else ticks:
            self.step(tick)

    def warm_up(self, ticks: Iterable[Tick]) -> None:
        """Feed bars without trading: the history and the indicators grow, no order is placed."""
        for tick in ticks:
            self._advance(tick)

    def step(self, tick: Tick) -> None:
        """Process one bar: history and indicators, the broker's matching, then ``next()``."""
        self._advance(tick)
        if not self.started:
            if self._waiting:
                return
            self.started = True
        i = self.cursor.i
        matcher = self._matcher
        if matcher is not None and matcher.working:
            for sym in tuple(matcher.working):
                bar = tick.bars.get(sym)
                if bar is not None:
                    made = matcher.match_bar(sym, tick.ts, *bar, tick.session_end)
                    if made:
                        self.fill_bars += [i] * made
        try:
            self.strategy.next()  # type: ignore[union-attr]
        except BacktestError:  # a StrategyError from a hook, already naming the bar
            raise
        except Exception as exc:
            raise strategy_failed(self.strategy_cls, "next", exc, self._where()) from exc

    def _advance(self, tick: Tick) -> None:
        self._now = tick.ts
        if self.strategy is None:
            self._start(tick)
            return
        self._append(tick)

    def _start(self, first: Tick | None) -> None:
        """Build the history (warm-up frames, then ``first``), the context and the strategy; run ``init()``."""
        import pandas as pd

        frames = self._history
        stamps = sorted(set().union(*(f.index for f in frames.values()))) if frames else []
        index = pd.DatetimeIndex(stamps, tz="UTC") if stamps else pd.DatetimeIndex([], tz="UTC")
        us = index.as_unit("us").asi8 if len(index) else np.zeros(0, dtype=np.int64)
        self._times = _Growing(us, dtype=np.int64)
        for sym in self.symbols:
            frame = frames.get(sym)
            columns: dict[str, np.ndarray] = {}
            if frame is not None and len(index):
                aligned = frame.reindex(index)
                close = aligned["close"].ffill()
                for f in ("open", "high", "low"):
                    columns[f] = aligned[f].fillna(close).to_numpy(dtype=float)
                columns["close"] = close.to_numpy(dtype=float)
                columns["volume"] = aligned["volume"].fillna(0.0).to_numpy(dtype=float)
                if len(close) and close.iloc[-1] == close.iloc[-1]:
                    self._last_close[sym] = float(close.iloc[-1])
            else:
                columns = {f: np.full(len(index), np.nan) if f != "volume" else np.zeros(len(index)) for f in _FIELDS}
            self._fields[sym] = {f: _Growing(columns[f]) for f in _FIELDS}
        if first is not None:
            self._append_bars(first)
        self.cursor.i = self._times.n - 1
        self._build_strategy()

    def _append(self, tick: Tick) -> None:
        self._append_bars(tick)
        self.cursor.i = self._times.n - 1
        for updater in self._updaters:
            if updater.update():
                self._repoint(updater)
        if self._waiting:
            self._waiting = [s for s in self._waiting if not self._has_value(s)]

    def _append_bars(self, tick: Tick) -> None:
        self._times.append(_micros(tick.ts))
        bars = tick.bars
        unknown = set(bars) - set(self._fields)
        if unknown:
            raise ParameterError(f"bars for {sorted(unknown)}, which the run does not trade ({self.symbols})")
        for sym, fields in self._fields.items():
            row = bars.get(sym)
            if row is None:  # no bar of its own: the last close carries, with no volume
                last = self._last_close.get(sym, np.nan)
                row = (last, last, last, last, 0.0)
            else:
                self._last_close[sym] = row[_CLOSE]
            moved = False
            for f, value in zip(_FIELDS, row, strict=True):
                moved |= fields[f].append(value)
            if moved and self.strategy is not None:
                data = self.strategy._datas[sym]
                for f in _FIELDS:
                    data._lines[f]._set(fields[f].data)
                    data._arrays[f] = fields[f].data

    def _build_strategy(self) -> None:
        datas = {}
        views: dict[int, tuple[str, str]] = {}
        for sym, fields in self._fields.items():
            arrays = {f: g.view() for f, g in fields.items()}
            views.update({id(a): (sym, f) for f, a in arrays.items()})
            datas[sym] = Data(sym, _Times(self._times), arrays, self.cursor)
        broker = self.broker
        context = StrategyContext(
            submit=broker.submit, cancel=broker.cancel, open_orders=broker.open_orders,
            portfolio=self.portfolio, now=self.clock.now, price_of=self.price_of, datas=datas,
            cursor=self.cursor, declare=lambda spec: self._declare(spec, views), fractional=self.fractional,
            run_id=self.run_id,
        )
        strategy = self.strategy_cls(context, self.params)
        self.strategy = strategy
        try:
            strategy.init()
        except WeaverError:
            raise
        except Exception as exc:
            raise strategy_failed(self.strategy_cls, "init", exc, self._where()) from exc
        if self.lookahead_check and strategy._indicators:
            check_indicators(strategy._indicators, _Times(self._times)[:])
        for data in datas.values():
            for f in _FIELDS:  # the lines follow the storage, not the views init() saw
                data._lines[f]._set(self._fields[data.symbol][f].data)
                data._lines[f]._growing = True
                data._arrays[f] = self._fields[data.symbol][f].data
            data.start()
        for updater in self._updaters:
            self._repoint(updater)
        self._waiting = [s for s in strategy._indicators if not self._has_value(s)]
        wire_hooks(strategy, broker.on_update, self._where)

    def _declare(self, spec: IndicatorSpec, views: Mapping[int, tuple[str, str]]) -> list[np.ndarray]:
        """Compute a declared indicator on the history so far and keep it current from now on."""
        n = self._times.n

        def source(value: Any, where: str) -> Any:
            place = views.get(id(value))
            if place is not None:
                return self._fields[place[0]][place[1]]
            if (isinstance(value, np.ndarray) and value.ndim == 1 and len(value) == n
                    or isinstance(value, Sequence) and not isinstance(value, str | tuple) and len(value) == n > 1):
                raise ParameterError(
                    f"indicator {spec.name}: {where} is derived from the data, so it cannot be recomputed as "
                    "bars arrive; pass the data's own arrays (self.data.close, ...) and do the arithmetic "
                    "inside the indicator function"
                )
            return value

        args = [source(a, f"argument {k}") for k, a in enumerate(spec.args)]
        kwargs = {k: source(v, f"argument {k!r}") for k, v in spec.kwargs.items()}
        bound = twin_for(spec.func, spec.args, spec.kwargs, is_series=lambda v: id(v) in views)
        if bound is not None:
            inputs = [self._fields[views[id(v)][0]][views[id(v)][1]] for v in bound.inputs]
            pushed = [bound.state.push(*(float(g.data[k]) for g in inputs)) for k in range(n)]
            columns = (list(zip(*pushed, strict=True)) if bound.state.outputs > 1 else [pushed]) if n else \
                [[] for _ in range(bound.state.outputs)]
            outputs = [_Growing(np.asarray(col, dtype=np.float64)) for col in columns]
            self._updaters.append(_Updater(spec, outputs, bound.state, inputs, args, kwargs, spec.window,
                                           self._times))
        else:
            values = as_arrays(spec.func(*spec.args, **spec.kwargs), n, spec.name)
            outputs = [_Growing(v) for v in values]
            self._updaters.append(_Updater(spec, outputs, None, [], args, kwargs, spec.window, self._times))
        return [g.view() for g in outputs]

    def _repoint(self, updater: _Updater) -> None:
        for line, out in zip(updater.spec.lines, updater.outputs, strict=True):
            line._set(out.data)
            line._growing = True
        updater.spec.arrays = [out.data for out in updater.outputs]

    def _has_value(self, spec: IndicatorSpec) -> bool:
        i = self.cursor.i
        return all(line._list[i] == line._list[i] for line in spec.lines)


def _micros(ts: datetime) -> int:
    """Return an aware datetime as int microseconds since the epoch, exactly."""
    from datetime import timezone

    delta = ts - datetime(1970, 1, 1, tzinfo=timezone.utc)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
