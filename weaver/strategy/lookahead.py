"""The look-ahead guard: an indicator's value at bar t must not change when later bars go.

Each declared indicator is recomputed on the history cut at a few sample bars, and the
values up to the cut are compared with the full pass. A function that peeks (a negative
shift, a centred window, a normalisation by the whole series' maximum) gives a different
value somewhere before the cut and is refused with :class:`LookAheadError`.

What it covers, on every backtest (``lookahead_check=True``, the default):

- the indicators declared with ``self.indicator(...)`` in ``init()``, each recomputed on the
  history cut at :data:`CUTS` (3) bars spread over its valid range;
- Weaver's own indicators (``sma``, ``ema``, ``rsi``, ``atr``, ``bollinger``, the crossings),
  which are causal by construction: the suite checks each of them this way, and they are
  trusted, not checked again, at run time.

What it does not cover:

- arrays copied or derived from the data in ``init()`` outside ``self.indicator`` (there the
  data's fields are the whole history: ``closes = np.asarray(self.data.close)`` read at
  ``closes[i + 1]`` in ``next()`` goes unseen);
- state the strategy keeps (attributes set in ``init()`` or carried between bars);
- pandas objects the strategy builds or keeps itself (``self.data.df`` taken in ``init()``
  is the whole history);
- data read from outside the run (a file, a global frame, a web service);
- an indicator that peeks but happens to agree with the full pass at the cut points.

For those, :func:`weaver.check_lookahead` checks the whole strategy: it re-runs it on cut
histories and compares the orders it places up to each cut with those of the run on the
whole history, whatever route to the future the strategy took.

A sweep declares the same indicators over and over (``sma(close, 20)`` in every combination
whose slow window is 20), so a declaration that passed is remembered, in the memo of the bars
it ran on (:class:`~weaver.strategy.declarations.DeclarationMemo`), and not checked again
when it comes back identical: the same function, the same bars' arrays and equal plain values
(numbers, strings, tuples of them), giving the same values. Anything else (a list, an array of
the strategy's own, a pandas object, a line) is checked every time, and so is an indicator
that failed.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from weaver.core.errors import BacktestError, LookAheadError
from weaver.strategy.base import IndicatorSpec, as_arrays
from weaver.strategy.declarations import DeclarationMemo

#: how many cut points each indicator is checked at
CUTS = 3


def cut_points(n: int, first_valid: int, k: int = CUTS) -> list[int]:
    """Return up to ``k`` bar indexes spread over the indicator's valid range, last bar excluded."""
    lo, hi = max(first_valid, 1), n - 2
    if hi < lo:
        return []
    return sorted({int(round(x)) for x in np.linspace(lo, hi, k)})


def truncate(arg: Any, n: int, stop: int) -> Any:
    """Return ``arg`` cut to its first ``stop`` bars when it is a per-bar series, else unchanged."""
    if isinstance(arg, np.ndarray) and arg.ndim >= 1 and len(arg) == n:
        return arg[:stop]
    if hasattr(arg, "iloc") and len(arg) == n:  # a pandas Series or DataFrame
        return arg.iloc[:stop]
    if isinstance(arg, list) and len(arg) == n:
        return arg[:stop]
    return arg


def check_indicator(spec: IndicatorSpec, index: Any) -> None:
    """Raise :class:`LookAheadError` if ``spec``'s values before a cut depend on later bars."""
    n = len(index)
    valid = ~np.isnan(np.vstack(spec.arrays)).any(axis=0)
    first_valid = int(np.argmax(valid)) if valid.any() else n
    for cut in cut_points(n, first_valid):
        stop = cut + 1
        args = [truncate(a, n, stop) for a in spec.args]
        kwargs = {k: truncate(v, n, stop) for k, v in spec.kwargs.items()}
        try:
            values = spec.func(*args, **kwargs)
            cut_arrays = as_arrays(values, stop, spec.name)
        except Exception as exc:  # noqa: BLE001 - reported with the indicator's name
            raise BacktestError(
                f"indicator {spec.name} failed when recomputed on the first {stop} bars "
                f"(the look-ahead check): {type(exc).__name__}: {exc}"
            ) from exc
        for full, part in zip(spec.arrays, cut_arrays, strict=True):
            same = np.isclose(full[:stop], part, rtol=1e-9, atol=1e-12, equal_nan=True)
            if not same.all():
                j = int(np.argmin(same))
                raise LookAheadError(
                    f"indicator {spec.name} looks ahead: its value at bar {j} ({index[j]}) is "
                    f"{float(full[j])!r} with the whole history but {float(part[j])!r} when the bars after "
                    f"{index[cut]} are removed"
                )


def check_indicators(specs: list[IndicatorSpec], index: Any, memo: DeclarationMemo | None = None) -> None:
    """Check every declared indicator (see :func:`check_indicator`), once per distinct declaration.

    With the bars' ``memo``, a declaration identical to one that passed on those bars, giving
    the same values, is not checked again; a declaration that fails is refused every time.
    """
    for spec in specs:
        if getattr(spec.func, "__weaver_causal__", False):  # Weaver's own, checked by its suite
            continue
        if memo is not None and memo.passed(spec.key, spec.arrays):
            continue
        check_indicator(spec, index)
        if memo is not None:
            memo.remember_passed(spec.key, spec.arrays)
