"""Strategies: the base class, typed parameters, indicators, the look-ahead guard and examples."""

from weaver.strategy.base import PositionView, Strategy
from weaver.strategy.params import Param, param

__all__ = ["Param", "PositionView", "Strategy", "param"]
