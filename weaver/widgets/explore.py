"""``wv.explore``: an ipywidgets panel that backtests a strategy with controls made from its parameters.

One control per typed parameter (a slider when the parameter has bounds, a checkbox for a
bool, a dropdown for an Enum, a text box otherwise), symbol and date-range pickers, cash,
commission and slippage; Run backtests synchronously, drives a progress bar, and updates a
plotly ``FigureWidget`` in place, the statistics and the trades. An error is shown in the
panel as one short line and the panel keeps working.

The panel takes every run option of :func:`weaver.backtest` (or a ``config``); its cash,
commission and slippage controls start at the options' values and override them, and the
other options apply to every run as given.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from weaver.core.config import RunConfig
from weaver.core.options import run_options

if TYPE_CHECKING:
    import ipywidgets as w
    import pandas as pd

    from weaver.backtesting.result import BacktestResult
    from weaver.strategy.base import Strategy
    from weaver.strategy.params import Param

ALL_SYMBOLS = "(all)"
#: a bounded numeric parameter gets a slider when it has at most this many steps
MAX_SLIDER_STEPS = 1000
_WIDE = {"description_width": "110px"}


class Explorer:
    """The panel behind :func:`explore`; display it, or reach its parts by attribute.

    Attributes
    ----------
    controls
        Parameter name -> its widget.
    config
        The run options the panel was opened with; the controls' values go on top of them.
    symbol, start, end, cash, commission, slippage
        The run's settings. A commission or slippage that is a model or a function, not a
        number, is shown in a read-only box and used as it is.
    run_button, progress, status
        Run, the progress bar, and the line where errors are shown.
    figure
        The plotly ``FigureWidget``: candles with trades, equity, drawdown.
    stats, trades
        HTML widgets with the statistics and the trades of the last successful run.
    result
        The last successful :class:`~weaver.BacktestResult` (None before the first run).
    """

    @run_options
    def __init__(
        self,
        strategy: type[Strategy],
        bars: pd.DataFrame | Mapping[str, pd.DataFrame] | str | Path,
        *,
        run: bool = True,
        config: RunConfig,
        **params: Any,
    ) -> None:
        """Build the panel (arguments as for :func:`explore`)."""
        import ipywidgets as w
        import plotly.graph_objects as go

        from weaver.backtesting.engine import prepare_bars
        from weaver.backtesting.plots import result_figure

        self.strategy = strategy
        self.config = config
        self.frames = prepare_bars(bars)
        values = strategy.validate_params(**params)
        self.controls: dict[str, w.Widget] = {name: _control(p, values[name]) for name, p in strategy.params.items()}
        symbols = list(self.frames)
        self.symbol = w.Dropdown(description="symbol", options=([ALL_SYMBOLS] if len(symbols) > 1 else []) + symbols,
                                 style=_WIDE)
        first = min(f.index[0] for f in self.frames.values())
        last = max(f.index[-1] for f in self.frames.values())
        self.start = w.DatePicker(description="start", value=first.date(), style=_WIDE)
        self.end = w.DatePicker(description="end", value=last.date(), style=_WIDE)
        self.cash = w.BoundedFloatText(description="cash", value=float(config.cash), min=0.0, max=1e15, step=1000.0,
                                       style=_WIDE)
        self.commission = _cost_control(config.commission, description="commission", top=0.1, step=0.0005,
                                        tooltip="fraction of notional, 0.001 = 0.1%")
        self.slippage = _cost_control(config.slippage, description="slippage (bps)", top=1000.0, step=1.0,
                                      tooltip="basis points against the order", fixed=config.fill_model is not None)
        self.run_button = w.Button(description="Run", button_style="primary", icon="play")
        self.progress = w.FloatProgress(value=0.0, min=0.0, max=1.0, description="")
        self.status = w.HTML()
        self.figure = go.FigureWidget(result_figure(symbols[0]))
        self.stats = w.HTML()
        self.trades = w.HTML()
        self.result: BacktestResult | None = None
        self.run_button.on_click(lambda _button: self.run())

        param_box = w.VBox([w.HTML(f"<b>{html.escape(strategy.__name__)}</b>"), *self.controls.values()])
        setup_box = w.VBox([w.HTML("<b>run</b>"), self.symbol, self.start, self.end, self.cash,
                            self.commission, self.slippage])
        action = w.HBox([self.run_button, self.progress, self.status])
        tables = w.Tab(children=[self.stats, w.Box([self.trades], layout={"max_height": "420px", "overflow": "auto"})])
        tables.set_title(0, "Statistics")
        tables.set_title(1, "Trades")
        self.widget = w.VBox([w.HBox([param_box, setup_box]), action, self.figure, tables])
        if run:
            self.run()

    # -- the run ---------------------------------------------------------------------------

    def params(self) -> dict[str, Any]:
        """Return the strategy parameters as the controls currently set them."""
        return {name: control.value for name, control in self.controls.items()}

    def run_config(self) -> RunConfig:
        """Return the run options as the controls currently set them, on top of :attr:`config`.

        A control still at the value it opened with leaves the option as given (a cash of
        ``Decimal("1000.005")`` stays exact).
        """
        config, changes = self.config, {}
        if self.cash.value != float(config.cash):
            changes["cash"] = self.cash.value
        for name, control in (("commission", self.commission), ("slippage", self.slippage)):
            given = getattr(config, name)
            if not control.disabled and control.value != float(given or 0):
                changes[name] = control.value or None
        return config.replace(**changes) if changes else config

    def run(self) -> BacktestResult | None:
        """Backtest with the current settings; show the result, or the error as one line."""
        import weaver as wv

        self.run_button.disabled = True
        self.progress.value = 0.0
        self.progress.bar_style = ""
        self.status.value = "<span style='color:#555'>running…</span>"
        try:
            bars = self._bars()
            result = wv.backtest(self.strategy, bars, config=self.run_config(), progress=self._on_progress,
                                 **self.params())
            self._show(result)
        except Exception as exc:  # the panel must survive any strategy or input error
            self.progress.bar_style = "danger"
            self.status.value = f"<span style='color:#b00020'>{html.escape(_short(exc))}</span>"
            return None
        finally:
            self.run_button.disabled = False
        self.result = result
        self.progress.value = 1.0
        self.progress.bar_style = "success"
        s = result.stats
        self.status.value = html.escape(
            f"{s['n_trades']} trades, return {s['total_return']:.2%}, sharpe {s['sharpe']:.2f}")
        return result

    def _bars(self) -> dict[str, pd.DataFrame]:
        from weaver.core.errors import DataError

        start, end = self.start.value, self.end.value
        if start is not None and end is not None and start > end:
            raise DataError(f"start {start} is after end {end}")
        chosen = self.symbol.value
        symbols = list(self.frames) if chosen == ALL_SYMBOLS else [chosen]
        out = {}
        for sym in symbols:
            frame = self.frames[sym]
            window = frame.loc[str(start) if start else None: str(end) if end else None]
            window.attrs.update(frame.attrs)
            if window.empty:
                raise DataError(f"no {sym} bars between {start} and {end}")
            out[sym] = window
        return out

    def _on_progress(self, done: int, total: int) -> None:
        self.progress.value = done / total if total else 1.0

    def _show(self, result: BacktestResult) -> None:
        from weaver.backtesting.plots import fill_result_figure, stats_html, trades_html

        sym = None if self.symbol.value == ALL_SYMBOLS else self.symbol.value
        with self.figure.batch_update():
            fill_result_figure(self.figure, result, sym)
        self.stats.value = stats_html(result.stats)
        self.trades.value = trades_html(result.trades)

    # -- display ---------------------------------------------------------------------------

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)

    def __repr__(self) -> str:
        return f"<Explorer {self.strategy.__name__} on {', '.join(self.frames)}>"


@run_options
def explore(
    strategy: type[Strategy],
    bars: pd.DataFrame | Mapping[str, pd.DataFrame] | str | Path,
    *,
    run: bool = True,
    config: RunConfig,
    **params: Any,
) -> Explorer:
    """Return an interactive panel that backtests ``strategy`` on ``bars``.

    The run options (see "Other Parameters") apply to every run of the panel; its cash,
    commission (a rate) and slippage (basis points) controls start at their values and
    override them. A commission or slippage given as a model or a function is shown, not
    edited.

    Parameters
    ----------
    strategy
        A :class:`~weaver.Strategy` subclass; each typed parameter gets a control.
    bars
        A frame from :func:`weaver.load_bars`, a dict ``{symbol: frame}`` or a file path.
    run
        Run once with the initial settings, so the panel opens with a result.
    **params
        Initial parameter values (the strategy's defaults otherwise).

    Examples
    --------
    >>> wv.explore(SmaCross, wv.load_bars("data/GOOG.csv"), fast=10, slow=30)  # doctest: +SKIP
    """
    return Explorer(strategy, bars, run=run, config=config, **params)


def _cost_control(value: Any, *, description: str, top: float, step: float, tooltip: str,
                  fixed: bool = False) -> w.Widget:
    """Return the control of a commission or slippage: a number box, or a read-only box naming a model."""
    import ipywidgets as w

    if value is None or isinstance(value, int | float | Decimal):
        return w.BoundedFloatText(description=description, value=float(value or 0), min=0.0,
                                  max=max(top, float(value or 0)), step=step,
                                  tooltip=tooltip, style=_WIDE, disabled=fixed)
    shown = getattr(value, "__qualname__", None) or repr(value)
    return w.Text(description=description, value=shown, disabled=True, tooltip="set when the panel was opened",
                  style=_WIDE)


def _control(p: Param, value: Any) -> w.Widget:
    """Return the widget for one parameter: its kind follows the type and the bounds."""
    import ipywidgets as w

    common = {"description": p.name, "tooltip": p.doc or p.type_name, "style": _WIDE}
    if p.choices is not None:
        return w.Dropdown(options=[(str(m.name), m) for m in p.choices], value=value, **common)
    if p.type is bool:
        return w.Checkbox(value=value, indent=False, description=p.name, tooltip=common["tooltip"])
    if p.type is str:
        return w.Text(value=value, **common)
    bounded = p.low is not None and p.high is not None
    if p.type is int:
        step = int(p.step or 1)
        if bounded and (p.high - p.low) / step <= MAX_SLIDER_STEPS:
            return w.IntSlider(value=value, min=int(p.low), max=int(p.high), step=step, continuous_update=False, **common)
        low = int(p.low) if p.low is not None else -(2**53)
        high = int(p.high) if p.high is not None else 2**53
        return w.BoundedIntText(value=value, min=low, max=high, step=step, **common)
    if bounded:  # float
        step = p.step or (p.high - p.low) / 100
        return w.FloatSlider(value=value, min=float(p.low), max=float(p.high), step=step,
                             continuous_update=False, readout_format=".4g", **common)
    return w.BoundedFloatText(value=value, min=p.low if p.low is not None else -1e300,
                              max=p.high if p.high is not None else 1e300, **common)


def _short(exc: BaseException, limit: int = 300) -> str:
    """Return ``Type: first line of the message``, cut to ``limit`` characters."""
    lines = str(exc).strip().splitlines()
    text = f"{type(exc).__name__}: {lines[0] if lines else ''}"
    return text if len(text) <= limit else text[: limit - 1] + "…"
