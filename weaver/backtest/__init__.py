"""Backtesting: the engine loop, its results and statistics."""

from weaver.backtest.engine import backtest
from weaver.backtest.result import BacktestResult

__all__ = ["BacktestResult", "backtest"]
