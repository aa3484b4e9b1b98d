"""A Parquet catalog of bars: one file per timeframe and symbol.

Layout: ``root/<timeframe>/<symbol>.parquet``, e.g. ``data/catalog/1m/AAPL.parquet``.
Timeframes are canonical (``"1m"``, ``"1h"``, ``"1d"``); symbols are percent-encoded in file
names (``BTC/USD`` -> ``BTC%2FUSD.parquet``). Each file holds one frame as `load_bars`
returns it, with ``symbol``, ``timeframe`` and ``repairs`` in the Parquet schema metadata
under the key ``weaver``.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import cast
from urllib.parse import quote, unquote

import numpy as np
import pandas as pd

from weaver.core.errors import DataError
from weaver.data.gaps import find_gaps
from weaver.data.loader import load_bars
from weaver.data.timeframe import normalize_timeframe, timeframe_seconds

__all__ = ["Catalog", "CatalogEntry"]

_META_KEY = b"weaver"
_SUFFIX = ".parquet"


@dataclass(frozen=True, slots=True)
class CatalogEntry:
    """One file of the catalog: a symbol's bars of one timeframe, how many, first and last."""

    symbol: str
    timeframe: str
    bars: int
    start: pd.Timestamp | None
    end: pd.Timestamp | None
    path: Path


class Catalog:
    """Store and read validated bars as Parquet files under one root directory.

    Parameters
    ----------
    root
        The catalog's directory; created on the first write.
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def __repr__(self) -> str:
        return f"Catalog({str(self.root)!r})"

    def path(self, symbol: str, timeframe: str) -> Path:
        """Return the file that holds ``symbol``'s ``timeframe`` bars (it may not exist)."""
        if not isinstance(symbol, str) or not symbol.strip():
            raise DataError(f"catalog {self.root}: symbol must be a non-empty string, got {symbol!r}")
        return self.root / normalize_timeframe(timeframe) / (quote(symbol, safe="") + _SUFFIX)

    def write(self, bars: pd.DataFrame, symbol: str | None = None, timeframe: str | None = None) -> Path:
        """Validate bars and store them, replacing any earlier file atomically.

        Parameters
        ----------
        bars
            Bars with a UTC DatetimeIndex and columns open, high, low, close, volume.
        symbol, timeframe
            Default to ``bars.attrs["symbol"]`` and ``bars.attrs["timeframe"]`` (the
            timeframe is inferred when neither is set).

        Returns
        -------
        Path
            The written file.

        Raises
        ------
        DataError
            If the bars fail `load_bars` validation or no symbol is known.
        """
        import pyarrow as pa
        import pyarrow.parquet as pq

        symbol = symbol if symbol is not None else bars.attrs.get("symbol")
        if symbol is None:
            raise DataError(f"catalog {self.root}: no symbol given and bars.attrs has none")
        tf_hint = timeframe if timeframe is not None else bars.attrs.get("timeframe")
        clean = cast(pd.DataFrame, load_bars(bars, symbol, tf_hint))  # a symbol given: one frame
        tf = clean.attrs["timeframe"]
        if tf is None:
            raise DataError(f"catalog {self.root}: cannot infer the timeframe of {symbol!r}; pass timeframe=")
        target = self.path(symbol, tf)
        target.parent.mkdir(parents=True, exist_ok=True)

        plain = clean.copy(deep=False)
        plain.attrs = {}  # our metadata goes under its own key; pandas' JSON cannot hold gaps
        table = pa.Table.from_pandas(plain, preserve_index=True)
        meta = {"symbol": symbol, "timeframe": tf, "repairs": list(clean.attrs["repairs"])}
        schema_meta = {**(table.schema.metadata or {}), _META_KEY: json.dumps(meta).encode()}
        table = table.replace_schema_metadata(schema_meta)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.stem}.", suffix=".tmp")
        os.close(fd)
        try:
            pq.write_table(table, tmp)
            os.replace(tmp, target)  # atomic: readers see the old file or the new one
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return target

    def read(
        self,
        symbol: str,
        timeframe: str,
        start: str | pd.Timestamp | None = None,
        end: str | pd.Timestamp | None = None,
        limit: int | None = None,
    ) -> pd.DataFrame:
        """Read stored bars, optionally only those from ``start`` to ``end`` (both inclusive).

        Naive ``start``/``end`` are UTC; ``limit`` keeps at most that many bars from the
        start. Only the rows kept become a DataFrame. The frame has ``attrs`` symbol,
        timeframe, source (the file), gaps (of the rows returned) and repairs (as when written).

        Raises
        ------
        DataError
            If the catalog has no such symbol or timeframe.
        """
        import pyarrow.parquet as pq

        target = self.path(symbol, timeframe)
        if not target.exists():
            if not self.has_symbol(symbol):
                raise DataError(
                    f"catalog {self.root}: unknown symbol {symbol!r}; symbols: {self.symbols()}"
                )
            raise DataError(
                f"catalog {self.root}: no {normalize_timeframe(timeframe)!r} bars for {symbol!r}; "
                f"timeframes: {self.timeframes(symbol)}"
            )
        if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or limit < 0):
            raise DataError(f"catalog {self.root}: limit must be a whole number >= 0, got {limit!r}")
        table = pq.read_table(target)
        meta = json.loads((table.schema.metadata or {}).get(_META_KEY, b"{}"))
        if start is not None or end is not None or limit is not None:
            # cut the Arrow table before pandas sees it: a page of a long history stays cheap
            stamps = table.column("timestamp").to_numpy().astype("datetime64[ns]").view(np.int64)
            lo = 0 if start is None else int(np.searchsorted(stamps, _utc_ns(start), "left"))
            hi = len(stamps) if end is None else int(np.searchsorted(stamps, _utc_ns(end), "right"))
            if limit is not None:
                hi = min(hi, lo + limit)
            table = table.slice(lo, max(hi - lo, 0))
        bars = table.to_pandas()
        bars.index = bars.index.as_unit("ns")
        tf = meta.get("timeframe", normalize_timeframe(timeframe))
        bars.attrs = {
            "symbol": meta.get("symbol", symbol),
            "timeframe": tf,
            "source": str(target),
            "gaps": find_gaps(bars.index.asi8, tf),
            "repairs": list(meta.get("repairs", [])),
        }
        return bars

    def entry(self, symbol: str, timeframe: str) -> CatalogEntry:
        """Return what the catalog holds of ``symbol``'s ``timeframe`` bars, from the file's metadata.

        Raises
        ------
        DataError
            If the catalog has no such symbol or timeframe.
        """
        target = self.path(symbol, timeframe)
        if not target.is_file():
            self.read(symbol, timeframe)  # raises the error that names what there is
        return _entry(symbol, normalize_timeframe(timeframe), target)

    def entries(self) -> list[CatalogEntry]:
        """Return every file's :class:`CatalogEntry`, by symbol, then shortest timeframe first."""
        listed = sorted(self._entries(), key=lambda e: (e[1], _timeframe_order(e[0])))
        return [_entry(symbol, tf, self.path(symbol, tf)) for tf, symbol in listed]

    def has(self, symbol: str, timeframe: str) -> bool:
        """Return whether the catalog holds ``symbol``'s ``timeframe`` bars."""
        return self.path(symbol, timeframe).is_file()

    def has_symbol(self, symbol: str) -> bool:
        """Return whether the catalog holds any bars of ``symbol``."""
        return symbol in self.symbols()

    def symbols(self) -> list[str]:
        """Return every stored symbol, sorted."""
        return sorted({symbol for _, symbol in self._entries()})

    def timeframes(self, symbol: str) -> list[str]:
        """Return the timeframes stored for ``symbol``, shortest first.

        Raises
        ------
        DataError
            If the catalog has no bars of ``symbol``.
        """
        found = [tf for tf, s in self._entries() if s == symbol]
        if not found:
            raise DataError(f"catalog {self.root}: unknown symbol {symbol!r}; symbols: {self.symbols()}")
        return sorted(found, key=_timeframe_order)

    def _entries(self) -> list[tuple[str, str]]:
        if not self.root.is_dir():
            return []
        out = []
        for folder in self.root.iterdir():
            if not folder.is_dir():
                continue
            try:
                tf = normalize_timeframe(folder.name)
            except DataError:
                continue  # not a timeframe folder
            if tf != folder.name:
                continue
            out.extend((tf, unquote(f.name[: -len(_SUFFIX)])) for f in folder.glob("*" + _SUFFIX))
        return out


def _entry(symbol: str, timeframe: str, path: Path) -> CatalogEntry:
    """Read a file's row count and first and last time from its Parquet metadata (rows are in time order)."""
    import pyarrow.parquet as pq

    file = pq.ParquetFile(path)
    meta = file.metadata
    start = end = None
    if meta.num_rows:
        column = file.schema_arrow.get_field_index("timestamp")
        first = meta.row_group(0).column(column).statistics
        last = meta.row_group(meta.num_row_groups - 1).column(column).statistics
        if first is not None and last is not None and first.has_min_max and last.has_min_max:
            start, end = pd.Timestamp(first.min), pd.Timestamp(last.max)
        else:  # no statistics: read the times
            stamps = file.read(columns=["timestamp"]).column(0)
            start, end = pd.Timestamp(stamps[0].as_py()), pd.Timestamp(stamps[-1].as_py())
    return CatalogEntry(symbol, timeframe, meta.num_rows, start, end, path)


def _timeframe_order(tf: str) -> tuple[int, float]:
    seconds = timeframe_seconds(tf)
    return (1, float(tf[:-2])) if seconds is None else (0, float(seconds))


def _utc_ns(when: str | pd.Timestamp) -> int:
    stamp = pd.Timestamp(when)
    stamp = stamp.tz_localize("UTC") if stamp.tz is None else stamp.tz_convert("UTC")
    return int(stamp.as_unit("ns").value)
