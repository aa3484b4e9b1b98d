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
whose slow window is 20), so a declaration that passed is remembered and not checked again
when it comes back identical: the same function object, the same read-only arrays (the
engine's bars are) and equal plain values (numbers, strings, tuples of them), giving the
same values. Anything else (a list, a writable array that could have been changed in place,
a pandas object, a line) is checked every time, and so is an indicator that failed.
"""

from __future__ import annotations

import threading
import weakref
from typing import Any

import numpy as np

from weaver.core.errors import BacktestError, LookAheadError
from weaver.strategy.base import IndicatorSpec, _as_arrays
from weaver.strategy.declarations import declaration_key, keyed_arrays

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
                    f"{float(full[j])!r} with the whole history but {float(part[j])!r} when the bars after "
                    f"{index[cut]} are removed"
                )


def check_indicators(specs: list[IndicatorSpec], index: Any) -> None:
    """Check every declared indicator (see :func:`check_indicator`), once per distinct declaration.

    A declaration identical to one that passed before (see the module's docstring) is not
    checked again; a declaration that fails is refused every time it comes.
    """
    n = len(index)
    for spec in specs:
        if getattr(spec.func, "__weaver_causal__", False):  # Weaver's own, checked by its suite
            continue
        key = declaration_key(spec.func, spec.args, spec.kwargs, n)
        if key is not None and _passed(key, spec):
            continue
        check_indicator(spec, index)
        if key is not None:
            _remember(key, spec)


# -- the memo of declarations that passed -------------------------------------------------------

#: how many passed declarations are remembered (the oldest go first); entries hold no arrays
MEMO_SIZE = 512

#: key -> (weak or strong references to the objects keyed by identity, checksum of the values)
_PASSED: dict[tuple, tuple[tuple[Any, ...], tuple[tuple[int, int], ...]]] = {}
_LOCK = threading.Lock()  # Dask workers may run several backtests in threads


def _keyed_objects(spec: IndicatorSpec) -> list[Any]:
    """The objects ``spec``'s key holds by identity: its function, then its arrays."""
    return [spec.func, *keyed_arrays(spec.args, spec.kwargs)]


def _ref(obj: Any) -> Any:
    try:
        return weakref.ref(obj)
    except TypeError:  # a ufunc, a builtin: kept alive, so its id is not reused
        return lambda: obj


def _checksum(arrays: list[np.ndarray]) -> tuple[tuple[int, int], ...]:
    """Each array's length and the wrapping sum of its bit patterns (about 25 µs per 100k bars)."""
    return tuple((len(a), int(np.add.reduce(np.ascontiguousarray(a, dtype=np.float64).view(np.int64))))
                 for a in arrays)


def _passed(key: tuple, spec: IndicatorSpec) -> bool:
    with _LOCK:
        entry = _PASSED.get(key)
    if entry is None:
        return False
    refs, checksum = entry
    objects = _keyed_objects(spec)
    # the ids in the key are those of these very objects (the entry's references would be
    # dead if an id had been reused), and the function gave the values it gave when it passed
    return (len(refs) == len(objects) and all(r() is o for r, o in zip(refs, objects, strict=True))
            and _checksum(spec.arrays) == checksum)


def _remember(key: tuple, spec: IndicatorSpec) -> None:
    entry = (tuple(_ref(o) for o in _keyed_objects(spec)), _checksum(spec.arrays))
    with _LOCK:
        if len(_PASSED) >= MEMO_SIZE:
            for stale in [k for k, (refs, _) in _PASSED.items() if any(r() is None for r in refs)]:
                del _PASSED[stale]
            while len(_PASSED) >= MEMO_SIZE:
                del _PASSED[next(iter(_PASSED))]
        _PASSED[key] = entry
