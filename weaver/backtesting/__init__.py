"""Backtesting: the engine loop, its results and statistics."""

from weaver.backtesting.engine import backtest
from weaver.backtesting.rehearse import rehearse
from weaver.backtesting.result import BacktestResult

__all__ = ["BacktestResult", "backtest", "rehearse"]
