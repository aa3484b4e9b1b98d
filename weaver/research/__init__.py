"""Research at scale: parameter sweeps (event-driven on processes or Dask, or vectorized) and walk-forward.

``import weaver.research`` is light; pandas, vectorbt and dask load when a sweep runs.
"""

from __future__ import annotations

from weaver.research.sweep import SweepResult, sweep
from weaver.research.walkforward import WalkForwardResult, walk_forward

__all__ = ["SweepResult", "WalkForwardResult", "sweep", "walk_forward"]
