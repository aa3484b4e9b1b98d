from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from weaver.clock import Cursor
from weaver.strategy.indicators import (
    atr, bollinger, cross_above, cross_below, crossover, crossunder, ema, rsi, sma,
)
from weaver.strategy.lines import Line


def test_sma_is_nan_in_warmup_then_the_mean() -> None:
    out = sma([1.0, 2.0, 3.0, 4.0], 2)

    assert np.isnan(out[0])
    assert out[1:].tolist() == [1.5, 2.5, 3.5]


def test_ema_seeds_after_n_bars_and_follows_the_recursion() -> None:
    x = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    out = ema(x, 3)
    alpha = 2 / (3 + 1)
    # pandas' ewm(adjust=False) runs from the first bar; values show from bar n-1 on
    expected = [x[0]]
    for v in x[1:]:
        expected.append(alpha * v + (1 - alpha) * expected[-1])

    assert np.isnan(out[:2]).all()
    assert out[2:] == pytest.approx(expected[2:])


def test_rsi_is_100_on_a_rising_series_and_bounded() -> None:
    up = rsi(np.arange(1.0, 40.0), 14)
    mixed = rsi(np.sin(np.arange(200) / 5.0) + 10, 14)

    assert up[-1] == 100.0
    valid = mixed[~np.isnan(mixed)]
    assert ((valid >= 0) & (valid <= 100)).all()


def test_atr_of_constant_range_bars_is_that_range() -> None:
    n = 30
    close = np.full(n, 100.0)
    out = atr(close + 1, close - 1, close, 14)

    assert out[-1] == pytest.approx(2.0)


def test_atr_of_a_symbol_that_starts_later_warns_nothing() -> None:
    # a symbol whose first bars are missing from the merged index: NaN until its first bar
    close = np.r_[np.full(5, np.nan), np.full(30, 100.0)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = atr(close + 1, close - 1, close, 14)

    assert np.isnan(out[:5 + 13]).all() and out[-1] == pytest.approx(2.0)


def test_bollinger_bands_surround_the_sma() -> None:
    x = np.arange(1.0, 41.0)
    lower, mid, upper = bollinger(x, 20, 2.0)
    sd = np.std(x[-20:])

    assert mid[-1] == pytest.approx(x[-20:].mean())
    assert upper[-1] == pytest.approx(mid[-1] + 2 * sd)
    assert lower[-1] == pytest.approx(mid[-1] - 2 * sd)


def _lines(a: list[float], b: list[float]) -> tuple[Line, Line, Cursor]:
    cursor = Cursor()
    return Line(np.array(a), cursor, "a"), Line(np.array(b), cursor, "b"), cursor


def _signals_per_bar(a: list[float], b: list[float]) -> list[bool]:
    """``crossover`` bar by bar, as ``next()`` calls it on two lines, checked against the
    rule applied to the bare history up to each bar (plain lists take the walk-back path)."""
    la, lb, cursor = _lines(a, b)
    out = []
    for i in range(len(a)):
        cursor.i = i
        on_lines = crossover(la, lb)
        assert on_lines == crossover(list(a[: i + 1]), list(b[: i + 1])), f"bar {i}"
        out.append(on_lines)
    return out


def test_touch_without_crossing_gives_no_signal() -> None:
    # a comes up to b, touches it exactly on bar 2, and turns back down
    a = [1.0, 2.0, 3.0, 2.0, 1.0]
    b = [3.0, 3.0, 3.0, 3.0, 3.0]
    # and from above: a dips to touch b and goes back up
    c = [5.0, 4.0, 3.0, 4.0, 5.0]

    assert _signals_per_bar(a, b) == [False] * 5
    assert _signals_per_bar(c, b) == [False] * 5
    assert not cross_above(a, b).any() and not cross_above(c, b).any()
    assert not cross_below(c, b).any()


def test_crossing_through_an_exact_tie_signals_once_on_the_first_bar_beyond() -> None:
    # below on bars 0-1, tied on bars 2-3, above from bar 4
    a = [1.0, 2.0, 3.0, 3.0, 4.0, 5.0]
    b = [3.0, 3.0, 3.0, 3.0, 3.0, 3.0]

    assert _signals_per_bar(a, b) == [False, False, False, False, True, False]
    assert cross_above(a, b).tolist() == [False, False, False, False, True, False]
    assert cross_below(b, a).tolist() == [False, False, False, False, True, False]


def test_nothing_crosses_out_of_the_warmup() -> None:
    a = [np.nan, np.nan, 4.0, 5.0]
    b = [np.nan, 3.0, 3.0, 3.0]

    assert _signals_per_bar(a, b) == [False] * 4
    assert not cross_above(a, b).any()


def test_crossover_works_on_plain_sequences_and_numbers() -> None:
    assert crossover([1.0, 2.0, 4.0], 3.0)
    assert not crossover([1.0, 4.0, 5.0], 3.0)
    assert crossunder(pd.Series([5.0, 4.0, 2.0]), 3.0)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from([1.0, 2.0, 3.0, np.nan]), min_size=2, max_size=40),
       st.lists(st.sampled_from([1.0, 2.0, 3.0]), min_size=2, max_size=40))
def test_vectorized_crossings_equal_the_per_bar_rule(a: list[float], b: list[float]) -> None:
    n = min(len(a), len(b))
    a, b = a[:n], b[:n]

    per_bar = _signals_per_bar(a, b)

    assert cross_above(a, b).tolist() == per_bar
    assert cross_below(b, a).tolist() == per_bar


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(-3, 3) | st.just(np.nan), min_size=2, max_size=40),
       st.lists(st.floats(-3, 3), min_size=2, max_size=40))
def test_vectorized_crossings_of_untied_lines_equal_the_per_bar_rule(a: list[float], b: list[float]) -> None:
    # values drawn from a continuum rarely tie: the crossings take their tie-free path
    n = min(len(a), len(b))
    a, b = a[:n], b[:n]

    assert cross_above(a, b).tolist() == _signals_per_bar(a, b)
    assert cross_below(a, b).tolist() == _signals_per_bar(b, a)


def test_crossings_in_both_directions_each_follow_the_rule() -> None:
    a = [1.0, 4.0, 2.0, 5.0, 0.0, 0.0, 3.0]
    b = [2.0, 3.0, 3.0, 3.0, 1.0, 0.0, 1.0]
    la, lb, cursor = _lines(a, b)
    seen = []
    for i in range(len(a)):
        cursor.i = i
        seen.append((crossover(la, lb), crossover(lb, la)))

    assert seen == list(zip(_signals_per_bar(a, b), _signals_per_bar(b, a), strict=True))
    assert seen == [(False, False), (True, False), (False, True), (True, False), (False, True),
                    (False, False), (True, False)]


def test_a_line_crossing_a_level_follows_the_same_rule() -> None:
    line, _, cursor = _lines([1.0, 3.0, 3.0, 4.0, 3.0, 5.0], [0.0] * 6)
    seen = []
    for i in range(6):
        cursor.i = i
        seen.append((crossover(line, 3.0), crossover(line, 3)))

    # below, tie, tie, above: one cross on bar 3; back to the tie and above again: none
    assert seen == [(False, False), (False, False), (False, False), (True, True), (False, False), (False, False)]


def test_crossings_follow_a_line_whose_values_are_replaced() -> None:
    # the streaming runtime points lines at new values as bars arrive
    la, lb, cursor = _lines([1.0, 2.0], [3.0, 3.0])
    cursor.i = 1
    assert not crossover(la, lb)

    la._set(np.array([1.0, 4.0]))

    assert crossover(la, lb)

    lb._set(np.array([3.0, 5.0]))

    assert not crossover(la, lb)

    lb._set(np.array([0.5, 5.0]))  # now b crosses above a: the other direction follows too

    assert crossover(lb, la) and not crossover(la, lb)

    la._set(np.array([0.0, 6.0]))

    assert crossover(la, lb) and not crossover(lb, la)
