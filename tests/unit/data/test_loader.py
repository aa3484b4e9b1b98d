"""load_bars: shapes, sources, symbols, timeframes and gap reports."""

from __future__ import annotations

import copy
import sys
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from weaver.core.errors import DataError
from weaver.data import GapReport, infer_timeframe, load_bars, normalize_timeframe, synthetic

ROOT = Path(__file__).resolve().parents[3]
GOOG = ROOT / "data" / "GOOG.csv"


def make_frame(times: list[str] | pd.DatetimeIndex, **extra) -> pd.DataFrame:
    n = len(times)
    frame = pd.DataFrame(
        {"open": [10.0] * n, "high": [11.0] * n, "low": [9.0] * n, "close": [10.5] * n, "volume": [100] * n, **extra}
    )
    if isinstance(times, pd.DatetimeIndex):
        frame.index = times
    else:
        frame.insert(0, "timestamp", times)
    return frame


def test_goog_loads():
    bars = load_bars(GOOG)
    assert len(bars) == 2148
    assert bars.index[0] == pd.Timestamp("2004-08-19 00:00", tz="UTC")
    assert bars.index[-1] == pd.Timestamp("2013-03-01 00:00", tz="UTC")
    assert str(bars.index.dtype) == "datetime64[ns, UTC]" and bars.index.name == "timestamp"
    assert list(bars.columns) == ["open", "high", "low", "close", "volume"]
    assert (bars.dtypes == np.float64).all()
    assert bars.attrs["symbol"] == "GOOG"
    assert bars.attrs["timeframe"] == "1d"
    assert bars.attrs["source"] == str(GOOG)
    assert bars.attrs["repairs"] == []
    assert bars.iloc[0].tolist() == [100.0, 104.06, 95.96, 100.34, 22351900.0]


def test_goog_gaps_report_missing_business_days():
    gaps = load_bars(GOOG).attrs["gaps"]
    labor_day = {"start": pd.Timestamp("2004-09-06", tz="UTC"), "end": pd.Timestamp("2004-09-06", tz="UTC"), "missing": 1}
    assert gaps[0] == labor_day
    assert len(gaps) > 50  # holidays: the report knows no exchange calendar
    assert list(gaps.to_frame().columns) == ["start", "end", "missing"]


def test_headers_match_case_insensitively_and_extra_columns_are_dropped(make_csv):
    path = make_csv("2020-01-01,1,2,0.5,1.5,10,9.9\n", header="DATE,oPen,HIGH,low,Close,VOLUME,Adj Close\n")
    bars = load_bars(path)
    assert list(bars.columns) == ["open", "high", "low", "close", "volume"]


@pytest.mark.parametrize("header", ["timestamp", "datetime", "date", "time", "Date"])
def test_common_time_headers(make_csv, header):
    path = make_csv("2020-01-01 09:30,1,2,0.5,1.5,10\n", header=f"{header},open,high,low,close,volume\n")
    assert load_bars(path).index[0] == pd.Timestamp("2020-01-01 09:30", tz="UTC")


def test_separate_date_and_time_columns_are_combined(make_csv):
    path = make_csv("2020-01-01,09:30,1,2,0.5,1.5,10\n", header="Date,Time,Open,High,Low,Close,Volume\n")
    assert load_bars(path).index[0] == pd.Timestamp("2020-01-01 09:30", tz="UTC")


def test_dataframe_with_datetime_index():
    index = pd.DatetimeIndex(["2020-01-01 00:00", "2020-01-01 00:05"], name="Date")
    bars = load_bars(make_frame(index))
    assert bars.index[1] == pd.Timestamp("2020-01-01 00:05", tz="UTC")
    assert bars.attrs["source"] == "DataFrame" and bars.attrs["timeframe"] == "5m"


def test_tz_aware_index_is_converted_to_utc():
    index = pd.date_range("2020-07-01 09:30", periods=3, freq="1min", tz="America/New_York")
    assert load_bars(make_frame(index)).index[0] == pd.Timestamp("2020-07-01 13:30", tz="UTC")


def test_input_frame_is_not_modified():
    frame = make_frame(["2020-01-02", "2020-01-01"])
    before = frame.copy()
    with pytest.warns(UserWarning):
        load_bars(frame, repair=True)
    pd.testing.assert_frame_equal(frame, before)


def test_parquet_round_trips_through_load_bars(tmp_path):
    bars = synthetic(100)
    path = tmp_path / "SYN.parquet"
    plain = bars.copy()
    plain.attrs = {}  # pandas cannot JSON-encode the gap report; the Catalog stores attrs itself
    plain.to_parquet(path)
    loaded = load_bars(path)
    pd.testing.assert_frame_equal(loaded, bars)
    assert loaded.attrs["symbol"] == "SYN" and loaded.attrs["timeframe"] == "1m"


def test_unknown_suffix_and_missing_file(tmp_path):
    (tmp_path / "x.json").write_text("{}")
    with pytest.raises(DataError, match="unknown file type"):
        load_bars(tmp_path / "x.json")
    with pytest.raises(DataError, match="no such file"):
        load_bars(tmp_path / "nope.csv")


# ---------------------------------------------------------------------------- symbols


SYMBOLS = "date,symbol,open,high,low,close,volume\n"
TWO = "2020-01-01,AAA,1,2,1,1,1\n2020-01-01,BBB,5,6,4,5,1\n2020-01-02,AAA,1,2,1,2,1\n2020-01-02,BBB,5,6,4,6,1\n"


def test_symbol_column_with_several_symbols_gives_a_dict(make_csv):
    result = load_bars(make_csv(TWO, header=SYMBOLS))
    assert sorted(result) == ["AAA", "BBB"]
    assert result["BBB"]["close"].tolist() == [5.0, 6.0]
    assert result["AAA"].attrs["symbol"] == "AAA" and result["AAA"].attrs["timeframe"] == "1d"


def test_symbol_selects_from_the_column(make_csv):
    bars = load_bars(make_csv(TWO, header=SYMBOLS), symbol="AAA")
    assert isinstance(bars, pd.DataFrame) and bars["close"].tolist() == [1.0, 2.0]
    assert bars.attrs["symbol"] == "AAA"


def test_unknown_symbol_lists_the_available_ones(make_csv):
    with pytest.raises(DataError, match=r"'ZZZ' not found.*\['AAA', 'BBB'\]"):
        load_bars(make_csv(TWO, header=SYMBOLS), symbol="ZZZ")


def test_single_symbol_column_gives_a_frame(make_csv):
    bars = load_bars(make_csv("2020-01-01,AAA,1,2,1,1,1\n", header=SYMBOLS))
    assert isinstance(bars, pd.DataFrame) and bars.attrs["symbol"] == "AAA"


def test_dict_source(make_csv):
    path = make_csv("2020-01-01,1,2,0.5,1.5,10\n2020-01-02,1,2,0.5,1.5,10\n")
    result = load_bars({"X": path, "Y": make_frame(["2020-01-01", "2020-01-02"])})
    assert sorted(result) == ["X", "Y"]
    assert result["X"].attrs["symbol"] == "X" and result["X"].attrs["source"] == str(path)
    assert result["Y"].attrs["source"] == "DataFrame"
    assert load_bars({"X": path}, symbol="X").attrs["symbol"] == "X"
    with pytest.raises(DataError, match=r"'Q' is not in the dict.*\['X'\]"):
        load_bars({"X": path}, symbol="Q")


def test_dict_entries_are_each_validated():
    bad = make_frame(["2020-01-02", "2020-01-01"])
    with pytest.raises(DataError, match="out of time order"):
        load_bars({"A": make_frame(["2020-01-01"]), "B": bad})


# ------------------------------------------------------------------------- timeframes


@pytest.mark.parametrize(
    ("freq", "expected"), [("1min", "1m"), ("5min", "5m"), ("1h", "1h"), ("4h", "4h"), ("7D", "1w")]
)
def test_infer_timeframe_regular(freq, expected):
    assert infer_timeframe(pd.date_range("2020-01-06", periods=50, freq=freq, tz="UTC")) == expected


def test_infer_daily_with_weekends_is_1d():
    assert infer_timeframe(pd.bdate_range("2020-01-01", periods=60, tz="UTC")) == "1d"


def test_infer_intraday_with_overnight_breaks():
    days = pd.bdate_range("2020-01-01", periods=5, tz="UTC")
    stamps = [d + pd.Timedelta(hours=14, minutes=30) + pd.Timedelta(minutes=5 * i) for d in days for i in range(78)]
    assert infer_timeframe(pd.DatetimeIndex(stamps)) == "5m"


def test_infer_monthly_and_too_few_bars():
    assert infer_timeframe(pd.date_range("2020-01-01", periods=12, freq="MS", tz="UTC")) == "1mo"
    assert infer_timeframe(pd.DatetimeIndex(["2020-01-01"], tz="UTC")) is None


@pytest.mark.parametrize(("given", "canonical"), [("5min", "5m"), ("60m", "1h"), ("1D", "1d"), ("7d", "1w"), ("1H", "1h")])
def test_normalize_timeframe(given, canonical):
    assert normalize_timeframe(given) == canonical


@pytest.mark.parametrize("bad", ["1M", "fortnight", "0m", ""])
def test_bad_timeframes_are_refused(bad):
    with pytest.raises(DataError):
        normalize_timeframe(bad)


def test_given_timeframe_is_kept_and_checked():
    frame = make_frame(pd.date_range("2020-01-01", periods=10, freq="1min"))
    assert load_bars(frame, timeframe="1min").attrs["timeframe"] == "1m"
    with pytest.raises(DataError, match="'1d' was given but the bars are mostly 1m apart"):
        load_bars(frame, timeframe="1d")


# ------------------------------------------------------------------------------- gaps


def test_intraday_gaps_within_a_day_are_reported_not_overnight():
    stamps = ["2020-01-01 09:30", "2020-01-01 09:31", "2020-01-01 09:34", "2020-01-01 16:00", "2020-01-02 09:30"]
    bars = load_bars(make_frame(stamps), timeframe="1m")
    gaps = bars.attrs["gaps"]
    first = {"start": pd.Timestamp("2020-01-01 09:32", tz="UTC"), "end": pd.Timestamp("2020-01-01 09:33", tz="UTC"), "missing": 2}
    assert gaps[0] == first
    assert len(gaps) == 2 and gaps[1]["missing"] == 385  # 09:35 .. 15:59
    assert len(bars) == 5  # reported, never refused


def test_weekly_gap_counts_missing_weeks():
    stamps = ["2020-01-06", "2020-01-13", "2020-02-03"]
    gaps = load_bars(make_frame(stamps), timeframe="1w").attrs["gaps"]
    assert [g["missing"] for g in gaps] == [2]


def test_gap_report_is_cheap_to_copy_and_compares_to_lists():
    gaps = GapReport(np.array([1]), np.array([2]), np.array([1]))
    assert copy.deepcopy(gaps) is gaps
    assert gaps == [{"start": pd.Timestamp(1, tz="UTC"), "end": pd.Timestamp(2, tz="UTC"), "missing": 1}]
    assert GapReport.empty() == [] and "no gaps" in repr(GapReport.empty())


def test_importing_weaver_data_does_not_import_pyarrow_itself():
    # pandas 3 imports pyarrow on its own, so check our modules' imports, not sys.modules.
    code = (
        "import builtins, sys\n"
        "seen = []\n"
        "real = builtins.__import__\n"
        "def spy(name, globals=None, *a, **k):\n"
        "    if name.startswith('pyarrow') and (globals or {}).get('__name__', '').startswith('weaver'):\n"
        "        seen.append(name)\n"
        "    return real(name, globals, *a, **k)\n"
        "builtins.__import__ = spy\n"
        "import weaver.data, weaver.catalog\n"
        "print(seen)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_a_frame_already_in_shape_is_shared_not_copied_and_stays_safe_to_edit() -> None:
    import numpy as np

    from weaver.data import synthetic

    source = synthetic(50, "1min", seed=4)
    loaded = load_bars(source)

    assert np.shares_memory(source["close"].to_numpy(), loaded["close"].to_numpy())
    loaded.loc[loaded.index[0], "close"] = 1.0  # copy-on-write: the caller's frame keeps its value
    assert source["close"].iloc[0] != 1.0
