"""Clocks: what drives a run from one bar to the next."""

from weaver.clock.backtest import BacktestClock, epoch_micros, session_ends
from weaver.clock.cursor import Cursor

__all__ = ["BacktestClock", "Cursor", "epoch_micros", "session_ends"]
