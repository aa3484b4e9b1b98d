"""Parameter sweeps: one backtest per combination of a grid, on processes, Dask, or vectorized."""

from __future__ import annotations

import html
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from weaver.core.config import RunConfig
from weaver.core.errors import ParameterError, WeaverError
from weaver.core.options import run_options
from weaver.research._work import (
    COUNT_NAMES,
    LOWER_IS_BETTER,
    STAT_NAMES,
    Item,
    Job,
    SweepBars,
)
from weaver.research.grid import Combination, expand_grid

if TYPE_CHECKING:
    import pandas as pd
    import plotly.graph_objects as go

METHODS = ("auto", "event", "vectorized")


class SweepResult:
    """The rows of a sweep: one per combination (and symbol, with ``per_symbol=True``).

    Attributes
    ----------
    frame
        A DataFrame: the swept parameters (and ``symbol``), every statistic of
        :mod:`weaver.backtesting.stats`, and ``error`` (None, or why that combination failed).
    metric
        The metric :meth:`best`, :meth:`top` and :meth:`heatmap` use by default.
    names
        The swept parameter names.
    method
        ``"event"`` or ``"vectorized"``: how the rows were computed.
    executor
        Where the event-driven rows ran (``"processes"``, ``"dask"``, ``"in-process"``).
    elapsed
        Wall-clock seconds of the sweep.
    info
        Run facts: ``compute_seconds`` (summed over workers), ``batches``, ``restarts`` …
    config
        The run options every combination ran with (:class:`~weaver.core.config.RunConfig`).
    params
        Each row's strategy parameters, every one of them, in the rows' order.
    """

    def __init__(self, *, strategy: type, frame: pd.DataFrame, params: list[dict[str, Any]], names: list[str],
                 metric: str, method: str, executor: str, elapsed: float, info: dict[str, Any],
                 config: RunConfig) -> None:
        self.strategy = strategy
        self.config = config
        self.frame = frame
        self.params = params
        self.names = names
        self.metric = metric
        self.method = method
        self.executor = executor
        self.elapsed = elapsed
        self.info = info

    def __len__(self) -> int:
        return len(self.frame)

    @property
    def errors(self) -> pd.DataFrame:
        """Return the rows whose combination failed."""
        return self.frame[self.frame["error"].notna()]

    def _ranked(self, metric: str | None) -> pd.DataFrame:
        metric = _check_metric(metric or self.metric)
        ok = self.frame[self.frame["error"].isna() & self.frame[metric].notna()]
        return ok.sort_values(metric, ascending=metric in LOWER_IS_BETTER, kind="stable")

    def best(self, metric: str | None = None) -> pd.Series:
        """Return the best row by ``metric`` (default: the sweep's), skipping failed and NaN rows.

        Larger is better, except for volatility, durations and commission.

        Raises
        ------
        WeaverError
            When no row has a value for the metric.
        """
        ranked = self._ranked(metric)
        if ranked.empty:
            raise WeaverError(f"no combination has a {metric or self.metric} value (failed rows: {len(self.errors)})")
        return ranked.iloc[0]

    def best_params(self, metric: str | None = None) -> dict[str, Any]:
        """Return every strategy parameter of the best row, ready for ``wv.backtest(..., **params)``."""
        return dict(self.params[int(self.best(metric).name)])

    def top(self, n: int = 10, metric: str | None = None) -> pd.DataFrame:
        """Return the ``n`` best rows by ``metric``."""
        return self._ranked(metric).head(n)

    def heatmap(self, x: str, y: str, metric: str | None = None, *, agg: str = "max") -> go.Figure:
        """Return a plotly heatmap of ``metric`` over parameters ``x`` and ``y``.

        Rows that share (x, y) — other swept parameters, or symbols — are combined with
        ``agg`` ("max", "mean", "median", "min").
        """
        import plotly.graph_objects as go

        metric = _check_metric(metric or self.metric)
        for axis in (x, y):
            if axis not in self.frame.columns or axis in STAT_NAMES or axis == "error":
                raise ParameterError(f"{axis!r} is not a swept parameter; the sweep's are {self.names}")
        ok = self.frame[self.frame["error"].isna()]
        table = ok.pivot_table(index=y, columns=x, values=metric, aggfunc=agg)
        fig = go.Figure(go.Heatmap(
            z=table.to_numpy(dtype=float), x=[str(v) for v in table.columns], y=[str(v) for v in table.index],
            colorscale="RdYlGn", colorbar={"title": metric},
            hovertemplate=f"{x}=%{{x}}<br>{y}=%{{y}}<br>{metric}=%{{z:.4g}}<extra></extra>",
        ))
        fig.update_layout(title=f"{self.strategy.__name__}: {metric} by {x} and {y}",
                          xaxis_title=x, yaxis_title=y, template="plotly_white")
        return fig

    def _repr_html_(self) -> str:
        cols = [c for c in ("symbol", *self.names) if c in self.frame.columns]
        shown = cols + [c for c in (self.metric, "total_return", "max_drawdown", "n_trades") if c not in cols]
        top = self.top(5)[shown].to_html(float_format=lambda v: f"{v:,.4g}")
        head = html.escape(
            f"{self.strategy.__name__} sweep: {len(self.frame)} rows ({len(self.errors)} failed), "
            f"{self.method} on {self.executor}, {self.elapsed:.2f}s; best by {self.metric}:")
        return f"<div><b>{head}</b>{top}</div>"

    def __repr__(self) -> str:
        return (f"<SweepResult {self.strategy.__name__}: {len(self.frame)} rows, {len(self.errors)} failed, "
                f"{self.method}/{self.executor}, {self.elapsed:.2f}s>")


def _check_metric(metric: str) -> str:
    if metric not in STAT_NAMES:
        raise ParameterError(f"unknown metric {metric!r}; choose one of {', '.join(STAT_NAMES)}")
    return metric


@run_options
def sweep(
    strategy: type,
    bars: Any,
    *,
    metric: str = "sharpe",
    constraint: Callable[[Combination], bool] | None = None,
    executor: Any = None,
    method: str = "auto",
    per_symbol: bool = False,
    progress: bool = True,
    config: RunConfig,
    **grid: Any,
) -> SweepResult:
    """Backtest ``strategy`` on every combination of ``grid`` and return a :class:`SweepResult`.

    Every combination runs with the same run options (keywords, or ``config=RunConfig(...)``;
    see "Other Parameters"), which the result keeps as ``config``.

    Parameters
    ----------
    strategy
        A :class:`~weaver.Strategy` subclass.
    bars
        As for :func:`weaver.backtest`: a frame, ``{symbol: frame}`` or a file path.
    metric
        The statistic that ranks the rows (``sharpe``, ``total_return``, …).
    constraint
        ``f(p) -> bool`` keeping a combination, e.g. ``lambda p: p.fast < p.slow``; ``p`` has
        every parameter (defaults filled in) as attributes.
    executor
        Where the event-driven backtests run: None (local processes, one per core), a number
        of processes (1: in this process), ``"in-process"``, a ``distributed.Client`` or a
        Dask scheduler address. See :mod:`weaver.research.executors`.
    method
        ``"event"`` (the engine, any strategy), ``"vectorized"`` (vectorbt, for strategies
        with ``signals()``; see :mod:`weaver.research.vectorized`) or ``"auto"``
        (vectorized when the strategy and options qualify).
    per_symbol
        With several symbols: backtest each symbol on its own (a ``symbol`` column) instead
        of one portfolio sharing cash.
    progress
        Show a progress bar (tqdm; a widget in notebooks).
    **grid
        Parameter name -> iterable of values (a single value pins it).

    Raises
    ------
    ParameterError
        Before any work: an empty grid, an unknown parameter or value, a constraint leaving
        nothing, an unknown metric or method, a method the strategy (or a run option) does
        not qualify for, or a keyword that is neither a run option nor a parameter.
    """
    from weaver.backtesting.engine import prepare_bars
    from weaver.core.errors import BacktestError
    from weaver.strategy.base import Strategy

    started = time.perf_counter()
    if not (isinstance(strategy, type) and issubclass(strategy, Strategy)):
        raise BacktestError(f"strategy must be a weaver.Strategy subclass, got {strategy!r}")
    _check_metric(metric)
    if method not in METHODS:
        raise ParameterError(f"method must be one of {METHODS}, got {method!r}")
    names, combos = expand_grid(strategy, grid, constraint)
    frames = SweepBars(prepare_bars(bars))  # prepared for the engine once per process
    symbols: list[str | None] = list(frames) if per_symbol else [None]
    items: list[Item] = []
    for params in combos:
        for sym in symbols:
            items.append((len(items), sym, params))
    chosen = _choose_method(strategy, method, config, frames, per_symbol)

    rows: dict[int, dict[str, Any]] = {}
    bar = _progress(progress, len(items), f"{strategy.__name__} sweep")

    def on_rows(batch: list[dict[str, Any]]) -> None:
        for row in batch:
            rows[row["_pos"]] = row
        bar.update(len(batch))

    try:
        if chosen == "vectorized":
            from weaver.research.vectorized import run_vectorized

            where = "in-process"
            info = run_vectorized(strategy, frames, items, config, on_rows)
        else:
            from weaver.research.executors import resolve_executor

            runner = resolve_executor(executor)
            where = runner.name
            # untimed: executors time their first combinations where they run them
            info = runner.run(Job(strategy, config), frames, items, on_rows)
    finally:
        bar.close()
    missing = [pos for pos in range(len(items)) if pos not in rows]
    if missing:  # an executor must return every row; say so loudly if one did not
        raise BacktestError(f"the sweep lost {len(missing)} of {len(items)} combinations (first: {items[missing[0]][2]})")
    frame = _frame(items, names, per_symbol, [rows[pos] for pos in range(len(items))])
    return SweepResult(strategy=strategy, frame=frame, params=[p for _, _, p in items], names=names, metric=metric,
                       method=chosen, executor=where, elapsed=time.perf_counter() - started, info=info,
                       config=config)


def _choose_method(strategy: type, method: str, config: RunConfig, frames: dict[str, Any], per_symbol: bool) -> str:
    if method == "event":
        return "event"
    from weaver.research.vectorized import unsupported

    reason = unsupported(strategy, config, frames, per_symbol)
    if reason is None:
        return "vectorized"
    if method == "vectorized":
        raise ParameterError(f"method='vectorized' cannot run this sweep: {reason}")
    return "event"


def _frame(items: list[Item], names: list[str], per_symbol: bool, rows: list[dict[str, Any]]) -> pd.DataFrame:
    import pandas as pd

    records = []
    for (_, sym, params), row in zip(items, rows, strict=True):
        rec: dict[str, Any] = {"symbol": sym} if per_symbol else {}
        rec.update({n: params[n] for n in names})
        rec.update({k: row.get(k) for k in STAT_NAMES})
        rec["error"] = row.get("error")
        records.append(rec)
    columns = (["symbol"] if per_symbol else []) + names + list(STAT_NAMES) + ["error"]
    frame = pd.DataFrame.from_records(records, columns=columns)
    for k in COUNT_NAMES:
        if frame[k].notna().all():
            frame[k] = frame[k].astype("int64")
    frame["error"] = pd.Series([r.get("error") for r in rows], index=frame.index, dtype=object)
    return frame


class _NoBar:
    def update(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass


def _progress(enabled: bool, total: int, desc: str) -> Any:
    if not enabled:
        return _NoBar()
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="run")
