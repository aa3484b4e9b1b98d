"""Each fill rule of DESIGN §4 as one test, with prices computed by hand in the comments."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest

from weaver.sim import FillModel, RandomSlippageFillModel

from .builders import D, make_bar, make_order, working

MODEL = FillModel()


def price_of(order, bar, model: FillModel = MODEL) -> float | None:
    match = model.match(working(order) if order.status.value == "pending" else order, bar)
    return None if match is None else match.price


# --- market -------------------------------------------------------------------------------


def test_market_buy_fills_at_open() -> None:
    assert price_of(make_order("buy"), make_bar(100, 105, 99, 104)) == 100


def test_market_sell_fills_at_open() -> None:
    assert price_of(make_order("sell"), make_bar(100, 105, 99, 104)) == 100


def test_market_fill_is_for_the_whole_remaining_qty() -> None:
    match = MODEL.match(working(make_order("buy", qty=37)), make_bar(100, 105, 99, 104))
    assert match is not None and match.qty == D(37)


def test_market_buy_with_bps_slippage_pays_more() -> None:
    model = FillModel(slippage=10)  # 10 bps: 100 * 1.001 = 100.1
    assert price_of(make_order("buy"), make_bar(100, 105, 99, 104), model) == pytest.approx(100.1)


def test_market_sell_with_bps_slippage_receives_less() -> None:
    model = FillModel(slippage=10)  # 100 * 0.999 = 99.9
    assert price_of(make_order("sell"), make_bar(100, 105, 99, 104), model) == pytest.approx(99.9)


def test_slippage_is_clamped_to_the_bar_high() -> None:
    model = FillModel(slippage=1000)  # 10 %: 100 * 1.1 = 110 > high 102 -> 102
    assert price_of(make_order("buy"), make_bar(100, 102, 99, 101), model) == 102


def test_slippage_is_clamped_to_the_bar_low() -> None:
    model = FillModel(slippage=1000)  # 100 * 0.9 = 90 < low 99.5 -> 99.5
    assert price_of(make_order("sell"), make_bar(100, 102, 99.5, 101), model) == 99.5


def test_callable_slippage_gets_order_price_and_bar() -> None:
    seen = []

    def half_a_cent(order, price, bar):
        seen.append((order.side.value, price, bar.high))
        return price + 0.005 * order.side.sign

    model = FillModel(slippage=half_a_cent)
    assert price_of(make_order("buy"), make_bar(100, 105, 99, 104), model) == 100.005
    assert seen == [("buy", 100, 105)]


def test_slippage_adjusted_prices_keep_every_bit_of_the_float() -> None:
    # no rounding: float-based peers fill at exactly this float, and so must we
    model = FillModel(slippage=lambda order, price, bar: price + 1e-10)
    assert price_of(make_order("buy"), make_bar(100.01, 105, 99, 104), model) == 100.01 + 1e-10


# --- limit --------------------------------------------------------------------------------


def test_buy_limit_gapping_below_fills_at_open() -> None:
    # open 97 <= limit 98: the bar opened through the limit -> 97 (better than the limit)
    assert price_of(make_order("buy", type="limit", limit=98), make_bar(97, 99, 96, 98)) == 97


def test_buy_limit_touched_intrabar_fills_at_limit() -> None:
    # open 100 > limit 98, low 97 <= 98 -> 98
    assert price_of(make_order("buy", type="limit", limit=98), make_bar(100, 101, 97, 99)) == 98


def test_buy_limit_touched_exactly_at_low_fills_at_limit() -> None:
    assert price_of(make_order("buy", type="limit", limit=98), make_bar(100, 101, 98, 99)) == 98


def test_buy_limit_not_reached_keeps_working() -> None:
    # low 98.5 > limit 98 -> no fill
    order = make_order("buy", type="limit", limit=98)
    assert price_of(order, make_bar(100, 101, 98.5, 99)) is None


def test_sell_limit_gapping_above_fills_at_open() -> None:
    # open 103 >= limit 102 -> 103
    order = make_order("sell", type="limit", limit=102)
    assert price_of(order, make_bar(103, 104, 101, 102)) == 103


def test_sell_limit_touched_intrabar_fills_at_limit() -> None:
    # open 100 < 102, high 102.5 >= 102 -> 102
    order = make_order("sell", type="limit", limit=102)
    assert price_of(order, make_bar(100, 102.5, 99, 101)) == 102


def test_sell_limit_not_reached_keeps_working() -> None:
    order = make_order("sell", type="limit", limit=102)
    assert price_of(order, make_bar(100, 101.9, 99, 101)) is None


def test_limit_fills_get_no_slippage() -> None:
    model = FillModel(slippage=50)
    touched, gapped = make_bar(100, 101, 97, 99), make_bar(97, 99, 96, 98)
    assert price_of(make_order("buy", type="limit", limit=98), touched, model) == 98
    assert price_of(make_order("buy", type="limit", limit=98), gapped, model) == 97


# --- stop ---------------------------------------------------------------------------------


def test_buy_stop_gapping_above_fills_at_open() -> None:
    # open 106 >= stop 105 -> 106 (a gap through a stop fills at the open)
    assert price_of(make_order("buy", type="stop", stop=105), make_bar(106, 108, 104, 107)) == 106


def test_buy_stop_touched_intrabar_fills_at_stop() -> None:
    # open 100 < 105, high 106 >= 105 -> 105
    assert price_of(make_order("buy", type="stop", stop=105), make_bar(100, 106, 99, 104)) == 105


def test_buy_stop_not_reached_keeps_working_untriggered() -> None:
    order = working(make_order("buy", type="stop", stop=105))
    assert MODEL.match(order, make_bar(100, 104.9, 99, 104)) is None
    assert not order.triggered


def test_sell_stop_gapping_below_fills_at_open() -> None:
    # open 94 <= stop 95 -> 94
    assert price_of(make_order("sell", type="stop", stop=95), make_bar(94, 96, 93, 95)) == 94


def test_sell_stop_touched_intrabar_fills_at_stop() -> None:
    # open 100 > 95, low 94 <= 95 -> 95
    assert price_of(make_order("sell", type="stop", stop=95), make_bar(100, 101, 94, 96)) == 95


def test_sell_stop_not_reached_keeps_working() -> None:
    assert price_of(make_order("sell", type="stop", stop=95), make_bar(100, 101, 95.1, 96)) is None


def test_buy_stop_fill_gets_slippage() -> None:
    model = FillModel(slippage=10)  # 105 * 1.001 = 105.105
    price = price_of(make_order("buy", type="stop", stop=105), make_bar(100, 106, 99, 104), model)
    assert price == pytest.approx(105.105)


def test_stop_slippage_clamped_to_high() -> None:
    model = FillModel(slippage=100)  # 105 * 1.01 = 106.05 > high 105.5 -> 105.5
    price = price_of(make_order("buy", type="stop", stop=105), make_bar(100, 105.5, 99, 104), model)
    assert price == 105.5


def test_a_touched_stop_is_reported_triggered() -> None:
    order = working(make_order("buy", type="stop", stop=105))
    match = MODEL.match(order, make_bar(100, 106, 99, 104))
    assert match is not None and match.triggered and (match.qty, match.price) == (D(100), 105)
    assert not order.triggered  # the model reports; the broker applies OrderTriggered


def test_triggered_stop_with_remainder_fills_later_at_open() -> None:
    # triggered at 105 on bar 1 with capacity 40 of 100; bar 2 opens at 103 -> market: 103
    order = working(make_order("buy", qty=100, type="stop", stop=105))
    first = match_as_broker(order, make_bar(100, 106, 99, 104), capacity=D(40))
    assert first is not None and (first.qty, first.price) == (D(40), 105)
    order.apply(_partial(order, first))
    second = MODEL.match(order, make_bar(103, 104, 102, 103, minute=2))
    assert second is not None and (second.qty, second.price) == (D(60), 103)


# --- stop-limit ---------------------------------------------------------------------------


def test_buy_stop_limit_intrabar_trigger_fills_at_stop_when_stop_below_limit() -> None:
    # stop 105 <= limit 106: at the trigger the price is 105 -> min(105, 106) = 105
    order = make_order("buy", type="stop_limit", stop=105, limit=106)
    assert price_of(order, make_bar(100, 107, 99, 104)) == 105


def test_buy_stop_limit_intrabar_trigger_above_limit_fills_at_limit_if_low_reaches_it() -> None:
    # stop 105 > limit 104: triggers at 105, assumes the low 103 comes after -> 104
    order = make_order("buy", type="stop_limit", stop=105, limit=104)
    assert price_of(order, make_bar(103.5, 106, 103, 105)) == 104


def test_buy_stop_limit_intrabar_trigger_above_limit_unfilled_stays_triggered() -> None:
    # stop 105 > limit 104, low 104.5 > 104 -> triggered, no fill
    order = working(make_order("buy", type="stop_limit", stop=105, limit=104))
    assert_triggered_only(match_as_broker(order, make_bar(104.6, 106, 104.5, 105)))
    assert order.triggered


def test_buy_stop_limit_gap_fills_at_open_within_limit() -> None:
    # open 106 >= stop 105 and 106 <= limit 107 -> 106
    order = make_order("buy", type="stop_limit", stop=105, limit=107)
    assert price_of(order, make_bar(106, 108, 105.5, 107)) == 106


def test_buy_stop_limit_gap_above_limit_fills_at_limit_if_low_reaches_it() -> None:
    # open 108 >= stop 105, 108 > limit 107, low 106.5 <= 107 -> 107
    order = make_order("buy", type="stop_limit", stop=105, limit=107)
    assert price_of(order, make_bar(108, 109, 106.5, 108)) == 107


def test_buy_stop_limit_gap_above_limit_unreached_stays_triggered() -> None:
    # open 108 >= stop 105, low 107.5 > limit 107 -> triggered, no fill
    order = working(make_order("buy", type="stop_limit", stop=105, limit=107))
    assert_triggered_only(match_as_broker(order, make_bar(108, 109, 107.5, 108)))
    assert order.triggered


def test_stop_limit_trigger_persists_to_later_bars() -> None:
    # bar 1 triggers (high 106 >= 105) without fill; bar 2 never reaches 105 but its
    # low 103.5 <= limit 104 -> limit fill at 104 (open 104.5 > 104)
    order = working(make_order("buy", type="stop_limit", stop=105, limit=104))
    assert_triggered_only(match_as_broker(order, make_bar(104.6, 106, 104.5, 105)))
    match = match_as_broker(order, make_bar(104.5, 104.8, 103.5, 104, minute=2))
    assert match is not None and match.price == 104 and not match.triggered  # triggered before


def test_triggered_stop_limit_gap_below_limit_fills_at_open() -> None:
    order = working(make_order("buy", type="stop_limit", stop=105, limit=104))
    match_as_broker(order, make_bar(104.6, 106, 104.5, 105))  # triggers
    # open 103 <= limit 104 -> 103
    assert price_of(order, make_bar(103, 104, 102, 103, minute=2)) == 103


def test_untriggered_stop_limit_does_not_fill_at_its_limit() -> None:
    # high 104.9 < stop 105: not triggered although low 99 is below the limit 104
    order = working(make_order("buy", type="stop_limit", stop=105, limit=104))
    assert MODEL.match(order, make_bar(100, 104.9, 99, 104)) is None
    assert not order.triggered


def test_sell_stop_limit_intrabar_trigger_fills_at_stop_when_stop_above_limit() -> None:
    # stop 95 >= limit 94 -> max(95, 94) = 95
    order = make_order("sell", type="stop_limit", stop=95, limit=94)
    assert price_of(order, make_bar(100, 101, 93, 96)) == 95


def test_sell_stop_limit_intrabar_trigger_below_limit_fills_at_limit_if_high_reaches_it() -> None:
    # stop 95 < limit 96: triggers at 95, high 96.5 >= 96 -> 96
    order = make_order("sell", type="stop_limit", stop=95, limit=96)
    assert price_of(order, make_bar(96.2, 96.5, 94, 95)) == 96


def test_sell_stop_limit_gap_fills_at_open_within_limit() -> None:
    # open 94 <= stop 95 and 94 >= limit 93 -> 94
    order = make_order("sell", type="stop_limit", stop=95, limit=93)
    assert price_of(order, make_bar(94, 95, 92, 93)) == 94


def test_sell_stop_limit_gap_below_limit_fills_at_limit_if_high_reaches_it() -> None:
    # open 92 <= stop 95, 92 < limit 93, high 93.5 >= 93 -> 93
    order = make_order("sell", type="stop_limit", stop=95, limit=93)
    assert price_of(order, make_bar(92, 93.5, 91, 92)) == 93


def test_sell_stop_limit_gap_below_limit_unreached_stays_triggered() -> None:
    order = working(make_order("sell", type="stop_limit", stop=95, limit=93))
    assert_triggered_only(match_as_broker(order, make_bar(92, 92.5, 91, 92)))
    assert order.triggered


def test_stop_limit_fills_get_no_slippage() -> None:
    model = FillModel(slippage=50)
    order = make_order("buy", type="stop_limit", stop=105, limit=106)
    assert price_of(order, make_bar(100, 107, 99, 104), model) == 105


# --- custom models ------------------------------------------------------------------------


class AlwaysHigh(FillModel):
    """A deliberately bad model: everything fills at the high."""

    def fill_price(self, order, bar):
        return bar.high if super().fill_price(order, bar) is not None else None


def test_subclass_price_rule_cannot_fill_a_limit_worse_than_its_limit() -> None:
    # the subclass says 101 (the high); the limit 98 caps it -> 98
    order = make_order("buy", type="limit", limit=98)
    assert price_of(order, make_bar(100, 101, 97, 99), AlwaysHigh()) == 98


def test_random_slippage_model_is_adverse_reproducible_and_within_the_bar() -> None:
    bar = make_bar(100, 100.5, 99, 100)

    def run(seed: int) -> list[float]:
        model = RandomSlippageFillModel(100, np.random.default_rng(seed))  # up to 1 %
        return [price_of(make_order("buy"), bar, model) for _ in range(20)]

    prices = run(7)
    assert prices == run(7)
    assert all(100 <= p <= 100.5 for p in prices)
    assert len(set(prices)) > 1


def test_random_slippage_model_needs_an_rng() -> None:
    with pytest.raises(ValueError, match="Generator"):
        RandomSlippageFillModel(10, None)  # type: ignore[arg-type]


def _partial(order, match):  # noqa: ANN001, ANN202
    from weaver.core import OrderPartiallyFilled

    from .builders import T0

    return OrderPartiallyFilled(order.client_order_id, T0, "x.1", match.qty, Decimal(repr(match.price)))


def match_as_broker(order, bar, model=MODEL, capacity=None):  # noqa: ANN001, ANN201
    """Match as the broker does: apply the trigger the model reports."""
    from weaver.core import OrderTriggered

    match = model.match(order, bar, capacity)
    if match is not None and match.triggered:
        order.apply(OrderTriggered(order.client_order_id, bar.ts))
    return match


def assert_triggered_only(match) -> None:  # noqa: ANN001
    assert match is not None and match.triggered and match.qty is None and match.price is None
