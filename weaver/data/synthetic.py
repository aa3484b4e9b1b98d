"""Deterministic synthetic bars for tests, demos and benchmarks."""

from __future__ import annotations

import numpy as np
import pandas as pd

from weaver.core.errors import DataError
from weaver.data.gaps import find_gaps
from weaver.data.timeframe import normalize_timeframe, timeframe_seconds

__all__ = ["synthetic"]

_YEAR_SECONDS = 365 * 86_400
_ANNUAL_VOL = 0.20


def synthetic(
    n: int,
    freq: str = "1min",
    seed: int = 0,
    *,
    start: str | pd.Timestamp = "2020-01-01",
    symbol: str = "SYN",
    price: float = 100.0,
) -> pd.DataFrame:
    """Generate ``n`` valid OHLCV bars from a geometric random walk.

    Bars are evenly spaced, around the clock, with no gaps. Log returns are normal with 20 %
    annualized volatility; each open is the previous close; high and low extend beyond the
    open and close by a half-normal wick; volume is a positive whole number.

    Parameters
    ----------
    n
        Number of bars.
    freq
        Bar spacing, a timeframe such as ``"1min"``, ``"5m"``, ``"1h"``, ``"1d"``.
    seed
        Seed of the `numpy.random.Generator`; the same seed gives the same bars.
    start
        Time of the first bar; naive times are UTC.
    symbol
        Stored in ``attrs["symbol"]``.
    price
        The first open.

    Returns
    -------
    DataFrame
        Bars in `load_bars`'s shape, ``attrs`` included.
    """
    if n < 0:
        raise DataError(f"synthetic: n must be >= 0, got {n}")
    if not price > 0:
        raise DataError(f"synthetic: price must be positive, got {price!r}")
    timeframe = normalize_timeframe(freq)
    seconds = timeframe_seconds(timeframe)
    if seconds is None:
        raise DataError(f"synthetic: freq {freq!r} must be a fixed length, not months")
    first = pd.Timestamp(start)
    first = first.tz_localize("UTC") if first.tz is None else first.tz_convert("UTC")
    step = seconds * 1_000_000_000
    stamps = first.as_unit("ns").value + np.arange(n, dtype=np.int64) * step

    rng = np.random.default_rng(seed)
    sigma = _ANNUAL_VOL * np.sqrt(seconds / _YEAR_SECONDS)
    log_close = np.log(price) + np.cumsum(rng.normal(0.0, sigma, n))
    close = np.exp(log_close)
    open_ = np.empty(n)
    if n:
        open_[0] = price
        open_[1:] = close[:-1]
    wicks = np.abs(rng.normal(0.0, sigma / 2, (2, n)))
    # Multiplying by exp(x >= 0) never rounds below the factor, so low <= open, close <= high.
    high = np.maximum(open_, close) * np.exp(wicks[0])
    low = np.minimum(open_, close) * np.exp(-wicks[1])
    volume = np.floor(rng.lognormal(np.log(1_000.0), 1.0, n)) + 1.0

    index = pd.DatetimeIndex(stamps.view("datetime64[ns]"), name="timestamp").tz_localize("UTC")
    bars = pd.DataFrame(
        {"open": open_, "high": high, "low": low, "close": close, "volume": volume}, index=index
    )
    bars.attrs = {
        "symbol": symbol,
        "timeframe": timeframe,
        "source": "synthetic",
        "gaps": find_gaps(stamps, timeframe),
        "repairs": [],
    }
    return bars
