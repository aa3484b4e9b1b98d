from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from weaver.backtesting.result import _bar_numbers


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 499), min_size=1, max_size=50), st.sampled_from(["s", "ms", "us", "ns"]),
       st.sampled_from(["UTC", "America/New_York"]))
def test_bar_numbers_are_the_positions_get_indexer_finds(picks, unit, tz) -> None:  # noqa: ANN001
    index = pd.date_range("2024-01-01", periods=500, freq="1min", tz="UTC").as_unit("ns")
    stamps = pd.DatetimeIndex(index[picks]).as_unit(unit).tz_convert(tz)

    np.testing.assert_array_equal(_bar_numbers(index, stamps), index.get_indexer(stamps))


def test_bar_numbers_fall_back_to_get_indexer_off_the_bars() -> None:
    index = pd.date_range("2024-01-01", periods=5, freq="1D", tz="UTC")
    stamps = pd.DatetimeIndex([index[1], index[4] + pd.Timedelta(hours=1), index[0] - pd.Timedelta(days=1)])

    assert _bar_numbers(index, stamps).tolist() == [1, -1, -1]
    assert _bar_numbers(index[::-1], index[[3]]).tolist() == [1]
