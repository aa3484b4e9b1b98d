"""``/api/v1/candles`` and ``/api/v1/symbols``: the bars of the catalog (``WEAVER_CATALOG``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from weaver.api.deps import CatalogDep
from weaver.api.errors import ErrorResponse
from weaver.api.schemas.market import CandleListResponse, SymbolListResponse
from weaver.api.services import market as service
from weaver.api.services.market import MAX_CANDLES

__all__ = ["router"]

router = APIRouter(tags=["market data"])


@router.get("/candles", response_model=CandleListResponse, summary="OHLCV bars of a symbol",
            responses={404: {"model": ErrorResponse, "description": "The catalog has no such symbol, or not in "
                                                                    "this timeframe: the message lists what it has"}})
async def candles(
        catalog: CatalogDep,
        symbol: Annotated[str, Query(min_length=1, max_length=100, description="e.g. GOOG")],
        timeframe: Annotated[str, Query(min_length=1, max_length=20, description="e.g. 1m, 5m, 1h, 1d")],
        start: Annotated[datetime | None, Query(description="The first bar's earliest time, inclusive (ISO 8601; "
                                                            "naive times are UTC)")] = None,
        end: Annotated[datetime | None, Query(description="The last bar's latest time, inclusive")] = None,
        limit: Annotated[int, Query(ge=1, le=MAX_CANDLES, description=f"The most bars a page holds, at most "
                                                                      f"{MAX_CANDLES}")] = 1000,
) -> CandleListResponse:
    """Return the bars of `symbol` in `timeframe` from `start` to `end`, in time order, at most `limit` of them.

    A range with more bars than `limit` is cut there, and `next_start` says where the next page
    starts (ask again with `start=next_start`); `next_start` is null on the last page. Prices and
    volume are decimal strings.
    """
    return await service.get_candles(catalog, symbol, timeframe, start, end, limit)


@router.get("/symbols", response_model=SymbolListResponse, summary="Symbols in the catalog")
async def symbols(catalog: CatalogDep) -> SymbolListResponse:
    """Return every symbol the catalog holds, with each timeframe's bar count and first and last times."""
    return await service.list_symbols(catalog)
