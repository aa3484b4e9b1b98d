"""Candles and symbols from the Parquet catalog (``WEAVER_CATALOG``), and the catalog's first-start seed.

Catalog reads are file IO and pandas work: they run in a thread, never on the event loop.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from weaver.api.errors import ApiError, ErrorCode
from weaver.api.schemas.market import CandleListResponse, CandleResponse, SymbolInfo, SymbolListResponse, TimeframeInfo

if TYPE_CHECKING:
    from weaver.catalog import Catalog

__all__ = ["MAX_CANDLES", "SAMPLE_DATA", "get_candles", "list_symbols", "seed_catalog"]

log = logging.getLogger("weaver.api")

#: the most candles one page holds
MAX_CANDLES = 10_000
#: the sample data shipped with Weaver (``data/`` of the source tree; see its README for provenance)
SAMPLE_DATA = Path(__file__).resolve().parents[3] / "data"


def seed_catalog(catalog: Catalog, samples: Path = SAMPLE_DATA) -> list[str]:
    """Write the shipped sample data into ``catalog`` if it holds no bars yet; return the symbols written.

    Each CSV file in ``samples`` becomes its stem's symbol (``GOOG.csv`` -> ``GOOG``), with the
    timeframe ``load_bars`` infers. A catalog that holds any bars is left as it is.
    """
    from weaver.data import load_bars

    if catalog.symbols():
        return []
    files = sorted(samples.glob("*.csv")) if samples.is_dir() else []
    if not files:
        log.warning("catalog %s is empty and no sample data was found in %s", catalog.root, samples)
        return []
    written = []
    for path in files:
        catalog.write(load_bars(path), path.stem)  # type: ignore[arg-type]
        written.append(path.stem)
    log.info("seeded the catalog %s with the sample data: %s", catalog.root, ", ".join(written))
    return written


async def list_symbols(catalog: Catalog) -> SymbolListResponse:
    """Return every symbol of the catalog with its timeframes, bar counts, first and last times."""
    entries = await asyncio.to_thread(catalog.entries)
    symbols: dict[str, list[TimeframeInfo]] = {}
    for entry in entries:
        symbols.setdefault(entry.symbol, []).append(TimeframeInfo(
            timeframe=entry.timeframe, bars=entry.bars, start=_datetime(entry.start), end=_datetime(entry.end)))
    return SymbolListResponse(items=[SymbolInfo(symbol=s, timeframes=tfs) for s, tfs in symbols.items()])


async def get_candles(catalog: Catalog, symbol: str, timeframe: str, start: datetime | None, end: datetime | None,
                      limit: int) -> CandleListResponse:
    """Return up to ``limit`` bars of ``symbol`` from ``start`` to ``end`` (both inclusive, naive times UTC).

    Raises
    ------
    ApiError
        404 naming an unknown symbol (and the catalog's symbols) or a timeframe the symbol
        lacks (and its timeframes); 422 for a timeframe that does not parse or an ``end``
        before ``start``.
    """
    from weaver.core.errors import DataError
    from weaver.data.timeframe import normalize_timeframe

    try:
        tf = normalize_timeframe(timeframe)
    except DataError as exc:
        raise _invalid("timeframe", str(exc), timeframe) from None
    start, end = _utc(start), _utc(end)
    if start is not None and end is not None and end < start:
        raise _invalid("end", f"end {end.isoformat()} is before start {start.isoformat()}", end.isoformat())
    rows, next_start = await asyncio.to_thread(_read, catalog, symbol, tf, start, end, limit)
    # the values are typed already (Decimal, UTC datetime): constructed, not validated, as a page
    # of 10,000 candles would otherwise spend most of its time checking what it just built
    build = CandleResponse.model_construct
    items = [build(symbol=symbol, timeframe=tf, timestamp=when, open=o, high=h, low=lo, close=c, volume=v,
                   trade_count=None) for when, o, h, lo, c, v in rows]
    return CandleListResponse.model_construct(symbol=symbol, timeframe=tf, items=items, limit=limit,
                                              next_start=next_start)


def _read(catalog: Catalog, symbol: str, tf: str, start: datetime | None, end: datetime | None,
          limit: int) -> tuple[list[tuple[Any, ...]], datetime | None]:
    if not catalog.has(symbol, tf):
        symbols = catalog.symbols()
        if symbol not in symbols:
            listed = ", ".join(symbols[:50]) or "none: `weaver data import` adds bars"
            raise ApiError(404, ErrorCode.NOT_FOUND, f"symbol: the catalog has no symbol {symbol!r}; it holds: {listed}",
                           {"field": "symbol", "value": symbol})
        timeframes = catalog.timeframes(symbol)
        raise ApiError(404, ErrorCode.NOT_FOUND, f"timeframe: the catalog has no {tf!r} bars for {symbol!r}; its "
                       f"timeframes: {', '.join(timeframes)}", {"field": "timeframe", "value": tf})
    bars = catalog.read(symbol, tf, start, end, limit=limit + 1)  # one more: is there a next page?
    page = bars.iloc[:limit]
    next_start = bars.index[limit].to_pydatetime() if len(bars) > limit else None
    columns = [_decimals(page[name].to_numpy()) for name in ("open", "high", "low", "close", "volume")]
    return list(zip(page.index.to_pydatetime().tolist(), *columns, strict=True)), next_start


def _decimals(values: Any) -> list[Decimal]:
    """Return floats as the shortest decimals that read back as them (``100.0`` -> ``100``)."""
    return [Decimal(int(x)) if x.is_integer() else Decimal(repr(x)) for x in values.tolist()]


def _invalid(field: str, message: str, value: str) -> ApiError:
    error = {"field": field, "message": message, "type": "value_error"}
    return ApiError(422, ErrorCode.VALIDATION_ERROR, f"invalid request: {field}: {message}",
                    {"errors": [error], "value": value})


#: the instants a bar can have (a datetime64[ns] holds 1677-09-21 .. 2262-04-11)
_EARLIEST = datetime(1678, 1, 1, tzinfo=timezone.utc)
_LATEST = datetime(2262, 1, 1, tzinfo=timezone.utc)


def _utc(when: datetime | None) -> datetime | None:
    """Return ``when`` in UTC (naive: read as UTC), within the span bars can have."""
    if when is None:
        return None
    when = when.replace(tzinfo=timezone.utc) if when.tzinfo is None else when.astimezone(timezone.utc)
    return min(max(when, _EARLIEST), _LATEST)


def _datetime(stamp: Any) -> datetime | None:
    return None if stamp is None else stamp.to_pydatetime()
