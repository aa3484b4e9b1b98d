"""The replay clock: bars already known, handed out one at a time as a live feed would."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime, timezone

import numpy as np

from weaver.core.ports import Tick

_FIELDS = ("open", "high", "low", "close", "volume")


class ReplayClock:
    """Yield one :class:`~weaver.core.Tick` per bar of a merged index, from ``start`` on.

    Parameters
    ----------
    micros
        Each bar's time, int64 microseconds since the epoch (UTC), sorted.
    arrays
        ``{symbol: {field: array}}``: each symbol's open, high, low, close and volume on the
        merged bars.
    has_bar
        ``{symbol: mask or None}``: where a symbol has a bar of its own (None: everywhere).
        A symbol without one is absent from that tick.
    session_end
        Whether each bar ends its trading session.
    start
        The first bar to yield.

    Notes
    -----
    ``now()`` is the time of the tick last yielded. Nothing here reads the wall clock.
    """

    def __init__(self, micros: np.ndarray, arrays: Mapping[str, Mapping[str, np.ndarray]],
                 has_bar: Mapping[str, np.ndarray | None], session_end: np.ndarray, start: int = 0) -> None:
        self._us = memoryview(np.ascontiguousarray(micros, dtype=np.int64))
        # memoryviews index to plain floats: what the broker and the lines want
        self._fields = {sym: tuple(memoryview(np.ascontiguousarray(a[f], dtype=np.float64)) for f in _FIELDS)
                        for sym, a in arrays.items()}
        self._has_bar = {sym: (None if m is None else memoryview(np.ascontiguousarray(m, dtype=np.uint8)))
                         for sym, m in has_bar.items()}
        self._ends = memoryview(np.ascontiguousarray(session_end, dtype=np.uint8))
        self.start = start
        self._now: datetime | None = None

    def now(self) -> datetime:
        """Return the time of the bar last handed out."""
        if self._now is None:
            raise RuntimeError("the replay clock has not started")
        return self._now

    def __len__(self) -> int:
        return len(self._us) - self.start

    def __iter__(self) -> Iterator[Tick]:
        fields, has_bar, ends, us = self._fields, self._has_bar, self._ends, self._us
        for i in range(self.start, len(us)):
            bars = {}
            for sym, (o, h, l, c, v) in fields.items():
                mask = has_bar[sym]
                if mask is None or mask[i]:
                    bars[sym] = (o[i], h[i], l[i], c[i], v[i])
            self._now = ts = datetime.fromtimestamp(us[i] / 1_000_000, timezone.utc)  # exact to the µs
            yield Tick(ts, bars, ends[i] == 1)
