"""Walk-forward analysis: optimize in sample, trade the winner out of sample, fold after fold."""

from __future__ import annotations

import html
from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from weaver.core.config import RunConfig
from weaver.core.errors import ParameterError, WeaverError
from weaver.core.options import run_options
from weaver.research.grid import Combination

if TYPE_CHECKING:
    import pandas as pd
    import plotly.graph_objects as go

    from weaver.research.sweep import SweepResult


class WalkForwardResult:
    """The outcome of :func:`walk_forward`.

    Attributes
    ----------
    folds
        One row per fold: its train and test windows, the chosen parameters, the in-sample
        score (``is_<metric>``), the out-of-sample score (``oos_<metric>``), out-of-sample
        return and trade count, and ``error`` when the fold found no usable combination.
    equity
        The out-of-sample equity of every fold stitched into one curve: each fold starts
        where the previous one ended (its returns compounded onto the running capital).
    stats
        Statistics of the stitched curve and the out-of-sample trades.
    sweeps
        Each fold's in-sample :class:`~weaver.research.SweepResult`.
    config
        The run options of every fold's sweep and test run (:class:`~weaver.core.config.RunConfig`);
        each test run starts with the capital the previous fold ended with, at its window.
    """

    def __init__(self, *, strategy: type, metric: str, names: list[str], folds: pd.DataFrame, equity: pd.Series,
                 trades: pd.DataFrame, stats: pd.Series, sweeps: list[SweepResult], config: RunConfig) -> None:
        self.strategy = strategy
        self.config = config
        self.metric = metric
        self.names = names
        self.folds = folds
        self.equity = equity
        self.trades = trades
        self.stats = stats
        self.sweeps = sweeps

    def plot(self) -> go.Figure:
        """Return a plotly chart of the stitched out-of-sample equity, folds shaded in turn."""
        import plotly.graph_objects as go

        fig = go.Figure(go.Scatter(x=self.equity.index, y=self.equity.to_numpy(), name="out-of-sample equity",
                                   line={"color": "#1f77b4"}))
        for k, row in self.folds.iterrows():
            label = ", ".join(f"{n}={row[n]}" for n in self.names)
            fig.add_vrect(x0=row["test_start"], x1=row["test_end"], fillcolor="#888" if k % 2 else "#ccc",
                          opacity=0.15, line_width=0, annotation_text=label, annotation_position="top left",
                          annotation_font_size=9)
        fig.update_layout(title=f"{self.strategy.__name__} walk-forward ({len(self.folds)} folds, by {self.metric})",
                          template="plotly_white", yaxis_title="equity")
        return fig

    def _repr_html_(self) -> str:
        s = self.stats
        head = html.escape(f"{self.strategy.__name__} walk-forward: {len(self.folds)} folds by {self.metric}; "
                           f"out of sample: return {s['total_return']:.2%}, sharpe {s['sharpe']:.3g}, "
                           f"{s['n_trades']} trades")
        return f"<div><b>{head}</b>{self.folds.to_html(float_format=lambda v: f'{v:,.4g}')}</div>"

    def __repr__(self) -> str:
        return (f"<WalkForwardResult {self.strategy.__name__}: {len(self.folds)} folds, "
                f"out-of-sample return {self.stats['total_return']:.2%}>")


def _bars_or_time(value: Any, what: str) -> Any:
    import numpy as np
    import pandas as pd

    if isinstance(value, bool | np.bool_):
        raise ParameterError(f"{what} must be a number of bars or a duration, got {value!r}")
    if isinstance(value, np.integer):  # np.int64(500) is 500 bars, not 500 nanoseconds
        value = int(value)
    if isinstance(value, int):
        if value < 1:
            raise ParameterError(f"{what} must be at least 1 bar, got {value}")
        return value
    try:
        delta = pd.Timedelta(value)
    except (ValueError, TypeError):
        raise ParameterError(f"{what} must be a number of bars or a duration such as '365D', got {value!r}") from None
    if delta <= pd.Timedelta(0):
        raise ParameterError(f"{what} must be positive, got {value!r}")
    return delta


def folds(index: pd.DatetimeIndex, train: Any, test: Any, step: Any = None, anchored: bool = False) -> list[tuple[int, int, int, int]]:
    """Return ``(train_start, train_end, test_start, test_end)`` bar positions (ends exclusive).

    ``train``, ``test`` and ``step`` (default: ``test``) are numbers of bars or durations
    (``"365D"``, a Timedelta). Anchored folds all train from the first bar. The last test
    window may be shorter than ``test``.
    """
    train = _bars_or_time(train, "train")
    test = _bars_or_time(test, "test")
    step = test if step is None else _bars_or_time(step, "step")
    n = len(index)
    kinds = {isinstance(v, int) for v in (train, test, step)}
    if len(kinds) > 1:
        raise ParameterError("give train, test and step all as numbers of bars or all as durations")
    if step < test:
        raise ParameterError(f"step={step!r} is shorter than test={test!r}: the out-of-sample windows would overlap")
    out = []
    k = 0
    while True:
        if isinstance(train, int):
            start = 0 if anchored else k * step
            train_end = start + train if not anchored else train + k * step
            test_end = min(train_end + test, n)
        else:
            t0 = index[0]
            start_t = t0 if anchored else t0 + k * step
            end_t = (t0 + train + k * step) if anchored else start_t + train
            start = int(index.searchsorted(start_t))
            train_end = int(index.searchsorted(end_t))
            test_end = int(index.searchsorted(end_t + test))
        if train_end >= n or test_end <= train_end:
            break
        out.append((start, train_end, train_end, test_end))
        k += 1
    if not out:
        raise ParameterError(f"no fold fits: train={train!r} plus test={test!r} needs more than the {n} bars given")
    return out


@run_options
def walk_forward(
    strategy: type,
    bars: Any,
    *,
    train: Any,
    test: Any,
    step: Any = None,
    anchored: bool = False,
    metric: str = "sharpe",
    constraint: Callable[[Combination], bool] | None = None,
    executor: Any = None,
    method: str = "auto",
    progress: bool = True,
    config: RunConfig,
    **grid: Any,
) -> WalkForwardResult:
    """Optimize ``grid`` on each training window, trade the best parameters on the next test window.

    Each fold sweeps the training bars (as :func:`weaver.sweep`, on ``executor`` with
    ``method``), picks the best combination by ``metric``, and backtests it on the test
    window: it starts flat with the capital the previous fold ended with, and its indicators
    are warmed up on the bars before the window (``start=`` of :func:`weaver.backtest`), so
    the window trades from its first bar as a continuous run with those parameters would.
    The test equity curves are stitched into one. Every sweep and test run takes the run
    options (see "Other Parameters"), but ``start``, which each fold sets itself; ``cash``
    is the first fold's.

    Parameters
    ----------
    train, test, step
        Window lengths: numbers of bars, or durations such as ``"365D"``. ``step`` (the
        distance between folds) defaults to ``test``, so test windows tile the history.
    anchored
        Train every fold from the first bar (an expanding window) instead of a rolling one.
    metric, constraint, executor, method, progress, **grid
        As for :func:`weaver.sweep`.

    Raises
    ------
    ParameterError
        For a bad grid or windows that do not fit the bars, or a ``start``, before any work.
    """
    import numpy as np
    import pandas as pd

    from weaver.backtesting.engine import _merged_index, prepare_bars, run_backtest
    from weaver.backtesting.result import empty_trades
    from weaver.backtesting.stats import OrderCounts, compute_stats
    from weaver.research._work import STAT_NAMES
    from weaver.research.grid import expand_grid
    from weaver.research.sweep import _check_metric, _progress, sweep

    _check_metric(metric)
    if config.start is not None:
        raise ParameterError(f"run option start={config.start!r}: walk_forward sets each test window's start itself "
                             "(the bars before the window warm it up); cut the bars instead")
    names, _ = expand_grid(strategy, grid, constraint)  # fail on a bad grid before any work
    frames = prepare_bars(bars)
    index = _merged_index(frames)
    windows = folds(index, train, test, step, anchored)

    def window(a: int, b: int) -> dict[str, pd.DataFrame]:
        lo, hi = index[a], index[b - 1]
        out = {}
        for sym, f in frames.items():
            part = f.loc[lo:hi]
            part.attrs.update(f.attrs)
            out[sym] = part
        return out

    rows, sweeps, pieces, trades, exposure = [], [], [], [], []
    counts = [0, 0, 0]  # orders placed, rejected, reduced over the test windows
    capital: Decimal | float = config.cash  # then each fold's final equity, taken exactly by RunConfig
    bar = _progress(progress, len(windows), f"{strategy.__name__} walk-forward")
    try:
        for k, (a, b, c, d) in enumerate(windows):
            row: dict[str, Any] = {"fold": k, "train_start": index[a], "train_end": index[b - 1],
                                   "test_start": index[c], "test_end": index[d - 1]}
            res = sweep(strategy, window(a, b), metric=metric, constraint=constraint, executor=executor,
                        method=method, progress=False, config=config, **grid)
            sweeps.append(res)
            test_frames = window(c, d)
            try:
                best = res.best(metric)
                if not capital > 0:  # a fold that lost everything (on margin, or short) leaves none to trade
                    raise WeaverError(f"no capital left to trade: the previous fold ended with {float(capital):,.2f}")
            except Exception as exc:
                row.update({n: None for n in names})
                row.update({f"is_{metric}": np.nan, f"oos_{metric}": np.nan, "oos_return": 0.0,
                            "oos_trades": 0, "error": str(exc)})
                flat = pd.Series(float(capital), index=_merged_index(test_frames), name="equity")
                pieces.append(flat)
                exposure.append(np.zeros(len(flat), dtype=bool))
            else:
                params = res.best_params(metric)
                # the bars before the window warm the indicators up: the window trades as a
                # continuous run with these parameters would from its first bar
                out = run_backtest(strategy, window(0, d), params, config=config.replace(cash=capital, start=c))
                st = out.stats
                row.update({n: params[n] for n in names})
                row.update({f"is_{metric}": best[metric], f"oos_{metric}": st[metric],
                            "oos_return": st["total_return"], "oos_trades": int(st["n_trades"]), "error": None})
                pieces.append(out.equity)
                trades.append(out.trades)
                exposure.append(np.asarray(out.exposure, dtype=bool))
                for k, name in enumerate(("n_orders", "n_orders_rejected", "n_orders_reduced")):
                    counts[k] += int(st[name])
                capital = float(out.equity.iloc[-1])
            rows.append(row)
            bar.update(1)
    finally:
        bar.close()
    equity = pd.concat(pieces).rename("equity")
    traded = [t for t in trades if len(t)]
    trade_frame = pd.concat(traded, ignore_index=True) if traded else empty_trades()
    first = next(iter(frames.values()))
    closes = first["close"].reindex(equity.index).ffill()
    timeframe = first.attrs.get("timeframe")
    stats = compute_stats(equity, trade_frame, closes, np.concatenate(exposure), timeframe, OrderCounts(*counts))
    stats = stats[[k for k in STAT_NAMES if k in stats.index]]
    fold_frame = pd.DataFrame(rows, columns=["fold", "train_start", "train_end", "test_start", "test_end", *names,
                                             f"is_{metric}", f"oos_{metric}", "oos_return", "oos_trades", "error"])
    return WalkForwardResult(strategy=strategy, metric=metric, names=names, folds=fold_frame, equity=equity,
                             trades=trade_frame, stats=stats, sweeps=sweeps, config=config)
