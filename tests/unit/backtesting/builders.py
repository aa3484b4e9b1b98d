"""Builders shared by the backtesting tests (make-style functions, no fixtures)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def reversed_copy(bars: pd.DataFrame, symbol: str) -> pd.DataFrame:
    """Another symbol: GOOG's prices backwards (still valid bars), with its own name."""
    out = bars.copy()
    out[["open", "high", "low", "close"]] = bars[["open", "high", "low", "close"]].iloc[::-1].to_numpy()
    out.attrs["symbol"] = symbol
    return out


def with_gaps(bars: pd.DataFrame, *stretches: tuple[int, int]) -> pd.DataFrame:
    """The bars without the given ``[lo, hi)`` stretches of positions."""
    keep = np.ones(len(bars), dtype=bool)
    for lo, hi in stretches:
        keep[lo:hi] = False
    out = bars[keep]
    out.attrs.update(bars.attrs)
    return out
