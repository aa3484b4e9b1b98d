"""Performance statistics of a backtest.

Return-based measures (CAGR, volatility, Sharpe, Sortino, Calmar, maximum drawdown) follow
empyrical's definitions (:func:`return_ratios`, :func:`max_drawdown`) on the equity curve's
simple returns, one per bar (the first 0), with a risk-free rate of 0, the sample standard
deviation (ddof 1), and the periods per year measured from the bars (:func:`periods_per_year`:
bars over the span in years of 365.25 days, for daily bars too). The trade statistics are
counted from the trade table. Fractions are fractions (``total_return`` 0.25 is +25%); names
ending in ``_pct`` are percentages. ``tests/golden/goog_smacross_10_30.json`` states every
definition and pins the numbers of one run, computed there by hand.

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

from collections.abc import Mapping
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

#: trading days in an exchange year: the fallback for daily bars whose history is too short to measure
TRADING_DAYS = 252
#: the shortest history (first bar to last) whose bars per year are measured from its index
MEASURED_SPAN_DAYS = 30
_SESSION_SECONDS = 6.5 * 3_600  # a US equity session, 09:30-16:00
_WEEK_SECONDS = 7 * 86_400


def periods_per_year(index: pd.DatetimeIndex, timeframe: str | None) -> float:
    """Return how many bars make a year, for annualizing: measured from the bars.

    The bars present over the span from the first to the last, in years of 365.25 days:
    ``len(index) / (span_days / 365.25)``, whatever the bar size, when the history spans at
    least ``MEASURED_SPAN_DAYS`` (30) days. So exchange days annualize by about 252 (GOOG
    2004-2013: 251.78), a market open every day by about 365, and intraday bars by the
    sessions and bars the data has, holidays and missing bars counted as they are; and the
    CAGR from compounding the returns (one per bar, see :func:`return_ratios`) to the power
    ``periods_per_year / n`` is the calendar one, ``growth ** (365.25 / span_days) - 1``.

    A shorter history says too little of a year: it falls back on the bar size ``timeframe``
    (None is taken as daily). 252 exchange days a year for daily bars (126 for 2-day bars),
    252 sessions of 6.5 hours for intraday bars (98,280 one-minute bars), 365.25 / 7 for
    weekly bars and 12 for monthly ones.
    """
    if len(index) >= 2:
        span_days = (index[-1] - index[0]).total_seconds() / 86_400
        if span_days >= MEASURED_SPAN_DAYS:
            return len(index) / (span_days / 365.25)
    return _periods_per_year_of(timeframe)


def _periods_per_year_of(timeframe: str | None) -> float:
    """The bars a year of a bar size, for histories too short to measure (see periods_per_year)."""
    from weaver.data.timeframe import normalize_timeframe, timeframe_seconds

    if timeframe is None:
        return float(TRADING_DAYS)
    seconds = timeframe_seconds(timeframe)
    if seconds is None:  # calendar months
        return 12.0 / int(normalize_timeframe(timeframe)[:-2])
    if seconds >= _WEEK_SECONDS:
        return 365.25 * 86_400 / seconds
    if seconds >= 86_400:
        return TRADING_DAYS * 86_400 / seconds
    return TRADING_DAYS * _SESSION_SECONDS / seconds


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


class ReturnRatios(NamedTuple):
    """The annualized measures of one equity curve's returns (floats), or of several (arrays)."""

    cagr: Any
    volatility: Any
    sharpe: Any
    sortino: Any


def return_ratios(returns: np.ndarray, annualization: float) -> ReturnRatios:
    """Return CAGR, annual volatility, Sharpe and Sortino of simple returns.

    The definitions are empyrical's (``cagr``, ``annual_volatility``, ``sharpe_ratio`` and
    ``sortino_ratio`` with a risk-free rate and a required return of 0), and the suite holds
    them equal to empyrical's to 1e-12. They are computed here with numpy because importing
    empyrical imports ``scipy.stats`` and ``scipy.optimize`` (about 0.6 s and 60 MB), which
    none of them needs. ``returns`` is one curve's returns (1-D) or one column per curve
    (2-D); NaN returns count as 0 in the compounding and are left out of the means.

    - CAGR: the compounded growth to the power ``annualization / n`` (n returns), minus 1.
    - Volatility: the sample standard deviation (ddof 1) times ``sqrt(annualization)``; 0
      when every return is the same.
    - Sharpe: the mean over that standard deviation, times ``sqrt(annualization)``.
    - Sortino: the mean times ``annualization``, over the root mean square of the returns
      below 0 (the others count as 0) times ``sqrt(annualization)``.

    Volatility, Sharpe and Sortino are NaN with fewer than two returns; a ratio whose
    denominator is 0 is ±inf or NaN, as numpy divides.
    """
    r = np.asarray(returns, dtype=float)
    n = len(r)
    nan = np.full(r.shape[1:], np.nan)
    if n == 0:
        return ReturnRatios(*(_scalar(nan) for _ in range(4)))
    missing = np.isnan(r)
    has_missing = bool(missing.any())
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        growth = np.prod(np.where(missing, 1.0, r + 1.0) if has_missing else r + 1.0, axis=0)
        cagr = growth ** (1.0 / (n / annualization)) - 1.0
        if n < 2:
            return ReturnRatios(_scalar(cagr), _scalar(nan), _scalar(nan), _scalar(nan))
        if has_missing:  # numpy's nan-functions, without their warnings for too few values
            count = (~missing).sum(axis=0)
            present = np.where(missing, 0.0, r)
            mean = present.sum(axis=0) / count
            deviation = np.where(missing, 0.0, r - mean)
            std = np.sqrt((deviation * deviation).sum(axis=0) / np.where(count > 1, count - 1, np.nan))
            highest, lowest = np.where(missing, -np.inf, r).max(axis=0), np.where(missing, np.inf, r).min(axis=0)
            below = np.clip(present, -np.inf, 0.0)
            downside_mean = (below * below).sum(axis=0) / count
        else:
            mean = np.mean(r, axis=0)
            std = np.std(r, ddof=1, axis=0)
            highest, lowest = r.max(axis=0), r.min(axis=0)
            below = np.clip(r, -np.inf, 0.0)
            downside_mean = np.mean(below * below, axis=0)
        # identical returns have no dispersion: the float mean may leave a 1e-18 residue
        std = np.where((highest == lowest) & np.isfinite(std), 0.0, std)
        root = np.sqrt(annualization)
        downside = np.sqrt(downside_mean) * root
        return ReturnRatios(_scalar(cagr), _scalar(std * annualization ** (1.0 / 2.0)),
                            _scalar(mean / std * root), _scalar(mean * annualization / downside))


def max_drawdown(returns: np.ndarray) -> float:
    """Return the maximum drawdown of simple returns: the lowest value over the running peak, minus 1.

    empyrical's ``max_drawdown``: the curve compounds from 100 (NaN returns count as 0), the
    peak runs from that start; 0 or negative, NaN without returns.
    """
    r = np.asarray(returns, dtype=float)
    if not len(r):
        return np.nan
    curve = np.empty(len(r) + 1)
    curve[0] = 100.0
    np.cumprod(np.where(np.isnan(r), 1.0, r + 1.0), out=curve[1:])
    curve[1:] *= 100.0
    peak = np.fmax.accumulate(curve)
    with np.errstate(invalid="ignore"):
        return float(np.nanmin((curve[1:] - peak[1:]) / peak[1:]))


def _scalar(value: Any) -> Any:
    """A 0-d result as a Python float; arrays as they are."""
    array = np.asarray(value, dtype=float)
    return float(array) if array.ndim == 0 else array


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

    measures = return_ratios(returns, ppy)
    cagr = ratio(measures.cagr)
    deepest = max_drawdown(returns)
    # empyrical's calmar_ratio, from the two numbers it would compute again
    calmar = ratio(cagr / abs(deepest)) if deepest < 0 else np.nan

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
        "volatility": ratio(measures.volatility),
        "sharpe": ratio(measures.sharpe),
        "sortino": ratio(measures.sortino),
        "calmar": calmar,
        "max_drawdown": deepest,
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
