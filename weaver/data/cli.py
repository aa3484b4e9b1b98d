"""``weaver data``: add a CSV or Parquet file of bars to the catalog, and show what the catalog holds.

The catalog is ``WEAVER_CATALOG``, or ``catalog`` under ``WEAVER_HOME`` (``~/.weaver``): the
bars that backtest runs, the server's candles and symbols, and the emulator read. A file is
validated as ``load_bars`` validates it; what is wrong is one line naming the file, the row and
the column.
"""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["add_parser", "cmd_import", "cmd_list"]

_DESCRIPTION = """\
Manage the catalog of bars: WEAVER_CATALOG, or the folder catalog under WEAVER_HOME
(~/.weaver by default). Examples:

  weaver data import data/GOOG.csv --symbol GOOG          # the timeframe is inferred: 1d
  weaver data import eth.csv --symbol ETH/USD --timeframe 1m --sep ';' --dayfirst
  weaver data list
"""


def add_parser(sub: Any) -> None:
    """Add the ``data`` command and its ``import`` and ``list`` actions to the ``weaver`` command."""
    parser = sub.add_parser("data", help="add bars to the catalog; list what it holds", description=_DESCRIPTION,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    imp = actions.add_parser("import", help="validate a CSV or Parquet file of bars and add it to the catalog",
                             description="Validate FILE as load_bars does and store it as SYMBOL's bars.")
    imp.add_argument("file", metavar="FILE", help="CSV (optionally compressed) or Parquet file of OHLCV bars")
    imp.add_argument("--symbol", required=True, help="the symbol the bars are stored under, e.g. AAPL or BTC/USD")
    imp.add_argument("--timeframe", help="the bar size, e.g. 1m, 1h, 1d (default: inferred from the times)")
    imp.add_argument("--tz", help="the zone of naive times, e.g. America/New_York (default: UTC)")
    imp.add_argument("--sep", default=",", help="the CSV field separator (default ,)")
    imp.add_argument("--dayfirst", action="store_true", help="read 01/02/2024 as 1 February")
    imp.add_argument("--repair", action="store_true",
                     help="sort rows into time order and drop exact duplicate rows, saying what changed")
    imp.add_argument("--replace", action="store_true", help="replace the symbol's bars of that timeframe if stored")
    imp.set_defaults(func=cmd_import)
    listing = actions.add_parser("list", help="show the symbols, timeframes and bars the catalog holds",
                                 description="Show each symbol and timeframe in the catalog: bars, first, last.")
    listing.set_defaults(func=cmd_list)


def _catalog() -> Any:
    from weaver.catalog import Catalog
    from weaver.settings import load_settings

    return Catalog(load_settings().catalog_path)


def cmd_import(args: argparse.Namespace) -> int:
    """Validate a file of bars and write it into the catalog; print what was stored and where."""
    import warnings

    from weaver.core.errors import DataError
    from weaver.data import DataWarning, load_bars
    from weaver.data.timeframe import normalize_timeframe

    catalog = _catalog()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DataWarning)
        bars = load_bars(args.file, args.symbol, args.timeframe, repair=args.repair, tz=args.tz, sep=args.sep,
                         dayfirst=args.dayfirst)
    timeframe = bars.attrs["timeframe"]  # type: ignore[union-attr]
    if timeframe is None:
        raise DataError(f"{args.file}: cannot infer the timeframe from its times; give --timeframe")
    if catalog.has(args.symbol, timeframe) and not args.replace:
        held = catalog.entry(args.symbol, timeframe)
        raise DataError(f"{args.symbol} {normalize_timeframe(timeframe)} is in the catalog already "
                        f"({_describe(held.bars, held.start, held.end)}); --replace replaces it")
    try:
        path = catalog.write(bars, args.symbol, timeframe)
    except OSError as exc:  # a catalog folder that cannot be written: one line, not a traceback
        raise DataError(f"cannot write to the catalog {catalog.root} (WEAVER_CATALOG or WEAVER_HOME): "
                        f"{exc.strerror or exc}") from None
    entry = catalog.entry(args.symbol, timeframe)
    gaps = bars.attrs.get("gaps")  # type: ignore[union-attr]
    print(f"{args.symbol} {entry.timeframe}: {_describe(entry.bars, entry.start, entry.end)} -> {path}")
    if gaps:
        first = gaps[0]
        print(f"note: {len(gaps):,} gaps, {gaps.total_missing:,} bars missing in all (reported, not refused; "
              f"the first: {_when(first['start'])}, {first['missing']} missing)")
    for warning in caught:
        if issubclass(warning.category, DataWarning):
            print(f"note: {warning.message}")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    """Print the catalog's folder and a table of its symbols and timeframes."""
    catalog = _catalog()
    entries = catalog.entries()
    print(f"catalog: {catalog.root}")
    if not entries:
        print("it is empty: `weaver data import FILE --symbol SYMBOL` adds bars "
              "(`weaver serve` seeds it with the sample data on first start)")
        return 0
    rows = [(e.symbol, e.timeframe, f"{e.bars:,}", _when(e.start), _when(e.end)) for e in entries]
    header = ("symbol", "timeframe", "bars", "first", "last (UTC)")
    widths = [max(len(row[k]) for row in [*rows, header]) for k in range(len(header))]
    for row in [header, *rows]:
        cells = [cell.rjust(widths[k]) if k == 2 else cell.ljust(widths[k]) for k, cell in enumerate(row)]
        print("  ".join(cells).rstrip())
    return 0


def _describe(bars: int, start: Any, end: Any) -> str:
    if not bars:
        return "no bars"
    return f"{bars:,} bars, {_when(start)} .. {_when(end)}"


def _when(stamp: Any) -> str:
    """Return a UTC time as a date when it is midnight, else with its time of day."""
    if stamp is None:
        return "-"
    if (stamp.hour, stamp.minute, stamp.second, stamp.microsecond, stamp.nanosecond) == (0, 0, 0, 0, 0):
        return stamp.strftime("%Y-%m-%d")
    return stamp.strftime("%Y-%m-%d %H:%M" if stamp.second == 0 and stamp.microsecond == 0 else "%Y-%m-%d %H:%M:%S")
