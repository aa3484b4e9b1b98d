"""Plotly charts of backtest results."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from weaver.backtest.result import BacktestResult


def plot_result(result: BacktestResult, symbol: str | None = None) -> go.Figure:
    """Return candles with entry/exit markers, the equity curve and the drawdown, stacked."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    sym = symbol or next(iter(result.bars))
    bars = result.bars[sym]
    fig = make_subplots(rows=3, cols=1, shared_xaxes=True, vertical_spacing=0.03,
                        row_heights=[0.55, 0.25, 0.20], subplot_titles=(sym, "Equity", "Drawdown"))
    fig.add_trace(go.Candlestick(x=bars.index, open=bars["open"], high=bars["high"], low=bars["low"],
                                 close=bars["close"], name=sym, showlegend=False), row=1, col=1)
    trades = result.trades[result.trades["symbol"] == sym] if len(result.trades) else result.trades
    if len(trades):
        longs = trades["side"] == "long"
        fig.add_trace(go.Scatter(
            x=trades["entry_time"], y=trades["entry_price"], mode="markers", name="entry",
            marker={"symbol": np.where(longs, "triangle-up", "triangle-down"), "size": 10,
                    "color": np.where(longs, "#2ca02c", "#d62728")},
            hovertext=[f"{s} {q:g} @ {p:,.2f}" for s, q, p in zip(trades["side"], trades["qty"], trades["entry_price"], strict=True)],
        ), row=1, col=1)
        closed = trades[trades["exit_time"].notna()]
        fig.add_trace(go.Scatter(
            x=closed["exit_time"], y=closed["exit_price"], mode="markers", name="exit",
            marker={"symbol": "x", "size": 9, "color": np.where(closed["pnl"] >= 0, "#2ca02c", "#d62728")},
            hovertext=[f"exit {p:,.2f}, pnl {v:,.2f}" for p, v in zip(closed["exit_price"], closed["pnl"], strict=True)],
        ), row=1, col=1)
    fig.add_trace(go.Scatter(x=result.equity.index, y=result.equity.to_numpy(), name="equity",
                             line={"color": "#1f77b4"}), row=2, col=1)
    dd = result.drawdown
    fig.add_trace(go.Scatter(x=dd.index, y=100 * dd.to_numpy(), name="drawdown %", fill="tozeroy",
                             line={"color": "#d62728"}), row=3, col=1)
    params = ", ".join(f"{k}={v!r}" for k, v in result.params.items())
    fig.update_layout(title=f"{result.strategy}({params})", height=800, xaxis_rangeslider_visible=False,
                      margin={"l": 40, "r": 20, "t": 60, "b": 30}, legend={"orientation": "h"})
    return fig
