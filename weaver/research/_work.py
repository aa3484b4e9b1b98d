"""What a worker runs: a batch of combinations on bars it already holds; rows travel back.

Light to import (no pandas at import time) so process and Dask workers start quickly.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from weaver.core.config import RunConfig

#: the statistics a sweep row carries, in :func:`weaver.backtesting.stats.compute_stats`'s order
STAT_NAMES: tuple[str, ...] = (
    "start", "end", "duration", "exposure_pct", "equity_start", "equity_final", "equity_peak",
    "total_return", "buy_hold_return", "cagr", "volatility", "sharpe", "sortino", "calmar",
    "max_drawdown", "max_drawdown_duration", "n_trades", "n_open_trades", "win_rate", "profit_factor",
    "avg_trade_pct", "best_trade_pct", "worst_trade_pct", "commission", "n_orders", "n_orders_rejected",
    "n_orders_reduced",
)

#: the statistics that count things (integers in a sweep's frame)
COUNT_NAMES: tuple[str, ...] = tuple(k for k in STAT_NAMES if k.startswith("n_"))

#: metrics where a smaller value is better (everything else: larger is better; drawdowns are
#: negative fractions, so the largest is the shallowest)
LOWER_IS_BETTER = frozenset({"volatility", "max_drawdown_duration", "commission", "duration",
                             "n_orders_rejected", "n_orders_reduced"})

#: one unit of work: (row position, symbol or None for all the bars, checked parameters)
Item = tuple[int, "str | None", dict[str, Any]]


@dataclass(frozen=True)
class Job:
    """How every combination of a sweep runs: the strategy class and the run options."""

    strategy: type
    config: RunConfig = field(default_factory=RunConfig)


class SweepBars(dict):
    """A sweep's bars, ``{symbol: frame}``, that prepare themselves for the engine once per process.

    Every combination of a sweep runs on the same bars, so the engine's layout of them
    (:class:`~weaver.backtesting.engine.PreparedBars`) is made on first use in each process
    and kept on this object for the rest: once in this process, once per pool worker (which
    receives the bars once, in its initializer) and once per Dask worker (which holds one
    copy of the scattered bars for all its tasks). The prepared bars never travel: pickling
    gives the frames alone. Prepared bars are a snapshot of the frames (see ``PreparedBars``);
    a sweep's frames are the copy-on-write copies :func:`~weaver.backtesting.engine.prepare_bars`
    made of the caller's, so a caller changing its frames mid-sweep changes nothing here.
    """

    def __init__(self, frames: Any = ()) -> None:
        super().__init__(frames)
        self._prepared: dict[str | None, Any] = {}
        self._lock = threading.Lock()

    def prepared(self, symbol: str | None) -> Any:
        """Return the prepared bars of every symbol (``symbol`` None) or of ``symbol`` alone."""
        with self._lock:  # threads of one Dask worker share this object: prepare once
            bars = self._prepared.get(symbol)
            if bars is None:
                from weaver.backtesting.engine import PreparedBars

                bars = PreparedBars(self if symbol is None else {symbol: self[symbol]})
                self._prepared[symbol] = bars
        return bars

    def __reduce__(self) -> tuple[Any, ...]:
        return (SweepBars, (dict(self),))


def run_items(job: Job, frames: dict[str, Any], items: list[Item]) -> tuple[list[dict[str, Any]], float]:
    """Backtest each item on ``frames``; return one row per item and the seconds spent.

    A combination that raises gives a row whose ``error`` names the exception; the others
    are unaffected. With :class:`SweepBars`, the bars are prepared once per process for all
    batches; with a plain dict, once per call.
    """
    from weaver.backtesting.engine import run_backtest

    started = time.perf_counter()
    shared = frames if isinstance(frames, SweepBars) else SweepBars(frames)
    rows = []
    for pos, symbol, params in items:
        row: dict[str, Any] = {"_pos": pos}
        try:
            bars = shared.prepared(symbol)
            stats = run_backtest(job.strategy, bars, params, config=job.config).stats
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
    """Keep the sweep's job and bars in this worker process for all its batches.

    The pool's workers are processes Weaver started and owns, so the collector is tuned here
    (:mod:`weaver.owned_process`), and what they hold for their lifetime is left out of its scans.
    """
    import cloudpickle

    from weaver.owned_process import freeze_what_is_loaded, tune_owned_process

    tune_owned_process()
    _STATE["job"] = cloudpickle.loads(job_blob)
    _STATE["frames"] = frames if isinstance(frames, SweepBars) else SweepBars(frames)
    import weaver.backtesting.engine  # noqa: F401 - loaded before the freeze, not in the first batch

    freeze_what_is_loaded()


def run_in_worker(items: list[Item]) -> tuple[list[dict[str, Any]], float]:
    """Run a batch in a pool worker prepared by :func:`init_worker`."""
    return run_items(_STATE["job"], _STATE["frames"], items)


def run_in_dask(job_blob: bytes, frames: dict[str, Any], items: list[Item]) -> tuple[list[dict[str, Any]], float]:
    """Run a batch on a Dask worker; ``frames`` is the scattered bars, resolved by Dask.

    The worker passes the same object to all its tasks, so :class:`SweepBars` are prepared
    once per worker.
    """
    import cloudpickle

    return run_items(cloudpickle.loads(job_blob), frames, items)
