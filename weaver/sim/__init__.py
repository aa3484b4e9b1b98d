"""Simulation: fill models, commission and slippage, and the simulated broker."""

from __future__ import annotations

from weaver.sim.bar import BarView
from weaver.sim.broker import SimulatedBroker, UpdateHandler
from weaver.sim.costs import (
    Combined,
    CommissionModel,
    FunctionCommission,
    NoCommission,
    Percent,
    PerOrder,
    PerShare,
    SlippageFn,
    make_commission,
    make_slippage,
)
from weaver.sim.fill import FillModel, Match, RandomSlippageFillModel

__all__ = [
    "BarView",
    "Combined",
    "CommissionModel",
    "FillModel",
    "FunctionCommission",
    "Match",
    "NoCommission",
    "PerOrder",
    "PerShare",
    "Percent",
    "RandomSlippageFillModel",
    "SimulatedBroker",
    "SlippageFn",
    "UpdateHandler",
    "make_commission",
    "make_slippage",
]
