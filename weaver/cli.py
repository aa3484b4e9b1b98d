"""The ``weaver`` command line."""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


#: modules that each add commands with ``add_parser(subparsers)``; they import heavy
#: libraries only inside their command functions, so ``weaver --help`` stays quick
_COMMAND_MODULES = ("weaver.reports.cli", "weaver.research.cli", "weaver.store.cli", "weaver.api.cli",
                    "weaver.data.cli")


def _parse_value(text: str) -> Any:
    """Read a ``-p NAME VALUE`` value the way YAML reads a scalar (``10`` is an int)."""
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def _params(pairs: list[list[str]] | None) -> dict[str, Any]:
    return {name: _parse_value(value) for name, value in (pairs or [])}


def _format_stats(stats: Any) -> str:
    lines = []
    for key, value in stats.items():
        if isinstance(value, float):
            text = f"{value:,.6g}" if abs(value) < 1e4 else f"{value:,.2f}"
        else:
            text = str(value)
        lines.append(f"  {key:<24} {text}")
    return "\n".join(lines)


@contextmanager
def _progress_bar(label: str) -> Iterator[Callable[[int, int], None]]:
    """Yield a ``progress(done, total)`` callback drawing a tqdm bar on stderr when it is a terminal."""
    from tqdm import tqdm

    bar = tqdm(total=0, desc=label, unit="bar", disable=None, leave=False, file=sys.stderr, mininterval=0.2)

    def progress(done: int, total: int) -> None:
        if bar.total != total:
            bar.reset(total=total)
        bar.update(done - bar.n)

    try:
        yield progress
    finally:
        bar.close()


def cmd_backtest(args: argparse.Namespace) -> int:
    """Run a strategy on a data file and print its statistics."""
    import weaver as wv
    from weaver.strategy.examples import resolve

    strategy = resolve(args.strategy)
    params = _params(args.param)
    path = Path(args.data)
    if not path.exists():
        raise wv.DataError(f"data file {str(path)!r} does not exist")
    bars = wv.load_bars(path)
    strategy.validate_params(**params)  # a bad -p is reported before any work
    with _progress_bar(f"{strategy.__name__} on {path.name}") as progress:
        result = wv.backtest(strategy, bars, cash=args.cash, commission=args.commission, progress=progress, **params)
    stats = result.stats
    if args.html:
        out = Path(args.html)
        out.parent.mkdir(parents=True, exist_ok=True)
        result.plot().write_html(out, include_plotlyjs=True, full_html=True)
    if args.json:
        payload = {k: (v if isinstance(v, int | float | str | None) else str(v)) for k, v in stats.items()}
        payload = {k: (None if isinstance(v, float) and v != v else v) for k, v in payload.items()}
        payload["notes"] = result.notes
        if args.html:
            payload["chart"] = str(Path(args.html).resolve())
        print(json.dumps(payload, indent=2))
        return 0
    described = ", ".join(f"{k}={v!r}" for k, v in result.params.items())
    print(f"{strategy.__name__}({described}) on {', '.join(result.bars)} ({path})")
    print(_format_stats(stats))
    for note in result.notes:  # what the broker refused: never silent
        print(f"note: {note}")
    if args.html:
        print(f"chart: {Path(args.html).resolve()}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the ``weaver`` command."""
    parser = argparse.ArgumentParser(prog="weaver", description="Weaver: research, backtest and report trading strategies.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    bt = sub.add_parser("backtest", help="backtest a strategy on a data file and print its statistics",
                        description="Backtest STRATEGY (an example name such as sma_cross, or module:Class) on DATA (CSV or Parquet).")
    bt.add_argument("strategy", help="example name (sma_cross, rsi_reversion, momentum_rotation) or module:Class")
    bt.add_argument("data", help="CSV or Parquet file of OHLCV bars")
    bt.add_argument("-p", "--param", nargs=2, action="append", metavar=("NAME", "VALUE"), help="a strategy parameter (repeatable)")
    bt.add_argument("--cash", type=float, default=100_000, help="starting cash (default 100000)")
    bt.add_argument("--commission", type=float, default=None, help="commission as a fraction of notional, e.g. 0.001")
    bt.add_argument("--html", metavar="PATH", help="also write the interactive chart to PATH")
    bt.add_argument("--json", action="store_true", help="print the statistics as JSON")
    bt.set_defaults(func=cmd_backtest)
    for module in _COMMAND_MODULES:
        importlib.import_module(module).add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit status.

    The working directory comes first on ``sys.path`` while the command runs, as under
    ``python -m``: ``module:Class`` finds a strategy module there (the console script's
    ``sys.path[0]`` is the directory of the ``weaver`` executable).
    """
    import os

    from weaver.core.errors import WeaverError

    args = build_parser().parse_args(argv)
    cwd = os.getcwd()
    added = sys.path[:1] != [cwd]
    if added:
        sys.path.insert(0, cwd)
    try:
        return int(args.func(args) or 0)
    except WeaverError as exc:
        print(f"weaver {args.command}: error: {exc}", file=sys.stderr)
        return 2
    finally:
        if added and cwd in sys.path:
            sys.path.remove(cwd)


def console(argv: list[str] | None = None) -> int:
    """Run the command line as the ``weaver`` command: a process Weaver owns, so tuned for its work.

    :func:`main` is the same without the tuning, for calls from a user's own process.
    """
    from weaver.owned_process import tune_owned_process

    tune_owned_process()
    return main(argv)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(console())
