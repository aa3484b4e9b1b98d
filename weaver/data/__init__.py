"""Market data: load and validate bars, resample them, generate synthetic ones.

Importing this package needs only numpy and pandas; pyarrow is imported when a Parquet
file is read or written.
"""

from __future__ import annotations

from weaver.data.gaps import GapReport
from weaver.data.loader import DataWarning, load_bars
from weaver.data.resample import resample
from weaver.data.synthetic import synthetic
from weaver.data.timeframe import infer_timeframe, normalize_timeframe

__all__ = [
    "DataWarning",
    "GapReport",
    "infer_timeframe",
    "load_bars",
    "normalize_timeframe",
    "resample",
    "synthetic",
]
