"""Load OHLCV bars from CSV, Parquet or DataFrames and refuse anything that is not clean.

Row numbers in messages count like a spreadsheet showing the CSV: the header is row 1, so
the first data row is row 2. Parquet files and DataFrames are numbered the same way (as if
written to CSV) and the message adds the 0-based position, e.g. ``row 5 (iloc 3)``.

Epoch numbers take their unit from their size. Each unit's span of plausible bar times,
1973-03-03 .. 2286-11-20, is a band of digit counts: seconds have 9-10 digits, milliseconds
12-13, microseconds 15-16 and nanoseconds 18-19 (capped at 2262-04-11, the last instant a
``datetime64[ns]`` holds). The bands do not overlap, so a number is in one band or in none;
11, 14 or 17 digits, fewer than 9, or a negative number is in none and is refused unless
``unit=`` says what it counts.
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Mapping
from datetime import tzinfo
from pathlib import Path
from typing import Any, Literal, cast

import numpy as np
import pandas as pd
from pandas.tseries.api import guess_datetime_format

from weaver.core.errors import DataError
from weaver.data.gaps import find_gaps
from weaver.data.timeframe import _infer_from_ns, normalize_timeframe, timeframe_seconds

__all__ = ["DataWarning", "load_bars"]

PRICE_COLUMNS = ("open", "high", "low", "close")
COLUMNS = (*PRICE_COLUMNS, "volume")
TIME_HEADERS = ("timestamp", "datetime", "date", "time")

_NS = 1_000_000_000
# An explicit UTC offset after a clock time: "Z", "+01", "+0100", "+01:00".
_OFFSET = re.compile(r"(?<=\d\d:\d\d)(?::\d\d(?:\.\d+)?)?\s*(?:[zZ]|[+-]\d\d(?::?\d\d)?)\s*$")
_OFFSET_TAIL = r"\s*(?:[zZ]|[+-]\d\d(?::?\d\d)?)\s*$"
# Text that is only a number: an epoch count, or a date written as digits (20200131).
_NUMBER = re.compile(r"\s*[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\s*")
# A price written with a decimal comma, as spreadsheets in much of Europe export them.
_DECIMAL_COMMA = re.compile(r"\s*[+-]?\d[\d.]*,\d+\s*")
# Separators a header is tried with when it did not split (in this order on a tie).
_SEPARATORS = (";", "\t", "|", ",")

EpochUnit = Literal["s", "ms", "us", "ns"]
# Nanoseconds per unit, and the band of magnitudes read as that unit (see the module notes).
_UNIT_NS: dict[str, int] = {"s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}
_UNIT_NAMES = {"s": "seconds", "ms": "milliseconds", "us": "microseconds", "ns": "nanoseconds"}
_EPOCH_BANDS = (("s", 10**8, 10**10), ("ms", 10**11, 10**13), ("us", 10**14, 10**16), ("ns", 10**17, 10**19))
_NS_RANGE = "1677-09-21 .. 2262-04-11, the instants a datetime64[ns] holds"

Source = str | os.PathLike[str] | pd.DataFrame


class DataWarning(UserWarning):
    """Warn that ``load_bars(..., repair=True)`` changed the data; the message says how."""


def load_bars(
    source: Source | Mapping[str, Source],
    symbol: str | None = None,
    timeframe: str | None = None,
    *,
    repair: bool = False,
    tz: str | tzinfo | None = None,
    sep: str = ",",
    dayfirst: bool = False,
    unit: EpochUnit | None = None,
) -> pd.DataFrame | dict[str, pd.DataFrame]:
    """Load OHLCV bars and validate them; refuse bad data with a message that points at it.

    Parameters
    ----------
    source
        A path to a ``.csv`` (optionally ``.csv.gz`` etc.) or ``.parquet``/``.pq`` file, a
        DataFrame, or a dict ``{symbol: DataFrame or path}``. Headers match case-insensitively;
        the time is taken from a ``timestamp``, ``datetime``, ``date`` + ``time``, ``date``
        or ``time`` column (first found, in that order) or from a DatetimeIndex. Columns
        other than open, high, low, close, volume and ``symbol`` are dropped.
    symbol
        Keep only this symbol's rows when there is a ``symbol`` column; otherwise the name
        stored in ``attrs["symbol"]`` (default: the single value of the symbol column, the
        file stem, or a DataFrame's own ``attrs["symbol"]``).
    timeframe
        The bar size, e.g. ``"1m"``, ``"5m"``, ``"1h"``, ``"1d"``, ``"1w"``. Inferred from the
        most common spacing when omitted. Refused if the bars are mostly closer together.
    repair
        When True, sort rows into time order and drop exact duplicate rows (same timestamp
        and values), listing each change in ``attrs["repairs"]`` and warning with a
        `DataWarning`. Duplicate timestamps with different values are refused regardless.
    tz
        The zone of naive timestamps, e.g. ``"America/New_York"``. Naive timestamps are
        read as UTC when it is omitted (so a bare date is UTC midnight). Times that do not
        exist or happen twice in ``tz`` (daylight-saving changes) are refused. Strings with
        UTC offsets are converted to UTC; different offsets in one column are accepted only
        when they are ``tz``'s offsets at those instants. Epoch numbers are UTC and ignore it.
    sep
        The field separator of CSV files, one character: ``";"``, ``"\\t"``, ``"|"``.
        Ignored for Parquet files and DataFrames. A header that does not split is refused
        with the separator it seems to use.
    dayfirst
        Read text dates such as ``01/02/2020`` day first (1 February), as written in most of
        Europe; also ``31.01.2020 09:30``. ISO 8601 dates (``2020-02-01``) are year first
        whatever it says.
    unit
        What epoch numbers in the time column count: ``"s"``, ``"ms"``, ``"us"`` or ``"ns"``
        since 1970-01-01 UTC. When omitted the unit is read from their size (see Notes) and
        a number that fits no unit is refused.

    Returns
    -------
    DataFrame or dict of str to DataFrame
        Bars indexed by a ``datetime64[ns, UTC]`` index named ``timestamp``, float64 columns
        open, high, low, close, volume, and ``attrs`` ``symbol``, ``timeframe``, ``source``,
        ``gaps`` (a `GapReport` of missing stretches, reported not refused) and ``repairs``
        (list of str). A dict by symbol when ``source`` is a dict or has several symbols.

    Raises
    ------
    DataError
        For a missing column, an unparseable date, NaN or infinite prices, prices <= 0,
        high < low, open or close outside [low, high], negative or NaN volume, duplicate or
        out-of-order timestamps, or mixed/ambiguous time zones. The message names the source,
        the row (header = row 1), the column and the value of the first offending row, and
        how many more rows share the problem. Also for a ``sep`` that is not one character or
        an unknown ``unit``.

    Notes
    -----
    Times may be text dates (ISO 8601, or one format throughout such as ``01/31/2020`` or,
    with ``dayfirst=True``, ``31/01/2020``), datetimes, or epoch numbers. An epoch number's
    unit follows from its size, for times from 1973-03-03 on:

    ==============  ============  ===================
    unit            digits        e.g. 2020-01-01
    ==============  ============  ===================
    seconds         9-10          1577836800
    milliseconds    12-13         1577836800000
    microseconds    15-16         1577836800000000
    nanoseconds     18-19         1577836800000000000
    ==============  ============  ===================

    One column has one unit; other sizes are refused unless ``unit=`` is given. Text made of
    digits that reads as a date (``20200131``, ``202001310930``) stays a date.

    Anything more exotic (a decimal comma, a preamble above the header, other column names,
    a time split oddly over columns) is read with ``pd.read_csv`` and its options, fixed up
    in pandas, and passed to ``load_bars`` as a DataFrame, which is validated the same way.

    Examples
    --------
    >>> bars = wv.load_bars("data/GOOG.csv")  # doctest: +SKIP
    >>> bars = wv.load_bars("dax.csv", sep=";", dayfirst=True)  # doctest: +SKIP
    >>> bars = wv.load_bars("btc.csv", unit="ms")  # doctest: +SKIP

    Read it yourself when these options are not enough, e.g. for decimal commas, a preamble
    and German headers (rename every column load_bars needs, not just these two):

    >>> df = pd.read_csv("fdax.txt", sep=";", decimal=",", skiprows=2)  # doctest: +SKIP
    >>> df = df.rename(columns={"Zeit": "timestamp", "Schluss": "close"})  # doctest: +SKIP
    >>> bars = wv.load_bars(df, symbol="FDAX", timeframe="1m")  # doctest: +SKIP
    """
    if isinstance(source, Mapping):
        return _load_mapping(
            source, symbol, timeframe, repair=repair, tz=tz, sep=sep, dayfirst=dayfirst, unit=unit
        )
    tz = _check_tz(tz)
    _check_options(sep, unit)
    table = _read(source, sep)
    result = _load_table(table, symbol, timeframe, repair=repair, tz=tz, dayfirst=dayfirst, unit=unit)
    frames = result.values() if isinstance(result, dict) else [result]
    for frame in frames:
        if frame.attrs["repairs"]:
            warnings.warn(
                f"{table.name} ({frame.attrs['symbol']}): " + "; ".join(frame.attrs["repairs"]),
                DataWarning,
                stacklevel=2,
            )
    return result


# --------------------------------------------------------------------------------- reading


class _Table:
    """Raw columns of one source, before any validation."""

    def __init__(
        self,
        frame: pd.DataFrame,
        name: str,
        source: str,
        stem: str | None,
        csv: bool,
        columns: list[str] | None = None,
        reader: str = "df",
    ):
        self.frame = frame
        self.name = name
        self.source = source
        self.stem = stem
        self.csv = csv
        # every column of the source, also those a CSV read skipped, for messages
        self.columns = columns if columns is not None else [str(c) for c in frame.columns]
        # how to read the source into a DataFrame yourself, for messages
        self.reader = reader

    def where(self, row: int) -> str:
        """Describe a row: spreadsheet numbering, plus the position for non-CSV sources."""
        return f"{self.name} row {row}" if self.csv else f"{self.name} row {row} (iloc {row - 2})"


def _read(source: Source, sep: str = ",") -> _Table:
    if isinstance(source, pd.DataFrame):
        return _Table(source, "DataFrame", "DataFrame", source.attrs.get("symbol"), csv=False)
    if not isinstance(source, (str, os.PathLike)):
        raise TypeError(f"load_bars needs a path, a DataFrame or a dict, not {type(source).__name__}")
    path = Path(source)
    name = str(source)
    if not path.exists():
        raise DataError(f"{name}: no such file")
    suffixes = [s.lower() for s in path.suffixes]
    stem = path.name.split(".")[0]
    if suffixes and suffixes[-1] in (".parquet", ".pq"):
        return _Table(_read_parquet(path), name, name, stem, csv=False, reader=f"pd.read_parquet({name!r})")
    if ".csv" in suffixes or ".txt" in suffixes:
        frame, columns = _read_csv(path, name, sep)
        reader = f"pd.read_csv({name!r}" + (f", sep={sep!r})" if sep != "," else ")")
        return _Table(frame, name, name, stem, csv=True, columns=columns, reader=reader)
    raise DataError(f"{name}: unknown file type {path.suffix!r}; expected .csv or .parquet")


def _read_csv(path: Path, name: str, sep: str = ",") -> tuple[pd.DataFrame, list[str]]:
    """Read the columns load_bars uses; return them and every column name in the header."""
    try:
        header = pd.read_csv(path, nrows=0, sep=sep)
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise DataError(f"{name}: cannot read the CSV header (row 1): {exc}") from exc
    columns = [str(c) for c in header.columns]
    # before the body: a file in the wrong dialect may not even parse as one column
    hint = _separator_hint(columns, sep)
    if hint is not None:
        found, guess = hint
        raise DataError(f"{name}: found one column {found!r} — is the separator {guess!r}? pass sep={guess!r}")
    lower: dict[str, Any] = {}
    for column in header.columns:
        key = str(column).strip().lower()
        if key in lower:
            raise DataError(f"{name}: columns {lower[key]!r} and {column!r} both read as {key!r}; keep one")
        lower[key] = column
    wanted = [lower[c] for c in (*TIME_HEADERS, *COLUMNS, "symbol") if c in lower]
    text = [lower[c] for c in (*TIME_HEADERS, "symbol") if c in lower]
    frame = _read_csv_arrow(path, wanted, text, sep)
    if frame is None:
        try:
            frame = pd.read_csv(
                path,
                sep=sep,
                usecols=wanted or None,
                dtype=dict.fromkeys(text, str),
                skip_blank_lines=False,  # keep blank lines so row numbers match the file
                low_memory=False,
            )
        except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
            raise DataError(f"{name}: cannot parse the CSV: {exc}") from exc
    # A file that ends in blank lines is not data with empty rows: drop them from the tail.
    empty = frame.isna().all(axis=1).to_numpy()
    if empty.size and empty[-1]:
        keep = len(empty) - int(np.argmin(empty[::-1])) if not empty.all() else 0
        frame = frame.iloc[:keep]
    return frame, columns


def _separator_hint(columns: list[str], sep: str | None) -> tuple[str, str] | None:
    """Return (the column shortened, the separator it splits on) for a header that did not split."""
    if len(columns) != 1:
        return None
    column = columns[0]
    fields = {c: column.split(c) for c in _SEPARATORS if c != sep}
    guess = max(fields, key=lambda c: len(fields[c]))  # max keeps the first of equals
    parts = fields[guess]
    if len(parts) < 2:
        return None
    shown = guess.join(parts[:3]) + (guess + "…" if len(parts) > 3 else "")
    return shown, guess


def _read_csv_arrow(path: Path, wanted: list[Any], text: list[Any], sep: str = ",") -> pd.DataFrame | None:
    """Read with pyarrow's CSV reader (several times faster); None if it cannot."""
    try:
        import pyarrow as pa
        import pyarrow.csv as pacsv

        table = pacsv.read_csv(
            path,
            parse_options=pacsv.ParseOptions(delimiter=sep, ignore_empty_lines=False),  # blank line = a row
            convert_options=pacsv.ConvertOptions(
                include_columns=[str(c) for c in wanted] or None,
                column_types=dict.fromkeys(map(str, text), pa.string()),
                strings_can_be_null=True,
            ),
        )
        return table.to_pandas()
    except Exception:  # anything unusual (a stray value, quoted newlines): use pandas' parser
        return None


def _read_parquet(path: Path) -> pd.DataFrame:
    import pyarrow.parquet as pq  # heavy: only when a Parquet file is read

    try:
        return pq.read_table(path).to_pandas()
    except Exception as exc:  # pyarrow raises a zoo of types for a corrupt file
        raise DataError(f"{path}: cannot read the Parquet file: {exc}") from exc


def _load_mapping(
    source: Mapping[str, Source],
    symbol: str | None,
    timeframe: str | None,
    *,
    repair: bool,
    tz: str | tzinfo | None,
    **options: Any,
) -> pd.DataFrame | dict[str, pd.DataFrame]:
    if symbol is not None:
        if symbol not in source:
            raise DataError(f"symbol {symbol!r} is not in the dict; available: {sorted(map(str, source))}")
        return load_bars(source[symbol], symbol, timeframe, repair=repair, tz=tz, **options)
    out: dict[str, pd.DataFrame] = {}
    for key, value in source.items():
        if isinstance(value, Mapping):
            raise DataError(f"dict entry {key!r} is itself a dict; give a DataFrame or a path")
        # a symbol is given, so this is one frame
        loaded = load_bars(value, str(key), timeframe, repair=repair, tz=tz, **options)
        out[str(key)] = cast(pd.DataFrame, loaded)
    return out


def _check_tz(tz: str | tzinfo | None) -> str | tzinfo | None:
    if tz is None:
        return None
    try:
        pd.Timestamp("2000-01-01").tz_localize(tz)
    except Exception as exc:
        raise DataError(f"unknown time zone {tz!r}") from exc
    return tz


def _check_options(sep: Any, unit: Any) -> None:
    if not isinstance(sep, str) or len(sep) != 1:
        raise DataError(
            f"sep must be one character such as ';' or '\\t', not {sep!r}; for anything else read "
            "the file with pd.read_csv(...) and pass the DataFrame to load_bars"
        )
    if unit is not None and unit not in _UNIT_NS:
        raise DataError(f"unknown epoch unit {unit!r}; use one of {list(_UNIT_NS)}")


# ------------------------------------------------------------------------------ validating


def _resolve_columns(table: _Table) -> tuple[dict[str, Any], Any]:
    """Map canonical names to the source's columns; return (mapping, time key)."""
    found: dict[str, Any] = {}
    for column in table.frame.columns:
        key = str(column).strip().lower()
        if key in found:
            raise DataError(
                f"{table.name}: columns {found[key]!r} and {column!r} both read as {key!r}; keep one"
            )
        found[key] = column
    missing = [c for c in COLUMNS if c not in found]
    if missing:
        hint = None if table.csv else _separator_hint(table.columns, None)  # a CSV was checked on reading
        if hint is not None:
            shown, guess = hint
            raise DataError(
                f"{table.name}: found one column {shown!r} — is the separator {guess!r}? read the file "
                f"with pd.read_csv(path, sep={guess!r}), or pass the path to load_bars with sep={guess!r}"
            )
        raise DataError(
            f"{table.name}: missing required column {missing[0]!r}"
            + (f" (and {missing[1:]})" if len(missing) > 1 else "")
            + f"; columns found: {table.columns}; "
            + _rename_hint(table, missing)
        )
    if isinstance(table.frame.index, pd.DatetimeIndex):
        time: Any = ("index",)
    elif "timestamp" in found or "datetime" in found:
        time = found.get("timestamp", found.get("datetime"))
    elif "date" in found and "time" in found:
        time = (found["date"], found["time"])
    elif "date" in found or "time" in found:
        time = found.get("date", found.get("time"))
    else:
        raise DataError(
            f"{table.name}: missing a time column (one of {list(TIME_HEADERS)}) or a DatetimeIndex; "
            f"columns found: {table.columns}"
        )
    return found, time


def _rename_hint(table: _Table, missing: list[str]) -> str:
    """Suggest the rename that would give ``missing`` columns, guessing from abbreviations."""
    known = {*TIME_HEADERS, *COLUMNS, "symbol"}
    spare = {str(c).strip().lower(): str(c) for c in table.columns}
    spare = {key: c for key, c in spare.items() if key and key not in known}
    guesses: dict[str, str] = {}
    for name in missing:  # "o" or "op" for open, "vol" or "Volume (BTC)" for volume
        matches = [c for key, c in spare.items() if c not in guesses and (name.startswith(key) or name in key)]
        if len(matches) == 1:
            guesses[matches[0]] = name
    unguessed = [name for name in missing if name not in guesses.values()]
    pairs = [f"{c!r}: {n!r}" for c, n in guesses.items()] + [f"'<yours>': {n!r}" for n in unguessed]
    mapping = ", ".join(pairs)
    rename = f".rename(columns={{{mapping}}})"
    if table.reader == "df":
        return f"if they are there under other names, pass df{rename} to load_bars"
    return (
        f"if they are there under other names, rename them: df = {table.reader}{rename}, "
        "then load_bars(df, ...)"
    )


def _load_table(
    table: _Table,
    symbol: str | None,
    timeframe: str | None,
    *,
    repair: bool,
    tz: str | tzinfo | None,
    dayfirst: bool = False,
    unit: str | None = None,
) -> pd.DataFrame | dict[str, pd.DataFrame]:
    found, time_key = _resolve_columns(table)
    frame = table.frame
    if len(frame) == 0:
        raise DataError(f"{table.name}: no data rows")
    rows = np.arange(len(frame), dtype=np.int64) + 2
    if time_key == ("index",):
        times, time_col = frame.index, "index"
    elif isinstance(time_key, tuple):
        times = frame[time_key[0]].astype(str) + " " + frame[time_key[1]].astype(str)
        time_col = f"{time_key[0]}+{time_key[1]}"
        times = times.where(frame[time_key[0]].notna() & frame[time_key[1]].notna())
    else:
        times, time_col = frame[time_key], str(time_key)
    values = {c: _numeric(table, frame[found[c]], str(found[c]), rows) for c in COLUMNS}
    names = {c: str(found[c]) for c in COLUMNS}
    stamps = _parse_times(table, times, time_col, rows, tz, dayfirst=dayfirst, unit=unit)
    names["timestamp"] = time_col

    if timeframe is None and not table.csv:
        timeframe = table.frame.attrs.get("timeframe")
    given = normalize_timeframe(timeframe) if timeframe is not None else None

    if "symbol" in found:
        labels = frame[found["symbol"]]
        blank = labels.isna().to_numpy()
        if blank.any():
            _fail(table, rows, blank, str(found["symbol"]), labels.to_numpy(), "missing symbol")
        labels = labels.astype(str).to_numpy()
        available = sorted(pd.unique(labels))
        if symbol is not None:
            if symbol not in available:
                raise DataError(
                    f"{table.name}: symbol {symbol!r} not found in column {found['symbol']!r}; "
                    f"available: {available}"
                )
            chosen = [symbol]
        else:
            chosen = available
        parts = {}
        for name in chosen:
            keep = labels == name
            part = {c: v[keep] for c, v in values.items()}
            parts[name] = _finish(table, part, names, stamps[keep], rows[keep], name, given, repair, tz)
        if symbol is None and len(chosen) > 1:
            return parts
        return parts[chosen[0]]
    name = symbol if symbol is not None else table.stem
    return _finish(table, values, names, stamps, rows, name, given, repair, tz)


def _numeric(table: _Table, column: pd.Series, name: str, rows: np.ndarray) -> np.ndarray:
    if column.dtype == np.float64:  # a view: the frame built from it makes the one copy
        return column.to_numpy()
    if pd.api.types.is_numeric_dtype(column.dtype) and not pd.api.types.is_bool_dtype(column.dtype):
        return column.to_numpy(dtype=np.float64, na_value=np.nan)
    converted = pd.to_numeric(column, errors="coerce")
    bad = (converted.isna() & column.notna()).to_numpy()
    if bad.any():
        raw = column.to_numpy()
        first = raw[int(np.argmax(bad))]
        problem = "not a number"
        if isinstance(first, str) and _DECIMAL_COMMA.fullmatch(first):
            reader = table.reader[:-1] + ", decimal=',')" if table.csv else "pd.read_csv(path, decimal=',')"
            problem += f"; for decimal commas read it with df = {reader} and pass df to load_bars"
        _fail(table, rows, bad, name, raw, problem)
    return converted.to_numpy(dtype=np.float64, na_value=np.nan)


def _finish(
    table: _Table,
    values: dict[str, np.ndarray],
    names: dict[str, str],
    stamps: np.ndarray,
    rows: np.ndarray,
    symbol: str | None,
    timeframe: str | None,
    repair: bool,
    tz: str | tzinfo | None,
) -> pd.DataFrame:
    _check_values(table, values, names, rows)
    repairs: list[str] = []
    stamps, values, rows = _check_times(table, stamps, values, names, rows, repair, repairs)
    inferred = _infer_from_ns(stamps)
    if timeframe is None:
        timeframe = inferred
    elif inferred is not None:
        given_s, inferred_s = timeframe_seconds(timeframe), timeframe_seconds(inferred)
        if given_s is not None and inferred_s is not None and inferred_s < given_s:
            raise DataError(
                f"{table.name}: timeframe {timeframe!r} was given but the bars are mostly "
                f"{inferred} apart"
            )
    if not repairs and _is_canonical(table.frame, len(stamps)):
        # already in the output's shape: share its data (pandas copies on first write)
        frame = table.frame.copy(deep=False)
    else:
        index = pd.DatetimeIndex(stamps.view("datetime64[ns]"), name="timestamp").tz_localize("UTC")
        frame = pd.DataFrame({k: values[k] for k in COLUMNS}, index=index)
    frame.attrs = {
        "symbol": symbol,
        "timeframe": timeframe,
        "source": table.source,
        "gaps": find_gaps(stamps, timeframe, tz),
        "repairs": repairs,
    }
    return frame


def _is_canonical(frame: pd.DataFrame, n: int) -> bool:
    """Return whether ``frame`` already is what load_bars returns (validated separately)."""
    index = frame.index
    return (
        len(frame) == n
        and tuple(frame.columns) == tuple(COLUMNS)
        and all(frame[c].dtype == np.float64 for c in COLUMNS)
        and isinstance(index, pd.DatetimeIndex)
        and index.dtype == "datetime64[ns, UTC]"
        and index.name == "timestamp"
    )


def _check_values(
    table: _Table, values: dict[str, np.ndarray], names: dict[str, str], rows: np.ndarray
) -> None:
    prices = np.column_stack([values[k] for k in PRICE_COLUMNS])
    for mask, problem in (
        (~np.isfinite(prices), "NaN or infinite price"),
        (prices <= 0, "price is zero or negative"),
    ):
        if mask.any():
            row_any = mask.any(axis=1)
            first = int(np.argmax(row_any))
            col = PRICE_COLUMNS[int(np.argmax(mask[first]))]
            _fail(table, rows, row_any, names[col], values[col], problem)
    o, h, low, c, v = (values[k] for k in COLUMNS)
    bad = h < low
    if bad.any():
        _fail(table, rows, bad, names["high"], h, "high is below low", other=("low", names["low"], low))
    for col, series in (("open", o), ("close", c)):
        bad = (series < low) | (series > h)
        if bad.any():
            i = int(np.argmax(bad))
            side = ("low", names["low"], low) if series[i] < low[i] else ("high", names["high"], h)
            where = "below low" if series[i] < low[i] else "above high"
            _fail(table, rows, bad, names[col], series, f"{col} is {where}", other=side)
    bad = ~np.isfinite(v)
    if bad.any():
        _fail(table, rows, bad, names["volume"], v, "NaN or infinite volume")
    bad = v < 0
    if bad.any():
        _fail(table, rows, bad, names["volume"], v, "negative volume")


def _check_times(
    table: _Table,
    stamps: np.ndarray,
    values: dict[str, np.ndarray],
    names: dict[str, str],
    rows: np.ndarray,
    repair: bool,
    repairs: list[str],
) -> tuple[np.ndarray, dict[str, np.ndarray], np.ndarray]:
    diff = np.diff(stamps)
    back = diff < 0
    if back.any():
        if not repair:
            i = int(np.argmax(back)) + 1
            _fail(
                table, rows, np.r_[False, back], names["timestamp"], _stamp_strings(stamps),
                f"out of time order (earlier than row {rows[i - 1]}, {_stamp(stamps[i - 1])}); "
                "repair=True sorts rows by time",
            )
        order = np.argsort(stamps, kind="stable")
        first = int(rows[int(np.argmax(back)) + 1])
        repairs.append(
            f"sorted rows into time order ({int(back.sum())} rows were earlier than the row "
            f"before them, first row {first})"
        )
        stamps, rows = stamps[order], rows[order]
        values = {k: a[order] for k, a in values.items()}
        diff = np.diff(stamps)
    same = diff == 0
    if same.any():
        block = np.column_stack([values[k] for k in COLUMNS])
        identical = same & (block[1:] == block[:-1]).all(axis=1)
        differing = same & ~identical
        if differing.any():
            i = int(np.argmax(differing)) + 1
            col = COLUMNS[int(np.argmax(block[i] != block[i - 1]))]
            _fail(
                table, rows, np.r_[False, differing], names["timestamp"], _stamp_strings(stamps),
                f"duplicate timestamp with different values (row {rows[i - 1]} has the same time; "
                f"{names[col]} {float(block[i - 1, COLUMNS.index(col)])!r} vs {float(block[i, COLUMNS.index(col)])!r})",
            )
        if not repair:
            i = int(np.argmax(same)) + 1
            _fail(
                table, rows, np.r_[False, same], names["timestamp"], _stamp_strings(stamps),
                f"duplicate timestamp (row {rows[i - 1]} is identical); "
                "repair=True drops exact duplicate rows",
            )
        drop = np.r_[False, identical]
        dropped = rows[drop]
        listed = ", ".join(str(r) for r in dropped[:10]) + (", ..." if dropped.size > 10 else "")
        repairs.append(f"dropped {dropped.size} exact duplicate rows (rows {listed})")
        keep = ~drop
        stamps, rows = stamps[keep], rows[keep]
        values = {k: a[keep] for k, a in values.items()}
    return stamps, values, rows


def _stamp(ns: int | np.integer) -> str:
    return str(pd.Timestamp(int(ns), unit="ns", tz="UTC"))


class _stamp_strings:  # noqa: N801 - behaves like an array for _fail, formats lazily
    def __init__(self, stamps: np.ndarray) -> None:
        self.stamps = stamps

    def __getitem__(self, i: int) -> str:
        return _stamp(self.stamps[i])


def _fail(
    table: _Table,
    rows: np.ndarray,
    mask: np.ndarray,
    column: str,
    values: Any,
    problem: str,
    other: tuple[str, str, np.ndarray] | None = None,
) -> None:
    hits = np.flatnonzero(mask)
    i = int(hits[0])
    value = _plain(values[i])
    message = f"{table.where(int(rows[i]))}, column {column!r}, value {value!r}: {problem}"
    if other is not None:
        message += f" ({other[1]} is {float(other[2][i])!r})"
    if hits.size > 1:
        message += f"; {hits.size - 1} more row{'s' if hits.size > 2 else ''} with the same problem"
    raise DataError(message)


def _plain(value: Any) -> Any:
    """Return a numpy scalar as the Python number whose repr reads plainly (1.0, not np.float64(1.0))."""
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, (np.floating, float)):
        return float(value)
    if isinstance(value, np.integer):
        return int(value)
    return value


# ----------------------------------------------------------------------------- time zones


def _parse_times(
    table: _Table,
    times: Any,
    column: str,
    rows: np.ndarray,
    tz: str | tzinfo | None,
    *,
    dayfirst: bool = False,
    unit: str | None = None,
) -> np.ndarray:
    """Return int64 nanoseconds since the epoch, UTC, one per row."""
    dtype = times.dtype
    if isinstance(dtype, pd.DatetimeTZDtype):
        parsed = pd.DatetimeIndex(times)
    elif pd.api.types.is_datetime64_dtype(dtype):
        parsed = _localize(table, pd.DatetimeIndex(times), column, rows, tz)
    elif pd.api.types.is_bool_dtype(dtype):
        everywhere = np.ones(len(times), dtype=bool)
        _fail(table, rows, everywhere, column, np.asarray(times), "True/False is not a date")
    elif pd.api.types.is_numeric_dtype(dtype):
        numbers = pd.Series(times, copy=False).reset_index(drop=True)
        parsed = _parse_epoch(table, numbers, numbers.array, column, rows, unit)
    else:
        strings = pd.Series(times, copy=False).reset_index(drop=True)
        if strings.dtype == object:
            strings = strings.map(lambda x: x if isinstance(x, str) or x is None or x != x else str(x))
        parsed = _parse_text(table, strings, column, rows, tz, dayfirst, unit)
    utc = parsed.tz_convert("UTC")
    try:
        stamps = utc.as_unit("ns").asi8
    except (OverflowError, ValueError):  # pandas 3 reads dates past 2262 at a coarser unit
        low, high = pd.Timestamp.min.tz_localize("UTC"), pd.Timestamp.max.tz_localize("UTC")
        outside = np.asarray((utc < low) | (utc > high))
        _fail(table, rows, outside, column, np.asarray(times, dtype=object), f"outside {_NS_RANGE}")
    nat = stamps == np.iinfo(np.int64).min
    if nat.any():
        _fail(table, rows, nat, column, np.asarray(times, dtype=object), "missing or unparseable date")
    return stamps


def _parse_text(
    table: _Table,
    strings: pd.Series,
    column: str,
    rows: np.ndarray,
    tz: str | tzinfo | None,
    dayfirst: bool,
    unit: str | None,
) -> pd.DatetimeIndex:
    """Parse text times: dates, or epoch numbers written as text (as every CSV has them)."""
    first = strings.first_valid_index()
    if first is None:  # nothing but blanks: refused as missing dates
        return _parse_strings(table, strings, column, rows, tz, "ISO8601", dayfirst)
    value = strings.iloc[first]
    fmt = _date_format(value, dayfirst)
    number = isinstance(value, str) and _NUMBER.fullmatch(value) is not None
    if number and (unit is not None or not _reads_as_date(value, fmt)):
        numbers = pd.to_numeric(strings, errors="coerce", dtype_backend="numpy_nullable")
        raw = strings.array  # positional, no copy: only read for a message
        bad = (numbers.isna() & strings.notna()).to_numpy()
        if bad.any():
            _fail(table, rows, bad, column, raw, f"not an epoch number like row {rows[first]} ({value!r})")
        return _parse_epoch(table, numbers, raw, column, rows, unit)
    return _parse_strings(table, strings, column, rows, tz, fmt, dayfirst)


def _date_format(value: Any, dayfirst: bool) -> str | None:
    """Return the format that reads ``value`` as a date: ISO 8601, one pandas guesses, or None."""
    try:
        pd.to_datetime(pd.Series([value]), format="ISO8601")
        return "ISO8601"
    except (ValueError, OverflowError, TypeError):
        pass
    if not isinstance(value, str):
        return None
    with warnings.catch_warnings():
        # pandas warns when it guesses a day-first format without dayfirst=True (31/01/2020 can
        # only be day first), and from Cython, so that as an error it prints a traceback
        warnings.simplefilter("ignore")
        return guess_datetime_format(value, dayfirst=dayfirst)


def _reads_as_date(value: str, fmt: str | None) -> bool:
    """Return whether digits such as ``20200131`` are a date (one a timestamp can hold)."""
    if fmt is None:
        return False
    try:
        stamp = pd.to_datetime(pd.Series([value]), format=fmt).iloc[0]
    except (ValueError, OverflowError):
        return False
    return bool(pd.Timestamp.min <= stamp.tz_localize(None) <= pd.Timestamp.max)


def _parse_epoch(
    table: _Table, numbers: pd.Series, raw: Any, column: str, rows: np.ndarray, unit: str | None
) -> pd.DatetimeIndex:
    """Read epoch numbers in ``unit``, or in the unit their size implies (see the module notes)."""
    missing = numbers.isna().to_numpy()
    exact = pd.api.types.is_signed_integer_dtype(numbers.dtype)
    if exact:  # keep integers as integers: 19-digit nanoseconds do not survive a float64
        values: np.ndarray = numbers.to_numpy(dtype=np.int64, na_value=0)
    else:
        values = numbers.to_numpy(dtype=np.float64, na_value=np.nan)
    size = np.abs(values.astype(np.float64))
    if unit is None:
        band = np.full(len(values), -1, dtype=np.int8)
        for i, (_, low, high) in enumerate(_EPOCH_BANDS):
            band[(values > 0) & (size >= low) & (size < high)] = i
        none = (band < 0) & ~missing
        if none.any():
            value = _plain(raw[int(np.argmax(none))])
            digits = isinstance(value, int) and len(str(value)) in (8, 12, 14)
            _fail(
                table, rows, none, column, raw,
                "numbers are not dates unless they count seconds (9-10 digits), milliseconds "
                "(12-13), microseconds (15-16) or nanoseconds (18-19) since 1970-01-01 UTC; "
                "pass unit='s', 'ms', 'us' or 'ns' if this one does"
                + (f" (a date written as digits, 20200131? make the column text: df[{column!r}].astype(str))"
                   if digits else ""),
            )
        if missing.all():
            return pd.DatetimeIndex(np.full(len(values), np.datetime64("NaT", "ns"))).tz_localize("UTC")
        first = int(np.argmax(~missing))
        unit = _EPOCH_BANDS[band[first]][0]
        differs = (band != band[first]) & ~missing
        if differs.any():
            other = _EPOCH_BANDS[band[int(np.argmax(differs))]][0]
            _fail(
                table, rows, differs, column, raw,
                f"{_UNIT_NAMES[other]} since the epoch by its size, but row {rows[first]} "
                f"({_plain(raw[first])!r}) is {_UNIT_NAMES[unit]}; give one unit per column",
            )
    per_ns = _UNIT_NS[unit]
    outside = (size > (2**63 - 1) // per_ns) & ~missing
    beyond = f"as {_UNIT_NAMES[unit]} since the epoch, outside {_NS_RANGE}"
    if outside.any():
        _fail(table, rows, outside, column, raw, beyond)
    if exact:
        ns = values * per_ns
        ns[missing] = np.iinfo(np.int64).min  # NaT
        return pd.DatetimeIndex(ns.view("datetime64[ns]")).tz_localize("UTC")
    try:
        parsed = pd.to_datetime(pd.Series(values), unit=unit)
    except (ValueError, OverflowError):  # a float a hair past the edge
        _fail(table, rows, ~missing, column, raw, beyond)
    return pd.DatetimeIndex(parsed).tz_localize("UTC")


def _parse_strings(
    table: _Table,
    strings: pd.Series,
    column: str,
    rows: np.ndarray,
    tz: str | tzinfo | None,
    fmt: str | None,
    dayfirst: bool,
) -> pd.DatetimeIndex:
    try:
        with warnings.catch_warnings():
            # with no format pandas tries its own guess: "could not infer format" = refuse (this
            # is a Python warning; the Cython one about day-first guesses needs a format, which
            # _date_format would have found)
            warnings.simplefilter("error", UserWarning)
            parsed = pd.DatetimeIndex(pd.to_datetime(strings, format=fmt, dayfirst=dayfirst and fmt is None))
    except (ValueError, OverflowError, TypeError, UserWarning):
        return _parse_slow(table, strings, column, rows, tz, fmt, dayfirst)
    if parsed.tz is None:
        return _localize(table, parsed, column, rows, tz)
    return parsed  # one fixed offset throughout: a consistent zone


def _parse_slow(
    table: _Table,
    strings: pd.Series,
    column: str,
    rows: np.ndarray,
    tz: str | tzinfo | None,
    fmt: str | None,
    dayfirst: bool,
) -> pd.DatetimeIndex:
    """Find why the column failed to parse as one: a bad value or mixed time zones."""
    raw = strings.to_numpy(dtype=object)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "could not infer format", day-first guesses: refused below
        utc = pd.DatetimeIndex(
            pd.to_datetime(strings, format=fmt, utc=True, errors="coerce", dayfirst=dayfirst)
        )
    bad = np.asarray(utc.isna())
    if bad.any() or fmt != "ISO8601":  # other formats have no offsets to sort out
        _fail(table, rows, bad if bad.any() else np.ones(len(raw), bool), column, raw,
              "unparseable date" + _dayfirst_hint(fmt, dayfirst) if bad.any() else
              "unrecognised date format; write ISO 8601, e.g. 2020-01-31 09:30:00")
    text = strings.astype(str).astype(object).str.strip()
    aware = text.str.contains(_OFFSET).to_numpy()
    if not aware.all():
        mixed = aware != aware[0]
        first_kind = "has a UTC offset" if aware[0] else "has no UTC offset"
        _fail(
            table, rows, mixed, column, raw,
            f"mixed time zones: row {rows[0]} {first_kind} but this row "
            f"{'does not' if aware[0] else 'does'}; give every timestamp an offset or none",
        )
    wall = pd.DatetimeIndex(pd.to_datetime(text.str.replace(_OFFSET_TAIL, "", regex=True), format=fmt))
    offsets = wall.as_unit("ns").asi8 - utc.as_unit("ns").asi8
    if tz is None:
        differs = offsets != offsets[0]
        _fail(
            table, rows, differs, column, raw,
            f"mixed time zones: UTC offset differs from row {rows[0]} ({raw[0]!r}); if these are one "
            "zone's local times with daylight saving, pass tz=<that zone> to check and accept them",
        )
    local = utc.tz_convert(tz).tz_localize(None).as_unit("ns").asi8 - utc.as_unit("ns").asi8
    wrong = offsets != local
    if wrong.any():
        i = int(np.argmax(wrong))
        _fail(
            table, rows, wrong, column, raw,
            f"mixed time zones: the UTC offset is not {tz}'s at that instant "
            f"({pd.Timedelta(int(local[i]), unit='ns')})",
        )
    return utc


def _dayfirst_hint(fmt: str | None, dayfirst: bool) -> str:
    """Suggest flipping ``dayfirst`` when the format read the first rows one way round."""
    if fmt is None or "%d" not in fmt or "%m" not in fmt:
        return ""
    read = f" (read as {fmt}, the first row's format); if dates are"
    if fmt.index("%m") < fmt.index("%d") and not dayfirst:
        return f"{read} day first (31/01/2020), pass dayfirst=True"
    if fmt.index("%d") < fmt.index("%m") and dayfirst:
        return f"{read} month first (01/31/2020), leave out dayfirst=True"
    return ""


def _localize(
    table: _Table, naive: pd.DatetimeIndex, column: str, rows: np.ndarray, tz: str | tzinfo | None
) -> pd.DatetimeIndex:
    """Read naive times as UTC, or as wall times in ``tz``, refusing DST-ambiguous ones."""
    if tz is None:
        return naive.tz_localize("UTC")
    local = naive.tz_localize(tz, ambiguous="NaT", nonexistent="NaT")
    bad = np.asarray(local.isna()) & ~np.asarray(naive.isna())
    if bad.any():
        i = int(np.argmax(bad))
        shifted = naive[i : i + 1].tz_localize(tz, ambiguous="NaT", nonexistent="shift_forward")
        kind = (
            "ambiguous: the clocks fall back and it happens twice"
            if shifted.isna()[0]
            else "does not exist: the clocks spring forward over it"
        )
        _fail(table, rows, bad, column, np.asarray(naive.astype(str)), f"{kind} in {tz}")
    return local
