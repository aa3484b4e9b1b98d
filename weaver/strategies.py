"""The example strategies: ``from weaver.strategies import SmaCross``.

Each is also known by a short name (``sma_cross``, ``rsi_reversion``, ``momentum_rotation``)
for the CLI and reports; they live in :mod:`weaver.strategy.examples`.
"""

from weaver.strategy.examples import EXAMPLES, MomentumRotation, RsiReversion, SmaCross, resolve

__all__ = ["EXAMPLES", "MomentumRotation", "RsiReversion", "SmaCross", "resolve"]
