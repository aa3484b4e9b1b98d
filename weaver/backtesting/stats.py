"""Performance statistics of a backtest.

Return-based measures (CAGR, volatility, Sharpe, Sortino, Calmar, maximum drawdown) come
from empyrical-reloaded; the trade statistics are counted from the trade table. Fractions
are fractions (``total_return`` 0.25 is +25%); names ending in ``_pct`` are percentages.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

TRADING_DAYS = 252


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


def max_drawdown_duration(equity: pd.Series) -> pd.Timedelta:
    """Return the longest time spent below a previous equity peak."""
    values = equity.to_numpy()
    if len(values) == 0:
        return pd.Timedelta(0)
    peak = np.maximum.accumulate(values)
    at_peak = values >= peak
    # the index of the latest peak at or before each bar
    last_peak = np.maximum.accumulate(np.where(at_peak, np.arange(len(values)), 0))
    times = equity.index.asi8
    longest = int((times - times[last_peak]).max())
    return pd.Timedelta(longest, unit="ns")


def compute_stats(
    equity: pd.Series,
    trades: pd.DataFrame,
    closes: pd.Series,
    exposure: np.ndarray,
    timeframe: str | None,
) -> pd.Series:
    """Return the statistics Series of a run (see the module docstring for units)."""
    import empyrical as ep

    index = equity.index
    ppy = periods_per_year(index, timeframe)
    values = equity.to_numpy()
    returns = np.zeros(len(values))
    np.divide(values[1:], values[:-1], out=returns[1:])
    returns[1:] -= 1.0  # simple returns, bar over bar; 0 on the first bar
    start_value, end_value = float(equity.iloc[0]), float(equity.iloc[-1])
    closed = trades[trades["exit_time"].notna()] if len(trades) else trades
    pnl = closed["pnl"].to_numpy(dtype=float) if len(closed) else np.zeros(0)
    rets = closed["return_pct"].to_numpy(dtype=float) if len(closed) else np.zeros(0)
    wins, losses = pnl[pnl > 0], pnl[pnl < 0]
    total_return = end_value / start_value - 1.0

    def ratio(value: float) -> float:
        return float(value) if np.isfinite(value) else np.nan

    stats = {
        "start": index[0],
        "end": index[-1],
        "duration": index[-1] - index[0],
        "exposure_pct": 100.0 * float(np.mean(exposure)) if len(exposure) else 0.0,
        "equity_start": start_value,
        "equity_final": end_value,
        "equity_peak": float(equity.max()),
        "total_return": total_return,
        "buy_hold_return": float(closes.iloc[-1] / closes.iloc[0] - 1.0),
        "cagr": ratio(ep.cagr(returns, annualization=ppy)),
        "volatility": ratio(ep.annual_volatility(returns, annualization=ppy)),
        "sharpe": (sharpe := ratio(ep.sharpe_ratio(returns, annualization=ppy))),
        "sortino": ratio(ep.sortino_ratio(returns, annualization=ppy)),
        "calmar": ratio(ep.calmar_ratio(returns, annualization=ppy)),
        "max_drawdown": float(ep.max_drawdown(returns)),
        "max_drawdown_duration": max_drawdown_duration(equity),
        "n_trades": int(len(trades)),
        "win_rate": float(len(wins) / len(pnl)) if len(pnl) else np.nan,
        "profit_factor": float(wins.sum() / -losses.sum()) if len(losses) else np.nan,
        "avg_trade_pct": float(rets.mean()) if len(rets) else np.nan,
        "best_trade_pct": float(rets.max()) if len(rets) else np.nan,
        "worst_trade_pct": float(rets.min()) if len(rets) else np.nan,
        "commission": float(trades["commission"].sum()) if len(trades) else 0.0,
        # the roadmap's RunStats
        "total_trades": int(len(trades)),
        "winning_trades": int(len(wins)),
        "total_pnl": end_value - start_value,
        "sharpe_ratio": sharpe,
    }
    return pd.Series(stats, dtype=object, name="stats")
