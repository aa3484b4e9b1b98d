"""synthetic: deterministic, valid, fast."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from weaver.data import load_bars, synthetic


def test_same_seed_same_bars_other_seed_other_bars():
    pd.testing.assert_frame_equal(synthetic(1_000, seed=7), synthetic(1_000, seed=7))
    assert not synthetic(1_000, seed=7)["close"].equals(synthetic(1_000, seed=8)["close"])


def test_does_not_touch_the_global_rng():
    np.random.seed(123)
    before = np.random.get_state()[1].copy()
    synthetic(100)
    assert (np.random.get_state()[1] == before).all()


def test_bars_pass_validation_and_have_the_shape():
    bars = synthetic(10_000, freq="5m", start="2021-03-01 09:30", symbol="ABC", price=50.0)
    checked = load_bars(bars)
    pd.testing.assert_frame_equal(checked, bars)
    assert bars.index[0] == pd.Timestamp("2021-03-01 09:30", tz="UTC")
    assert str(bars.index.dtype) == "datetime64[ns, UTC]" and bars.index.name == "timestamp"
    assert bars.attrs["symbol"] == "ABC" and bars.attrs["timeframe"] == "5m"
    assert checked.attrs["timeframe"] == "5m"
    assert bars["open"].iloc[0] == 50.0
    volume = bars["volume"].to_numpy()
    assert (volume >= 1).all() and (volume == np.floor(volume)).all()
    assert (bars["high"] > bars["low"]).all()


def test_prices_stay_plausible():
    close = synthetic(100_000)["close"]
    assert 50 < close.min() and close.max() < 200  # 20 % annual vol over ~70 days of minutes


def test_a_million_bars_well_under_a_second():
    synthetic(1_000)
    start = time.perf_counter()
    bars = synthetic(1_000_000)
    assert time.perf_counter() - start < 1.0
    assert len(bars) == 1_000_000
