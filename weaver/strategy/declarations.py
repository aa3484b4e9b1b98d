"""What runs on the same bars learn about their indicator declarations, kept with those bars.

A sweep declares the same indicators over and over (``sma(close, 20)`` in every combination
whose window is 20). Two declarations are the same when they call the same function on the
same bars' arrays with equal plain values (numbers, strings, tuples of them); anything else
(a list, an array of the strategy's own, a pandas object, a line) is never the same.

A :class:`DeclarationMemo` belongs to the bars it serves (the engine's prepared bars make
one): it lives exactly as long as they do and goes with them, so nothing is global, and an
array is known by its place in those bars (symbol and field), not by its address.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from decimal import Decimal
from fractions import Fraction
from typing import Any

import numpy as np

_PLAIN = (int, float, complex, str, bytes, bool, type(None), Decimal, Fraction, np.number, np.bool_)


class _Unkeyed(Exception):
    pass


class DeclarationMemo:
    """The values of pure declarations and the declarations that passed the look-ahead check.

    Parameters
    ----------
    arrays
        The bars' read-only arrays by ``(symbol, field)``: the arrays a declaration may name.
        The memo keeps them, as their owner does.
    limit_bytes
        At most this many bytes of values are kept; the oldest go first.

    Notes
    -----
    Values are kept only for functions marked :func:`~weaver.strategy.indicators.pure` (the
    same inputs always give the same values), and handed out read-only. A declaration that
    passed the look-ahead check is not checked again while it gives the values it gave then
    (a checksum tells). Runs in several threads (a Dask worker's) may share one memo.
    """

    def __init__(self, arrays: Mapping[tuple[str, str], np.ndarray], limit_bytes: int = 256 << 20) -> None:
        self.limit_bytes = limit_bytes
        self._arrays = dict(arrays)
        self._places = {id(a): place for place, a in self._arrays.items()}  # they live as long as the memo
        self._values: dict[tuple, list[np.ndarray]] = {}
        self._bytes = 0
        self._passed: dict[tuple, tuple[tuple[int, int], ...]] = {}
        self._lock = threading.Lock()

    def key(self, func: Callable[..., Any], args: tuple, kwargs: Mapping[str, Any], n: int) -> tuple | None:
        """Return a key standing for ``func(*args, **kwargs)`` on ``n`` bars, or None if it has none."""
        try:
            key = (func, n, tuple(self._token(a) for a in args),
                   tuple(sorted((k, self._token(v)) for k, v in kwargs.items())))
            hash(key)
        except (_Unkeyed, TypeError):  # TypeError: an unhashable function or plain value
            return None
        return key

    def values(self, key: tuple | None, compute: Callable[[], list[np.ndarray]]) -> list[np.ndarray]:
        """Return the kept values of a pure declaration, or ``compute()``'s, kept (read-only) when they fit."""
        if key is None:
            return compute()
        with self._lock:
            kept = self._values.get(key)
        if kept is not None:
            return kept
        values = compute()
        size = sum(v.nbytes for v in values)
        if size > self.limit_bytes:
            return values
        for v in values:
            v.flags.writeable = False
        with self._lock:
            if key in self._values:  # another thread kept them meanwhile
                return self._values[key]
            while self._values and self._bytes + size > self.limit_bytes:
                oldest = next(iter(self._values))
                self._bytes -= sum(v.nbytes for v in self._values.pop(oldest))
            self._values[key] = values
            self._bytes += size
        return values

    def passed(self, key: tuple | None, values: list[np.ndarray]) -> bool:
        """Return whether this declaration passed the look-ahead check giving these very values."""
        if key is None:
            return False
        with self._lock:
            checksum = self._passed.get(key)
        return checksum is not None and checksum == _checksum(values)

    def remember_passed(self, key: tuple | None, values: list[np.ndarray]) -> None:
        """Note that this declaration passed the look-ahead check with these values."""
        if key is not None:
            entry = _checksum(values)
            with self._lock:
                self._passed[key] = entry

    def _token(self, value: Any) -> tuple:
        if isinstance(value, np.ndarray):
            place = self._places.get(id(value))
            if place is None or self._arrays[place] is not value:  # not one of these bars' arrays
                raise _Unkeyed
            return ("bars", *place)
        if isinstance(value, _PLAIN):
            return (type(value), value)
        if type(value) is tuple:
            return (tuple, tuple(self._token(v) for v in value))
        raise _Unkeyed

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"<DeclarationMemo {len(self._values)} values ({self._bytes:,} bytes), {len(self._passed)} passed>"


def _checksum(arrays: list[np.ndarray]) -> tuple[tuple[int, int], ...]:
    """Each array's length and the wrapping sum of its bit patterns (about 25 µs per 100k bars)."""
    return tuple((len(a), int(np.add.reduce(np.ascontiguousarray(a, dtype=np.float64).view(np.int64))))
                 for a in arrays)
