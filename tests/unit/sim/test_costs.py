"""Commission and slippage models, with fees computed by hand in the comments."""

from __future__ import annotations

from decimal import Decimal

import pytest

from weaver.sim import (
    Combined,
    NoCommission,
    Percent,
    PerOrder,
    PerShare,
    make_commission,
    make_slippage,
)

from .builders import D, make_bar, make_order

Z = D(0)


def test_per_share_fee() -> None:
    # 100 shares * 0.005 = 0.5
    assert PerShare(0.005)(D(100), D(50)) == D("0.5")


def test_per_share_minimum_applies() -> None:
    # 100 * 0.005 = 0.5 < minimum 1 -> 1
    assert PerShare(0.005, minimum=1)(D(100), D(50)) == D(1)


def test_per_share_maximum_caps() -> None:
    # 10,000 * 0.005 = 50 > maximum 10 -> 10
    assert PerShare(0.005, maximum=10)(D(10_000), D(5)) == D(10)


def test_per_share_minimum_is_per_order_across_partial_fills() -> None:
    model = PerShare(0.005, minimum=1)
    # first fill 40: 0.2 -> min 1 ; second fill 60: cumulative 100 * 0.005 = 0.5 < 1 -> 0
    assert model.charge(Z, Z, D(40), D(50)) == D(1)
    assert model.charge(D(40), D(2000), D(60), D(50)) == D(0)
    # third fill 200: cumulative 300 * 0.005 = 1.5 -> 1.5 - 1 = 0.5
    assert model.charge(D(100), D(5000), D(200), D(50)) == D("0.5")


def test_per_share_maximum_is_per_order_across_partial_fills() -> None:
    model = PerShare(0.01, maximum=5)
    # 400 * 0.01 = 4 ; then cumulative 800 * 0.01 = 8 capped at 5 -> 1
    assert model.charge(Z, Z, D(400), D(1)) == D(4)
    assert model.charge(D(400), D(400), D(400), D(1)) == D(1)


def test_percent_fee_of_notional() -> None:
    # 37 * 100.01 = 3700.37 ; * 0.001 = 3.70037
    assert Percent(0.001)(D(37), D("100.01")) == D("3.70037")


def test_percent_minimum() -> None:
    # 10 * 10 * 0.001 = 0.1 < 2 -> 2
    assert Percent(0.001, minimum=2)(D(10), D(10)) == D(2)


def test_per_order_is_charged_once_on_the_first_fill() -> None:
    model = PerOrder(1)
    assert model.charge(Z, Z, D(10), D(100)) == D(1)
    assert model.charge(D(10), D(1000), D(10), D(100)) == D(0)


def test_models_combine_with_plus() -> None:
    model = Percent(0.001) + PerOrder(1)
    assert isinstance(model, Combined)
    # 10 * 100 * 0.001 + 1 = 2 ; second fill: 1000 * 0.001 = 1
    assert model.charge(Z, Z, D(10), D(100)) == D(2)
    assert model.charge(D(10), D(1000), D(10), D(100)) == D(1)


def test_combined_flattens_and_accepts_specs() -> None:
    model = Combined(Percent(0.001) + PerOrder(1), PerShare(0.01))
    assert len(model.models) == 3
    # 0.1 % of 1000 = 1, + 1, + 10 * 0.01 = 0.1 -> 2.1
    assert model(D(10), D(100)) == D("2.1")


def test_make_commission_none_is_free() -> None:
    assert isinstance(make_commission(None), NoCommission)
    assert make_commission(None)(D(10), D(100)) == 0


def test_make_commission_float_is_percent() -> None:
    model = make_commission(0.002)
    assert isinstance(model, Percent)
    assert model(D(10), D(100)) == D(2)  # 1000 * 0.002


def test_make_commission_model_passes_through() -> None:
    model = PerOrder(3)
    assert make_commission(model) is model


def test_make_commission_callable_is_per_fill() -> None:
    model = make_commission(lambda qty, price: 0.5 + float(qty) * 0.01)
    # each fill: 0.5 + qty * 0.01 -> 0.5 + 0.1 = 0.6 on both fills of 10
    assert model.charge(Z, Z, D(10), D(100)) == D("0.6")
    assert model.charge(D(10), D(1000), D(10), D(100)) == D("0.6")


def test_make_commission_refuses_garbage() -> None:
    with pytest.raises(TypeError, match="commission"):
        make_commission("lots")  # type: ignore[arg-type]


def test_negative_rates_are_refused() -> None:
    with pytest.raises(ValueError, match="-1"):
        PerShare(-1)
    with pytest.raises(ValueError, match="maximum"):
        PerShare(0.01, minimum=5, maximum=1)


def test_numpy_numbers_are_accepted() -> None:
    import numpy as np

    assert Percent(np.float64(0.001))(D(10), D(100)) == D(1)
    assert make_commission(lambda q, p: np.float32(0.5))(D(1), D(1)) == D("0.5")


def test_fees_are_decimal() -> None:
    assert type(PerShare(0.005)(D(3), D(1))) is Decimal
    assert type(make_commission(lambda q, p: 1)(D(3), D(1))) is Decimal


# --- slippage -----------------------------------------------------------------------------


def test_make_slippage_none_and_zero_are_none() -> None:
    assert make_slippage(None) is None
    assert make_slippage(0) is None


def test_make_slippage_bps_moves_against_the_order() -> None:
    slip = make_slippage(25)  # 25 bps of 200 = 0.5
    bar = make_bar(200, 201, 199, 200)
    assert slip(make_order("buy"), 200.0, bar) == pytest.approx(200.5)
    assert slip(make_order("sell"), 200.0, bar) == pytest.approx(199.5)


def test_make_slippage_callable_passes_through() -> None:
    def fn(order, price, bar):
        return price

    assert make_slippage(fn) is fn


def test_make_slippage_refuses_negative_and_garbage() -> None:
    with pytest.raises(ValueError, match="-1"):
        make_slippage(-1)
    with pytest.raises(TypeError):
        make_slippage("wide")  # type: ignore[arg-type]
