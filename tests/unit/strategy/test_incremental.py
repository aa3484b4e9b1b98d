"""The incremental twins give, bar by bar, exactly the values of the vectorized indicators.

Exactly means ``np.array_equal(..., equal_nan=True)``, not ``allclose``: a crossing decided
on a value one ulp away places a different order in a rehearsal than in the backtest.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import weaver as wv
from weaver.core.errors import ParameterError
from weaver.strategy import incremental
from weaver.strategy.incremental import (
    AtrState, BollingerState, BoundTwin, EmaState, RsiState, SmaState, twin, twin_for,
)
from weaver.strategy.indicators import atr, bollinger, ema, rsi, sma

GOOG = Path(__file__).resolve().parents[3] / "data" / "GOOG.csv"
SEEDS = (0, 1, 2, 3)
WINDOWS = (1, 2, 3, 14, 50)
LENGTHS = (40, 2500)  # shorter and longer than the warm-ups


# -- builders ----------------------------------------------------------------------------------


def make_walk(seed: int, length: int) -> np.ndarray:
    """A price: a Gaussian random walk around 100."""
    rng = np.random.default_rng(seed)
    return 100.0 + np.cumsum(rng.normal(0.0, 1.0, length))


def make_returns(seed: int, length: int) -> np.ndarray:
    """Returns: both signs, some exact zeros and negative zeros (the sign-bit count)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0.0, 0.01, length)
    x[rng.random(length) < 0.05] = 0.0
    x[rng.random(length) < 0.03] = -0.0
    return x


def make_late_start(seed: int, length: int) -> np.ndarray:
    """A symbol that starts later, NaN before, and with a few missing bars after."""
    rng = np.random.default_rng(seed)
    x = make_walk(seed, length)
    x[: length // 4] = np.nan
    x[rng.random(length) < 0.03] = np.nan
    return x


def make_stretches(seed: int, length: int) -> np.ndarray:
    """Constant stretches longer than most windows (the consecutive-same-value rule)."""
    rng = np.random.default_rng(seed)
    levels = np.round(100.0 + np.cumsum(rng.normal(0.0, 1.0, length // 9 + 1)), 1)
    return np.repeat(levels, rng.integers(1, 70, len(levels)))[:length]


def make_offset(seed: int, length: int) -> np.ndarray:
    """A large level with small noise: where the compensated sums matter."""
    rng = np.random.default_rng(seed)
    return 1e6 + rng.normal(0.0, 1e-3, length)


def make_regimes(seed: int, length: int) -> np.ndarray:
    """Wild swings then a flat run then calm noise: the variance collapses (roll_var's recompute)."""
    rng = np.random.default_rng(seed)
    third = max(length // 3, 1)
    return np.r_[rng.normal(0.0, 1e6, third), np.full(third, 3.0), rng.normal(0.0, 1.0, third)]


def make_magnitudes(seed: int, length: int) -> np.ndarray:
    """One sign, magnitudes from 1e-12 to 1e12 (volumes with spikes): after a spike leaves the
    window, rounding can leave the sum of the smaller values with the wrong sign, which
    roll_mean clamps to 0. Positive for even seeds, negative for odd ones."""
    rng = np.random.default_rng(seed)
    x = np.abs(rng.normal(0.0, 1.0, length)) * 10.0 ** rng.integers(-12, 12, length)
    return x if seed % 2 == 0 else -x


def make_spikes(seed: int, length: int) -> np.ndarray:
    """A walk with infinite prints, which pandas' window functions read as missing."""
    rng = np.random.default_rng(seed)
    x = make_walk(seed, length)
    x[rng.random(length) < 0.03] = np.inf
    x[rng.random(length) < 0.03] = -np.inf
    return x


MAKERS = {
    "walk": make_walk,
    "returns": make_returns,
    "late_start": make_late_start,
    "stretches": make_stretches,
    "offset": make_offset,
    "regimes": make_regimes,
    "magnitudes": make_magnitudes,
    "spikes": make_spikes,
}


def make_bars(close: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """High, low and close around ``close`` (NaN where it is)."""
    rng = np.random.default_rng(seed + 1000)
    finite = close[np.isfinite(close)]
    scale = finite.std() if len(finite) > 1 else 1.0
    spread = np.abs(rng.normal(0.0, 0.2 * (scale or 1.0), (2, len(close))))
    return close + spread[0], close - spread[1], close


def push_all(state: Any, *arrays: np.ndarray) -> np.ndarray | tuple[np.ndarray, ...]:
    """Push the arrays bar by bar as plain floats and collect what the twin returns."""
    out = [state.push(*bar) for bar in zip(*(np.asarray(a, dtype=float).tolist() for a in arrays))]
    if state.outputs == 1:
        return np.array(out, dtype=float)
    return tuple(np.array([bar[j] for bar in out], dtype=float) for j in range(state.outputs))


def assert_identical(pushed: np.ndarray, vectorized: np.ndarray) -> None:
    assert pushed.shape == vectorized.shape
    if not np.array_equal(pushed, vectorized, equal_nan=True):
        differ = np.flatnonzero(~((pushed == vectorized) | (np.isnan(pushed) & np.isnan(vectorized))))
        i = differ[0]
        pytest.fail(f"{len(differ)} bars differ, first bar {i}: pushed {pushed[i]!r}, "
                    f"vectorized {vectorized[i]!r}")


def goog() -> Any:
    return wv.load_bars(GOOG)


cases = pytest.mark.parametrize("kind", list(MAKERS))
seeds = pytest.mark.parametrize("seed", SEEDS)
windows = pytest.mark.parametrize("n", WINDOWS)
lengths = pytest.mark.parametrize("length", LENGTHS)


# -- each twin equals its vectorized indicator -------------------------------------------------


@cases
@seeds
@windows
@lengths
def test_sma_twin_is_bit_identical(kind: str, seed: int, n: int, length: int) -> None:
    x = MAKERS[kind](seed, length)

    pushed = push_all(SmaState(n), x)

    assert_identical(pushed, sma(x, n))


@cases
@seeds
@windows
@lengths
def test_ema_twin_is_bit_identical(kind: str, seed: int, n: int, length: int) -> None:
    x = MAKERS[kind](seed, length)

    pushed = push_all(EmaState(n), x)

    assert_identical(pushed, ema(x, n))


@cases
@seeds
@windows
@lengths
def test_rsi_twin_is_bit_identical(kind: str, seed: int, n: int, length: int) -> None:
    x = MAKERS[kind](seed, length)

    pushed = push_all(RsiState(n), x)

    assert_identical(pushed, rsi(x, n))


@cases
@seeds
@windows
@lengths
def test_atr_twin_is_bit_identical(kind: str, seed: int, n: int, length: int) -> None:
    high, low, close = make_bars(MAKERS[kind](seed, length), seed)

    pushed = push_all(AtrState(n), high, low, close)

    with np.errstate(invalid="ignore"):  # inf - inf in the true range of the spikes
        expected = atr(high, low, close, n)
    assert_identical(pushed, expected)


@cases
@seeds
@windows
@lengths
@pytest.mark.parametrize("k", [2.0, 1, 2.5])
def test_bollinger_twin_is_bit_identical(kind: str, seed: int, n: int, length: int, k: float) -> None:
    x = MAKERS[kind](seed, length)

    pushed = push_all(BollingerState(n, k), x)

    for band, expected in zip(pushed, bollinger(x, n, k), strict=True):
        assert_identical(band, expected)


def test_bollinger_recomputes_the_window_when_the_variance_collapses() -> None:
    # the flat run after swings of 1e6 sets roll_var's cancellation flag: without the
    # recomputation the pushed std of the flat windows keeps the old rounding error
    x = make_regimes(0, 300)
    adds = 0
    state = BollingerState(14)
    real_add = incremental._RollingVar._add

    def counting_add(self: Any, v: float) -> float:
        nonlocal adds
        adds += 1
        return real_add(self, v)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(incremental._RollingVar, "_add", counting_add)
        pushed = push_all(state, x)

    assert adds > len(x)  # some window was recomputed
    for band, expected in zip(pushed, bollinger(x, 14), strict=True):
        assert_identical(band, expected)


@windows
def test_twins_on_goog_are_bit_identical(n: int) -> None:
    bars = goog()
    h, l, c = (bars[col].to_numpy() for col in ("high", "low", "close"))

    assert_identical(push_all(SmaState(n), c), sma(c, n))
    assert_identical(push_all(EmaState(n), c), ema(c, n))
    assert_identical(push_all(RsiState(n), c), rsi(c, n))
    assert_identical(push_all(AtrState(n), h, l, c), atr(h, l, c, n))
    for band, expected in zip(push_all(BollingerState(n), c), bollinger(c, n), strict=True):
        assert_identical(band, expected)
    # returns: both signs around zero
    r = np.diff(c) / c[:-1]
    assert_identical(push_all(SmaState(n), r), sma(r, n))


def test_rsi_twin_follows_the_vectorized_edge_cases() -> None:
    # flat (no gain, no loss: 0/0 is NaN), rising only (no loss: 100), then falling
    x = np.r_[np.full(10, 5.0), np.arange(5.0, 25.0), np.arange(25.0, 0.0, -1.0)]

    pushed = push_all(RsiState(5), x)

    assert_identical(pushed, rsi(x, 5))
    assert np.isnan(pushed[8]) and pushed[29] == 100.0 and pushed[-1] < 1.0


def test_ema_with_a_fractional_span_matches() -> None:
    x = make_walk(7, 300)

    assert_identical(push_all(EmaState(2.5), x), ema(x, 2.5))


def test_twins_take_numpy_scalars_and_return_floats() -> None:
    x = make_walk(3, 60)
    state = SmaState(5)

    values = [state.push(v) for v in x]  # numpy float64 scalars, as iterating an array gives

    assert all(type(v) is float for v in values)
    assert_identical(np.array(values), sma(x, 5))


# -- property tests ----------------------------------------------------------------------------

_value = st.one_of(
    st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False),
    st.just(math.nan),
    st.sampled_from([0.0, -0.0, 0.1, 1e6, -1e-9, math.inf, -math.inf]),
)
# (value, run length): runs of one value and runs of NaN, as a halted or late symbol has
_runs = st.lists(st.tuples(_value, st.integers(min_value=1, max_value=6)), max_size=40)


def expand(runs: list[tuple[float, int]]) -> np.ndarray:
    return np.array([v for v, k in runs for _ in range(k)], dtype=float)


@settings(max_examples=300, deadline=None)
@given(runs=_runs, n=st.integers(min_value=1, max_value=12))
def test_sma_twin_equals_sma_on_any_series(runs: list[tuple[float, int]], n: int) -> None:
    x = expand(runs)

    assert_identical(push_all(SmaState(n), x), sma(x, n))


@settings(max_examples=300, deadline=None)
@given(runs=_runs, n=st.integers(min_value=1, max_value=12))
def test_ema_twin_equals_ema_on_any_series(runs: list[tuple[float, int]], n: int) -> None:
    x = expand(runs)

    assert_identical(push_all(EmaState(n), x), ema(x, n))


@settings(max_examples=200, deadline=None)
@given(runs=_runs, n=st.integers(min_value=1, max_value=12))
def test_rsi_twin_equals_rsi_on_any_series(runs: list[tuple[float, int]], n: int) -> None:
    x = expand(runs)

    assert_identical(push_all(RsiState(n), x), rsi(x, n))


@settings(max_examples=200, deadline=None)
@given(runs=_runs, n=st.integers(min_value=1, max_value=12),
       k=st.floats(min_value=0.0, max_value=4.0))
def test_bollinger_twin_equals_bollinger_on_any_series(
    runs: list[tuple[float, int]], n: int, k: float
) -> None:
    x = expand(runs)

    for band, expected in zip(push_all(BollingerState(n, k), x), bollinger(x, n, k), strict=True):
        assert_identical(band, expected)


@settings(max_examples=200, deadline=None)
@given(runs=_runs, spreads=st.lists(st.floats(min_value=0.0, max_value=50.0), min_size=80,
                                    max_size=80),
       n=st.integers(min_value=1, max_value=12))
def test_atr_twin_equals_atr_on_any_series(
    runs: list[tuple[float, int]], spreads: list[float], n: int
) -> None:
    close = expand(runs)
    up = np.resize(np.array(spreads), len(close))
    high, low = close + up, close - up[::-1]

    with np.errstate(invalid="ignore"):  # inf - inf in the true range
        expected = atr(high, low, close, n)
    assert_identical(push_all(AtrState(n), high, low, close), expected)


# -- finding the twin of a declaration ---------------------------------------------------------


@pytest.mark.parametrize(
    ("func", "args", "kwargs", "state_type", "params"),
    [
        (sma, ("C", 10), {}, SmaState, {"n": 10}),
        (sma, ("C",), {"n": 10}, SmaState, {"n": 10}),
        (sma, (), {"x": "C", "n": 7}, SmaState, {"n": 7}),
        (ema, ("C", 12), {}, EmaState, {}),
        (rsi, ("C",), {}, RsiState, {"n": 14.0}),
        (rsi, ("C", 9), {}, RsiState, {"n": 9.0}),
        (atr, ("H", "L", "C"), {}, AtrState, {"n": 14.0}),
        (atr, ("H", "L", "C"), {"n": 5}, AtrState, {"n": 5.0}),
        (bollinger, ("C",), {}, BollingerState, {"n": 20, "k": 2.0}),
        (bollinger, ("C", 10), {"k": 1.5}, BollingerState, {"n": 10, "k": 1.5}),
        (bollinger, ("C", 10, 3), {}, BollingerState, {"n": 10, "k": 3.0}),
    ],
)
def test_twin_for_binds_a_declaration(
    func: Any, args: tuple, kwargs: dict, state_type: type, params: dict
) -> None:
    data = {"H": np.array([2.0]), "L": np.array([1.0]), "C": np.array([1.5])}
    args = tuple(data.get(a, a) if isinstance(a, str) else a for a in args)
    kwargs = {k: data.get(v, v) if isinstance(v, str) else v for k, v in kwargs.items()}

    bound = twin_for(func, args, kwargs)

    assert isinstance(bound, BoundTwin)
    assert type(bound.state) is state_type
    for name, value in params.items():
        assert getattr(bound.state, name) == value
    expected_inputs = (data["H"], data["L"], data["C"]) if func is atr else (data["C"],)
    assert all(a is b for a, b in zip(bound.inputs, expected_inputs, strict=True))


def test_a_bound_twin_reproduces_its_declaration_on_goog() -> None:
    bars = goog()
    h, l, c = (bars[col].to_numpy() for col in ("high", "low", "close"))
    declarations = [
        (sma, (c, 20), {}),
        (ema, (c,), {"n": 12}),
        (rsi, (c,), {}),
        (atr, (h, l, c), {"n": 10}),
        (bollinger, (c,), {"k": 2.5}),
    ]

    for func, args, kwargs in declarations:
        bound = twin_for(func, args, kwargs)
        assert bound is not None
        pushed = push_all(bound.state, *bound.inputs)
        expected = func(*args, **kwargs)
        if isinstance(expected, tuple):
            for band, want in zip(pushed, expected, strict=True):
                assert_identical(band, want)
        else:
            assert_identical(pushed, expected)


def user_indicator(x: np.ndarray, n: int) -> np.ndarray:
    return sma(x, n)


def test_twin_for_a_function_without_a_twin_is_none() -> None:
    x = np.arange(5.0)

    assert twin_for(user_indicator, (x, 3), {}) is None
    assert twin_for(lambda v: v, (x,), {}) is None


def test_twin_for_a_declaration_that_does_not_fit_is_none() -> None:
    x = np.arange(5.0)

    assert twin_for(sma, (x,), {}) is None  # n missing
    assert twin_for(sma, (x, 3), {"bogus": 1}) is None
    assert twin_for(sma, (x, x), {}) is None  # a series where n belongs
    assert twin_for(sma, (3.0, 3), {}) is None  # a number where the series belongs


def test_twin_for_uses_the_callers_idea_of_a_series() -> None:
    class Handle:  # e.g. a driver's reference to a live line
        pass

    h = Handle()

    bound = twin_for(sma, (h, 4), {}, is_series=lambda v: isinstance(v, Handle))

    assert bound is not None and bound.inputs == (h,)
    assert twin_for(sma, (h, 4), {}) is None  # not array-like: not a series by default


def test_twin_builds_from_plain_arguments_with_defaults() -> None:
    assert twin(sma, 10).n == 10
    assert twin(rsi).n == 14.0
    assert twin(atr, n=7).n == 7.0
    state = twin(bollinger, k=1.0)
    assert (state.n, state.k) == (20, 1.0)
    assert set(incremental.TWINS) == {sma, ema, rsi, atr, bollinger}


def test_twin_refuses_a_function_without_a_twin_and_bad_arguments() -> None:
    with pytest.raises(ParameterError, match="user_indicator has no incremental twin"):
        twin(user_indicator, 3)
    with pytest.raises(ParameterError, match="twin of sma"):
        twin(sma)
    with pytest.raises(ParameterError, match="positive integer, got 0"):
        twin(sma, 0)
    with pytest.raises(ParameterError, match="positive integer, got 2.5"):
        SmaState(2.5)  # type: ignore[arg-type]
    with pytest.raises(ParameterError, match=">= 1, got 0.5"):
        EmaState(0.5)
    with pytest.raises(ParameterError, match="k must be a number"):
        BollingerState(20, "2")  # type: ignore[arg-type]
