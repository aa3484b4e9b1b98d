"""The backtest engine: one loop over the clock driving a strategy through ``SimulatedBroker``.

Per bar the loop does only what the bar needs: move the cursor, match the working orders of
symbols that have any, and call ``next()``. Equity, trades and statistics are computed after
the loop, vectorized, from the fills.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from weaver.backtesting.result import BacktestResult, RunRecord, build_result
from weaver.clock import BacktestClock, Cursor, epoch_micros, session_ends
from weaver.core import Portfolio
from weaver.core.config import RunConfig
from weaver.core.errors import BacktestError, DataError, ParameterError, WeaverError
from weaver.core.options import run_options
from weaver.runtime.driver import strategy_failed, wire_hooks
from weaver.sim.broker import PriceDecimals, SimulatedBroker
from weaver.strategy.base import IndicatorSpec, Strategy, as_arrays
from weaver.strategy.context import StrategyContext
from weaver.strategy.declarations import DeclarationMemo
from weaver.strategy.lines import Data
from weaver.strategy.lookahead import check_indicators

_FIELDS = ("open", "high", "low", "close", "volume")

BarsLike = pd.DataFrame | Mapping[str, pd.DataFrame] | str | Path


def prepare_bars(bars: BarsLike) -> dict[str, pd.DataFrame]:
    """Validate ``bars`` (a frame, a dict of frames or a file) into ``{symbol: frame}``."""
    from weaver.data import load_bars

    if isinstance(bars, str | Path):
        loaded = load_bars(bars)
    elif isinstance(bars, pd.DataFrame):
        loaded = load_bars(bars, symbol=bars.attrs.get("symbol"), timeframe=bars.attrs.get("timeframe"))
        if isinstance(loaded, pd.DataFrame):
            loaded.attrs.update({k: v for k, v in bars.attrs.items() if k not in loaded.attrs})
    elif isinstance(bars, Mapping):
        loaded = load_bars(dict(bars))
    else:
        raise DataError(f"bars must be a DataFrame, a dict of DataFrames or a file path, got {type(bars).__name__}")
    frames = loaded if isinstance(loaded, dict) else {loaded.attrs.get("symbol") or "ASSET": loaded}
    for sym, frame in frames.items():
        if frame.empty:
            raise DataError(f"no bars for {sym!r} (source {frame.attrs.get('source', 'DataFrame')}): nothing to backtest")
    _check_bar_sizes(frames)
    return frames


#: bar sizes this many times apart are different bar sizes; closer ones may be one size
#: with bars missing (a symbol that trades every other day looks like "2d")
_MIXED_BAR_SIZES = 5


def _check_bar_sizes(frames: Mapping[str, pd.DataFrame]) -> None:
    """Refuse symbols of clearly different bar sizes (1d with 1m); warn of close ones (1d with 2d).

    One clock steps through the merged bars: a daily symbol would sit still between its bars
    while a minute symbol traded, and its day orders would expire on the other's sessions.
    """
    import warnings

    sizes = {sym: f.attrs.get("timeframe") for sym, f in frames.items()}
    known = {sym: tf for sym, tf in sizes.items() if tf is not None}
    if len(set(known.values())) < 2:
        return
    seconds = {sym: _bar_seconds(tf) for sym, tf in known.items()}
    finest, coarsest = min(seconds, key=seconds.get), max(seconds, key=seconds.get)
    listed = ", ".join(f"{sym} is {tf or 'of unknown size'}" for sym, tf in sizes.items())
    advice = f"bring them to one, e.g. wv.resample(bars, {known[coarsest]!r}) for the finer ones"
    if seconds[coarsest] >= _MIXED_BAR_SIZES * seconds[finest]:
        raise DataError(f"the bars mix bar sizes: {listed}; {advice}")
    from weaver.data import DataWarning

    warnings.warn(f"the bars' sizes differ: {listed} (bars missing from {coarsest}?); if they are "
                  f"different sizes, {advice}", DataWarning, stacklevel=4)


def _bar_seconds(timeframe: str) -> float:
    from weaver.data.timeframe import timeframe_seconds

    return timeframe_seconds(timeframe) or 30 * 86_400.0  # None: calendar months


class PreparedBars:
    """Bars laid out for the engine once, for any number of backtests on them.

    A sweep runs one backtest per combination on the same bars; what the engine derives from
    the bars alone (the merged index, each symbol's prices as float arrays on it, where each
    session ends, the clock's timestamps) is the same for all of them, so it is made here once
    and shared. Pass a ``PreparedBars`` to :func:`run_backtest` in place of the frames.

    It is a snapshot: it keeps copy-on-write copies of the frames, so a frame changed after
    preparing (``frame.loc[...] = ...``) leaves the prepared bars, and every run on them, as
    they were; prepare the bars again to backtest the change. The arrays are read-only, so a
    strategy cannot change the bars the next run sees. Only results' ``bars`` show the frames,
    and they show the snapshot.

    Parameters
    ----------
    frames
        ``{symbol: frame}`` as :func:`prepare_bars` returns it (validated, not empty).
    """

    def __init__(self, frames: Mapping[str, pd.DataFrame]) -> None:
        if not frames:
            raise DataError("no bars: PreparedBars needs at least one symbol's frame")
        # a shallow copy shares the frame's data until either side writes: pandas' copy on
        # write then copies the side written to, so these stay as they are now
        self.frames: dict[str, pd.DataFrame] = {sym: f.copy(deep=False) for sym, f in frames.items()}
        self.symbols: tuple[str, ...] = tuple(self.frames)
        self.index: pd.DatetimeIndex = _merged_index(self.frames)
        self.arrays: dict[str, dict[str, np.ndarray]] = {}
        self.has_bar: dict[str, np.ndarray | None] = {}
        for sym, frame in self.frames.items():
            arrays, mask = _aligned(frame, self.index)
            arrays = {f: np.ascontiguousarray(a, dtype=np.float64) for f, a in arrays.items()}
            for a in (*arrays.values(), *([] if mask is None else [mask])):
                a.flags.writeable = False
            self.arrays[sym], self.has_bar[sym] = arrays, mask
        self.timeframe: str | None = next(iter(self.frames.values())).attrs.get("timeframe")
        self.closes: dict[str, np.ndarray] = {sym: a["close"] for sym, a in self.arrays.items()}
        self.close_views: dict[str, memoryview] = {sym: memoryview(c) for sym, c in self.closes.items()}
        self.micros: np.ndarray = epoch_micros(self.index)
        self.micros.flags.writeable = False
        #: bar position -> its datetime, made by the runs' clocks as they need them, for all runs
        self.stamps: dict[int, datetime] = {}
        self._session_ends: dict[str, np.ndarray] = {}
        #: what runs on these bars learned of their indicator declarations, for the runs after them
        self.memo = DeclarationMemo({(sym, f): a for sym, fields in self.arrays.items() for f, a in fields.items()})
        #: the bar prices' Decimals, made once for every run's broker
        self.decimals = PriceDecimals()

    def session_end(self, session_tz: str) -> np.ndarray:
        """Return whether each bar ends a session in ``session_tz`` (computed once per zone)."""
        ends = self._session_ends.get(session_tz)
        if ends is None:
            ends = session_ends(self.index, self.timeframe, session_tz)
            ends.flags.writeable = False
            self._session_ends[session_tz] = ends
        return ends

    def __len__(self) -> int:
        return len(self.index)

    def __repr__(self) -> str:
        return f"<PreparedBars {list(self.symbols)}: {len(self.index)} bars>"


def make_broker(portfolio: Portfolio, config: RunConfig, *, symbols: Sequence[str], clock: Callable[[], datetime],
                price_of: Callable[[str], float], decimals: PriceDecimals) -> SimulatedBroker:
    """Return the simulated broker of a run with ``config``: its costs, fill model, limits and margin.

    With a ``seed``, the run's fill model draws from a ``numpy.random.Generator`` of its own,
    seeded with it: a copy of the config's model gets it, so every run with the seed draws
    the same numbers and the caller's model is left as it was. Without one, a model keeps
    the generator it was made with.
    """
    model, rng = config.fill_model, None
    if config.seed is not None:
        rng = np.random.default_rng(config.seed)
        if model is not None:
            import copy

            model = copy.copy(model)
            try:
                model.rng = rng  # type: ignore[union-attr]
            except AttributeError:
                raise ParameterError(f"run option seed={config.seed}: the fill model {type(model).__name__} takes "
                                     "no generator (it has no rng attribute)") from None
            rng = None
    return SimulatedBroker(
        portfolio, symbols=symbols, clock=clock, price_of=price_of, commission=config.commission,
        slippage=config.slippage, participation=config.participation, allow_short=config.allow_short,
        fractional=config.fractional, fill_model=model, rng=rng, decimals=decimals, margin=config.margin,
    )


class Run:
    """One backtest's moving parts, built from validated bars; :meth:`execute` runs the loop."""

    def __init__(
        self,
        strategy_cls: type[Strategy],
        frames: Mapping[str, pd.DataFrame] | PreparedBars,
        params: dict[str, Any],
        config: RunConfig,
        *,
        run_id: str = "bt",
    ) -> None:
        bars = frames if isinstance(frames, PreparedBars) else PreparedBars(frames)
        self.config = config
        fractional = config.fractional
        #: the first bar that trades: the bars before it only warm the indicators up
        self.first = first_bar(bars.index, config.start)
        self.strategy_cls = strategy_cls
        self.prepared = bars
        self.frames = bars.frames
        self.symbols = list(bars.symbols)
        self.index = bars.index
        n = len(self.index)
        self.cursor = Cursor()
        self.clock = BacktestClock(self.index, self.cursor, micros=bars.micros, stamps=bars.stamps)
        # the arrays are shared with other runs on the same bars (read-only); the dicts are this run's
        self.arrays: dict[str, dict[str, np.ndarray]] = {sym: dict(a) for sym, a in bars.arrays.items()}
        self.has_bar: dict[str, np.ndarray | None] = dict(bars.has_bar)
        self.timeframe = bars.timeframe
        self.session_end = bars.session_end(config.session_tz)
        self.closes = dict(bars.closes)
        # a function of the cursor and the closes, not a method: the broker and the strategy
        # keep it, and a reference back to this run would tie every order, event and fill of
        # it into a cycle that only the garbage collector frees (reference counting does now)
        self.price_of: Callable[[str], float] = _price_lookup(self.cursor, bars.close_views)
        self.initial_cash = config.cash
        self.portfolio = Portfolio(cash=self.initial_cash, positions={})
        self.broker = make_broker(self.portfolio, config, symbols=self.symbols, clock=self.clock.now,
                                  price_of=self.price_of, decimals=bars.decimals)
        datas = {
            sym: Data(sym, self.index, self.arrays[sym], self.cursor) for sym in self.symbols
        }
        self.datas = datas
        broker = self.broker
        context = StrategyContext(
            submit=broker.submit, cancel=broker.cancel, open_orders=broker.open_orders,
            portfolio=self.portfolio, now=self.clock.now, price_of=self.price_of, datas=datas,
            cursor=self.cursor, declare=_vectorized(bars.memo, n), fractional=fractional, run_id=run_id,
        )
        self.strategy = strategy_cls(context, params)
        self.n = n
        self.fill_bars: list[int] = []
        """The bar of each of the broker's fills, in order (fills happen only in the loop)."""

    def initialize(self, lookahead_check: bool) -> float:
        """Run the strategy's ``init()``, check its indicators, return the guard's seconds."""
        import time

        try:
            self.strategy.init()
        except Exception as exc:
            if isinstance(exc, WeaverError):  # already says what is wrong
                raise
            raise strategy_failed(self.strategy_cls, "init", exc) from exc
        started = time.perf_counter()
        if lookahead_check:
            check_indicators(self.strategy._indicators, self.index, self.prepared.memo)
        spent = time.perf_counter() - started
        for d in self.datas.values():
            d.start()
        wire_hooks(self.strategy, self.broker.on_update, self._where)
        return spent

    def _where(self) -> str:
        i = self.cursor.i
        return f"at bar {i} ({self.index[i]}, {', '.join(self.symbols)})"

    def record(self) -> RunRecord:
        """Return what the finished run leaves for its result: the bars from the first that trades."""
        broker = self.broker
        return traded_part(RunRecord(
            strategy=self.strategy_cls.__name__, frames=self.frames, index=self.index, symbols=self.symbols,
            closes=self.closes, timeframe=self.timeframe, initial_cash=self.initial_cash, config=self.config,
            orders=list(broker.orders.values()), fill_log=broker.fill_log, fill_bars=self.fill_bars,
            refused=broker.refused,
        ), self.first)

    def warmup(self) -> int:
        """Return the first bar at which every declared indicator has a value."""
        first = 0
        for spec in self.strategy._indicators:
            valid = ~np.isnan(np.vstack(spec.arrays)).any(axis=0)
            first = max(first, int(np.argmax(valid)) if valid.any() else self.n)
        return first

    def execute(self, progress: Callable[[int, int], None] | None = None) -> None:
        """Run the bar loop, from the first bar that trades (after the warm-up)."""
        start = max(self.warmup(), self.first)
        next_ = self.strategy.next
        match = self.broker.match_bar
        working = self.broker.working  # a live view: falsy while no order works
        now = self.clock.now
        session_end = memoryview(np.ascontiguousarray(self.session_end, dtype=np.uint8))
        # memoryviews index to plain floats: what match_bar wants, with no numpy scalars
        bars = {sym: tuple(memoryview(np.ascontiguousarray(a[f], dtype=np.float64)) for f in _FIELDS)
                for sym, a in self.arrays.items()}
        has_bar = self.has_bar
        cursor = self.cursor
        fill_bars = self.fill_bars
        # without a progress callback, a plain range: no generator to resume per bar
        steps = range(start, self.n) if progress is None else self.clock.steps(start, progress)
        i = start
        try:
            for i in steps:
                cursor.i = i
                if working:
                    for sym in tuple(working):
                        mask = has_bar[sym]
                        if mask is not None and not mask[i]:
                            continue
                        o, h, l, c, v = bars[sym]
                        made = match(sym, now(), o[i], h[i], l[i], c[i], v[i], session_end[i] == 1)
                        if made:
                            fill_bars += [i] * made
                next_()
        except Exception as exc:
            if isinstance(exc, BacktestError):  # a StrategyError from a hook, or the engine's own
                raise
            raise strategy_failed(self.strategy_cls, "next", exc, self._where()) from exc


def first_bar(index: pd.DatetimeIndex, start: Any) -> int:
    """Return the position of the first bar that trades, for ``start`` (None: the first bar).

    ``start`` is a bar position, or a time (a timestamp, a datetime or a string such as
    ``"2010-01-01"``; a naive one is UTC): the first bar at or after it.

    Raises
    ------
    ParameterError
        For a position outside the bars, or a time after the last bar.
    """
    from weaver.core.errors import ParameterError

    n = len(index)
    if start is None:
        return 0
    if isinstance(start, int | np.integer) and not isinstance(start, bool):
        if not 0 <= start < n:
            raise ParameterError(f"start={int(start)} is not a bar position: the run has {n} bars (0..{n - 1})")
        return int(start)
    try:
        stamp = pd.Timestamp(start)
    except (TypeError, ValueError):
        raise ParameterError(f"start={start!r} is neither a bar position nor a time") from None
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    pos = int(index.searchsorted(stamp))
    if pos >= n:
        raise ParameterError(f"start={start!r} is after the last bar ({index[-1]})")
    return pos


def traded_part(record: RunRecord, first: int) -> RunRecord:
    """Return ``record`` from bar ``first`` on: what a run that warmed up on the bars before traded."""
    if first == 0:
        return record
    from dataclasses import replace

    frames = {}
    for sym, frame in record.frames.items():
        part = frame.loc[record.index[first]:]
        part.attrs.update(frame.attrs)
        frames[sym] = part
    return replace(record, frames=frames, index=record.index[first:],
                   closes={sym: c[first:] for sym, c in record.closes.items()},
                   fill_bars=[b - first for b in record.fill_bars])


def _vectorized(memo: DeclarationMemo, n: int) -> Callable[[IndicatorSpec], list[np.ndarray]]:
    """Return the backtest's way to declare an indicator: computed once over all ``n`` bars.

    The values of a pure function's declaration are kept in the bars' memo for the next run
    on them (a sweep's), and the declaration's key is noted for the look-ahead check's memo.
    """

    def declare(spec: IndicatorSpec) -> list[np.ndarray]:
        func, args, kwargs = spec.func, spec.args, spec.kwargs
        spec.key = key = memo.key(func, args, kwargs, n)

        def compute() -> list[np.ndarray]:
            return as_arrays(func(*args, **kwargs), n, spec.name)

        if key is not None and getattr(func, "__weaver_pure__", False):
            return memo.values(key, compute)
        return compute()

    return declare


def _price_lookup(cursor: Cursor, closes: Mapping[str, memoryview]) -> Callable[[str], float]:
    def price_of(symbol: str) -> float:
        """Return ``symbol``'s close at the current bar (the reference price for sizing)."""
        i = cursor.i
        return closes[symbol][i if i > 0 else 0]

    return price_of


def _merged_index(frames: dict[str, pd.DataFrame]) -> pd.DatetimeIndex:
    indexes = [f.index for f in frames.values()]
    merged = indexes[0]
    for other in indexes[1:]:
        merged = merged.union(other)
    return merged


def _aligned(frame: pd.DataFrame, index: pd.DatetimeIndex) -> tuple[dict[str, np.ndarray], np.ndarray | None]:
    """Return the frame's columns as float arrays on the merged index, and a has-bar mask.

    Where a symbol has no bar at a merged timestamp, its prices carry the last close and
    its volume is 0; the mask (None when the symbol has every bar) keeps orders from
    matching there.
    """
    if len(frame.index) == len(index) and frame.index.equals(index):
        return {f: np.ascontiguousarray(frame[f].to_numpy(dtype=float)) for f in _FIELDS}, None
    pos = index.get_indexer(frame.index)
    mask = np.zeros(len(index), dtype=bool)
    mask[pos] = True
    close = frame["close"].reindex(index).ffill()
    out = {}
    for f in ("open", "high", "low"):
        out[f] = frame[f].reindex(index).fillna(close).to_numpy(dtype=float)
    out["close"] = close.to_numpy(dtype=float)
    out["volume"] = frame["volume"].reindex(index).fillna(0.0).to_numpy(dtype=float)
    return out, mask


@run_options
def backtest(
    strategy: type[Strategy],
    bars: BarsLike,
    *,
    progress: Callable[[int, int], None] | None = None,
    config: RunConfig,
    **params: Any,
) -> BacktestResult:
    """Backtest ``strategy`` on ``bars`` and return a :class:`~weaver.backtesting.BacktestResult`.

    The run options (cash, costs, fills, margin, ``start`` …) are keywords, or one
    ``config=RunConfig(...)``; see "Other Parameters". The result carries them as
    ``result.config`` and the strategy's parameters as ``result.params``.

    Parameters
    ----------
    strategy
        A :class:`~weaver.Strategy` subclass.
    bars
        A frame from :func:`weaver.load_bars`, a dict ``{symbol: frame}`` for several symbols
        (sharing one cash account), or a path to a CSV or Parquet file.
    progress
        ``progress(done, total)``, called about a hundred times along the loop.
    **params
        The strategy's parameters; unknown names or wrong types raise ``ParameterError``.

    Returns
    -------
    BacktestResult
        Trades, orders, fills, equity, statistics and charts of the run.

    Raises
    ------
    ParameterError
        For a keyword that is neither a run option nor a parameter of the strategy, or a
        value either refuses, before any bar runs.
    BacktestError
        If ``strategy`` is not a Strategy subclass, or the strategy's code fails
        (:class:`~weaver.StrategyError`).
    DataError
        For bars :func:`weaver.load_bars` refuses.
    """
    if not (isinstance(strategy, type) and issubclass(strategy, Strategy)):
        raise BacktestError(f"strategy must be a weaver.Strategy subclass, got {strategy!r}")
    values = strategy.validate_params(**params)
    return run_backtest(strategy, prepare_bars(bars), values, config=config, progress=progress)


@run_options
def run_backtest(
    strategy: type[Strategy],
    frames: Mapping[str, pd.DataFrame] | PreparedBars,
    params: dict[str, Any],
    *,
    progress: Callable[[int, int], None] | None = None,
    config: RunConfig,
) -> BacktestResult:
    """Backtest on bars already validated by :func:`prepare_bars` with checked ``params``.

    The entry point for callers that run many backtests on the same bars (sweeps), so the
    bars are validated once; :func:`backtest` is this plus the checks. Such callers pass
    :class:`PreparedBars` made once from the frames, so the engine lays the bars out once too;
    the results are the same as with the frames. It takes the same run options.
    """
    import time

    t0 = time.perf_counter()
    run = Run(strategy, frames, params, config)
    guard = run.initialize(config.lookahead_check)
    t1 = time.perf_counter()
    run.execute(progress)
    t2 = time.perf_counter()
    result = build_result(run.record(), params)
    result.timings = {"setup": t1 - t0 - guard, "lookahead_check": guard, "loop": t2 - t1,
                      "results": time.perf_counter() - t2}
    return result
