from __future__ import annotations

import pytest

from weaver.core.errors import ParameterError
from weaver.research.grid import Combination, expand_grid, parse_range
from weaver.strategy.examples import SmaCross


def test_expand_gives_the_product_in_order_with_defaults_filled() -> None:
    names, combos = expand_grid(SmaCross, {"fast": [5, 10], "slow": range(20, 40, 10)})

    assert names == ["fast", "slow"]
    assert [(c["fast"], c["slow"]) for c in combos] == [(5, 20), (5, 30), (10, 20), (10, 30)]
    assert all(c["qty"] == 100 for c in combos)


def test_constraint_sees_attributes_and_filters() -> None:
    _, combos = expand_grid(SmaCross, {"fast": [10, 20, 30], "slow": [20, 30]}, lambda p: p.fast < p.slow)

    assert [(c["fast"], c["slow"]) for c in combos] == [(10, 20), (10, 30), (20, 30)]


def test_a_single_value_pins_a_parameter_and_repeats_are_dropped() -> None:
    _, combos = expand_grid(SmaCross, {"fast": 7, "slow": [30, 30, 40]})

    assert [(c["fast"], c["slow"]) for c in combos] == [(7, 30), (7, 40)]


@pytest.mark.parametrize(("grid", "constraint", "message"), [
    ({}, None, "the grid is empty"),
    ({"fast": []}, None, "no values for 'fast'"),
    ({"fats": [1, 2]}, None, "no parameter 'fats'"),
    ({"fast": [5, 2.5]}, None, "must be int"),
    ({"fast": [1]}, None, "outside its bounds"),
    ({"fast": [50], "slow": [20]}, lambda p: p.fast < p.slow, "rejects all 1 combinations"),
    ({"fast": [5]}, lambda p: p.nope, "the constraint raised AttributeError"),
])
def test_bad_grids_fail_with_a_clear_error(grid, constraint, message) -> None:
    with pytest.raises(ParameterError, match=message):
        expand_grid(SmaCross, grid, constraint)


def test_unknown_parameter_error_lists_the_valid_ones() -> None:
    with pytest.raises(ParameterError, match="fast: int = 10, slow: int = 30"):
        expand_grid(SmaCross, {"window": [1, 2]})


def test_combination_reads_both_ways_and_is_read_only() -> None:
    p = Combination({"fast": 5})

    assert p.fast == p["fast"] == 5
    with pytest.raises(AttributeError):
        p.fast = 6


@pytest.mark.parametrize(("text", "values"), [
    ("5:20:5", [5, 10, 15, 20]),
    ("1:3", [1, 2, 3]),
    ("0.1:0.3:0.1", [0.1, 0.2, 0.3]),
    ("5,10,x", [5, 10, "x"]),
    ("true", [True]),
])
def test_parse_range(text, values) -> None:
    assert parse_range(text) == values


@pytest.mark.parametrize("text", ["5:1", "a:b", "1:5:0"])
def test_parse_range_rejects_bad_ranges(text) -> None:
    with pytest.raises(ParameterError):
        parse_range(text)
