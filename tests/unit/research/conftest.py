"""Fixtures and strategies shared by the research tests."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
if str(ROOT) not in sys.path:  # see tests/integration/conftest.py
    sys.path.insert(0, str(ROOT))

GOOG = ROOT / "data" / "GOOG.csv"


@pytest.fixture(scope="session")
def goog():
    import weaver as wv

    return wv.load_bars(GOOG)


@pytest.fixture(scope="session")
def two_symbols():
    import weaver as wv

    a = wv.synthetic(600, "1d", seed=1)
    b = wv.synthetic(600, "1d", seed=2)
    a.attrs["symbol"], b.attrs["symbol"] = "AAA", "BBB"
    return {"AAA": a, "BBB": b}
