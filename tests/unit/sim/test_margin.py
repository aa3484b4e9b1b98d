"""Buying power with margin (DESIGN §4): a buy may spend ``cash + (margin - 1) * equity``."""

from __future__ import annotations

from decimal import Decimal

import pytest

from weaver.sim.broker import CASH_AT_FILL

from .builders import D, feed, make_bar, make_broker, make_order


def test_with_margin_2_a_buy_that_margin_1_reduces_fills_in_full() -> None:
    # 90 at the last close 100 fits the 10,000 cash at submit; the open gaps to 120, where 90
    # cost 10,800: a cash account reduces it to 83, a margin account (20,000) fills all 90
    cash_account, _, _ = make_broker(cash=10_000)
    margin_account, _, _ = make_broker(cash=10_000, margin=2)
    for broker in (cash_account, margin_account):
        broker.submit(make_order("buy", 90, client_order_id="a"))

    (reduced,) = feed(cash_account, make_bar(120, 121, 119, 120))
    (full,) = feed(margin_account, make_bar(120, 121, 119, 120))

    assert reduced.qty == D(83) and cash_account.refused
    assert full.qty == D(90) and margin_account.refused == []
    assert margin_account.get_order("a").filled_qty == D(90) and not margin_account.has_working("AAPL")
    assert margin_account.portfolio.cash == D(10_000) - D(90 * 120)  # -800: borrowed


def test_a_buy_beyond_the_buying_power_is_still_reduced_to_it() -> None:
    # margin 1.5 on 10,000 flat: buying power 15,000; 140 at 120 = 16,800 -> floor(15,000 / 120) = 125
    broker, _, _ = make_broker(cash=10_000, margin="1.5")
    broker.submit(make_order("buy", 140, client_order_id="a"))

    (fill,) = feed(broker, make_bar(120, 121, 119, 120))

    order = broker.get_order("a")
    assert fill.qty == D(125)
    assert order.reason == (
        f"{CASH_AT_FILL}: reduced from 140 to 125 AAPL at 120.0 (140 would cost 16,800.00, buying power "
        "15,000.00: cash 10,000.00 + 0.5 x equity 10,000.00)"
    )


def test_the_submit_check_allows_the_buying_power() -> None:
    broker, _, _ = make_broker(cash=10_000, margin=2)

    accepted = broker.submit(make_order("buy", 150))  # 15,000 <= 10,000 + 10,000
    refused = broker.submit(make_order("buy", 60))  # 6,000 > 20,000 - 15,000 reserved

    assert accepted.status.value == "new"
    assert refused.status.value == "rejected"
    assert refused.reason == (
        "insufficient buying power: need 6,000.00, have 5,000.00 (cash 10,000.00 less 15,000.00 reserved "
        "by open buys, + 1 x equity 10,000.00; 60 AAPL at 100.0)")


def test_equity_counts_the_positions_at_their_prices() -> None:
    broker, ref, _ = make_broker(cash=10_000, margin=2)
    broker.submit(make_order("buy", 100))
    feed(broker, make_bar(100, 100, 100, 100))  # cash 0, long 100
    ref.prices["AAPL"] = 110.0  # equity 11,000: buying power 0 + 11,000

    assert broker.submit(make_order("buy", 100)).status.value == "new"  # 11,000
    assert broker.submit(make_order("buy", 1)).status.value == "rejected"
    assert broker.account().buying_power == D(0)  # 0 cash - 11,000 reserved + 11,000


def test_margin_1_keeps_the_cash_account_messages() -> None:
    broker, _, _ = make_broker(cash=10_000, margin=1)

    order = broker.submit(make_order("buy", 101))

    assert order.reason.startswith("insufficient cash: need 10,100.00, have 10,000.00")


def test_account_buying_power_adds_the_margin() -> None:
    broker, ref, _ = make_broker(cash=10_000, margin=2)
    broker.submit(make_order("buy", 10))
    feed(broker, make_bar(100, 100, 100, 100))  # cash 9,000, long 10
    ref.prices["AAPL"] = 110.0

    account = broker.account()

    assert account.equity == D(10_100)
    assert account.buying_power == D(9_000) + D(10_100)


@pytest.mark.parametrize("margin", [0.5, 0, Decimal("-1"), float("nan")])
def test_a_margin_below_1_is_refused(margin: object) -> None:
    with pytest.raises(ValueError, match="margin"):
        make_broker(margin=margin)
