"""Performance statistics of a backtest.

Return-based measures (CAGR, volatility, Sharpe, Sortino, Calmar, maximum drawdown) come
from empyrical-reloaded; the trade statistics are counted from the trade table. Fractions
are fractions (``total_return`` 0.25 is +25%); names ending in ``_pct`` are percentages.

Trades: ``n_trades`` counts the closed round trips, and ``win_rate``, ``profit_factor`` and
the ``*_trade_pct`` figures are computed over those same trades; a trade still open at the
end (marked at the last close in the equity and in ``BacktestResult.trades``) is counted
apart in ``n_open_trades``. Orders: ``n_orders`` counts every order placed,
``n_orders_rejected`` those the broker refused without filling any of it (at submit, or at
the fill for lack of cash) and ``n_orders_reduced`` those it filled only in part because the
cash at the fill did not cover the rest (DESIGN §4).

Each statistic has one name; the API's schema maps them to the roadmap's RunStats.
"""

from __future__ import annotations

import sys
import threading
import types
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

TRADING_DAYS = 252

_EMPYRICAL_LOCK = threading.Lock()


def periods_per_year(index: pd.DatetimeIndex, timeframe: str | None) -> float:
    """Return how many bars make a year, for annualizing.

    Daily bars count 252 trading days a year. Other bar sizes use the bars actually present
    per calendar year when the history spans at least 30 days, so a 24/7 market and an
    exchange session both annualize correctly; shorter histories assume 6.5-hour sessions.
    """
    if timeframe in (None, "1d") or len(index) < 2:
        return float(TRADING_DAYS)
    span_days = (index[-1] - index[0]).total_seconds() / 86_400
    if span_days >= 30:
        return len(index) / (span_days / 365.25)
    step = pd.Timedelta(pd.tseries.frequencies.to_offset(_pandas_freq(timeframe))).total_seconds()
    return TRADING_DAYS * 6.5 * 3600 / step


def _pandas_freq(timeframe: str) -> str:
    unit = {"m": "min", "h": "h", "d": "D", "w": "W", "s": "s"}[timeframe[-1]]
    return f"{timeframe[:-1]}{unit}"


def drawdown(equity: pd.Series) -> pd.Series:
    """Return the drawdown at each bar as a fraction of the running peak (0 or negative)."""
    peak = equity.cummax()
    return equity / peak - 1.0


_CHUNK = 1 << 16  # bars per step of max_drawdown_duration


def max_drawdown_duration(equity: pd.Series) -> pd.Timedelta:
    """Return the longest time spent below a previous equity peak."""
    values = equity.to_numpy()
    n = len(values)
    if n == 0:
        return pd.Timedelta(0)
    times = equity.index.asi8
    # the time below a peak is longest on the bar before the next peak (or on the last bar):
    # from the bars at a (new or equal) peak alone, a chunk at a time, carrying the running
    # peak and the latest peak's bar; whole-length temporaries here were the largest
    # allocation of the statistics on millions of bars
    peak, last_peak, longest = values[0], 0, 0
    for lo in range(0, n, _CHUNK):
        hi = min(lo + _CHUNK, n)
        part = values[lo:hi]
        running = np.maximum.accumulate(part)
        np.maximum(running, peak, out=running)  # a NaN makes the peak NaN from there on
        peak = running[-1]
        peaks = np.flatnonzero(part >= running)
        if len(peaks):
            peaks += lo
            starts = np.concatenate(([last_peak], peaks[:-1]))
            longest = max(longest, int((times[np.maximum(peaks - 1, starts)] - times[starts]).max()))
            last_peak = int(peaks[-1])
    longest = max(longest, int(times[n - 1] - times[last_peak]))
    return pd.Timedelta(longest, unit=getattr(equity.index, "unit", "ns"))


def load_empyrical() -> types.ModuleType:
    """Import and return empyrical without running ``scipy.stats`` or ``scipy.optimize``.

    empyrical imports both when it is imported, yet CAGR, volatility, Sharpe, Sortino,
    Calmar and maximum drawdown use neither, and running them costs about 60 MB of resident
    memory. Unless ``scipy.stats`` is imported already (then nothing changes), both are
    registered with ``lazy_loader``: each runs on first attribute use, as the very module
    ``sys.modules`` holds, so a later ``import scipy.stats`` gets the real module.
    """
    with _EMPYRICAL_LOCK:
        if "empyrical" not in sys.modules and "scipy.stats" not in sys.modules:
            _import_empyrical_with_lazy_scipy()
        import empyrical

        return empyrical


def _import_empyrical_with_lazy_scipy() -> None:
    import lazy_loader
    import scipy

    lazy = {name: lazy_loader.load(f"scipy.{name}", suppress_warning=True) for name in ("optimize", "stats")}
    # Bind them on the package as an import does, or empyrical's ``from scipy import optimize,
    # stats`` goes through scipy's __getattr__ to importlib, which (Python 3.11) reads the
    # lazy module's __spec__ and so runs it.
    for name, sub in lazy.items():
        if name not in vars(scipy):
            setattr(scipy, name, sub)
    # empyrical lists scipy.stats.skew and .kurtosis in SIMPLE_STAT_FUNCS when imported, and
    # any attribute of a lazy module runs it: while empyrical imports, ``scipy.stats`` is a
    # stand-in that defers those two to their first call and hands on any other name.
    stand_in = types.ModuleType("scipy.stats")
    stand_in.skew = _on_first_call(lazy["stats"], "skew")
    stand_in.kurtosis = _on_first_call(lazy["stats"], "kurtosis")
    stand_in.__getattr__ = lambda name: getattr(lazy["stats"], name)
    scipy.stats = stand_in
    try:
        import empyrical  # noqa: F401
    finally:
        scipy.stats = lazy["stats"]
    inner = sys.modules.get("empyrical.stats")
    if inner is not None and vars(inner).get("stats") is stand_in:
        inner.stats = lazy["stats"]


def _on_first_call(module: types.ModuleType, name: str) -> Callable[..., Any]:
    def call(*args: Any, **kwargs: Any) -> Any:
        return getattr(module, name)(*args, **kwargs)

    call.__name__ = call.__qualname__ = name
    call.__module__ = "scipy.stats"
    return call


class OrderCounts(NamedTuple):
    """How many orders a run placed, and how many the broker refused or reduced."""

    placed: int = 0
    rejected: int = 0
    reduced: int = 0


def compute_stats(
    equity: pd.Series,
    trades: pd.DataFrame | Mapping[str, Any],
    closes: pd.Series,
    exposure: np.ndarray,
    timeframe: str | None,
    orders: OrderCounts = OrderCounts(),
) -> pd.Series:
    """Return the statistics Series of a run (see the module docstring for units).

    ``trades`` is the trade table, or its columns (``pnl``, ``return_pct``, ``exit_time``,
    ``commission``). ``closes`` are the first symbol's closes carried onto the run's bars (a
    Series or an array); only the first and the last are used (for the buy-and-hold return).
    ``orders`` gives the order counts.
    """
    ep = load_empyrical()

    index = equity.index
    ppy = periods_per_year(index, timeframe)
    values = equity.to_numpy()
    returns = np.zeros(len(values))
    np.divide(values[1:], values[:-1], out=returns[1:])
    returns[1:] -= 1.0  # simple returns, bar over bar; 0 on the first bar
    start_value, end_value = float(values[0]), float(values[-1])
    ends = np.asarray(closes, dtype=float)[[0, -1]]
    all_pnl = np.asarray(trades["pnl"], dtype=float)
    n_all = len(all_pnl)
    closed = ~np.asarray(pd.isna(trades["exit_time"]), dtype=bool) if n_all else np.zeros(0, dtype=bool)
    pnl = all_pnl[closed]
    rets = np.asarray(trades["return_pct"], dtype=float)[closed]
    wins, losses = pnl[pnl > 0], pnl[pnl < 0]
    total_return = end_value / start_value - 1.0

    def ratio(value: float) -> float:
        return float(value) if np.isfinite(value) else np.nan

    cagr = ratio(ep.cagr(returns, annualization=ppy))
    max_drawdown = float(ep.max_drawdown(returns))
    # empyrical's calmar_ratio, from the two numbers it would compute again
    calmar = ratio(cagr / abs(max_drawdown)) if max_drawdown < 0 else np.nan

    stats = {
        "start": index[0],
        "end": index[-1],
        "duration": index[-1] - index[0],
        "exposure_pct": 100.0 * float(np.mean(exposure)) if len(exposure) else 0.0,
        "equity_start": start_value,
        "equity_final": end_value,
        "equity_peak": float(equity.max()),
        "total_return": total_return,
        "buy_hold_return": float(ends[-1] / ends[0] - 1.0),
        "cagr": cagr,
        "volatility": ratio(ep.annual_volatility(returns, annualization=ppy)),
        "sharpe": ratio(ep.sharpe_ratio(returns, annualization=ppy)),
        "sortino": ratio(ep.sortino_ratio(returns, annualization=ppy)),
        "calmar": calmar,
        "max_drawdown": max_drawdown,
        "max_drawdown_duration": max_drawdown_duration(equity),
        "n_trades": len(pnl),
        "n_open_trades": n_all - len(pnl),
        "win_rate": float(len(wins) / len(pnl)) if len(pnl) else np.nan,
        "profit_factor": float(wins.sum() / -losses.sum()) if len(losses) else np.nan,
        "avg_trade_pct": float(rets.mean()) if len(rets) else np.nan,
        "best_trade_pct": float(rets.max()) if len(rets) else np.nan,
        "worst_trade_pct": float(rets.min()) if len(rets) else np.nan,
        "commission": float(np.sum(trades["commission"])) if n_all else 0.0,
        "n_orders": orders.placed,
        "n_orders_rejected": orders.rejected,
        "n_orders_reduced": orders.reduced,
    }
    return pd.Series(stats, dtype=object, name="stats")
