"""Bars prepared once for many backtests give the same results as preparing them per run."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import weaver as wv
from weaver.backtesting import engine
from weaver.backtesting.engine import PreparedBars, prepare_bars, run_backtest
from weaver.core.errors import BacktestError, DataError
from weaver.strategy import Strategy
from weaver.strategy.examples import MomentumRotation, SmaCross

COMBOS = [(5, 20), (10, 40), (5, 60)]


def make_two_unaligned() -> dict[str, pd.DataFrame]:
    a = wv.synthetic(400, "1h", seed=1)
    b = wv.synthetic(400, "1h", seed=2).iloc[::3]  # every third bar: merged with gaps
    a.attrs["symbol"], b.attrs["symbol"] = "AAA", "BBB"
    return prepare_bars({"AAA": a, "BBB": b})


def assert_same_result(got, want) -> None:
    pd.testing.assert_series_equal(got.equity, want.equity)
    pd.testing.assert_frame_equal(got.trades, want.trades)
    pd.testing.assert_frame_equal(got.fills, want.fills)
    pd.testing.assert_series_equal(got.stats, want.stats)


@pytest.mark.parametrize("tz", ["America/New_York", "Asia/Tokyo"])
def test_runs_on_prepared_bars_equal_runs_on_frames(tz: str) -> None:
    frames = prepare_bars(wv.synthetic(3_000, "5min", seed=4))
    prepared = PreparedBars(frames)

    for fast, slow in COMBOS:
        params = SmaCross.validate_params(fast=fast, slow=slow)
        reused = run_backtest(SmaCross, prepared, params, session_tz=tz)
        fresh = run_backtest(SmaCross, frames, params, session_tz=tz)

        assert_same_result(reused, fresh)
        assert list(reused.bars) == list(frames)


def test_a_portfolio_of_unaligned_symbols_runs_the_same_on_prepared_bars() -> None:
    frames = make_two_unaligned()
    prepared = PreparedBars(frames)

    for lookback in (10, 20, 10):
        params = MomentumRotation.validate_params(lookback=lookback, every=5)
        assert_same_result(run_backtest(MomentumRotation, prepared, params),
                           run_backtest(MomentumRotation, frames, params))


def test_the_merged_index_and_sessions_are_computed_once(monkeypatch) -> None:
    calls = {"merged": 0, "sessions": 0}
    merged, sessions = engine._merged_index, engine.session_ends

    def count_merged(*a):
        calls["merged"] += 1
        return merged(*a)

    def count_sessions(*a):
        calls["sessions"] += 1
        return sessions(*a)

    monkeypatch.setattr(engine, "_merged_index", count_merged)
    monkeypatch.setattr(engine, "session_ends", count_sessions)
    prepared = PreparedBars(make_two_unaligned())
    for lookback in (10, 20, 30):
        run_backtest(MomentumRotation, prepared, MomentumRotation.validate_params(lookback=lookback))
    run_backtest(MomentumRotation, prepared, MomentumRotation.validate_params(lookback=10), session_tz="UTC")

    assert calls == {"merged": 1, "sessions": 2}  # one per session time zone


def test_prepared_bars_are_a_snapshot_later_changes_to_a_frame_do_not_reach_them() -> None:
    frames = prepare_bars(wv.synthetic(2_000, "1h", seed=5))
    prepared = PreparedBars(frames)
    params = SmaCross.validate_params(fast=5, slow=20)
    before = run_backtest(SmaCross, prepared, params)

    frame = frames["SYN"]
    frame.loc[frame.index[500:], ["open", "high", "low", "close"]] *= 3.0  # in place, after preparing

    after = run_backtest(SmaCross, prepared, params)
    changed = run_backtest(SmaCross, frames, params)
    assert_same_result(after, before)
    assert after.bars["SYN"]["close"].iloc[600] == before.bars["SYN"]["close"].iloc[600]
    assert changed.stats["equity_final"] != before.stats["equity_final"]


def test_a_strategy_cannot_write_into_the_shared_bars() -> None:
    class Scribbles(Strategy):
        def init(self) -> None:
            self.data["BBB"].close[0] = 0.0

    prepared = PreparedBars(make_two_unaligned())

    with pytest.raises(BacktestError, match="Scribbles.init.*read-only"):
        run_backtest(Scribbles, prepared, {})
    assert all(not a.flags.writeable for arrays in prepared.arrays.values() for a in arrays.values())
    assert prepared.has_bar["AAA"] is None and not prepared.has_bar["BBB"].flags.writeable
    assert not prepared.session_end("America/New_York").flags.writeable and not prepared.micros.flags.writeable
    assert prepared.arrays["BBB"]["close"][0] != 0.0


def test_prepared_bars_need_at_least_one_frame() -> None:
    with pytest.raises(DataError, match="no bars"):
        PreparedBars({})


def test_runs_on_prepared_bars_do_not_share_mutable_state() -> None:
    prepared = PreparedBars(prepare_bars(wv.synthetic(500, "1h", seed=6)))
    params = SmaCross.validate_params(fast=5, slow=20)

    first = run_backtest(SmaCross, prepared, params)
    second = run_backtest(SmaCross, prepared, params)

    assert_same_result(second, first)
    assert first.fills is not second.fills
    assert np.array_equal(prepared.closes["SYN"], prepare_bars(wv.synthetic(500, "1h", seed=6))["SYN"]["close"])


def test_runs_on_the_same_prepared_bars_share_each_bar_time() -> None:
    prepared = PreparedBars(prepare_bars(wv.synthetic(2_000, "5min", seed=4)))
    params = SmaCross.validate_params(fast=5, slow=20)

    one = run_backtest(SmaCross, prepared, params)._orders
    two = run_backtest(SmaCross, prepared, params)._orders

    assert len(one) == len(two) > 10
    assert all(a.created_at == b.created_at and a.created_at is b.created_at for a, b in zip(one, two, strict=True))
    assert all(a.filled_at is b.filled_at for a, b in zip(one, two, strict=True))
