"""Margin in a run: the buying power lets a buy the cash alone would reduce fill in full, in backtests and rehearsals."""

from __future__ import annotations

import pandas as pd
import pytest

import weaver as wv
from weaver.strategy import Strategy

from .conftest import make_bars


class BuyOnce(Strategy):
    """Buy ``qty`` on the first bar and hold."""

    qty: int = 90

    def next(self) -> None:
        if not self.position and not self.orders:
            self.buy(self.qty)


@pytest.fixture
def gap_up() -> pd.DataFrame:
    # 90 at the first close 100 fits 10,000 at submit; the next open gaps to 120 (90 cost 10,800)
    return make_bars([(100, 101, 99, 100), (120, 121, 119, 120), (120, 122, 118, 121)])


@pytest.mark.parametrize("run", [wv.backtest, wv.rehearse])
def test_with_margin_2_the_buy_that_a_cash_account_reduces_fills_in_full(gap_up: pd.DataFrame, run) -> None:  # noqa: ANN001
    cash_account = run(BuyOnce, gap_up, cash=10_000)
    margin_account = run(BuyOnce, gap_up, cash=10_000, margin=2)

    assert cash_account.fills["qty"].tolist() == [83.0] and cash_account.stats["n_orders_reduced"] == 1
    assert margin_account.fills["qty"].tolist() == [90.0] and margin_account.notes == []
    assert margin_account.stats["n_orders_reduced"] == 0
    # borrowed 800: equity is cash (-800) plus 90 shares at the close
    assert margin_account.equity.iloc[-1] == pytest.approx(-800 + 90 * 121)
    assert margin_account.config.margin == 2


def test_margin_1_is_the_cash_account(gap_up: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(wv.backtest(BuyOnce, gap_up, cash=10_000, margin=1).orders,
                                  wv.backtest(BuyOnce, gap_up, cash=10_000).orders)
