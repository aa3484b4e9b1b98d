"""Helpers the report notebook calls: offline charts, finding and slicing data, tables.

They keep ``notebooks/report.ipynb`` short and make its HTML export self-contained: charts
carry plotly.js inline (once per notebook), so the report opens without a network.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from weaver.core.errors import DataError

if TYPE_CHECKING:
    import pandas as pd

    from weaver.backtesting.result import BacktestResult

RENDERER = "weaver_offline"


def use_offline_charts() -> None:
    """Show plotly figures interactively in JupyterLab and as self-contained HTML in exports.

    Sets plotly's default renderer to ``plotly_mimetype+weaver_offline``: JupyterLab draws
    the mimetype; nbconvert's HTML uses the ``text/html`` part, whose plotly.js is embedded
    in the notebook once (no CDN, no MathJax download). ``weaver report`` calls it in a first
    cell of every notebook it runs, so a report notebook need not; calling it again changes
    nothing (plotly.js is not embedded twice).
    """
    import plotly.io as pio
    from plotly.io._base_renderers import MimetypeRenderer

    class OfflineHtmlRenderer(MimetypeRenderer):
        """``text/html`` that needs no network: plotly.js is displayed once, on activation."""

        def activate(self) -> None:
            from IPython.display import display_html
            from plotly.offline import get_plotlyjs

            display_html("<script type='text/javascript'>window.PlotlyConfig = {MathJaxConfig: 'local'};</script>"
                         f"<script type='text/javascript'>{get_plotlyjs()}</script>", raw=True)

        def to_mimebundle(self, fig_dict: dict[str, Any]) -> dict[str, str]:
            return {"text/html": pio.to_html(fig_dict, include_plotlyjs=False, include_mathjax=False,
                                             full_html=False, config={"responsive": True, "displaylogo": False})}

    if RENDERER not in pio.renderers:
        pio.renderers[RENDERER] = OfflineHtmlRenderer()
    default = f"plotly_mimetype+{RENDERER}"
    if pio.renderers.default != default:
        pio.renderers.default = default


def data_path(data_file: str | Path | None, symbol: str) -> Path:
    """Return the bars file: ``data_file``, or ``data/<symbol>.csv`` when it is empty.

    A relative path is looked up in the working directory, then in its parents (so the
    notebook finds ``data/`` both from the repository root and from ``notebooks/``).

    Raises
    ------
    DataError
        When no such file exists; the message names it.
    """
    name = Path(data_file) if data_file else Path("data") / f"{symbol}.csv"
    here = Path.cwd()
    candidates = [name] if name.is_absolute() else [here / name, *(p / name for p in here.parents)]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise DataError(f"data file {str(name)!r} not found (looked in {here} and its parents)")


def load(data_file: str | Path | None, symbol: str, start: Any = None, end: Any = None) -> pd.DataFrame:
    """Load the bars of ``symbol`` from :func:`data_path` and keep those from ``start`` to ``end``."""
    from weaver.data import load_bars

    path = data_path(data_file, symbol)
    bars = load_bars(path)
    window = bars.loc[_day(start): _day(end)]
    window.attrs.update(bars.attrs)
    window.attrs["symbol"] = symbol or bars.attrs.get("symbol")
    if window.empty:
        raise DataError(f"no bars in {path} between {start} and {end}")
    return window


def header(result: BacktestResult, bars: pd.DataFrame, cash: float, commission: Any) -> Any:
    """Return the report's title block (Markdown), with a line for each kind of order the broker refused."""
    from IPython.display import Markdown

    params = ", ".join(f"{k}={v!r}" for k, v in result.params.items())
    source = bars.attrs.get("source", "")
    # what the broker refused, never left for the reader to find in the orders
    notes = "".join(f"\n\n> ⚠ {note}" for note in result.notes)
    return Markdown(
        f"# {result.strategy} on {', '.join(result.bars)}\n\n"
        f"`{result.strategy}({params})` · {bars.index[0]:%Y-%m-%d} to {bars.index[-1]:%Y-%m-%d} "
        f"({len(bars):,} bars{f', {Path(str(source)).name}' if source else ''}) · "
        f"cash {cash:,.0f} · commission {commission or 0:g}{notes}"
    )


def stats_block(result: BacktestResult) -> Any:
    """Return the statistics as an HTML table, with the exact numbers also embedded as JSON.

    The JSON (``<script type="application/json" id="weaver-stats-json">``) lets a program read
    the report's statistics without parsing formatted text.
    """
    from IPython.display import HTML

    from weaver.backtesting.plots import stats_html

    payload = json.dumps(stats_json(result.stats)).replace("</", "<\\/")
    return HTML(stats_html(result.stats, table_id="weaver-stats")
                + f"<script type='application/json' id='weaver-stats-json'>{payload}</script>")


def trades_block(result: BacktestResult, max_height: int = 480) -> Any:
    """Return the trades as a scrollable HTML table."""
    from IPython.display import HTML

    from weaver.backtesting.plots import trades_html

    n = len(result.trades)
    return HTML(f"<p>{n} trade{'s' if n != 1 else ''}</p>"
                f"<div style='max-height:{max_height}px;overflow:auto'>{trades_html(result.trades)}</div>")


def stats_json(stats: pd.Series) -> dict[str, Any]:
    """Return statistics as JSON-ready values: NaN as None, times in ISO 8601, durations as text."""
    out: dict[str, Any] = {}
    for key, value in stats.items():
        if hasattr(value, "isoformat"):
            out[str(key)] = value.isoformat()
        elif hasattr(value, "item"):  # numpy scalars
            out[str(key)] = value.item()
        elif isinstance(value, int | float | str | bool) or value is None:
            out[str(key)] = value
        else:
            out[str(key)] = str(value)
        if isinstance(out[str(key)], float) and not math.isfinite(out[str(key)]):
            out[str(key)] = None
    return out


def _day(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    return str(value)
