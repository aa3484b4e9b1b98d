"""Aggregate bars into a coarser timeframe."""

from __future__ import annotations

import numpy as np
import pandas as pd

from weaver.core.errors import DataError
from weaver.data.gaps import find_gaps
from weaver.data.loader import COLUMNS
from weaver.data.timeframe import _split, infer_timeframe, normalize_timeframe, timeframe_seconds

__all__ = ["resample"]

_NS = 1_000_000_000
_MONDAY_NS = 4 * 86_400 * _NS  # 1970-01-05, so weekly bins start on Mondays


def resample(bars: pd.DataFrame, timeframe: str) -> pd.DataFrame:
    """Aggregate bars into a coarser timeframe.

    Open is the first open, high the highest high, low the lowest low, close the last
    close and volume the sum. Bins are left-closed and labeled by their start, aligned in
    UTC to the epoch (so "1h" bins start on the hour, "1d" at UTC midnight), weeks start on
    Monday and months on the 1st; bins with no bars are dropped.

    Parameters
    ----------
    bars
        Bars as returned by `load_bars`: a sorted UTC DatetimeIndex and columns open, high,
        low, close, volume. Their timeframe is ``attrs["timeframe"]`` or inferred.
    timeframe
        The target, e.g. ``"5m"``, ``"15m"``, ``"1h"``, ``"1d"``, ``"1w"``, ``"1mo"``. It
        must be a whole multiple of the source's (any multiple of a day for months).

    Returns
    -------
    DataFrame
        The coarser bars, with ``attrs`` copied and ``timeframe`` and ``gaps`` updated.

    Raises
    ------
    DataError
        If the target is finer than the source or not a multiple of it, or the bars lack a
        column or a sorted UTC DatetimeIndex.
    """
    target = normalize_timeframe(timeframe)
    index = bars.index
    if not isinstance(index, pd.DatetimeIndex) or index.tz is None:
        raise DataError("resample needs bars with a tz-aware DatetimeIndex; load them with load_bars")
    missing = [c for c in COLUMNS if c not in bars.columns]
    if missing:
        raise DataError(f"resample: bars lack column {missing[0]!r}; columns found: {list(bars.columns)}")
    source = bars.attrs.get("timeframe") or infer_timeframe(index)
    stamps = index.tz_convert("UTC").as_unit("ns").asi8
    if stamps.size > 1 and (np.diff(stamps) <= 0).any():
        raise DataError("resample: bars are not in strictly increasing time order")
    _check_coarser(source, target)

    count, unit = _split(target)
    if unit == "mo":
        months = stamps.view("datetime64[ns]").astype("datetime64[M]").astype(np.int64)
        bins = months // count
        labels_of = lambda b: (b * count).astype("datetime64[M]").astype("datetime64[ns]").view(np.int64)  # noqa: E731
    else:
        step = timeframe_seconds(target) * _NS  # type: ignore[operator]
        origin = _MONDAY_NS if unit == "w" else 0
        bins = (stamps - origin) // step
        labels_of = lambda b: b * step + origin  # noqa: E731

    if stamps.size == 0:
        starts = np.empty(0, dtype=np.int64)
    else:
        starts = np.flatnonzero(np.r_[True, bins[1:] != bins[:-1]])
    ends = np.r_[starts[1:], stamps.size] - 1
    arrays = {c: bars[c].to_numpy(dtype=np.float64) for c in COLUMNS}
    if starts.size:
        data = {
            "open": arrays["open"][starts],
            "high": np.maximum.reduceat(arrays["high"], starts),
            "low": np.minimum.reduceat(arrays["low"], starts),
            "close": arrays["close"][ends],
            "volume": np.add.reduceat(arrays["volume"], starts),
        }
        labels = labels_of(bins[starts])
    else:
        data = {c: np.empty(0) for c in COLUMNS}
        labels = np.empty(0, dtype=np.int64)
    out_index = pd.DatetimeIndex(labels.view("datetime64[ns]"), name="timestamp").tz_localize("UTC")
    out = pd.DataFrame(data, index=out_index)
    out.attrs = dict(bars.attrs)
    out.attrs["timeframe"] = target
    out.attrs["gaps"] = find_gaps(labels, target)
    out.attrs["repairs"] = list(bars.attrs.get("repairs", []))
    return out


def _check_coarser(source: str | None, target: str) -> None:
    if source is None:
        return  # fewer than two bars: anything is coarser
    source_s, target_s = timeframe_seconds(source), timeframe_seconds(target)
    if target_s is None:  # calendar months
        if source_s is None:
            if _split(target)[0] % _split(source)[0]:
                raise DataError(f"cannot resample {source} bars to {target}: not a whole multiple")
            return
        if source_s <= 86_400 and 86_400 % source_s == 0:
            return
        raise DataError(f"cannot resample {source} bars to {target}: {source} bars straddle month ends")
    if source_s is None:
        raise DataError(f"cannot resample {source} bars to {target}: {target} is finer than {source}")
    if target_s < source_s:
        raise DataError(f"cannot resample {source} bars to {target}: {target} is finer than {source}")
    if target_s % source_s:
        raise DataError(
            f"cannot resample {source} bars to {target}: {target} is not a whole multiple of {source}"
        )
