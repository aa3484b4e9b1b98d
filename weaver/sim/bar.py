"""A minimal, slotted view of one bar as the fill model sees it."""

from __future__ import annotations

from datetime import datetime

__all__ = ["BarView"]


class BarView:
    """One OHLCV bar of plain floats (no validation; the engine passes checked data)."""

    __slots__ = ("ts", "open", "high", "low", "close", "volume")

    def __init__(
        self,
        ts: datetime,
        open: float,
        high: float,
        low: float,
        close: float,
        volume: float = 0.0,
    ) -> None:
        self.ts = ts
        self.open = open
        self.high = high
        self.low = low
        self.close = close
        self.volume = volume

    def __repr__(self) -> str:
        return (
            f"BarView({self.ts!r}, o={self.open}, h={self.high}, l={self.low}, "
            f"c={self.close}, v={self.volume})"
        )
