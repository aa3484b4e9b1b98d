"""Cursor views over precomputed arrays: what ``next()`` sees of the data and the indicators.

Every array is computed once over the whole history. During the bar loop a shared
:class:`Cursor` holds the index of the current bar, and a :class:`Line` answers ``line[-1]``
(this bar), ``line[-2]`` (the bar before) and ``len(line)`` as if the history ended at the
cursor. Nothing is sliced or copied per bar, and nothing after the cursor is reachable.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from weaver.clock.cursor import Cursor


class Line:
    """A read-only view of ``values[: cursor.i + 1]``.

    ``line[-1]`` is the current bar's value and ``line[k]`` with ``k >= 0`` counts from the
    first bar; indexes past the cursor raise ``IndexError``. ``np.asarray(line)`` gives the
    visible history as an array (a view, not a copy).
    """

    __slots__ = ("name", "_values", "_list", "_cursor", "_crossings", "_growing")

    def __init__(self, values: np.ndarray, cursor: Cursor, name: str = "") -> None:
        self.name = name
        self._cursor = cursor
        #: whether the values grow as bars arrive (a run fed a bar at a time): storage past
        #: the cursor is not yet history, so nothing may be computed over the whole array
        self._growing = False
        self._set(values)

    def _set(self, values: np.ndarray) -> None:
        """Point the line at new values (the runtime does, as a growing history moves its storage)."""
        values = np.ascontiguousarray(values, dtype=np.float64)
        self._values = values
        # a memoryview indexes to plain floats, twice as fast as numpy scalars, with no copy
        self._list = memoryview(values)
        # other line -> the bars where this line crosses above it: ``crossover``'s memo, kept
        # on both lines at once, so both drop it when either gets new values
        for other in getattr(self, "_crossings", ()):
            other._crossings.pop(self, None)
        self._crossings: dict[Line, frozenset[int]] = {}

    def __getitem__(self, key: Any) -> Any:
        i = self._cursor.i
        if key.__class__ is int:
            j = i + 1 + key if key < 0 else key
            if j < 0 or j > i:
                raise IndexError(f"{self.name}[{key}] is outside the {i + 1} bars seen so far")
            return self._list[j]
        return self._values[: i + 1][key]

    def __len__(self) -> int:
        return self._cursor.i + 1

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        visible = self._values[: self._cursor.i + 1]
        return visible if dtype is None else visible.astype(dtype)

    def __iter__(self):  # noqa: ANN204 - iterator over plain floats
        return iter(self._values[: self._cursor.i + 1].tolist())

    def __float__(self) -> float:
        return float(self[-1])

    @property
    def values(self) -> np.ndarray:
        """Return the visible history as an array."""
        return self._values[: self._cursor.i + 1]

    def __repr__(self) -> str:
        i = self._cursor.i
        last = self._values[i] if 0 <= i < len(self._values) else None
        return f"<Line {self.name} bars={i + 1} last={last}>"


class Indicator(Line):
    """A :class:`Line` over an indicator's precomputed values, declared by ``Strategy.indicator``."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<Indicator" + super().__repr__()[5:]


_FIELDS = ("open", "high", "low", "close", "volume")


class Data:
    """One symbol's bars as the strategy sees them.

    In ``init()`` the fields ``open``, ``high``, ``low``, ``close`` and ``volume`` are whole
    numpy arrays, for computing indicators; from the first ``next()`` on they are
    :class:`Line` views that end at the current bar.

    ``data["GOOG"]`` (the data itself) and ``data.symbols`` (``["GOOG"]``) read as they do on
    a :class:`Universe` of several symbols, so one strategy class runs on either.
    """

    def __init__(self, symbol: str, index: Any, arrays: dict[str, np.ndarray], cursor: Cursor) -> None:
        self.symbol = symbol
        self._index = index
        self._arrays = arrays
        self._cursor = cursor
        self._lines = {f: Line(arrays[f], cursor, f"{symbol}.{f}") for f in _FIELDS}
        for f in _FIELDS:
            setattr(self, f, arrays[f])

    def start(self) -> None:
        """Switch the fields from whole arrays to cursor views (done by the engine after ``init``)."""
        for f in _FIELDS:
            setattr(self, f, self._lines[f])

    def __getitem__(self, symbol: str) -> Data:
        if symbol != self.symbol:
            raise KeyError(f"no data for symbol {symbol!r}; the run has {[self.symbol]}")
        return self

    def __contains__(self, symbol: object) -> bool:
        return symbol == self.symbol

    @property
    def symbols(self) -> list[str]:
        """Return the run's one symbol, in a list (as :attr:`Universe.symbols` does for several)."""
        return [self.symbol]

    @property
    def index(self) -> Any:
        """Return the timestamps up to the current bar (all of them during ``init``)."""
        i = self._cursor.i
        return self._index if i < 0 else self._index[: i + 1]

    @property
    def time(self) -> Any:
        """Return the current bar's timestamp."""
        return self._index[self._cursor.i]

    @property
    def df(self) -> Any:
        """Return the bars up to the current one as a DataFrame (convenient, not fast)."""
        import pandas as pd

        i = self._cursor.i
        stop = None if i < 0 else i + 1
        return pd.DataFrame({f: self._arrays[f][:stop] for f in _FIELDS}, index=self._index[:stop])

    def __len__(self) -> int:
        i = self._cursor.i
        return len(self._index) if i < 0 else i + 1

    def __repr__(self) -> str:
        return f"<Data {self.symbol} bars={len(self)}>"


class Universe:
    """Several symbols' data: ``universe["AAPL"].close``; iterating yields the symbols."""

    def __init__(self, datas: dict[str, Data]) -> None:
        self._datas = datas

    def __getitem__(self, symbol: str) -> Data:
        try:
            return self._datas[symbol]
        except KeyError:
            raise KeyError(f"no data for symbol {symbol!r}; the run has {list(self._datas)}") from None

    def __iter__(self):  # noqa: ANN204
        return iter(self._datas)

    def __len__(self) -> int:
        return len(self._datas)

    def __contains__(self, symbol: object) -> bool:
        return symbol in self._datas

    @property
    def symbols(self) -> list[str]:
        """Return the symbols in the order they were given."""
        return list(self._datas)

    def start(self) -> None:
        """Switch every symbol's fields to cursor views."""
        for d in self._datas.values():
            d.start()

    def __repr__(self) -> str:
        return f"<Universe {self.symbols}>"
