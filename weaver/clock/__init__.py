"""Clocks: what drives a run from one bar to the next."""

from weaver.clock.backtest import BacktestClock, session_ends
from weaver.clock.cursor import Cursor

__all__ = ["BacktestClock", "Cursor", "session_ends"]
