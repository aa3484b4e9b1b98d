"""Timeframe strings ("1m", "5m", "1h", "1d", "1w", "1mo"): parse, format, infer."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from weaver.core.errors import DataError

__all__ = ["infer_timeframe", "normalize_timeframe", "timeframe_seconds"]

_NS = 1_000_000_000
_DAY = 86_400
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3_600, "d": _DAY, "w": 7 * _DAY}
# Case-insensitive spellings of each canonical unit. A bare upper-case "M" is refused
# below: it means minute to a trader and month to pandas.
_ALIASES = {
    "s": "s", "sec": "s", "second": "s", "seconds": "s",
    "m": "m", "min": "m", "t": "m", "minute": "m", "minutes": "m",
    "h": "h", "hr": "h", "hour": "h", "hours": "h",
    "d": "d", "day": "d", "days": "d",
    "w": "w", "wk": "w", "week": "w", "weeks": "w",
    "mo": "mo", "mon": "mo", "month": "mo", "months": "mo",
}
_PATTERN = re.compile(r"^\s*(\d*)\s*([A-Za-z]+)\s*$")


def _split(timeframe: str) -> tuple[int, str]:
    match = _PATTERN.match(timeframe) if isinstance(timeframe, str) else None
    if match is None:
        raise DataError(f"timeframe {timeframe!r} is not understood; use e.g. '1m', '5m', '1h', '1d'")
    count = int(match.group(1) or 1)
    word = match.group(2)
    if word == "M":
        raise DataError(f"timeframe {timeframe!r} is ambiguous; say '{count}m' (minutes) or '{count}mo' (months)")
    unit = _ALIASES.get(word.lower())
    if unit is None or count <= 0:
        raise DataError(f"timeframe {timeframe!r} is not understood; use e.g. '1m', '5m', '1h', '1d'")
    if unit == "mo":
        return count, "mo"
    seconds = count * _UNIT_SECONDS[unit]
    return _split_seconds(seconds)


def _split_seconds(seconds: int) -> tuple[int, str]:
    for unit in ("w", "d", "h", "m", "s"):
        size = _UNIT_SECONDS[unit]
        if seconds % size == 0:
            return seconds // size, unit
    raise AssertionError("unreachable: every whole number of seconds divides by 1")  # pragma: no cover


def normalize_timeframe(timeframe: str) -> str:
    """Return the canonical spelling of a timeframe.

    Parameters
    ----------
    timeframe
        A count and a unit: ``"1m"``, ``"5min"``, ``"60m"``, ``"1H"``, ``"1D"``, ``"7d"``,
        ``"1mo"``. Units are s, m, h, d, w and mo (calendar month); a bare upper-case
        ``"M"`` is refused as ambiguous.

    Returns
    -------
    str
        The count in the largest unit that divides it exactly: ``"60m"`` -> ``"1h"``,
        ``"7d"`` -> ``"1w"``.

    Raises
    ------
    DataError
        If the string is not a timeframe.
    """
    count, unit = _split(timeframe)
    return f"{count}{unit}"


def timeframe_seconds(timeframe: str) -> int | None:
    """Return a timeframe's length in seconds, or None for calendar months."""
    count, unit = _split(timeframe)
    return None if unit == "mo" else count * _UNIT_SECONDS[unit]


def infer_timeframe(bars: pd.DataFrame | pd.DatetimeIndex) -> str | None:
    """Infer the timeframe of bars from the most common spacing between timestamps.

    The mode is used, not the mean, so daily bars with weekends and holidays are ``"1d"``
    and intraday bars with overnight gaps keep their bar size. Spacings of 28 to 31 days
    throughout are ``"1mo"``.

    Parameters
    ----------
    bars
        Bars indexed by time, or their index.

    Returns
    -------
    str or None
        A canonical timeframe, or None when there are fewer than two distinct timestamps.

    Raises
    ------
    DataError
        If the bars are less than one second apart.
    """
    index = bars.index if isinstance(bars, pd.DataFrame) else bars
    if not isinstance(index, pd.DatetimeIndex):
        raise DataError(f"cannot infer a timeframe from a {type(index).__name__}; need a DatetimeIndex")
    stamps = index.as_unit("ns").asi8
    return _infer_from_ns(stamps)


def _infer_from_ns(stamps: np.ndarray) -> str | None:
    diffs = np.diff(stamps)
    diffs = diffs[diffs > 0]
    if diffs.size == 0:
        return None
    values, counts = np.unique(diffs, return_counts=True)
    mode = int(values[np.argmax(counts)])  # ties go to the smaller spacing
    if mode % _NS:
        raise DataError(
            f"bars are {pd.Timedelta(mode, unit='ns')} apart; Weaver timeframes are whole seconds"
        )
    if diffs.min() >= 28 * _DAY * _NS and diffs.max() <= 31 * _DAY * _NS:
        return "1mo"
    count, unit = _split_seconds(mode // _NS)
    return f"{count}{unit}"
