"""The look-ahead guard: an indicator's value at bar t must not change when later bars go.

Each declared indicator is recomputed on the history cut at a few sample bars, and the
values up to the cut are compared with the full pass. A function that peeks (a negative
shift, a centred window, a normalisation by the whole series' maximum) gives a different
value somewhere before the cut and is refused with :class:`LookAheadError`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from weaver.core.errors import BacktestError, LookAheadError
from weaver.strategy.base import IndicatorSpec, _as_arrays

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
            cut_arrays = _as_arrays(values, stop, spec.name)
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
                    f"{full[j]!r} with the whole history but {part[j]!r} when the bars after "
                    f"{index[cut]} are removed"
                )


def check_lookahead(specs: list[IndicatorSpec], index: Any) -> None:
    """Check every declared indicator (see :func:`check_indicator`)."""
    for spec in specs:
        check_indicator(spec, index)
