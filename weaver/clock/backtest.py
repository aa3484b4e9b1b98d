"""The backtest clock: an iterator over the merged bar timestamps of a run."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timezone

import numpy as np
import pandas as pd

from weaver.clock.cursor import Cursor
from weaver.core.errors import DataError

_PER_SECOND = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}


class BacktestClock:
    """Step through ``index`` (UTC timestamps, sorted, unique), moving a shared cursor.

    ``now()`` is the timestamp of the bar being processed; nothing in a backtest reads the
    wall clock. Iterating yields timestamps (the ``Clock`` port); the engine uses
    :meth:`steps`, which yields bar positions and costs no timestamp objects per bar.
    """

    def __init__(self, index: pd.DatetimeIndex, cursor: Cursor | None = None, *,
                 micros: np.ndarray | None = None, stamps: dict[int, datetime] | None = None) -> None:
        self.index = index
        self.cursor = cursor if cursor is not None else Cursor()
        if micros is None:
            micros = epoch_micros(index)
        elif len(micros) != len(index):
            raise DataError(f"the clock was given {len(micros)} microsecond stamps for {len(index)} bars")
        # a memoryview indexes to plain ints
        self._us = memoryview(np.ascontiguousarray(micros, dtype=np.int64))
        self._memo_i, self._memo_ts = -2, datetime.min  # the last bar asked for, and its time
        # bar position -> its datetime, made on first use; clocks over the same bars may share
        # one (a sweep's runs do), so each bar's time is made once for all of them
        self._stamps: dict[int, datetime] = {} if stamps is None else stamps

    def now(self) -> datetime:
        """Return the current bar's timestamp, an aware UTC ``datetime``.

        A plain datetime rather than a pandas Timestamp: orders and fills are stamped with
        it, and it costs a tenth as much to make (bars are at least a second apart).
        """
        i = self.cursor.i
        if i == self._memo_i:
            return self._memo_ts
        ts = self._stamps.get(i)
        if ts is None:
            if i < 0:
                raise RuntimeError("the backtest clock has not started")
            ts = self._stamps[i] = datetime.fromtimestamp(self._us[i] / 1_000_000, timezone.utc)  # exact to the µs
        self._memo_i, self._memo_ts = i, ts
        return ts

    def steps(
        self,
        start: int = 0,
        progress: Callable[[int, int], None] | None = None,
        chunks: int = 100,
    ) -> Iterator[int]:
        """Yield bar positions from ``start`` to the end, setting the cursor to each.

        With ``progress``, call ``progress(done, total)`` about ``chunks`` times along the way.
        """
        cursor, n = self.cursor, len(self.index)
        if progress is None:
            for i in range(start, n):
                cursor.i = i
                yield i
            return
        bounds = np.linspace(start, n, chunks + 1).astype(int)
        for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
            for i in range(lo, hi):
                cursor.i = i
                yield i
            progress(int(hi), n)

    def __iter__(self) -> Iterator[datetime]:
        for i in self.steps():
            yield self.index[i]

    def __len__(self) -> int:
        return len(self.index)

    @property
    def progress(self) -> float:
        """Return the fraction of bars processed."""
        return (self.cursor.i + 1) / len(self.index) if len(self.index) else 1.0


def epoch_micros(index: pd.DatetimeIndex) -> np.ndarray:
    """Return ``index`` as int64 microseconds since the epoch, whatever unit it came in.

    Runs on the same bars can share the array (pass it to :class:`BacktestClock` as ``micros``).
    """
    return np.ascontiguousarray(index.as_unit("us").asi8)


def session_ends(index: pd.DatetimeIndex, timeframe: str | None, tz: str = "America/New_York") -> np.ndarray:
    """Return a boolean array: True on the last bar of each trading session.

    Daily and coarser bars are each a session. Intraday bars end a session when the next
    bar falls on another calendar day in ``tz`` (the exchange's zone), and on the last bar.
    """
    n = len(index)
    if n == 0:
        return np.zeros(0, dtype=bool)
    if timeframe and timeframe[-1] in "dwM" or n == 1:
        return np.ones(n, dtype=bool)
    local = index.tz_convert(tz).tz_localize(None) if index.tz is not None else index
    # the local calendar day of each bar: whole days of the index's own unit since the epoch
    # (floor division, so bars before 1970 fall on the right day too)
    per_day = 86_400 * _PER_SECOND[local.unit]
    days = local.asi8 // per_day
    out = np.empty(n, dtype=bool)
    out[:-1] = days[1:] != days[:-1]
    out[-1] = True
    return out
