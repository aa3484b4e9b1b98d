"""Indicators: thin, vectorized functions over numpy and pandas.

Each takes whole arrays and returns arrays of the same length, NaN during the warm-up, and
each value depends only on the bars up to it (the look-ahead guard checks this). The same
functions serve ``Strategy.indicator`` in event-driven runs and ``signals()`` in vectorized
sweeps, so both paths see identical numbers.

Crossings
---------
``a`` *crosses over* ``b`` on bar t when ``a[t] > b[t]`` and, looking back from t-1 past any
bars where ``a == b`` exactly, the last bar where they differed had ``a < b``. So a series
that touches the other and turns back does not cross (no signal at the touch or after it),
and one that passes through an exact tie crosses once, on the first bar strictly beyond it.
A NaN ends the look-back: nothing crosses out of the warm-up.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from weaver.strategy.lines import Indicator, Line

F = TypeVar("F", bound=Callable[..., Any])


def pure(func: F) -> F:
    """Mark ``func`` as pure: the same inputs always give the same values.

    ``Strategy.indicator`` may then reuse the values it computed for the same declaration
    on the same (read-only) bars, as the runs of a sweep declare them again and again.
    """
    func.__weaver_pure__ = True  # type: ignore[attr-defined]
    return func


def _causal(func: F) -> F:
    """Mark one of Weaver's own indicators causal: its value at a bar uses no later bar.

    The look-ahead guard trusts these and checks every other indicator; the suite checks
    each of them (``tests/unit/strategy/test_lookahead.py``), so they are not recomputed on
    cut histories in every run.
    """
    func.__weaver_causal__ = True  # type: ignore[attr-defined]
    return func


def _series(x: Any) -> pd.Series:
    return pd.Series(np.asarray(x, dtype=float))


@_causal
@pure
def sma(x: Any, n: int) -> np.ndarray:
    """Return the simple moving average of ``x`` over ``n`` bars."""
    return _series(x).rolling(n, min_periods=n).mean().to_numpy()


@_causal
@pure
def ema(x: Any, n: int) -> np.ndarray:
    """Return the exponential moving average of ``x`` with span ``n``, seeded after ``n`` bars."""
    s = _series(x)
    out = s.ewm(span=n, adjust=False, min_periods=n).mean().to_numpy()
    return out


@_causal
@pure
def rsi(x: Any, n: int = 14) -> np.ndarray:
    """Return Wilder's relative strength index of ``x`` over ``n`` bars (0..100)."""
    s = _series(x)
    delta = s.diff()
    gain = delta.clip(lower=0).ewm(alpha=1 / n, adjust=False, min_periods=n).mean()
    loss = (-delta).clip(lower=0).ewm(alpha=1 / n, adjust=False, min_periods=n).mean()
    with np.errstate(divide="ignore", invalid="ignore"):
        rs = gain.to_numpy() / loss.to_numpy()
        out = 100.0 - 100.0 / (1.0 + rs)
    out[(loss.to_numpy() == 0) & (gain.to_numpy() > 0)] = 100.0
    return out


@_causal
@pure
def atr(high: Any, low: Any, close: Any, n: int = 14) -> np.ndarray:
    """Return Wilder's average true range over ``n`` bars."""
    h, l, c = (np.asarray(v, dtype=float) for v in (high, low, close))
    prev = np.concatenate(([np.nan], c[:-1]))
    # fmax ignores a NaN unless both are: the first bar has no previous close, and a symbol
    # that starts later is NaN until then (nanmax would warn of an all-NaN slice there)
    tr = np.fmax(np.fmax(h - l, np.abs(h - prev)), np.abs(l - prev))
    return pd.Series(tr).ewm(alpha=1 / n, adjust=False, min_periods=n).mean().to_numpy()


@_causal
@pure
def bollinger(x: Any, n: int = 20, k: float = 2.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return the Bollinger bands (lower, middle, upper) of ``x``: SMA(n) ± k population std."""
    s = _series(x)
    mid = s.rolling(n, min_periods=n).mean()
    sd = s.rolling(n, min_periods=n).std(ddof=0)
    return (mid - k * sd).to_numpy(), mid.to_numpy(), (mid + k * sd).to_numpy()


def crossover(a: Any, b: Any) -> bool:
    """Return True when ``a`` crosses above ``b`` on the latest bar (see the module's rule).

    ``a`` and ``b`` are lines, arrays or sequences; either may be a number.
    """
    # Two lines: both hold their whole history, so where they cross is computed once, in both
    # directions (the vectorized twin of this rule, bar for bar the same), and each bar is a
    # lookup. Each line maps the other to the bars where it crosses above it (a set: crossings
    # are rare); a line given new values drops the memos on both sides (``Line._set``).
    try:
        return a._cursor.i in a._crossings[b]
    except (AttributeError, KeyError, TypeError):  # not a line, not computed yet, unhashable
        pass
    ca = a.__class__
    if ca is Indicator or ca is Line:  # the per-bar fast paths: a line against a line or a level
        cb = b.__class__
        if cb is Indicator or cb is Line:
            if a._growing or b._growing:  # values still arriving: look back from this bar
                return _crosses_back(a._list, b._list, a._cursor.i)
            above, below = _crossings(a._values, b._values)
            b._crossings[a] = frozenset(np.flatnonzero(below).tolist())
            crossings = a._crossings[b] = frozenset(np.flatnonzero(above).tolist())
            return a._cursor.i in crossings
        if cb is float or cb is int:
            av, i = a._list, a._cursor.i
            if not av[i] > b:
                return False
            k = i - 1
            while k >= 0:
                d = av[k] - b
                if d != 0:
                    return d < 0
                k -= 1
            return False
    av, bv = _history(a), _history(b)
    if not av[-1] > bv[-1]:
        return False
    for k in range(2, min(len(av), len(bv)) + 1):
        d = av[-k] - bv[-k]
        if d != 0:
            return d < 0
    return False


def _crosses_back(av: Any, bv: Any, i: int) -> bool:
    """Return whether ``av`` crosses above ``bv`` on bar ``i``, looking back past ties (the rule above)."""
    if not av[i] > bv[i]:
        return False
    k = i - 1
    while k >= 0:
        d = av[k] - bv[k]
        if d != 0:  # also NaN, which ends the look-back: NaN < 0 is False
            return d < 0
        k -= 1
    return False


def crossunder(a: Any, b: Any) -> bool:
    """Return True when ``a`` crosses below ``b`` on the latest bar."""
    return crossover(b, a)


def _history(x: Any) -> Any:
    if isinstance(x, int | float):
        return _Constant(float(x))
    return np.asarray(x, dtype=float) if not isinstance(x, list) else x


class _Constant:
    """A number seen as a series of any length."""

    __slots__ = ("value",)

    def __init__(self, value: float) -> None:
        self.value = value

    def __getitem__(self, _: int) -> float:
        return self.value

    def __len__(self) -> int:
        return 1 << 62


@_causal
@pure
def cross_above(a: Any, b: Any) -> np.ndarray:
    """Return a boolean array: True on every bar where ``a`` crosses above ``b``.

    The vectorized twin of :func:`crossover`, bar for bar the same rule.
    """
    return _crossings(a, b)[0]


def _crossings(a: Any, b: Any) -> tuple[np.ndarray, np.ndarray]:
    """Return (where ``a`` crosses above ``b``, where it crosses below), as boolean arrays."""
    d = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    n = len(d)
    above, below = np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)
    if n < 2:
        return above, below
    if not (d == 0).any():  # no exact ties: the bar before decides (a NaN never crosses)
        prev = d[:-1]
    else:  # a tie carries the latest untied sign forward (a NaN counts, and so breaks the chain)
        sign = np.sign(d)
        latest = np.maximum.accumulate(np.where(sign != 0, np.arange(n), -1))
        prev = np.where(latest >= 0, sign[np.maximum(latest, 0)], np.nan)[:-1]
    with np.errstate(invalid="ignore"):
        np.logical_and(d[1:] > 0, prev < 0, out=above[1:])
        np.logical_and(d[1:] < 0, prev > 0, out=below[1:])
    return above, below


@_causal
@pure
def cross_below(a: Any, b: Any) -> np.ndarray:
    """Return a boolean array: True on every bar where ``a`` crosses below ``b``."""
    return cross_above(b, a)
