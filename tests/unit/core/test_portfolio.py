"""Tests for Fill, Position and Portfolio accounting, with hand-computed numbers."""

from __future__ import annotations

import itertools
from datetime import datetime, timezone
from decimal import Decimal

import pytest

from weaver.core import Account, DataError, Fill, OrderSide, Portfolio, Position

T0 = datetime(2024, 1, 2, 14, 30, tzinfo=timezone.utc)
D = Decimal
_EXECS = itertools.count(1)


def next_exec() -> str:
    return f"o1.{next(_EXECS)}"


def buy(qty: str, price: str, symbol: str = "AAPL", commission: str = "0") -> Fill:
    return Fill("o1", symbol, OrderSide.BUY, D(qty), D(price), T0, D(commission), exec_id=next_exec())


def sell(qty: str, price: str, symbol: str = "AAPL", commission: str = "0") -> Fill:
    return Fill("o1", symbol, OrderSide.SELL, D(qty), D(price), T0, D(commission), exec_id=next_exec())


# --- Fill ---------------------------------------------------------------------------


def test_fill_signed_qty_and_notional() -> None:
    assert buy("3", "10").signed_qty == D(3)
    assert sell("3", "10").signed_qty == D(-3)
    assert sell("3", "10.5").notional == D("31.5")


@pytest.mark.parametrize(
    ("qty", "price", "commission", "field"),
    [("0", "1", "0", "qty"), ("1", "0", "0", "price"), ("1", "1", "-1", "commission")],
)
def test_fill_validates(qty: str, price: str, commission: str, field: str) -> None:
    with pytest.raises(DataError, match=field):
        buy(qty, price, commission=commission)


# --- Position: long -------------------------------------------------------------------


def test_long_open_add_partial_close_close() -> None:
    pos = Position("AAPL")

    assert pos.apply(buy("10", "100")) == 0
    assert (pos.qty, pos.avg_price) == (D(10), D(100))

    assert pos.apply(buy("10", "110")) == 0
    assert (pos.qty, pos.avg_price) == (D(20), D(105))

    assert pos.apply(sell("5", "120")) == D(75)  # (120 - 105) * 5
    assert (pos.qty, pos.avg_price) == (D(15), D(105))
    assert pos.unrealized_pnl(D(110)) == D(75)  # (110 - 105) * 15
    assert pos.market_value(D(110)) == D(1650)

    assert pos.apply(sell("15", "100")) == D(-75)  # (100 - 105) * 15
    assert (pos.qty, pos.avg_price) == (D(0), D(0))
    assert pos.realized_pnl == D(0)
    assert not pos and pos.side is None
    assert pos.unrealized_pnl(D(999)) == 0


def test_long_flags() -> None:
    pos = Position("AAPL")
    pos.apply(buy("1", "10"))
    assert pos and pos.is_long and not pos.is_short
    assert pos.side is OrderSide.BUY


# --- Position: short ------------------------------------------------------------------


def test_short_open_partial_cover_cover() -> None:
    pos = Position("AAPL")

    pos.apply(sell("10", "50"))
    assert (pos.qty, pos.avg_price) == (D(-10), D(50))
    assert pos.is_short and pos.side is OrderSide.SELL
    assert pos.unrealized_pnl(D(45)) == D(50)  # (50 - 45) * 10
    assert pos.market_value(D(45)) == D(-450)

    assert pos.apply(buy("4", "40")) == D(40)  # (50 - 40) * 4
    assert pos.qty == D(-6)
    assert pos.unrealized_pnl(D(45)) == D(30)

    assert pos.apply(buy("6", "55")) == D(-30)  # (50 - 55) * 6
    assert pos.qty == 0 and pos.avg_price == 0
    assert pos.realized_pnl == D(10)


# --- Position: flips -----------------------------------------------------------------


def test_flip_long_to_short() -> None:
    pos = Position("AAPL")
    pos.apply(buy("10", "100"))

    realized = pos.apply(sell("15", "110"))

    assert realized == D(100)  # closes 10 at +10
    assert (pos.qty, pos.avg_price) == (D(-5), D(110))
    assert pos.unrealized_pnl(D(100)) == D(50)


def test_flip_short_to_long() -> None:
    pos = Position("AAPL")
    pos.apply(sell("10", "100"))

    realized = pos.apply(buy("15", "90"))

    assert realized == D(100)  # covers 10 at +10
    assert (pos.qty, pos.avg_price) == (D(5), D(90))


def test_non_terminating_average_still_realizes_exactly() -> None:
    pos = Position("AAPL")
    pos.apply(buy("1", "100"))
    pos.apply(buy("2", "101"))  # avg 302/3 = 100.666...

    assert pos.apply(sell("3", "102")) == D(4)  # 306 - 302, not 3.99999...


def test_commission_is_accumulated_not_realized() -> None:
    pos = Position("AAPL")
    pos.apply(buy("10", "100", commission="1"))
    assert pos.apply(sell("10", "101", commission="1.5")) == D(10)
    assert pos.commission == D("2.5")
    assert pos.realized_pnl == D(10)


def test_position_from_broker_snapshot() -> None:
    pos = Position("AAPL", qty=D(-4), avg_price=D(25))
    assert pos.unrealized_pnl(D(20)) == D(20)
    assert pos.apply(buy("4", "30")) == D(-20)


def test_position_rejects_a_fill_for_another_symbol() -> None:
    with pytest.raises(DataError, match="MSFT.*AAPL"):
        Position("AAPL").apply(buy("1", "1", symbol="MSFT"))


# --- Portfolio ------------------------------------------------------------------------


def test_portfolio_cash_equity_and_commission_on_two_symbols() -> None:
    pf = Portfolio(cash=D(10000))

    pf.apply(buy("10", "100", "AAPL", commission="1"))
    assert pf.cash == D(8999)  # 10000 - 1000 - 1
    pf.apply(sell("5", "200", "MSFT", commission="0.5"))
    assert pf.cash == D("9998.5")  # + 1000 - 0.5

    prices = {"AAPL": D(105), "MSFT": D(190)}
    assert pf.equity(prices) == D("10098.5")  # 9998.5 + 1050 - 950
    assert pf.unrealized_pnl(prices) == D(100)  # +50 AAPL, +50 MSFT short

    assert pf.apply(sell("10", "110", "AAPL", commission="1")) == D(100)
    assert pf.cash == D("11097.5")
    assert pf.realized_pnl == D(100)
    assert pf.commission == D("2.5")
    assert pf.equity({"MSFT": D(190)}) == D("10147.5")  # flat AAPL needs no price
    assert pf.position("AAPL").qty == 0
    assert pf.position("MSFT").qty == D(-5)


def test_position_lookup_returns_flat_without_inserting() -> None:
    pf = Portfolio(cash=D(0))
    assert pf.position("NVDA") == Position("NVDA")
    assert "NVDA" not in pf.positions


def test_equity_without_a_price_for_an_open_position_names_it() -> None:
    pf = Portfolio(cash=D(1000))
    pf.apply(buy("2", "10", "AAPL"))
    with pytest.raises(DataError, match="AAPL.*qty 2"):
        pf.equity({})


def test_account_is_a_frozen_value() -> None:
    account = Account(cash=D(1), equity=D(2), buying_power=D(4))
    with pytest.raises(AttributeError):
        account.cash = D(0)  # type: ignore[misc]
