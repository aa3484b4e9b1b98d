"""resample: hand-computed aggregates, labels, refusals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from weaver.core.errors import DataError
from weaver.data import load_bars, resample, synthetic


def minute_bars() -> pd.DataFrame:
    # 00:00..00:06, then 00:15: bins of 5m are [00:00, 00:05), [00:05, 00:10), [00:15, 00:20).
    times = ["00:00", "00:01", "00:02", "00:03", "00:04", "00:05", "00:06", "00:15"]
    frame = pd.DataFrame(
        {
            "timestamp": [f"2020-01-01 {t}" for t in times],
            "open": [10, 11, 12, 11, 10, 9, 8, 20],
            "high": [11, 13, 12, 11, 10, 10, 9, 21],
            "low": [9, 10, 11, 10, 8, 8, 7, 19],
            "close": [11, 12, 11, 10, 9, 8, 8, 20],
            "volume": [1, 2, 3, 4, 5, 6, 7, 8],
        }
    )
    return load_bars(frame, symbol="X", timeframe="1m")


def test_five_minute_bars_by_hand():
    out = resample(minute_bars(), "5m")
    expected = pd.DataFrame(
        {
            "open": [10.0, 9.0, 20.0],
            "high": [13.0, 10.0, 21.0],
            "low": [8.0, 7.0, 19.0],
            "close": [9.0, 8.0, 20.0],
            "volume": [15.0, 13.0, 8.0],
        },
        index=pd.DatetimeIndex(
            ["2020-01-01 00:00", "2020-01-01 00:05", "2020-01-01 00:15"], name="timestamp"
        ).tz_localize("UTC").as_unit("ns"),
    )
    pd.testing.assert_frame_equal(out, expected)  # the empty 00:10 bin is dropped
    assert out.attrs["timeframe"] == "5m" and out.attrs["symbol"] == "X"
    assert out.attrs["gaps"][0]["start"] == pd.Timestamp("2020-01-01 00:10", tz="UTC")


def test_one_hour_and_one_day_of_everything():
    for tf in ("1h", "1d"):
        out = resample(minute_bars(), tf)
        assert out.index.tolist() == [pd.Timestamp("2020-01-01", tz="UTC")]
        assert out.iloc[0].tolist() == [10.0, 21.0, 7.0, 20.0, 36.0]


def test_matches_pandas_resample_on_synthetic_bars():
    bars = synthetic(5_000)
    ours = resample(bars, "15m")
    theirs = (
        bars.resample("15min", closed="left", label="left")
        .agg({"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"})
        .dropna()
    )
    theirs.index.freq = None
    pd.testing.assert_frame_equal(ours, theirs)


def test_weeks_start_monday_and_months_on_the_first():
    bars = synthetic(40, freq="1d", start="2020-01-01")  # a Wednesday
    weekly = resample(bars, "1w")
    assert weekly.index[0] == pd.Timestamp("2019-12-30", tz="UTC")
    assert (weekly.index.day_of_week == 0).all()
    monthly = resample(bars, "1mo")
    assert monthly.index.tolist() == [pd.Timestamp("2020-01-01", tz="UTC"), pd.Timestamp("2020-02-01", tz="UTC")]
    assert monthly["volume"].sum() == bars["volume"].sum()


@pytest.mark.parametrize(
    ("source", "target", "why"),
    [("1m", "30s", "finer"), ("5m", "7m", "not a whole multiple"), ("1w", "1mo", "straddle")],
)
def test_finer_or_non_multiple_target_is_refused(source, target, why):
    with pytest.raises(DataError, match=f"cannot resample {source} bars to {target}.*{why}"):
        resample(synthetic(100, freq=source), target)


def test_same_timeframe_is_identity():
    bars = minute_bars()
    pd.testing.assert_frame_equal(resample(bars, "1m"), bars)


def test_resampled_bars_are_valid():
    out = resample(synthetic(10_000), "1h")
    assert np.isfinite(out.to_numpy()).all()
    load_bars(out)
