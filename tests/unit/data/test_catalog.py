"""Catalog: exact round trips, listing, refusals, atomic writes."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from weaver.catalog import Catalog
from weaver.core.errors import DataError
from weaver.data import load_bars, synthetic


def test_round_trip_is_exact(tmp_path):
    catalog = Catalog(tmp_path)
    bars = synthetic(1_000, symbol="AAPL")
    path = catalog.write(bars)
    assert path == tmp_path / "1m" / "AAPL.parquet"
    read = catalog.read("AAPL", "1m")
    pd.testing.assert_frame_equal(read, bars)
    assert str(read.index.dtype) == "datetime64[ns, UTC]" and read.index.name == "timestamp"
    assert read.attrs["symbol"] == "AAPL" and read.attrs["timeframe"] == "1m"
    assert read.attrs["source"] == str(path) and read.attrs["repairs"] == []


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(n=st.integers(1, 300), seed=st.integers(0, 2**32 - 1), freq=st.sampled_from(["1m", "5m", "1h", "1d"]))
def test_round_trip_property(tmp_path, n, seed, freq):
    bars = synthetic(n, freq=freq, seed=seed, symbol="P")
    catalog = Catalog(tmp_path)
    catalog.write(bars, timeframe=freq)
    pd.testing.assert_frame_equal(catalog.read("P", freq), bars)


def test_symbol_and_timeframe_arguments_win_over_attrs(tmp_path):
    catalog = Catalog(tmp_path)
    catalog.write(synthetic(10, freq="1h"), symbol="BTC/USD")
    assert catalog.symbols() == ["BTC/USD"]
    assert catalog.read("BTC/USD", "60m").attrs["symbol"] == "BTC/USD"


def test_listing(tmp_path):
    catalog = Catalog(tmp_path)
    assert catalog.symbols() == []
    minute = synthetic(2_000, symbol="A")
    catalog.write(minute)
    from weaver.data import resample

    catalog.write(resample(minute, "1h"))
    catalog.write(resample(minute, "1d"))
    catalog.write(synthetic(10, symbol="B"))
    assert catalog.symbols() == ["A", "B"]
    assert catalog.timeframes("A") == ["1m", "1h", "1d"]
    assert catalog.has("A", "1h") and catalog.has("A", "60min") and not catalog.has("B", "1h")


def test_read_a_time_range_inclusive(tmp_path):
    catalog = Catalog(tmp_path)
    catalog.write(synthetic(100, symbol="A"))
    part = catalog.read("A", "1m", start="2020-01-01 00:10", end=pd.Timestamp("2020-01-01 00:19", tz="UTC"))
    assert len(part) == 10
    assert part.index[0] == pd.Timestamp("2020-01-01 00:10", tz="UTC")


def test_unknown_symbol_or_timeframe_names_it_and_the_root(tmp_path):
    catalog = Catalog(tmp_path)
    catalog.write(synthetic(10, symbol="A"))
    with pytest.raises(DataError, match=rf"{tmp_path}.*unknown symbol 'ZZ'.*\['A'\]"):
        catalog.read("ZZ", "1m")
    with pytest.raises(DataError, match=rf"{tmp_path}.*no '1d' bars for 'A'.*\['1m'\]"):
        catalog.read("A", "1d")
    with pytest.raises(DataError, match="unknown symbol 'ZZ'"):
        catalog.timeframes("ZZ")


def test_write_validates_and_needs_a_symbol(tmp_path):
    catalog = Catalog(tmp_path)
    bad = synthetic(10)
    bad.iloc[3, 1] = 0.01  # high below low
    with pytest.raises(DataError, match="high is below low"):
        catalog.write(bad)
    anonymous = synthetic(10)
    anonymous.attrs = {}
    with pytest.raises(DataError, match="no symbol"):
        catalog.write(anonymous)
    assert catalog.symbols() == []


def test_write_replaces_atomically_and_leaves_no_temp_files(tmp_path, monkeypatch):
    catalog = Catalog(tmp_path)
    catalog.write(synthetic(10, symbol="A"))
    import pyarrow.parquet as pq

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(pq, "write_table", broken)
    with pytest.raises(OSError, match="disk full"):
        catalog.write(synthetic(20, symbol="A"))
    assert len(catalog.read("A", "1m")) == 10  # the old file is intact
    assert sorted(p.name for p in (tmp_path / "1m").iterdir()) == ["A.parquet"]


def test_goog_round_trip(tmp_path):
    goog = load_bars("data/GOOG.csv")
    catalog = Catalog(tmp_path)
    catalog.write(goog)
    read = catalog.read("GOOG", "1d")
    pd.testing.assert_frame_equal(read, goog)
    assert read.attrs["gaps"] == goog.attrs["gaps"]


def test_entries_say_what_the_catalog_holds_without_reading_the_bars(tmp_path):
    catalog = Catalog(tmp_path)
    assert catalog.entries() == []
    catalog.write(synthetic(100, symbol="B"))
    catalog.write(load_bars("data/GOOG.csv"))
    catalog.write(synthetic(30, freq="1h", symbol="B"))

    entries = catalog.entries()

    assert [(e.symbol, e.timeframe, e.bars) for e in entries] == [("B", "1m", 100), ("B", "1h", 30), ("GOOG", "1d", 2148)]
    goog = catalog.entry("GOOG", "1D")
    assert (goog.start, goog.end) == (pd.Timestamp("2004-08-19", tz="UTC"), pd.Timestamp("2013-03-01", tz="UTC"))
    assert goog.path == tmp_path / "1d" / "GOOG.parquet"
    with pytest.raises(DataError, match="unknown symbol 'ZZ'"):
        catalog.entry("ZZ", "1d")


@pytest.mark.parametrize(("start", "end", "limit"), [
    (None, None, 5), ("2020-01-01 00:10", None, 3), ("2020-01-01 00:10", "2020-01-01 00:11", 30),
    ("2021-01-01", None, 5), (None, "2019-01-01", None), ("2020-01-01 00:50", "2020-01-01 00:40", None),
    (None, None, 0),
])
def test_a_limited_or_ranged_read_is_the_slice_of_the_whole(tmp_path, start, end, limit):
    catalog = Catalog(tmp_path)
    catalog.write(synthetic(100, symbol="A"))
    whole = catalog.read("A", "1m")

    part = catalog.read("A", "1m", start=start, end=end, limit=limit)

    lo = 0 if start is None else whole.index.searchsorted(pd.Timestamp(start, tz="UTC"), "left")
    hi = len(whole) if end is None else whole.index.searchsorted(pd.Timestamp(end, tz="UTC"), "right")
    expected = whole.iloc[lo:max(lo, hi)].iloc[:limit]
    pd.testing.assert_frame_equal(part, expected)
