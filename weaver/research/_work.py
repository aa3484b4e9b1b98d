"""What a worker runs: a batch of combinations on bars it already holds; rows travel back.

Light to import (no pandas at import time) so process and Dask workers start quickly.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

#: the statistics a sweep row carries, in :func:`weaver.backtesting.stats.compute_stats`'s order
STAT_NAMES: tuple[str, ...] = (
    "start", "end", "duration", "exposure_pct", "equity_start", "equity_final", "equity_peak",
    "total_return", "buy_hold_return", "cagr", "volatility", "sharpe", "sortino", "calmar",
    "max_drawdown", "max_drawdown_duration", "n_trades", "win_rate", "profit_factor",
    "avg_trade_pct", "best_trade_pct", "worst_trade_pct", "commission", "total_trades",
    "winning_trades", "total_pnl", "sharpe_ratio",
)

#: metrics where a smaller value is better (everything else: larger is better; drawdowns are
#: negative fractions, so the largest is the shallowest)
LOWER_IS_BETTER = frozenset({"volatility", "max_drawdown_duration", "commission", "duration"})

#: one unit of work: (row position, symbol or None for all the bars, checked parameters)
Item = tuple[int, "str | None", dict[str, Any]]


@dataclass(frozen=True)
class Job:
    """How every combination of a sweep runs: the strategy class and the backtest options."""

    strategy: type
    options: dict[str, Any] = field(default_factory=dict)


def run_items(job: Job, frames: dict[str, Any], items: list[Item]) -> tuple[list[dict[str, Any]], float]:
    """Backtest each item on ``frames``; return one row per item and the seconds spent.

    A combination that raises gives a row whose ``error`` names the exception; the others
    are unaffected.
    """
    from weaver.backtesting.engine import run_backtest

    started = time.perf_counter()
    rows = []
    for pos, symbol, params in items:
        bars = frames if symbol is None else {symbol: frames[symbol]}
        row: dict[str, Any] = {"_pos": pos}
        try:
            stats = run_backtest(job.strategy, bars, params, **job.options).stats
            row.update({k: _plain(stats[k]) for k in STAT_NAMES})
            row["error"] = None
        except Exception as exc:  # one bad combination must not sink the sweep
            row["error"] = f"{type(exc).__name__}: {exc}"
        rows.append(row)
    return rows, time.perf_counter() - started


def _plain(value: Any) -> Any:
    item = getattr(value, "item", None)
    if item is not None and type(value).__module__ == "numpy":
        return item()
    return value


# -- process-pool worker state: the job and the bars arrive once, in the initializer --------

_STATE: dict[str, Any] = {}


def init_worker(job_blob: bytes, frames: dict[str, Any]) -> None:
    """Keep the sweep's job and bars in this worker process for all its batches."""
    import cloudpickle

    _STATE["job"] = cloudpickle.loads(job_blob)
    _STATE["frames"] = frames


def run_in_worker(items: list[Item]) -> tuple[list[dict[str, Any]], float]:
    """Run a batch in a pool worker prepared by :func:`init_worker`."""
    return run_items(_STATE["job"], _STATE["frames"], items)


def run_in_dask(job_blob: bytes, frames: dict[str, Any], items: list[Item]) -> tuple[list[dict[str, Any]], float]:
    """Run a batch on a Dask worker; ``frames`` is the scattered bars, resolved by Dask."""
    import cloudpickle

    return run_items(cloudpickle.loads(job_blob), frames, items)
