"""Market data as the API shows it (roadmap A.2): candles, and the symbols the catalog holds."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["CandleListResponse", "CandleResponse", "SymbolInfo", "SymbolListResponse", "TimeframeInfo"]

_CANDLE = {"symbol": "GOOG", "timeframe": "1d", "timestamp": "2004-08-19T00:00:00Z", "open": "100",
           "high": "104.06", "low": "95.96", "close": "100.34", "volume": "22351900", "trade_count": None}


class CandleResponse(BaseModel):
    """One OHLCV bar. Prices and volume are decimal strings: the shortest that read back as the stored float."""

    symbol: str
    timeframe: str
    timestamp: datetime = Field(description="The bar's open time, UTC")
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal
    trade_count: int | None = Field(default=None, description="Trades in the bar, when the source has it")

    model_config = ConfigDict(json_schema_extra={"examples": [_CANDLE]})


class CandleListResponse(BaseModel):
    """A page of bars in time order; ``next_start`` is where the next page starts (None: this is the last)."""

    symbol: str
    timeframe: str
    items: list[CandleResponse]
    limit: int = Field(description="The most bars a page holds, as asked (at most 10000)")
    next_start: datetime | None = Field(description="The first bar's time after this page, when the range has "
                                                    "more bars than `limit`: ask again with start=next_start")

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "symbol": "GOOG", "timeframe": "1d", "items": [_CANDLE], "limit": 1,
        "next_start": "2004-08-20T00:00:00Z"}]})


class TimeframeInfo(BaseModel):
    """The bars of one timeframe the catalog holds for a symbol."""

    timeframe: str
    bars: int
    start: datetime | None = Field(description="The first bar's time (None when there are no bars)")
    end: datetime | None = Field(description="The last bar's time")


class SymbolInfo(BaseModel):
    """A symbol the catalog holds, and its timeframes, shortest first."""

    symbol: str
    timeframes: list[TimeframeInfo]


class SymbolListResponse(BaseModel):
    """Every symbol in the catalog (``WEAVER_CATALOG``), sorted."""

    items: list[SymbolInfo]

    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [{"symbol": "GOOG", "timeframes": [
        {"timeframe": "1d", "bars": 2148, "start": "2004-08-19T00:00:00Z", "end": "2013-03-01T00:00:00Z"}]}]}]})
