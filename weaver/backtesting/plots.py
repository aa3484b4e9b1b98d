"""Plotly charts and HTML tables of backtest results.

Every chart function returns a ``plotly.graph_objects.Figure``; the result chart is built as a
fixed skeleton (:func:`result_figure`) filled by :func:`fill_result_figure`, so the explore
panel can update a ``FigureWidget`` in place with the same code.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from weaver.backtesting.result import BacktestResult

#: trace positions in :func:`result_figure`
CANDLES, ENTRIES, EXITS, EQUITY, DRAWDOWN = range(5)

_GREEN, _RED, _BLUE = "#2ca02c", "#d62728", "#1f77b4"
_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
#: statistics that are fractions (shown as percentages)
_FRACTIONS = {"total_return", "buy_hold_return", "cagr", "volatility", "max_drawdown", "win_rate"}


def result_figure(symbol: str = "") -> go.Figure:
    """Return the empty 3-row result chart: candles and trades, equity, drawdown."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    fig = make_subplots(rows=3, cols=1, shared_xaxes=True, vertical_spacing=0.03,
                        row_heights=[0.55, 0.25, 0.20], subplot_titles=(symbol or " ", "Equity", "Drawdown"))
    fig.add_trace(go.Candlestick(name=symbol, showlegend=False), row=1, col=1)
    fig.add_trace(go.Scatter(name="entry", mode="markers"), row=1, col=1)
    fig.add_trace(go.Scatter(name="exit", mode="markers"), row=1, col=1)
    fig.add_trace(go.Scatter(name="equity", line={"color": _BLUE}), row=2, col=1)
    fig.add_trace(go.Scatter(name="drawdown %", fill="tozeroy", line={"color": _RED}), row=3, col=1)
    fig.update_layout(height=800, xaxis_rangeslider_visible=False,
                      margin={"l": 40, "r": 20, "t": 60, "b": 30}, legend={"orientation": "h"})
    fig.update_yaxes(title_text="%", row=3, col=1)
    return fig


def fill_result_figure(fig: go.Figure, result: BacktestResult, symbol: str | None = None) -> go.Figure:
    """Put ``result``'s bars, trades, equity and drawdown into a :func:`result_figure`."""
    sym = symbol or next(iter(result.bars))
    candles, entries, exits = _price_traces(result, sym)
    dd = result.drawdown
    fig.data[CANDLES].update(**candles)
    fig.data[ENTRIES].update(**entries)
    fig.data[EXITS].update(**exits)
    fig.data[EQUITY].update(x=result.equity.index, y=result.equity.to_numpy())
    fig.data[DRAWDOWN].update(x=dd.index, y=100 * dd.to_numpy())
    fig.layout.annotations[0].text = sym
    fig.layout.title = {"text": _title(result)}
    return fig


def _price_traces(result: BacktestResult, sym: str) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """Return the candles, entry markers and exit markers of ``sym`` as trace properties."""
    bars = result.bars[sym]
    trades = result.trades[result.trades["symbol"] == sym] if len(result.trades) else result.trades
    longs = (trades["side"] == "long").to_numpy() if len(trades) else np.zeros(0, bool)
    closed = trades[trades["exit_time"].notna()] if len(trades) else trades
    candles = {"x": bars.index, "open": bars["open"], "high": bars["high"], "low": bars["low"],
               "close": bars["close"], "name": sym, "meta": sym}
    entries = {
        "x": list(trades["entry_time"]), "y": list(trades["entry_price"]), "meta": sym,
        "marker": {"symbol": list(np.where(longs, "triangle-up", "triangle-down")), "size": 10,
                   "color": list(np.where(longs, _GREEN, _RED))},
        "hovertext": [f"{sym} {s} {q:g} @ {p:,.2f}" for s, q, p in
                      zip(trades["side"], trades["qty"], trades["entry_price"], strict=True)],
    }
    exits = {
        "x": list(closed["exit_time"]), "y": list(closed["exit_price"]), "meta": sym,
        "marker": {"symbol": "x", "size": 9, "color": list(np.where(closed["pnl"] >= 0, _GREEN, _RED))},
        "hovertext": [f"{sym} exit {p:,.2f}, pnl {v:,.2f}"
                      for p, v in zip(closed["exit_price"], closed["pnl"], strict=True)],
    }
    return candles, entries, exits


def plot_result(result: BacktestResult, symbol: str | None = None) -> go.Figure:
    """Return candles with entry/exit markers, the equity curve and the drawdown, stacked.

    With several symbols and no ``symbol``, every symbol's candles and trades are in the
    figure, one symbol shown at a time: a menu switches between them (the first is shown).
    """
    fig = fill_result_figure(result_figure(), result, symbol)
    symbols = list(result.bars)
    if symbol is not None or len(symbols) == 1:
        return fig
    import plotly.graph_objects as go

    for sym in symbols[1:]:
        candles, entries, exits = _price_traces(result, sym)
        fig.add_trace(go.Candlestick(showlegend=False, visible=False, **candles), row=1, col=1)
        fig.add_trace(go.Scatter(name="entry", mode="markers", visible=False, **entries), row=1, col=1)
        fig.add_trace(go.Scatter(name="exit", mode="markers", visible=False, **exits), row=1, col=1)
    shared = {EQUITY, DRAWDOWN}
    buttons = [
        {"label": sym, "method": "update",
         "args": [{"visible": [k in shared or t.meta == sym for k, t in enumerate(fig.data)]},
                  {"annotations[0].text": sym}]}
        for sym in symbols
    ]
    fig.update_layout(updatemenus=[{"buttons": buttons, "direction": "down", "showactive": True,
                                    "x": 0.0, "xanchor": "left", "y": 1.08, "yanchor": "bottom"}])
    return fig


def monthly_returns(equity: pd.Series, start_equity: float | None = None) -> pd.DataFrame:
    """Return the compounded return of each calendar month as a year x month table of fractions.

    The first month is measured from ``start_equity`` (the starting cash) when given, else
    from the first bar's equity. Months without bars are empty.
    """
    month_end = equity.resample("ME").last().dropna()
    previous = month_end.shift(1)
    previous.iloc[0] = start_equity if start_equity is not None else equity.iloc[0]
    returns = month_end / previous - 1.0
    table = pd.DataFrame({"year": returns.index.year, "month": returns.index.month, "r": returns.to_numpy()})
    table = table.pivot(index="year", columns="month", values="r").reindex(columns=range(1, 13))
    table.columns = _MONTHS
    table["Year"] = (1.0 + table[_MONTHS].fillna(0.0)).prod(axis=1) - 1.0
    return table


def plot_monthly_returns(result: BacktestResult) -> go.Figure:
    """Return a heatmap of monthly returns in percent (rows are years, columns months)."""
    import plotly.graph_objects as go

    table = monthly_returns(result.equity, _start_equity(result))
    z = 100 * table[_MONTHS].to_numpy(float)
    limit = float(np.nanmax(np.abs(z))) if np.isfinite(z).any() else 1.0
    fig = go.Figure(go.Heatmap(
        z=z, x=_MONTHS, y=[str(y) for y in table.index], colorscale="RdYlGn", zmid=0, zmin=-limit, zmax=limit,
        texttemplate="%{z:.1f}", hovertemplate="%{y} %{x}: %{z:.2f}%<extra></extra>",
        colorbar={"title": {"text": "%"}},
    ))
    fig.update_layout(title=f"Monthly returns (%) — {_title(result)}", yaxis={"autorange": "reversed", "type": "category"},
                      height=max(260, 28 * len(table) + 120), margin={"l": 50, "r": 20, "t": 60, "b": 30})
    return fig


def plot_trade_returns(result: BacktestResult, bins: int = 30) -> go.Figure:
    """Return the distribution of closed trades' returns (percent), winners and losers apart."""
    import plotly.graph_objects as go

    trades = result.trades
    closed = trades[trades["exit_time"].notna()] if len(trades) else trades
    r = closed["return_pct"].to_numpy(float) if len(closed) else np.zeros(0)
    fig = go.Figure()
    fig.add_trace(go.Histogram(x=r[r >= 0], name="winners", marker_color=_GREEN, nbinsx=bins))
    fig.add_trace(go.Histogram(x=r[r < 0], name="losers", marker_color=_RED, nbinsx=bins))
    if len(r):
        fig.add_vline(x=float(r.mean()), line_dash="dash", annotation_text=f"mean {r.mean():.2f}%")
    fig.update_layout(title=f"Trade returns ({len(r)} closed trades) — {_title(result)}", barmode="overlay",
                      xaxis_title="return per trade (%)", yaxis_title="trades", height=380,
                      margin={"l": 50, "r": 20, "t": 60, "b": 40})
    fig.update_traces(opacity=0.75)
    return fig


class Comparison:
    """Several backtests side by side: equity curves overlaid and their statistics in columns.

    Build one with :func:`compare`. In a notebook it shows the chart and the table.
    """

    def __init__(self, results: Mapping[str, BacktestResult]) -> None:
        self.results = dict(results)

    @property
    def stats(self) -> pd.DataFrame:
        """Return one column of statistics per result."""
        return pd.DataFrame({label: r.stats for label, r in self.results.items()})

    def plot(self) -> go.Figure:
        """Return the equity curves overlaid, with their drawdowns below."""
        import plotly.graph_objects as go
        from plotly.subplots import make_subplots

        fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.05, row_heights=[0.7, 0.3],
                            subplot_titles=("Equity", "Drawdown (%)"))
        for i, (label, r) in enumerate(self.results.items()):
            color = _PALETTE[i % len(_PALETTE)]
            fig.add_trace(go.Scatter(x=r.equity.index, y=r.equity.to_numpy(), name=label, legendgroup=label,
                                     line={"color": color}), row=1, col=1)
            fig.add_trace(go.Scatter(x=r.equity.index, y=100 * r.drawdown.to_numpy(), name=label, legendgroup=label,
                                     showlegend=False, line={"color": color}), row=2, col=1)
        fig.update_layout(title="Comparison", height=600, legend={"orientation": "h"},
                          margin={"l": 40, "r": 20, "t": 60, "b": 30})
        return fig

    def to_html(self) -> str:
        """Return the statistics table as HTML."""
        return stats_html(self.stats)

    def _repr_html_(self) -> str:
        return self.to_html()

    def _ipython_display_(self) -> None:
        from IPython.display import HTML, display

        display(self.plot())
        display(HTML(self.to_html()))

    def __repr__(self) -> str:
        return f"<Comparison of {len(self.results)} results: {', '.join(self.results)}>"


_PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"]


def compare(results: Sequence[BacktestResult] | Mapping[str, BacktestResult],
            labels: Iterable[str] | None = None) -> Comparison:
    """Compare backtests: overlay their equity curves and put their statistics side by side.

    Parameters
    ----------
    results
        Results of :func:`weaver.backtest`, or a dict ``{label: result}``.
    labels
        Column labels; by default ``Strategy(params)``, numbered when two would be equal.

    Examples
    --------
    >>> wv.compare([wv.backtest(SmaCross, bars), wv.backtest(SmaCross, bars, fast=20)])  # doctest: +SKIP
    """
    from weaver.core.errors import WeaverError

    if isinstance(results, Mapping):
        named = dict(results)
    else:
        items = list(results)
        names = list(labels) if labels is not None else [_title(r) for r in items]
        if len(names) != len(items):
            raise WeaverError(f"compare got {len(items)} results but {len(names)} labels")
        named = {}
        for name, r in zip(names, items, strict=True):
            label, n = name, 1
            while label in named:
                n += 1
                label = f"{name} #{n}"
            named[label] = r
    if not named:
        raise WeaverError("compare needs at least one result")
    return Comparison(named)


# -- tables ---------------------------------------------------------------------------------


def format_stat(key: str, value: Any) -> str:
    """Return a statistic as text: fractions as percentages, dates without time of day."""
    if value is None or isinstance(value, float) and math.isnan(value):
        return "—"
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d") if value == value.normalize() else str(value)
    if isinstance(value, pd.Timedelta):
        return f"{value.days} days" if value == pd.Timedelta(days=value.days) else str(value)
    if isinstance(value, bool | np.bool_):
        return str(bool(value))
    if isinstance(value, int | np.integer):
        return f"{int(value):,}"
    if isinstance(value, float | np.floating):
        v = float(value)
        if key in _FRACTIONS:
            return f"{v:.2%}"
        if key.endswith("_pct"):
            return f"{v:.2f}%"
        return f"{v:,.2f}" if abs(v) >= 100 else f"{v:.4g}"
    return str(value)


def stats_html(stats: pd.Series | pd.DataFrame, table_id: str | None = None) -> str:
    """Return statistics (a Series, or a frame with one column per run) as an HTML table."""
    frame = stats.to_frame(name="value") if isinstance(stats, pd.Series) else stats
    head = "" if isinstance(stats, pd.Series) else (
        "<tr><th></th>" + "".join(f"<th style='text-align:right'>{html.escape(str(c))}</th>" for c in frame.columns) + "</tr>")
    rows = "".join(
        f"<tr><th style='text-align:left'>{html.escape(str(key))}</th>"
        + "".join(f"<td style='text-align:right'>{html.escape(format_stat(str(key), v))}</td>" for v in values)
        + "</tr>"
        for key, values in zip(frame.index, frame.to_numpy(), strict=True)
    )
    ident = f" id='{html.escape(table_id)}'" if table_id else ""
    return f"<table class='weaver-stats'{ident}>{head}{rows}</table>"


def trades_html(trades: pd.DataFrame, max_rows: int | None = None) -> str:
    """Return the trades table as HTML, prices and pnl to the cent."""
    shown = trades if max_rows is None else trades.tail(max_rows)
    if not len(shown):
        return "<p><i>no trades</i></p>"
    out = shown.copy()
    for col in ("entry_time", "exit_time"):
        out[col] = [format_stat(col, v) for v in out[col]]
    out["duration"] = [format_stat("duration", v) for v in out["duration"]]
    return out.to_html(index=False, float_format=lambda x: f"{x:,.2f}", na_rep="—", classes="weaver-trades")


def _start_equity(result: BacktestResult) -> float | None:
    try:
        return float(result.stats["equity_start"])
    except (KeyError, TypeError, ValueError):
        return None


def _title(result: BacktestResult) -> str:
    params = ", ".join(f"{k}={v!r}" for k, v in result.params.items())
    return f"{result.strategy}({params})"
