"""The runtime: the one driver that runs a strategy on a clock against a broker (DESIGN §2)."""

from weaver.runtime.driver import Driver, strategy_failed, wire_hooks

__all__ = ["Driver", "strategy_failed", "wire_hooks"]
