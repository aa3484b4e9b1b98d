"""The ``weaver sweep`` command: sweep a strategy's parameters on a data file from the shell."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

_EXAMPLES = """examples:
  weaver sweep sma_cross data/GOOG.csv -g fast 5:50:5 -g slow 20:200:20 --constraint 'fast < slow'
  weaver sweep sma_cross data/GOOG.csv -g fast 5,10,20 -g slow 50 --method event --workers 2 --top 5
  weaver sweep sma_cross data/GOOG.csv -g fast 5:50:5 -g slow 20:200:20 --scheduler tcp://127.0.0.1:8786 --csv out.csv
  weaver sweep sma_cross data/GOOG.csv -g fast 5:50:5 -g slow 20:200:20 --walk-forward 500 250
"""


def add_parser(subparsers: Any) -> None:
    """Add the ``sweep`` command to the ``weaver`` command line."""
    p = subparsers.add_parser(
        "sweep", help="sweep a strategy's parameters and rank the combinations",
        description="Backtest STRATEGY on DATA for every combination of the -g grids and print the best rows.",
        epilog=_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("strategy", help="example name (sma_cross, rsi_reversion, momentum_rotation) or module:Class")
    p.add_argument("data", help="CSV or Parquet file of OHLCV bars")
    p.add_argument("-g", "--grid", nargs=2, action="append", metavar=("NAME", "VALUES"), required=True,
                   help="a swept parameter: START:STOP[:STEP] (inclusive), a,b,c, or one value (repeatable)")
    p.add_argument("--constraint", metavar="EXPR",
                   help="keep combinations where EXPR holds, e.g. 'fast < slow' (parameter names as variables)")
    p.add_argument("--metric", default="sharpe", help="statistic to rank by (default sharpe)")
    p.add_argument("--method", choices=("auto", "event", "vectorized"), default="auto",
                   help="event-driven engine, vectorbt, or auto (vectorized when the strategy qualifies)")
    p.add_argument("--workers", type=int, default=None, help="local worker processes (default: one per core; 1 = in this process)")
    p.add_argument("--scheduler", metavar="ADDR", help="run on the Dask cluster at ADDR (e.g. tcp://127.0.0.1:8786)")
    p.add_argument("--cash", type=float, default=100_000, help="starting cash (default 100000)")
    p.add_argument("--commission", type=float, default=None, help="commission as a fraction of notional, e.g. 0.001")
    p.add_argument("--top", type=int, default=10, help="rows to print (default 10)")
    p.add_argument("--walk-forward", nargs=2, metavar=("TRAIN", "TEST"),
                   help="walk forward instead: windows as numbers of bars or durations such as 365D")
    p.add_argument("--anchored", action="store_true", help="with --walk-forward: train every fold from the first bar")
    p.add_argument("--json", action="store_true", help="print the rows (or folds) as JSON")
    p.add_argument("--csv", metavar="PATH", help="also write every row (or fold) to PATH as CSV")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.set_defaults(func=cmd_sweep)


def _constraint(expr: str | None) -> Any:
    if not expr:
        return None
    code = compile(expr, "<constraint>", "eval")

    def keep(p: Any) -> bool:
        return bool(eval(code, {"__builtins__": {}}, dict(p)))  # noqa: S307 - the user's own shell expression

    return keep


def _window(text: str) -> Any:
    return int(text) if text.isdigit() else text


def cmd_sweep(args: argparse.Namespace) -> int:
    """Run a sweep (or a walk-forward) and print the best rows."""
    from weaver.core.errors import DataError, ParameterError
    from weaver.data import load_bars
    from weaver.research.grid import parse_range
    from weaver.research.sweep import sweep
    from weaver.research.walkforward import walk_forward
    from weaver.strategy.examples import resolve

    strategy = resolve(args.strategy)
    grid = {name: parse_range(values) for name, values in args.grid}
    path = Path(args.data)
    if not path.exists():
        raise DataError(f"data file {str(path)!r} does not exist")
    if args.scheduler and args.workers:
        raise ParameterError("give --workers or --scheduler, not both")
    executor = args.scheduler or args.workers
    common = dict(metric=args.metric, constraint=_constraint(args.constraint), executor=executor, method=args.method,
                  cash=args.cash, commission=args.commission, progress=not args.no_progress)
    bars = load_bars(path)
    if args.walk_forward:
        train, test = (_window(v) for v in args.walk_forward)
        wf = walk_forward(strategy, bars, train=train, test=test, anchored=args.anchored, **common, **grid)
        table = wf.folds
        summary = {"total_return": float(wf.stats["total_return"]), "sharpe": float(wf.stats["sharpe"]),
                   "n_trades": int(wf.stats["n_trades"]), "equity_final": float(wf.stats["equity_final"])}
    else:
        res = sweep(strategy, bars, **common, **grid)
        table = res.frame
        summary = {"rows": len(res.frame), "failed": len(res.errors), "method": res.method,
                   "executor": res.executor, "seconds": round(res.elapsed, 3)}
    if args.csv:
        out = Path(args.csv)
        out.parent.mkdir(parents=True, exist_ok=True)
        table.to_csv(out, index=False)
    if args.json:
        shown = table if args.walk_forward else res.top(args.top)
        payload = {"summary": summary, "rows": json.loads(shown.to_json(orient="records", date_format="iso"))}
        if not args.walk_forward:
            payload["best"] = {k: _plain(v) for k, v in res.best_params().items()}
        print(json.dumps(payload, indent=2, default=str))
        return 0
    if args.walk_forward:
        print(f"{strategy.__name__} walk-forward on {path}: {len(table)} folds, by {args.metric}")
        print(table.to_string(index=False))
        print("out of sample: " + ", ".join(f"{k} {v:,.4g}" for k, v in summary.items()))
    else:
        print(f"{strategy.__name__} sweep on {path}: {summary['rows']} rows ({summary['failed']} failed), "
              f"{res.method} on {res.executor}, {res.elapsed:.2f}s; top {args.top} by {args.metric}:")
        cols = [*(["symbol"] if "symbol" in table.columns else []), *res.names]
        cols += [c for c in (args.metric, "total_return", "max_drawdown", "n_trades", "equity_final") if c not in cols]
        print(res.top(args.top)[cols].to_string(index=False))
        print("best: " + ", ".join(f"{k}={v!r}" for k, v in res.best_params().items()))
    if args.csv:
        print(f"rows: {Path(args.csv).resolve()}", file=sys.stderr)
    return 0


def _plain(v: Any) -> Any:
    return v.item() if hasattr(v, "item") else v
