"""Incremental twins of Weaver's indicators: one bar in, this bar's value out, in O(1).

A rehearsal, a paper run and a live run see the bars one at a time. Each indicator in
:mod:`weaver.strategy.indicators` has a twin here that takes one bar's inputs per
:meth:`push` and returns the value the vectorized function gives for that bar, *bit for
bit*: crossings compare these values, so a rehearsal and a backtest place the same orders
only if the numbers are identical, not merely close.

Identity comes from doing the same IEEE-754 double operations in the same order as the
pandas kernels that the vectorized functions call (Python floats are doubles, and a float
operation in Python rounds exactly as the compiled kernel does):

- ``rolling(n).mean()`` is ``roll_mean`` in ``pandas/_libs/window/aggregations.pyx``: a Kahan
  sum with one compensation for values added and another for values removed, the leaving
  value removed before the new one is added, a count of negative values (by sign bit) that
  clamps a mean of one sign that rounding pushed across zero, and a run count of equal
  values that returns the value itself when the whole window is one value;
- ``rolling(n).var()`` is ``roll_var``: Welford's update with the same two compensations,
  and a recomputation of the whole window when an update loses most significant digits
  (``prev_m2 * InvCondTol > m2``); that step costs O(n) and happens rarely (a variance
  collapsing by a factor of ~4.5e12 in one bar);
- ``ewm(...).mean()`` is ``ewm``: ``adjust=False`` with ``ignore_na=False``, so a missing
  bar still decays the old weight and repeats the previous value once warm;
- before any of these kernels pandas replaces an infinity with NaN (``_prep_values``), so
  an infinite input is a missing bar to every twin's window or average (but not to the
  element-wise steps before it: RSI's change and ATR's true range see the infinity);
- element-wise numpy arithmetic (``diff``, ``clip``, ``fmax``, the RSI ratio, the bands) is
  one IEEE operation per element, done here on floats with numpy's answers for division by
  zero.

The suite holds every twin equal to its vectorized function with ``np.array_equal`` on
random walks, NaN warm-ups, constant stretches, large offsets and real closes
(``tests/unit/strategy/test_incremental.py``); a pandas upgrade that changes a kernel fails
there first.

Usage::

    from weaver.strategy import incremental
    from weaver.strategy.indicators import sma

    state = incremental.twin(sma, 10)          # the non-series arguments only
    for close in closes:
        value = state.push(close)               # NaN until the 10th bar

    bound = incremental.twin_for(spec.func, spec.args, spec.kwargs)
    if bound is not None:                       # None: no twin, recompute vectorized
        value = bound.state.push(*(bar_value(s) for s in bound.inputs))
"""

from __future__ import annotations

import inspect
import math
import numbers
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, ClassVar, Protocol

from weaver.core.errors import ParameterError
from weaver.strategy import indicators

__all__ = [
    "AtrState",
    "BollingerState",
    "BoundTwin",
    "EmaState",
    "IncrementalIndicator",
    "RsiState",
    "SmaState",
    "TWINS",
    "twin",
    "twin_for",
]

_NAN = math.nan
_INF = math.inf
_copysign = math.copysign
_sqrt = math.sqrt

# roll_var's test for catastrophic cancellation: an update that leaves fewer than ~3
# significant decimal digits of the sum of squared deviations (pandas' ``InvCondTol``,
# ``np.finfo(np.float64).eps * 1e3``, the same double product)
_INV_COND_TOL = sys.float_info.epsilon * 1e3


class IncrementalIndicator(Protocol):
    """One indicator computed bar by bar: what every twin in this module implements."""

    #: how many values :meth:`push` returns: 1 (a float) or more (a tuple)
    outputs: int

    def push(self, *values: float) -> float | tuple[float, ...]:
        """Take one bar's inputs and return this bar's value(s)."""
        ...


def _window(n: Any, owner: str) -> int:
    """Return ``n`` as a rolling window size (a positive integer), or raise."""
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
        raise ParameterError(f"{owner}: n must be a positive integer, got {n!r}")
    return int(n)


def _periods(n: Any, owner: str) -> float:
    """Return ``n`` as an EWM span or period (a real number >= 1), or raise."""
    if isinstance(n, bool) or not isinstance(n, numbers.Real) or not n >= 1:
        raise ParameterError(f"{owner}: n must be a number >= 1, got {n!r}")
    return float(n)


def _signbit(v: float) -> bool:
    return _copysign(1.0, v) < 0.0


# -- rolling mean ------------------------------------------------------------------------------


class SmaState:
    """The simple moving average of one series over ``n`` bars, bar by bar.

    The twin of :func:`weaver.strategy.indicators.sma`: ``push(x)`` returns what
    ``pd.Series(xs).rolling(n, min_periods=n).mean()`` gives on the bar of ``x``, NaN until
    ``n`` bars without a NaN fill the window.

    Parameters
    ----------
    n
        The window, in bars (a positive integer).

    Raises
    ------
    ParameterError
        If ``n`` is not a positive integer.
    """

    outputs: ClassVar[int] = 1
    __slots__ = ("n", "_buf", "_pos", "_seen", "_nobs", "_neg", "_sum", "_comp_add",
                 "_comp_rem", "_same", "_prev")

    def __init__(self, n: int) -> None:
        self.n = _window(n, "sma")
        self._buf = [_NAN] * self.n  # the window, a ring: _buf[_pos] is the oldest bar
        self._pos = 0
        self._seen = 0  # bars pushed, up to n (the window is full after that)
        self._nobs = 0  # non-NaN values in the window
        self._neg = 0  # of those, how many have the sign bit set
        self._sum = 0.0
        self._comp_add = 0.0  # roll_mean keeps one Kahan compensation for adds ...
        self._comp_rem = 0.0  # ... and another for removals
        self._same = 0  # the run of equal values ending at the latest non-NaN one
        self._prev = _NAN

    def push(self, x: float) -> float:
        """Take the next bar's value and return the moving average on that bar.

        Parameters
        ----------
        x
            The bar's value (NaN for a missing bar; an infinity counts as missing, as
            pandas' rolling windows read it).

        Returns
        -------
        float
            The mean of the last ``n`` values, or NaN while any of them is missing.
        """
        x = float(x)
        if x - x != 0.0:  # pandas' rolling reads an infinity as a missing value
            x = _NAN
        n = self.n
        if n == 1:  # roll_mean restarts every window that shares no bar with the last one
            return x
        buf, pos = self._buf, self._pos
        nobs, total = self._nobs, self._sum
        if self._seen == n:  # remove the leaving value first, as roll_mean does
            old = buf[pos]
            if old == old:
                nobs -= 1
                c = self._comp_rem
                y = -old - c
                t = total + y
                self._comp_rem = t - total - y
                total = t
                if old < 0.0 or (old == 0.0 and _signbit(old)):
                    self._neg -= 1
        else:
            self._seen += 1
        buf[pos] = x
        self._pos = pos + 1 if pos + 1 < n else 0
        if x == x:
            nobs += 1
            c = self._comp_add
            y = x - c
            t = total + y
            self._comp_add = t - total - y
            total = t
            if x < 0.0 or (x == 0.0 and _signbit(x)):
                self._neg += 1
            # GH#42064: a run of one value gives that value, free of rounding artifacts
            if x == self._prev:
                self._same += 1
            else:
                self._same = 1
            self._prev = x
        self._nobs, self._sum = nobs, total
        if nobs < n:
            return _NAN
        if self._same >= nobs:
            return self._prev
        result = total / nobs
        neg = self._neg
        if neg == 0 and result < 0.0:  # all non-negative: rounding only can make it negative
            return 0.0
        if neg == nobs and result > 0.0:
            return 0.0
        return result


# -- rolling variance --------------------------------------------------------------------------


class _RollingVar:
    """``rolling(n, min_periods=n).var(ddof)``, bar by bar: pandas' ``roll_var``."""

    __slots__ = ("n", "ddof", "_buf", "_pos", "_seen", "_nobs", "_mean", "_m2",
                 "_comp_add", "_comp_rem")

    def __init__(self, n: int, ddof: int) -> None:
        self.n = n
        self.ddof = ddof
        self._buf = [_NAN] * n
        self._pos = 0
        self._seen = 0
        self._nobs = 0.0  # a double in the kernel, and divided by as one
        self._mean = 0.0
        self._m2 = 0.0
        self._comp_add = 0.0
        self._comp_rem = 0.0

    def push(self, x: float) -> float:
        if x - x != 0.0:  # an infinity is a missing value, as in SmaState
            x = _NAN
        n = self.n
        buf, pos = self._buf, self._pos
        unstable = False
        if n == 1:  # every window is new: roll_var starts over from zero
            self._nobs = self._mean = self._m2 = self._comp_add = self._comp_rem = 0.0
        elif self._seen == n:
            old = buf[pos]
            if old == old:
                prev_m2 = m2 = self._m2
                nobs = self._nobs - 1.0
                self._nobs = nobs
                if nobs:
                    mean, c = self._mean, self._comp_rem
                    prev_mean = mean - c
                    y = old - c
                    t = y - mean
                    self._comp_rem = t + mean - y
                    mean = mean - t / nobs
                    m2 = m2 - (old - prev_mean) * (old - mean)
                    self._mean, self._m2 = mean, m2
                    if prev_m2 * _INV_COND_TOL > m2:
                        unstable = True
                else:
                    self._mean = self._m2 = 0.0
        else:
            self._seen += 1
        buf[pos] = x
        self._pos = pos + 1 if pos + 1 < n else 0
        if x == x:
            prev_m2 = self._m2
            if prev_m2 * _INV_COND_TOL > self._add(x):
                unstable = True
        if unstable:
            # roll_var recomputes the window from scratch, oldest bar first
            self._nobs = self._mean = self._m2 = self._comp_add = self._comp_rem = 0.0
            start = self._pos if self._seen == n else 0
            for k in range(self._seen):
                v = buf[(start + k) % n]
                if v == v:
                    self._add(v)
        nobs = self._nobs
        if nobs >= n and nobs > self.ddof:
            return self._m2 / (nobs - self.ddof)
        return _NAN

    def _add(self, x: float) -> float:
        nobs = self._nobs + 1.0
        self._nobs = nobs
        mean, c = self._mean, self._comp_add
        prev_mean = mean - c
        y = x - c
        t = y - mean
        self._comp_add = t + mean - y
        mean = mean + t / nobs
        self._mean = mean
        self._m2 = self._m2 + (x - prev_mean) * (x - mean)
        return self._m2


# -- exponentially weighted mean ---------------------------------------------------------------


class _EwmMean:
    """``ewm(com=com, adjust=False, ignore_na=False, min_periods=minp).mean()``, bar by bar."""

    __slots__ = ("_factor", "_new_wt", "_com_is_1", "_minp", "_weighted", "_old_wt", "_nobs")

    def __init__(self, com: float, min_periods: int) -> None:
        alpha = 1.0 / (1.0 + com)  # the kernel's alpha, from the center of mass as pandas passes it
        self._factor = 1.0 - alpha
        self._new_wt = alpha
        # with com == 1 the kernel takes the new weight as 1 - old weight (irregular spacing)
        self._com_is_1 = com == 1.0
        self._minp = max(min_periods, 1)
        self._weighted = _NAN
        self._old_wt = 1.0
        self._nobs = 0

    def push(self, x: float) -> float:
        if x - x != 0.0:  # pandas' ewm reads an infinity as a missing value too
            x = _NAN
        weighted = self._weighted
        if weighted == weighted:
            # ignore_na=False: a missing bar still ages the old value's weight
            old_wt = self._old_wt * self._factor
            if x == x:
                self._nobs += 1
                if weighted != x:  # pandas skips the update on a constant series
                    if self._com_is_1:
                        self._new_wt = 1.0 - old_wt
                    new_wt = self._new_wt
                    weighted = old_wt * weighted + new_wt * x
                    weighted /= old_wt + new_wt
                    self._weighted = weighted
                old_wt = 1.0
            self._old_wt = old_wt
        elif x == x:
            self._nobs += 1
            self._weighted = weighted = x
        return weighted if self._nobs >= self._minp else _NAN


class EmaState(_EwmMean):
    """The exponential moving average with span ``n``, bar by bar.

    The twin of :func:`weaver.strategy.indicators.ema`: ``push(x)`` returns what
    ``s.ewm(span=n, adjust=False, min_periods=n).mean()`` gives on the bar of ``x``. The
    average starts at the first non-NaN value and shows from the ``n``-th one; once it
    shows, a NaN bar repeats the previous value (and ages its weight).

    Parameters
    ----------
    n
        The span, in bars (a number >= 1).

    Raises
    ------
    ParameterError
        If ``n`` is not a number >= 1.
    """

    outputs: ClassVar[int] = 1
    __slots__ = ()

    def __init__(self, n: float) -> None:
        span = _periods(n, "ema")
        # pandas' get_center_of_mass: (span - 1) / 2
        super().__init__((span - 1) / 2, int(span))

    def push(self, x: float) -> float:
        """Take the next bar's value and return the average on that bar.

        Parameters
        ----------
        x
            The bar's value (NaN for a missing bar; an infinity counts as missing, as
            pandas' ewm reads it).

        Returns
        -------
        float
            The average, or NaN until ``n`` non-NaN values have been seen.
        """
        return _EwmMean.push(self, float(x))


def _wilder(n: float) -> _EwmMean:
    """Return Wilder's smoothing, ``ewm(alpha=1/n, adjust=False, min_periods=n)``."""
    alpha = 1 / n
    # pandas' get_center_of_mass: (1 - alpha) / alpha, then the kernel's 1 / (1 + com)
    return _EwmMean((1 - alpha) / alpha, int(n))


# -- RSI and ATR -------------------------------------------------------------------------------


class RsiState:
    """Wilder's relative strength index over ``n`` bars, bar by bar.

    The twin of :func:`weaver.strategy.indicators.rsi`: the change from the previous bar
    splits into a gain and a loss, each smoothed with ``alpha = 1/n``, and ``push(x)``
    returns ``100 - 100 / (1 + gain / loss)``, 100 when there is no loss but some gain, and
    NaN when both are zero or during the warm-up.

    Parameters
    ----------
    n
        The period, in bars (a number >= 1).

    Raises
    ------
    ParameterError
        If ``n`` is not a number >= 1.
    """

    outputs: ClassVar[int] = 1
    __slots__ = ("n", "_gain", "_loss", "_prev")

    def __init__(self, n: float = 14) -> None:
        self.n = _periods(n, "rsi")
        self._gain = _wilder(self.n)
        self._loss = _wilder(self.n)
        self._prev = _NAN  # diff() has no previous value on the first bar

    def push(self, x: float) -> float:
        """Take the next bar's value and return the RSI on that bar (0..100, or NaN).

        Parameters
        ----------
        x
            The bar's value (NaN for a missing bar).

        Returns
        -------
        float
            The RSI, or NaN during the warm-up and when the series did not move.
        """
        x = float(x)
        delta = x - self._prev
        self._prev = x
        # clip(lower=0) keeps NaN and anything >= 0 (a -0.0 too) and puts 0.0 elsewhere
        gain = self._gain.push(delta if not delta < 0.0 else 0.0)
        neg = -delta
        loss = self._loss.push(neg if not neg < 0.0 else 0.0)
        # numpy's division under errstate(ignore) where Python's would raise
        if loss == 0.0:
            if gain > 0.0:
                return 100.0  # no loss, some gain: the vectorized code's special case
            if gain != gain or gain == 0.0:
                return _NAN  # 0/0 (or NaN/0) is NaN
            rs = _copysign(_INF, gain) * _copysign(1.0, loss)
        else:
            rs = gain / loss
        d = 1.0 + rs
        if d == 0.0:
            return 100.0 - _copysign(_INF, d)
        return 100.0 - 100.0 / d


class AtrState:
    """Wilder's average true range over ``n`` bars, bar by bar.

    The twin of :func:`weaver.strategy.indicators.atr`: ``push(high, low, close)`` takes
    one bar and returns the smoothed true range (``alpha = 1/n``) on it. The true range is
    the largest of high - low and the distances from the previous close to the high and the
    low, ignoring those that are NaN (the first bar has no previous close).

    Parameters
    ----------
    n
        The period, in bars (a number >= 1).

    Raises
    ------
    ParameterError
        If ``n`` is not a number >= 1.
    """

    outputs: ClassVar[int] = 1
    __slots__ = ("n", "_ewm", "_prev")

    def __init__(self, n: float = 14) -> None:
        self.n = _periods(n, "atr")
        self._ewm = _wilder(self.n)
        self._prev = _NAN

    def push(self, high: float, low: float, close: float) -> float:
        """Take the next bar and return the average true range on it.

        Parameters
        ----------
        high, low, close
            The bar's prices (NaN for a missing bar).

        Returns
        -------
        float
            The ATR, or NaN until ``n`` bars have had a true range.
        """
        h, lo = float(high), float(low)
        prev = self._prev
        self._prev = float(close)
        # np.fmax: the larger of the two, or the one that is not NaN
        tr = h - lo
        d = abs(h - prev)
        if tr != tr or d > tr:
            tr = d
        d = abs(lo - prev)
        if tr != tr or d > tr:
            tr = d
        return self._ewm.push(tr)


# -- Bollinger bands ---------------------------------------------------------------------------


class BollingerState:
    """Bollinger bands over ``n`` bars, ``k`` population standard deviations wide.

    The twin of :func:`weaver.strategy.indicators.bollinger`: ``push(x)`` returns
    ``(lower, middle, upper)`` on the bar of ``x``, the middle band being the ``n``-bar
    simple moving average and the others ``middle ∓ k * std`` (``ddof=0``).

    Parameters
    ----------
    n
        The window, in bars (a positive integer).
    k
        The half-width of the bands, in standard deviations.

    Raises
    ------
    ParameterError
        If ``n`` is not a positive integer or ``k`` not a number.
    """

    outputs: ClassVar[int] = 3
    __slots__ = ("n", "k", "_mean", "_var")

    def __init__(self, n: int = 20, k: float = 2.0) -> None:
        self.n = _window(n, "bollinger")
        if isinstance(k, bool) or not isinstance(k, numbers.Real):
            raise ParameterError(f"bollinger: k must be a number, got {k!r}")
        self.k = float(k)
        self._mean = SmaState(self.n)
        self._var = _RollingVar(self.n, 0)

    def push(self, x: float) -> tuple[float, float, float]:
        """Take the next bar's value and return the bands on that bar.

        Parameters
        ----------
        x
            The bar's value (NaN for a missing bar; an infinity counts as missing).

        Returns
        -------
        tuple of float
            ``(lower, middle, upper)``, each NaN while any of the last ``n`` values is.
        """
        x = float(x)
        mid = self._mean.push(x)
        var = self._var.push(x)
        # pandas' zsqrt: the square root, 0 for a variance rounding made negative
        sd = 0.0 if var < 0.0 else _sqrt(var)
        w = self.k * sd
        return mid - w, mid, mid + w


# -- the registry ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Entry:
    factory: Callable[..., IncrementalIndicator]
    series: tuple[str, ...]  # the vectorized function's series parameters, in push order


_REGISTRY: dict[Callable[..., Any], _Entry] = {
    indicators.sma: _Entry(SmaState, ("x",)),
    indicators.ema: _Entry(EmaState, ("x",)),
    indicators.rsi: _Entry(RsiState, ("x",)),
    indicators.atr: _Entry(AtrState, ("high", "low", "close")),
    indicators.bollinger: _Entry(BollingerState, ("x",)),
}

#: each vectorized indicator with a twin -> the twin's factory, which takes the indicator's
#: non-series arguments (``TWINS[sma](10)`` is ``SmaState(10)``)
TWINS: Mapping[Callable[..., Any], Callable[..., IncrementalIndicator]] = MappingProxyType(
    {func: entry.factory for func, entry in _REGISTRY.items()}
)


@dataclass(frozen=True)
class BoundTwin:
    """A declaration's twin and the series it takes, in the order :meth:`push` takes them.

    Attributes
    ----------
    state
        The fresh twin; push one bar of each of ``inputs`` per bar.
    inputs
        The declaration's series arguments as given (e.g. ``self.data.close``), in push
        order: ``(high, low, close)`` for ATR, ``(x,)`` for the others.
    """

    state: IncrementalIndicator
    inputs: tuple[Any, ...]


def twin(func: Callable[..., Any], *args: Any, **kwargs: Any) -> IncrementalIndicator:
    """Return a fresh twin of the vectorized indicator ``func``.

    Parameters
    ----------
    func
        One of :data:`TWINS`' keys, e.g. :func:`weaver.strategy.indicators.sma`.
    *args, **kwargs
        The indicator's non-series arguments, positional or by name, with its defaults:
        ``twin(sma, 10)``, ``twin(bollinger, n=20, k=2.5)``, ``twin(rsi)``.

    Returns
    -------
    IncrementalIndicator
        The twin, to be pushed one bar at a time.

    Raises
    ------
    ParameterError
        If ``func`` has no twin, or the arguments do not fit it.
    """
    entry = _REGISTRY.get(func)
    if entry is None:
        raise ParameterError(
            f"{getattr(func, '__qualname__', func)!s} has no incremental twin; the twins are "
            f"{', '.join(f.__name__ for f in _REGISTRY)}"
        )
    try:
        return entry.factory(*args, **kwargs)
    except TypeError as exc:  # a wrong count or name of arguments
        raise ParameterError(f"twin of {func.__name__}: {exc}") from None


def _looks_like_series(value: Any) -> bool:
    """Return True for an array, a line, a pandas object or a sequence: a series argument."""
    return isinstance(value, list | tuple) or hasattr(value, "__array__")


def twin_for(
    func: Callable[..., Any],
    args: tuple,
    kwargs: Mapping[str, Any],
    is_series: Callable[[Any], bool] = _looks_like_series,
) -> BoundTwin | None:
    """Return the twin of the declaration ``func(*args, **kwargs)``, or None if it has none.

    The declaration is bound to ``func``'s signature, so its arguments may be positional or
    named and the defaults apply (``rsi(close)`` is ``rsi(close, n=14)``), as
    ``Strategy.indicator`` received them (an ``IndicatorSpec``'s ``func``, ``args`` and
    ``kwargs``).

    Parameters
    ----------
    func, args, kwargs
        The declaration.
    is_series
        Tells a series argument (one value per bar) from a plain one; by default anything
        array-like (an array, a line, a pandas object, a list or a tuple) is a series.

    Returns
    -------
    BoundTwin or None
        The fresh twin and the series arguments to push, or None when ``func`` has no twin,
        the arguments do not bind to its signature, or a series stands where a plain value
        is expected (or the other way round): such a declaration is to be recomputed
        vectorized.

    Raises
    ------
    ParameterError
        If the plain arguments bind but are invalid (``n`` of 0, say), which the vectorized
        function would have refused too.
    """
    entry = _REGISTRY.get(func)
    if entry is None:
        return None
    try:
        bound = inspect.signature(func).bind(*args, **kwargs)
    except TypeError:
        return None
    bound.apply_defaults()
    arguments = bound.arguments
    inputs = tuple(arguments[name] for name in entry.series)
    params = {name: v for name, v in arguments.items() if name not in entry.series}
    if not all(is_series(v) for v in inputs) or any(is_series(v) for v in params.values()):
        return None
    return BoundTwin(entry.factory(**params), inputs)
