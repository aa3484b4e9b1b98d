"""Research at scale: parameter sweeps (event-driven on processes or Dask, or vectorized), walk-forward,
and the whole-strategy look-ahead check.

``import weaver.research`` is light; pandas, vectorbt and dask load when a sweep runs, and the
look-ahead check's module (which needs the engine) when it is first used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from weaver.research.sweep import SweepResult, sweep
from weaver.research.walkforward import WalkForwardResult, walk_forward

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from weaver.research.lookahead import LookAheadCheck, check_lookahead

__all__ = ["LookAheadCheck", "SweepResult", "WalkForwardResult", "check_lookahead", "sweep", "walk_forward"]

# public name -> the module that defines it, imported on first use
_LAZY = {"check_lookahead": "weaver.research.lookahead", "LookAheadCheck": "weaver.research.lookahead"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'weaver.research' has no attribute {name!r}")
