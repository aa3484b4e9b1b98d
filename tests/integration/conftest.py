"""Fixtures shared by the integration tests: the GOOG bars and the peers' SMA crossings."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# The editable install in .venv registered ``weaver`` as a namespace package (it was made
# before weaver/__init__.py existed), so outside the repo root ``import weaver`` gives an
# empty namespace. Putting the repo root first makes the real package win wherever pytest
# is started from. (Reinstalling with ``pip install -e .`` fixes the cause.)
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

GOOG = ROOT / "data" / "GOOG.csv"


@pytest.fixture(scope="session")
def goog():
    import weaver as wv

    return wv.load_bars(GOOG)
