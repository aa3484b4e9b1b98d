"""Running a strategy on bars that arrive one at a time, as a live feed delivers them.

The backtest engine computes each indicator once over the whole history. Here the history
grows a bar at a time, so after each bar every indicator is recomputed over the history
kept so far (all of it, or the last ``window`` bars) and ``next()`` runs on the newest bar.
Because indicators pass the look-ahead guard (a value never depends on later bars), the
values seen here equal those of the vectorized pass, and so do the decisions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np

from weaver.clock.cursor import Cursor
from weaver.core.errors import BacktestError, ParameterError
from weaver.strategy.base import Strategy, _as_arrays
from weaver.strategy.lines import Data

if TYPE_CHECKING:
    import pandas as pd

    from weaver.core import Portfolio
    from weaver.core.ports import Broker

_FIELDS = ("open", "high", "low", "close", "volume")


class _History:
    """One symbol's bars in growable arrays (amortized O(1) appends)."""

    def __init__(self, frame: pd.DataFrame | None, window: int | None) -> None:
        n = 0 if frame is None else len(frame)
        capacity = max(64, 2 * n)
        self.window = window
        self.buffers = {f: np.empty(capacity) for f in _FIELDS}
        self.times = np.empty(capacity, dtype="datetime64[us]")
        self.n = 0
        if frame is not None and n:
            for f in _FIELDS:
                self.buffers[f][:n] = frame[f].to_numpy(dtype=float)
            self.times[:n] = frame.index.tz_convert("UTC").tz_localize(None).to_numpy(dtype="datetime64[us]")
            self.n = n
        self._trim()

    def append(self, ts: datetime, values: Sequence[float]) -> None:
        if self.n == len(self.times):
            for f in _FIELDS:
                self.buffers[f] = np.concatenate([self.buffers[f], np.empty(self.n)])
            self.times = np.concatenate([self.times, np.empty(self.n, dtype="datetime64[us]")])
        for f, v in zip(_FIELDS, values, strict=True):
            self.buffers[f][self.n] = v
        self.times[self.n] = np.datetime64(_naive_utc(ts), "us")
        self.n += 1
        self._trim()

    def _trim(self) -> None:
        if self.window is not None and self.n > 2 * self.window:
            keep = slice(self.n - self.window, self.n)
            for f in _FIELDS:
                self.buffers[f][: self.window] = self.buffers[f][keep]
            self.times[: self.window] = self.times[keep]
            self.n = self.window

    def arrays(self) -> dict[str, np.ndarray]:
        start = 0 if self.window is None else max(0, self.n - self.window)
        return {f: self.buffers[f][start: self.n] for f in _FIELDS}

    def index(self) -> Any:
        import pandas as pd

        start = 0 if self.window is None else max(0, self.n - self.window)
        return pd.DatetimeIndex(self.times[start: self.n]).tz_localize("UTC")


def _naive_utc(ts: datetime) -> datetime:
    if ts.tzinfo is None:
        raise ParameterError(f"bar timestamp {ts!r} is naive; give it a timezone (UTC)")
    from datetime import timezone

    return ts.astimezone(timezone.utc).replace(tzinfo=None)


class StreamingRuntime:
    """Drive one strategy instance with bars delivered one at a time.

    Parameters
    ----------
    strategy
        The strategy class; ``params`` are checked with ``validate_params``.
    broker, portfolio
        Where orders go (any ``Broker``) and the account the strategy reads.
    symbols
        The symbols the strategy trades, in order (the first is ``self.data``'s).
    history
        Optional bars already known per symbol (a warm-up), as load_bars frames.
    window
        Recompute indicators over the last ``window`` bars only (None: the whole history,
        which reproduces the backtest exactly; a window does so for indicators whose memory
        fits in it).
    run_id
        Prefix of the client order ids, which are ``{run_id}-{bar}-{sequence}``.

    Notes
    -----
    Every indicator argument must be one of the data's own arrays (``self.data.close``…)
    or a constant, so it can be recomputed on the grown history; an argument derived from
    the data (``self.data.close * 2``) is refused at construction with its name — compute
    it inside the indicator function instead.
    """

    def __init__(
        self,
        strategy: type[Strategy],
        params: Mapping[str, Any] | None = None,
        *,
        broker: Broker,
        portfolio: Portfolio,
        symbols: Sequence[str],
        history: Mapping[str, pd.DataFrame] | None = None,
        window: int | None = None,
        run_id: str = "live",
    ) -> None:
        if window is not None and window < 1:
            raise ParameterError(f"window must be a positive number of bars, got {window}")
        values = strategy.validate_params(**dict(params or {}))
        self.symbols = list(symbols)
        self.history = {s: _History((history or {}).get(s), window) for s in self.symbols}
        self.cursor = Cursor()
        self._now: datetime | None = None
        self._last_close: dict[str, float] = {}
        first = self.history[self.symbols[0]]
        index = first.index()
        arrays = {s: self.history[s].arrays() for s in self.symbols}
        self.datas = {s: Data(s, index, arrays[s], self.cursor) for s in self.symbols}
        self.strategy = strategy(
            broker=broker, portfolio=portfolio, datas=self.datas, cursor=self.cursor,
            params=values, price_of=self.price_of, now=self.now, run_id=run_id,
        )
        self.strategy.init()
        self._sources = self._bind_sources(arrays)
        for d in self.datas.values():
            d.start()
        self._started = False
        self.cursor.i = len(index) - 1
        self.bars_seen = len(index)

    # -- what the strategy reads --------------------------------------------------------

    def now(self) -> datetime:
        """Return the timestamp of the newest bar."""
        if self._now is None:
            raise BacktestError("no bar has arrived yet")
        return self._now

    def price_of(self, symbol: str) -> float:
        """Return ``symbol``'s newest close."""
        return self._last_close.get(symbol, float("nan"))

    # -- feeding bars ------------------------------------------------------------------

    def on_bar(self, timestamp: datetime, bars: Mapping[str, Sequence[float]]) -> None:
        """Append one bar per symbol (open, high, low, close, volume), then run ``next()``.

        A symbol missing from ``bars`` carries its last close forward with zero volume.
        """
        unknown = set(bars) - set(self.symbols)
        if unknown:
            raise ParameterError(f"bars for unknown symbols {sorted(unknown)}; the strategy trades {self.symbols}")
        for sym in self.symbols:
            row = bars.get(sym)
            if row is None:
                last = self._last_close.get(sym, float("nan"))
                row = (last, last, last, last, 0.0)
            self.history[sym].append(timestamp, row)
            self._last_close[sym] = float(row[3])
        self._now = timestamp
        self.bars_seen += 1
        self._refresh()
        if not self._started:
            self._started = all(not np.isnan(line[-1]) for spec in self.strategy._indicators for line in spec.lines)
            if not self._started:
                return
        try:
            self.strategy.next()
        except Exception as exc:
            raise BacktestError(
                f"{type(self.strategy).__name__}.next() raised {type(exc).__name__}: {exc} "
                f"at bar {timestamp} ({', '.join(self.symbols)})"
            ) from exc

    def _refresh(self) -> None:
        arrays = {s: self.history[s].arrays() for s in self.symbols}
        index = self.history[self.symbols[0]].index()
        n = len(index)
        for sym, data in self.datas.items():
            data._index = index
            data._arrays = arrays[sym]
            for f in _FIELDS:
                data._lines[f]._set(arrays[sym][f])
        for spec, sources in zip(self.strategy._indicators, self._sources, strict=True):
            args = [arrays[src[0]][src[1]] if src else a for a, src in zip(spec.args, sources[0], strict=True)]
            kwargs = {k: (arrays[src[0]][src[1]] if src else v) for (k, v), src in zip(spec.kwargs.items(), sources[1], strict=True)}
            values = _as_arrays(spec.func(*args, **kwargs), n, spec.name)
            for line, arr in zip(spec.lines, values, strict=True):
                line._set(arr)
        self.cursor.i = n - 1

    def _bind_sources(self, arrays: dict[str, dict[str, np.ndarray]]) -> list[tuple[list, list]]:
        """Map each indicator argument to the (symbol, field) array it was given, if any."""
        ident = {id(a): (sym, f) for sym, fields in arrays.items() for f, a in fields.items()}
        n = len(next(iter(arrays.values()))["close"])
        bound = []
        for spec in self.strategy._indicators:
            def source(value: Any, where: str) -> tuple[str, str] | None:
                src = ident.get(id(value))
                if src is None and n > 1 and hasattr(value, "__len__") and not isinstance(value, str) and len(value) == n:
                    raise ParameterError(
                        f"indicator {spec.name}: {where} is derived from the data, so it cannot be "
                        "recomputed as bars arrive; pass the data's own arrays (self.data.close, ...) "
                        "and do the arithmetic inside the indicator function"
                    )
                return src
            bound.append((
                [source(a, f"argument {k}") for k, a in enumerate(spec.args)],
                [source(v, f"argument {k!r}") for k, v in spec.kwargs.items()],
            ))
        return bound
