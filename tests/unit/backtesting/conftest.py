from __future__ import annotations

import numpy as np
import pandas as pd
import pytest


def make_bars(rows: list[tuple[float, float, float, float]], *, start: str = "2024-01-01",
              freq: str = "1D", volume: float = 1_000.0, symbol: str = "TEST") -> pd.DataFrame:
    """Bars from (open, high, low, close) tuples, one per period from ``start`` (UTC)."""
    index = pd.date_range(start, periods=len(rows), freq=freq, tz="UTC", name="timestamp")
    frame = pd.DataFrame(rows, columns=["open", "high", "low", "close"], index=index, dtype=float)
    frame["volume"] = volume
    frame.attrs["symbol"] = symbol
    return frame


def flat_bars(n: int, price: float = 100.0, **kw: object) -> pd.DataFrame:
    return make_bars([(price, price + 1, price - 1, price)] * n, **kw)


@pytest.fixture
def ramp() -> pd.DataFrame:
    """Ten daily bars whose open is 100 + 10*i and close 105 + 10*i."""
    return make_bars([(100 + 10 * i, 108 + 10 * i, 98 + 10 * i, 105 + 10 * i) for i in range(10)])


__all__ = ["flat_bars", "make_bars", "np"]
