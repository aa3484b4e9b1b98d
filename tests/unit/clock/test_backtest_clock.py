from __future__ import annotations

from datetime import timezone

import numpy as np
import pandas as pd
import pytest

from weaver.clock import BacktestClock, Cursor, epoch_micros, session_ends


def test_steps_move_the_cursor_and_now_is_the_bar_time_to_the_microsecond() -> None:
    index = pd.DatetimeIndex(["1999-12-31 23:59:59.999999", "2024-03-10 06:59:00.000001",
                              "2090-01-01 00:00:00"], tz="UTC")
    clock = BacktestClock(index, Cursor())

    seen = [(i, clock.now()) for i in clock.steps()]

    assert [i for i, _ in seen] == [0, 1, 2]
    assert [t for _, t in seen] == list(index)
    assert all(t.tzinfo is timezone.utc for _, t in seen)
    assert list(clock) == list(index)


def test_now_before_the_first_step_is_an_error() -> None:
    with pytest.raises(RuntimeError, match="not started"):
        BacktestClock(pd.DatetimeIndex(["2024-01-01"], tz="UTC")).now()


def test_progress_is_reported_along_the_way() -> None:
    clock = BacktestClock(pd.date_range("2024-01-01", periods=1000, freq="1min", tz="UTC"))
    calls: list[tuple[int, int]] = []

    steps = list(clock.steps(progress=lambda done, total: calls.append((done, total)), chunks=10))

    assert steps == list(range(1000))
    assert calls[-1] == (1000, 1000) and len(calls) == 10


def test_sessions_end_on_the_last_bar_of_each_exchange_day() -> None:
    # 15:59 and 16:00 New York on two days (20:59/21:00 UTC in winter)
    index = pd.DatetimeIndex(["2024-01-02 20:59", "2024-01-02 21:00", "2024-01-03 14:30",
                              "2024-01-03 21:00"], tz="UTC")

    assert session_ends(index, "1m").tolist() == [False, True, False, True]
    assert session_ends(index[:2], "1d").tolist() == [True, True]
    assert np.asarray(session_ends(index[:0], "1m")).size == 0


@pytest.mark.parametrize("unit", ["s", "ms", "us", "ns"])
@pytest.mark.parametrize("tz", ["America/New_York", "Asia/Kolkata", "UTC"])
def test_sessions_follow_local_days_in_every_unit_across_dst(unit: str, tz: str) -> None:
    # 1969 and both 2024 DST changes in New York, every 37 minutes
    index = pd.DatetimeIndex(np.concatenate([
        pd.date_range("1969-12-30", "1970-01-02", freq="37min", tz="UTC").asi8,
        pd.date_range("2024-03-09", "2024-03-12", freq="37min", tz="UTC").asi8,
        pd.date_range("2024-11-02", "2024-11-05", freq="37min", tz="UTC").asi8,
    ])).tz_localize("UTC").as_unit(unit)
    local_days = index.tz_convert(tz).tz_localize(None).normalize()
    expected = np.append(local_days[1:] != local_days[:-1], True)

    assert session_ends(index, "37m", tz).tolist() == expected.tolist()


def test_a_clock_given_the_index_microseconds_tells_the_same_time() -> None:
    index = pd.date_range("2024-01-01", periods=50, freq="1min", tz="UTC")
    plain = BacktestClock(index, Cursor())
    given = BacktestClock(index, Cursor(), micros=epoch_micros(index))

    times = [(plain.now(), given.now()) for _ in zip(plain.steps(), given.steps(), strict=True)]

    assert all(a == b for a, b in times) and len(times) == 50
    with pytest.raises(ValueError, match="49 microsecond stamps for 50 bars"):
        BacktestClock(index, Cursor(), micros=epoch_micros(index)[:49])


def test_clocks_sharing_a_stamp_cache_make_each_bar_time_once() -> None:
    index = pd.date_range("2024-01-01", periods=20, freq="1min", tz="UTC")
    stamps: dict = {}
    first = BacktestClock(index, Cursor(), micros=epoch_micros(index), stamps=stamps)
    seen = [first.now() for _ in first.steps()]
    second = BacktestClock(index, Cursor(), micros=epoch_micros(index), stamps=stamps)

    again = [second.now() for _ in second.steps()]

    assert seen == list(index) and len(stamps) == 20
    assert all(a is b for a, b in zip(seen, again, strict=True))  # made by the first clock, reused
    with pytest.raises(RuntimeError, match="not started"):
        BacktestClock(index, Cursor(), stamps=stamps).now()
