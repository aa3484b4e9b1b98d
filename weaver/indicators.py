"""Indicators for ``Strategy.indicator`` and ``signals()``: ``from weaver.indicators import sma``.

The functions live in :mod:`weaver.strategy.indicators`, which documents the crossing rule.
"""

from weaver.strategy.indicators import (
    atr,
    bollinger,
    cross_above,
    cross_below,
    crossover,
    crossunder,
    ema,
    pure,
    rsi,
    sma,
)

__all__ = ["atr", "bollinger", "cross_above", "cross_below", "crossover", "crossunder", "ema", "pure", "rsi", "sma"]
