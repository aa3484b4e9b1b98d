"""The whole-strategy look-ahead check: re-run the strategy on cut histories, compare its orders.

The always-on guard (:mod:`weaver.strategy.lookahead`) checks the indicators a strategy
declares with ``self.indicator``; a strategy can still reach the future another way: an
array copied from the data in ``init()`` (where the fields are the whole history) and read
past the current bar in ``next()``, a frame kept from ``init()``, a file or a global read
directly. :func:`check_lookahead` does not look for the route. It runs the strategy on the
whole history, then on the history cut after a few bars, and asks of the orders: a strategy
that decides on bar t from bars up to t alone places the same orders up to t whether the
bars after t exist or not.
"""

from __future__ import annotations

import html
import operator
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from weaver.backtesting.engine import BarsLike, PreparedBars, Run, prepare_bars
from weaver.core import Order, OrderType, RunConfig, TimeInForce
from weaver.core.errors import BacktestError, DataError, LookAheadError, ParameterError
from weaver.core.options import run_options
from weaver.strategy.base import Strategy

__all__ = ["LookAheadCheck", "check_lookahead"]

_PASSED_COLOUR, _FAILED_COLOUR = "#2e7d32", "#c62828"
_VERDICT = "the strategy reads bars after the current one"
_TRAIL, _DAY = OrderType.TRAILING_STOP, TimeInForce.DAY


@dataclass(frozen=True, repr=False, eq=False, kw_only=True)
class LookAheadCheck:
    """The verdict of :func:`check_lookahead`; truthy when no look-ahead was found.

    Attributes
    ----------
    strategy
        The strategy class's name.
    params
        Every parameter's value in the runs (the given ones checked, the rest defaulted).
    passed
        Whether every cut run placed the same orders as the run on the whole history.
    first_bar
        The timestamp of the earliest bar, over all cuts, where the orders differ or a cut run
        raised; None when the check passed, and when the always-on guard refused an
        indicator before any order was compared (``detail`` names it).
    detail
        One sentence: what differs on ``first_bar`` and in which runs, or what was compared.
    cuts
        The timestamps of the cut bars: each cut run had the bars up to and including one.
    runs
        Backtests run: the whole history's and one per cut.
    seconds
        Wall-clock seconds of the check.
    """

    strategy: str
    params: dict[str, Any]
    passed: bool
    first_bar: pd.Timestamp | None
    detail: str
    cuts: list[pd.Timestamp] = field(default_factory=list)
    runs: int = 0
    seconds: float = 0.0

    def __bool__(self) -> bool:
        return self.passed

    @property
    def summary(self) -> str:
        """Return the verdict as one line of plain text (for reports and the command line)."""
        verdict = "no look-ahead found" if self.passed else "looks ahead"
        return f"{self._title()}: {verdict}: {self.detail}; {self.runs} runs in {self.seconds:.2f} s"

    def raise_for_lookahead(self) -> LookAheadCheck:
        """Raise :class:`~weaver.LookAheadError` with the detail if the check failed; else return it.

        Raises
        ------
        LookAheadError
            When the strategy's orders depend on bars after the one they are placed on.
        """
        if not self.passed:
            raise LookAheadError(self.detail)
        return self

    def _title(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"{self.strategy}({params})"

    def __repr__(self) -> str:
        done = f"{len(self.cuts)} cuts, {self.runs} runs, {self.seconds:.2f} s"
        if self.passed:
            return f"<LookAheadCheck {self.strategy}: no look-ahead found ({done})>"
        bar = self.first_bar
        where = "" if bar is None else f" from {_stamp(bar, bar == bar.normalize())}"
        return f"<LookAheadCheck {self.strategy}: looks ahead{where} ({done})>"

    def _repr_html_(self) -> str:
        colour = _PASSED_COLOUR if self.passed else _FAILED_COLOUR
        verdict = "&#10004; no look-ahead found" if self.passed else "&#10008; looks ahead"
        timing = html.escape(f"{self.runs} runs, {self.seconds:.2f} s")
        return (f"<div style='border-left:4px solid {colour};padding:4px 8px'>"
                f"<b style='color:{colour}'>{verdict}</b>: {html.escape(self._title())}"
                f"<p style='color:{colour};margin:2px 0'>{html.escape(self.detail)}</p>"
                f"<small style='color:#666'>{timing}</small></div>")


@run_options
def check_lookahead(
    strategy: type[Strategy],
    bars: BarsLike,
    *,
    cuts: int = 8,
    config: RunConfig,
    **params: Any,
) -> LookAheadCheck:
    """Check that ``strategy``'s orders on a bar do not depend on the bars after it.

    Run the strategy on the whole history once, then once per cut on the bars up to a cut
    bar (every symbol's bars up to that timestamp), and compare the orders: those the cut
    run places must be the whole run's orders placed on or before the cut bar, in the same
    sequence, with the same bar, symbol, side, type, quantity, limit, stop, trail and time in
    force. A cut run that raises where the whole run did not (an ``IndexError`` from reading
    past the cut) is a finding too, named at the bar where it raised. The earliest bar
    where any cut run differs is named.

    The cuts fall from the first bar worth cutting at (the end of the warm-up, the first bar
    at which every indicator has a value, or the bar of the first order if that is later:
    before anything happens a cut proves little) to the second-last bar. Half of them fall
    on bars where the whole run placed orders, from the last such bar back to the first (a
    peek that decides an order shows on that order's bar); then the second-last bar; the
    rest spread evenly over the range (where a peek that holds an order back would show).

    What it proves, and what it does not: on each cut history the strategy placed the orders
    it places on the whole history up to that cut. That catches any route to the future (a
    copy of the data kept from ``init()``, a frame, state, a file or a global read directly)
    wherever it changed an order on or before a cut. It compares orders at the cut points
    only: a strategy whose orders do not depend on the future at those cuts passes even if
    it reads ahead elsewhere, so more ``cuts`` check more (each is one more backtest). It
    says nothing of what the strategy computes but does not act on. The always-on guard
    still runs on the whole history, and an indicator it refuses fails the check. Runs must
    repeat themselves: a strategy drawing random numbers without a fixed seed (or a
    ``slippage`` function, or a fill model without ``seed=``, that does) places different
    orders in each run and fails.

    Every run uses the run options (see "Other Parameters"), but two: each runs from the
    first bar (``start`` is not used: the check compares the orders of the whole history)
    and with the guard on (``lookahead_check`` is not used). A cut run's sessions end where
    they end in the whole history (not at its own last bar), so day orders expire alike.

    Parameters
    ----------
    strategy
        A :class:`~weaver.Strategy` subclass.
    bars
        As for :func:`weaver.backtest`: a frame, a dict ``{symbol: frame}`` or a file path.
    cuts
        How many cut histories to run (at most one per bar that can be cut).
    **params
        The strategy's parameters; unknown names or wrong types raise ``ParameterError``.

    Returns
    -------
    LookAheadCheck
        ``passed``, ``first_bar``, ``detail``, ``cuts``, ``runs`` and ``seconds``; truthy
        when it passed; ``raise_for_lookahead()`` raises :class:`~weaver.LookAheadError`.

    Raises
    ------
    BacktestError
        If ``strategy`` is not a Strategy subclass, or the run on the whole history fails
        (as :func:`weaver.backtest` would).
    ParameterError
        If ``cuts`` is not a whole number of at least 1, or for a bad strategy parameter.
    DataError
        For bars :func:`weaver.backtest` refuses, or too few bars after the warm-up to cut.
    """
    started = time.perf_counter()
    if not (isinstance(strategy, type) and issubclass(strategy, Strategy)):
        raise BacktestError(f"strategy must be a weaver.Strategy subclass, got {strategy!r}")
    wanted = _number_of_cuts(cuts)
    values = strategy.validate_params(**params)
    config = config.replace(start=None, lookahead_check=True)
    session_tz = config.session_tz
    frames = prepare_bars(bars)
    prepared = PreparedBars(frames)
    index = prepared.index
    daily = bool((index == index.normalize()).all())  # name bars by their date alone

    def when(bar: int) -> str:
        return _stamp(index[bar], daily)

    def verdict(passed: bool, first_bar: pd.Timestamp | None, detail: str, cut_bars: Sequence[int],
                runs: int) -> LookAheadCheck:
        return LookAheadCheck(strategy=strategy.__name__, params=values, passed=passed, first_bar=first_bar,
                              detail=detail, cuts=[index[c] for c in cut_bars], runs=runs,
                              seconds=time.perf_counter() - started)

    try:
        whole = _Outcome.of(Run(strategy, prepared, values, config), index, guard=True)
    except LookAheadError as exc:  # the always-on guard refused an indicator: no need to cut
        return verdict(False, None, f"{exc} (the always-on guard refuses it before any order is compared)", [], 1)
    cut_bars = _cut_bars(len(index), _first_cut(strategy.__name__, whole, len(index), when), whole.bars, wanted)
    ends = prepared.session_end(session_tz)
    findings: list[tuple[int, str]] = []
    for c in cut_bars:
        cut = _CutBars(_frames_up_to(frames, index[c]), session_tz, ends[: c + 1])
        try:
            run = Run(strategy, cut, values, config)
        except Exception as exc:  # noqa: BLE001 - a finding, reported with the cut
            outcome = _Outcome.failed(exc, c)
        else:
            outcome = _Outcome.of(run, index, guard=False, failed_at=c)
        found = _difference(whole, outcome, c, when)
        if found is not None:
            findings.append(found)
    runs = 1 + len(cut_bars)
    if findings:
        bar, detail = min(findings, key=operator.itemgetter(0))
        return verdict(False, index[bar], detail, cut_bars, runs)
    placed, k = len(whole.orders), len(cut_bars)
    span = f"on {when(cut_bars[0])}" if k == 1 else f"from {when(cut_bars[0])} to {when(cut_bars[-1])}"
    detail = (f"the runs on the bars up to each of {k} cut bar{'s' if k != 1 else ''} {span} place the orders "
              f"that the run on the whole history places up to that bar ({placed} in all)")
    return verdict(True, None, detail, cut_bars, runs)


class _CutBars(PreparedBars):
    """The bars up to a cut, whose sessions end where they end in the whole history.

    The engine ends a session on the last bar of a history, so a history cut inside a
    session would expire day orders at the cut that the whole run keeps working.
    """

    def __init__(self, frames: Mapping[str, pd.DataFrame], session_tz: str, ends: np.ndarray) -> None:
        super().__init__(frames)
        self._cut_tz = session_tz
        self._cut_ends = ends

    def session_end(self, session_tz: str) -> np.ndarray:
        """Return whether each bar ends a session in ``session_tz``, as in the whole history."""
        if session_tz == self._cut_tz:
            return self._cut_ends
        return super().session_end(session_tz)


@dataclass
class _Outcome:
    """What one run did: its orders in the sequence placed, the bar of each, and how it ended."""

    orders: list[Order]
    bars: np.ndarray
    keys: list[tuple[Any, ...]]  # what must agree between runs, per order (see ``_key``)
    warmup: int = 0
    error: BaseException | None = None
    error_bar: int | None = None  # the bar being processed when it raised
    in_init: bool = False

    @classmethod
    def of(cls, run: Run, index: pd.DatetimeIndex, *, guard: bool, failed_at: int | None = None) -> _Outcome:
        """Run ``run``; with ``failed_at`` (a cut bar), keep an exception as the outcome, else raise it."""
        try:
            run.initialize(guard)
        except Exception as exc:
            if failed_at is None:
                raise
            return cls.failed(exc, failed_at)
        warmup = run.warmup()
        error, error_bar = None, None
        try:
            run.execute()
        except Exception as exc:
            if failed_at is None:
                raise
            error, error_bar = exc, run.cursor.i
        orders = list(run.broker.orders.values())
        stamps = pd.DatetimeIndex([o.created_at for o in orders]) if orders else pd.DatetimeIndex([], tz="UTC")
        bars = np.asarray(index.searchsorted(stamps), dtype=np.intp)
        keys = [_key(o, bar) for o, bar in zip(orders, bars.tolist(), strict=True)]
        return cls(orders, bars, keys, warmup, error, error_bar)

    @classmethod
    def failed(cls, exc: BaseException, cut: int) -> _Outcome:
        """A cut run that raised before its first bar: named at the cut bar."""
        return cls([], np.zeros(0, dtype=np.intp), [], error=exc, error_bar=cut, in_init=True)


def _number_of_cuts(cuts: Any) -> int:
    if isinstance(cuts, bool):
        raise ParameterError(f"cuts must be a whole number >= 1, got {cuts!r}")
    try:
        count = operator.index(cuts)  # an int or a numpy integer
    except TypeError:
        raise ParameterError(f"cuts must be a whole number >= 1, got {cuts!r}") from None
    if count < 1:
        raise ParameterError(f"cuts must be a whole number >= 1, got {cuts!r}")
    return count


def _first_cut(name: str, whole: _Outcome, n: int, when: Callable[[int], str]) -> int:
    """Return the first bar worth cutting at: the warm-up's end, or the first order if later."""
    first_order = int(whole.bars[0]) if len(whole.bars) else None
    lo = whole.warmup if first_order is None else max(whole.warmup, first_order)
    if lo <= n - 2:
        return lo
    if whole.warmup >= n:
        why = "its indicators have no value on any of them"
    else:
        why = f"its indicators have values from bar {whole.warmup} ({when(whole.warmup)})"
        if first_order is not None and first_order > whole.warmup:
            why += f" and it places its first order on bar {first_order} ({when(first_order)})"
    last = "none" if n < 2 else f"bar {n - 2} ({when(n - 2)})"
    raise DataError(
        f"too few bars after the warm-up to check {name} for look-ahead: the history has {n} bar"
        f"{'' if n == 1 else 's'} and a cut needs a bar after it, so the last bar to cut is {last}, "
        f"but {why}; give it more bars"
    )


def _cut_bars(n: int, lo: int, order_bars: np.ndarray, k: int) -> list[int]:
    """Return up to ``k`` cut bars from ``lo`` to ``n - 2``, sorted.

    Half of them (rounded up) fall on bars where the whole run placed orders, spread from
    the last such bar to the first: a peek that decides an order shows on the order's bar.
    Then the second-last bar, then bars spread evenly over the range (where a peek that
    holds an order back would show).
    """
    hi = n - 2
    k = min(k, hi - lo + 1)
    chosen: list[int] = []
    seen: set[int] = set()

    def add(bars: Any) -> None:
        for b in map(int, bars):
            if len(chosen) == k:
                return
            if b not in seen:
                chosen.append(b)
                seen.add(b)

    placed = np.unique(order_bars[(order_bars >= lo) & (order_bars <= hi)])
    if len(placed):
        picks = np.rint(np.linspace(len(placed) - 1, 0, min((k + 1) // 2, len(placed)))).astype(int)
        add(placed[picks])
    add([hi])
    add(np.rint(np.linspace(lo, hi, k)))
    add(range(lo, hi + 1))  # when rounding made some of the spread coincide
    return sorted(chosen)


def _frames_up_to(frames: Mapping[str, pd.DataFrame], stamp: pd.Timestamp) -> dict[str, pd.DataFrame]:
    """Return every symbol's bars up to and including ``stamp`` (a symbol not yet trading: none)."""
    out = {}
    for sym, frame in frames.items():
        part = frame.iloc[: frame.index.searchsorted(stamp, side="right")]
        part.attrs.update(frame.attrs)
        out[sym] = part
    return out


def _key(order: Order, bar: int) -> tuple[Any, ...]:
    """What must agree between runs: a trailing stop's ``stop_price`` moves, its trail does not."""
    stop = None if order.type is _TRAIL else order.stop_price
    return (bar, order.symbol, order.side, order.type, order.qty, order.limit_price, stop,
            order.trail_price, order.trail_percent, order.tif)


def _difference(whole: _Outcome, cut: _Outcome, c: int, when: Callable[[int], str]) -> tuple[int, str] | None:
    """Return (bar, sentence) for the first difference between the runs up to cut bar ``c``, or None."""
    up_to = when(c)
    if cut.in_init:
        return c, (f"on {up_to} the run on the bars up to {up_to} raises {_what(cut.error)} before its first "
                   f"bar, the run on the whole history does not: {_VERDICT}")
    # an exception on bar j leaves that bar's orders half placed: compare the bars before it
    last = c if cut.error is None else cut.error_bar - 1
    a = int(np.searchsorted(whole.bars, last, side="right"))
    b = int(np.searchsorted(cut.bars, last, side="right"))
    mine, theirs = whole.keys[:a], cut.keys[:b]
    if mine != theirs:
        i = next((i for i, (x, y) in enumerate(zip(mine, theirs, strict=False)) if x != y), min(a, b))
        bar = min(int(seq[i]) for seq, count in ((whole.bars, a), (cut.bars, b)) if i < count)
        return bar, (f"on {when(bar)} the run on the whole history places "
                     f"{_places(whole.orders, whole.bars, bar)}, the run on the bars up to {up_to} places "
                     f"{_places(cut.orders, cut.bars, bar)}: {_VERDICT}")
    if cut.error is not None:
        bar = cut.error_bar
        return bar, (f"on {when(bar)} the run on the bars up to {up_to} raises {_what(cut.error)}, "
                     f"the run on the whole history does not: {_VERDICT}")
    return None


def _places(orders: list[Order], bars: np.ndarray, bar: int) -> str:
    """Return the orders placed on ``bar`` in words: ``"buy 540 GOOG at market"``, or ``"nothing"``."""
    lo, hi = np.searchsorted(bars, bar, side="left"), np.searchsorted(bars, bar, side="right")
    words = [_describe(o) for o in orders[lo:hi]]
    if not words:
        return "nothing"
    if len(words) > 3:
        words = [*words[:3], f"{len(words) - 3} more orders"]
    return " and ".join(words)


def _describe(order: Order) -> str:
    text = f"{order.side.value} {_number(order.qty)} {order.symbol}"
    if order.type is _TRAIL:
        text += (f" trailing stop {_number(order.trail_price)}" if order.trail_price is not None
                 else f" trailing stop {_number(order.trail_percent)}%")
    elif order.limit_price is None and order.stop_price is None:
        text += " at market"
    else:
        if order.stop_price is not None:
            text += f" stop {_number(order.stop_price)}"
        if order.limit_price is not None:
            text += f" limit {_number(order.limit_price)}"
    return text if order.tif is _DAY else f"{text} ({order.tif.value})"


def _number(value: Any) -> str:
    return format(value.normalize(), "f") if hasattr(value, "normalize") else str(value)


def _what(exc: BaseException | None) -> str:
    """Return ``"IndexError (index 5 is out of bounds ...)"``: the user's error, not the engine's wrapper."""
    cause = exc.__cause__ if isinstance(exc, BacktestError) and exc.__cause__ is not None else exc
    return f"{type(cause).__name__} ({cause})"


def _stamp(stamp: pd.Timestamp, daily: bool) -> str:
    """Return ``"2005-03-14"`` for daily bars, the whole timestamp for intraday ones."""
    return f"{stamp:%Y-%m-%d}" if daily else str(stamp)
