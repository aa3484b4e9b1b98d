"""Weaver: a Jupyter-first workbench for systematic trading research.

``import weaver as wv`` is cheap: every public name below is imported on first use, so
pandas, plotly, vectorbt and the rest load only when the work needs them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name -> module that defines it
_LAZY: dict[str, str] = {
    "load_bars": "weaver.data",
    "resample": "weaver.data",
    "synthetic": "weaver.data",
    "Catalog": "weaver.catalog",
    "WeaverError": "weaver.core.errors",
    "DataError": "weaver.core.errors",
    "ParameterError": "weaver.core.errors",
    "LookAheadError": "weaver.core.errors",
    "BacktestError": "weaver.core.errors",
    "StrategyError": "weaver.core.errors",
    "InvalidTransition": "weaver.core.errors",
    "OrderRejectedError": "weaver.core.errors",
    "RunConfig": "weaver.core.config",
    "Strategy": "weaver.strategy",
    "param": "weaver.strategy",
    "backtest": "weaver.backtesting",
    "rehearse": "weaver.backtesting",
    "BacktestResult": "weaver.backtesting",
    "compare": "weaver.backtesting.plots",
    "explore": "weaver.widgets",
    "sweep": "weaver.research",
    "walk_forward": "weaver.research",
    "check_lookahead": "weaver.research",
    "SweepResult": "weaver.research",
    "WalkForwardResult": "weaver.research",
}
_SUBMODULES = {"core", "data", "catalog", "sim", "strategy", "indicators", "strategies", "backtesting",
               "widgets", "reports", "research", "runtime"}

__all__ = sorted(_LAZY)

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from weaver.backtesting import BacktestResult, backtest, rehearse
    from weaver.backtesting.plots import compare
    from weaver.catalog import Catalog
    from weaver.core.config import RunConfig
    from weaver.core.errors import (
        BacktestError,
        DataError,
        InvalidTransition,
        LookAheadError,
        OrderRejectedError,
        ParameterError,
        StrategyError,
        WeaverError,
    )
    from weaver.data import load_bars, resample, synthetic
    from weaver.research import SweepResult, WalkForwardResult, check_lookahead, sweep, walk_forward
    from weaver.strategy import Strategy, param
    from weaver.widgets import explore


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
    elif name in _SUBMODULES:
        value = importlib.import_module(f"weaver.{name}")
    else:
        raise AttributeError(f"module 'weaver' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY) | _SUBMODULES)
