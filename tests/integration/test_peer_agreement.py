"""Weaver agrees with backtesting.py and vectorbt on the same strategy, trade for trade.

SMA(10)/SMA(30) crossover on data/GOOG.csv, long only, 100 shares, market orders filled at
the next bar's open, cash 100,000 (see data/README.md for the reference figures: 33 trades,
the last still open, final equity 177,394.00). The peers compute their own SMAs and
crossings (pandas rolling mean, backtesting.py's ``crossover``: strictly below on the
previous bar, strictly above on this one) so nothing of Weaver's is reused on their side.

Then the same with a 0.2% commission on notional, and a hand-checked limit-order case.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import weaver as wv
from weaver.strategy.examples import SmaCross

# the peers warn (pandas deprecations inside vectorbt, "trades remain open"): keep it quiet here
pytestmark = pytest.mark.filterwarnings("ignore")

CASH = 100_000
QTY = 100
FAST, SLOW = 10, 30
REF_TRADES = 33
REF_EQUITY = 177_394.00
PRICE_TOL = 1e-9
EQUITY_TOL = 1e-6


# -- peers ---------------------------------------------------------------------------------


def _peer_signals(bars: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """Crossings at each bar's close, by backtesting.py's rule (strict on both bars)."""
    close = bars["close"]
    f = close.rolling(FAST).mean()
    s = close.rolling(SLOW).mean()
    up = (f.shift(1) < s.shift(1)) & (f > s)
    down = (f.shift(1) > s.shift(1)) & (f < s)
    return up, down


def run_backtesting_py(bars: pd.DataFrame, commission: float) -> dict:
    """backtesting.py 0.6.6: returns closed trades, the open trade(s) and the equity curve."""
    from backtesting import Backtest, Strategy
    from backtesting.lib import crossover

    def SMA(values, n):  # noqa: N802 - backtesting.py's idiom
        return pd.Series(values).rolling(n).mean()

    class BtSmaCross(Strategy):
        fast = FAST
        slow = SLOW

        def init(self):
            self.f = self.I(SMA, self.data.Close, self.fast)
            self.s = self.I(SMA, self.data.Close, self.slow)

        def next(self):
            if crossover(self.f, self.s):
                if not self.position:
                    self.buy(size=QTY)
            elif crossover(self.s, self.f):
                self.position.close()

    df = bars.rename(columns=str.capitalize)[["Open", "High", "Low", "Close", "Volume"]]
    # finalize_trades=False: the last trade stays open and is marked at the last close in the
    # equity curve (True would close it at the last bar's *open*, changing final equity).
    bt = Backtest(df, BtSmaCross, cash=CASH, commission=commission, spread=0.0, margin=1.0,
                  trade_on_close=False, hedging=False, exclusive_orders=False, finalize_trades=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Some trades remain open at the end of backtest"
        stats = bt.run()
    closed = stats["_trades"]
    open_trades = stats["_strategy"].trades
    return {
        "closed": pd.DataFrame({
            "entry_time": closed["EntryTime"], "entry_price": closed["EntryPrice"],
            "exit_time": closed["ExitTime"], "exit_price": closed["ExitPrice"],
            "pnl": closed["PnL"], "commission": closed["Commission"],
        }).reset_index(drop=True),
        "open": [(t.entry_time, t.entry_price, t.size) for t in open_trades],
        "equity": stats["_equity_curve"]["Equity"],
        "equity_final": float(stats["Equity Final [$]"]),
    }


def run_vectorbt(bars: pd.DataFrame, fees: float) -> dict:
    """vectorbt: signals shifted one bar, executed at that bar's open, 100 shares."""
    import vectorbt as vbt

    up, down = _peer_signals(bars)
    entries = up.shift(1, fill_value=False).astype(bool)
    exits = down.shift(1, fill_value=False).astype(bool)
    pf = vbt.Portfolio.from_signals(
        bars["close"], entries, exits,
        price=bars["open"], size=QTY, size_type="amount",
        init_cash=CASH, fees=fees, fixed_fees=0.0, slippage=0.0,
        direction="longonly", accumulate=False, freq="1D",
    )
    tr = pf.trades.records_readable
    closed = tr[tr["Status"] == "Closed"]
    still_open = tr[tr["Status"] == "Open"]
    return {
        "closed": pd.DataFrame({
            "entry_time": closed["Entry Timestamp"], "entry_price": closed["Avg Entry Price"],
            "exit_time": closed["Exit Timestamp"], "exit_price": closed["Avg Exit Price"],
            "pnl": closed["PnL"], "commission": closed["Entry Fees"] + closed["Exit Fees"],
        }).reset_index(drop=True),
        "open": [(r["Entry Timestamp"], r["Avg Entry Price"], r["Size"]) for _, r in still_open.iterrows()],
        "equity": pf.value(),
        "equity_final": float(pf.final_value()),
        "portfolio": pf,
    }


def run_weaver(bars: pd.DataFrame, commission: float | None):
    res = wv.backtest(SmaCross, bars, cash=CASH, commission=commission, slippage=None,
                      fast=FAST, slow=SLOW, qty=QTY)
    tr = res.trades
    is_open = tr["exit_time"].isna()
    return res, tr[~is_open].reset_index(drop=True), tr[is_open].reset_index(drop=True)


# -- comparison helpers --------------------------------------------------------------------


def _times(s: pd.Series) -> list[pd.Timestamp]:
    return [pd.Timestamp(t).tz_convert("UTC") if pd.Timestamp(t).tzinfo else pd.Timestamp(t).tz_localize("UTC")
            for t in s]


def assert_same_trades(weaver_closed: pd.DataFrame, weaver_open: pd.DataFrame, peer: dict, name: str) -> None:
    pc = peer["closed"]
    assert len(weaver_closed) == len(pc), f"{name}: {len(pc)} closed trades, Weaver {len(weaver_closed)}"
    assert _times(weaver_closed["entry_time"]) == _times(pc["entry_time"]), f"{name}: entry times differ"
    assert _times(weaver_closed["exit_time"]) == _times(pc["exit_time"]), f"{name}: exit times differ"
    for col in ("entry_price", "exit_price"):
        np.testing.assert_allclose(weaver_closed[col].to_numpy(float), pc[col].to_numpy(float),
                                   rtol=0, atol=PRICE_TOL, err_msg=f"{name}: {col}")
    for col in ("pnl", "commission"):
        np.testing.assert_allclose(weaver_closed[col].to_numpy(float), pc[col].to_numpy(float),
                                   rtol=0, atol=EQUITY_TOL, err_msg=f"{name}: {col}")
    # the trade still open at the end
    assert len(weaver_open) == len(peer["open"]) == 1, f"{name}: open trades {peer['open']}"
    (p_time, p_price, p_size) = peer["open"][0]
    assert _times(weaver_open["entry_time"]) == _times(pd.Series([p_time])), f"{name}: open trade entry time"
    assert abs(float(weaver_open["entry_price"].iloc[0]) - float(p_price)) <= PRICE_TOL
    assert float(weaver_open["qty"].iloc[0]) == abs(float(p_size)) == QTY


def assert_same_equity(res, peer: dict, name: str) -> None:
    assert abs(float(res.stats["equity_final"]) - peer["equity_final"]) <= EQUITY_TOL, name
    ours = res.equity.to_numpy(float)
    theirs = np.asarray(peer["equity"], dtype=float)
    assert len(ours) == len(theirs), f"{name}: equity length {len(theirs)} vs {len(ours)}"
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=EQUITY_TOL, err_msg=f"{name}: equity curve")


# -- fixtures ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def no_commission(goog):
    res, closed, still_open = run_weaver(goog, None)
    return {"res": res, "closed": closed, "open": still_open,
            "bt": run_backtesting_py(goog, 0.0), "vbt": run_vectorbt(goog, 0.0)}


@pytest.fixture(scope="module")
def with_commission(goog):
    res, closed, still_open = run_weaver(goog, 0.002)
    return {"res": res, "closed": closed, "open": still_open,
            "bt": run_backtesting_py(goog, 0.002), "vbt": run_vectorbt(goog, 0.002)}


# -- no commission: the reference figures ----------------------------------------------------


def test_reference_figures(no_commission):
    res = no_commission["res"]
    assert len(res.trades) == REF_TRADES
    # the statistics count the closed trades (as backtesting.py's "# Trades") and the open one apart
    assert (int(res.stats["n_trades"]), int(res.stats["n_open_trades"])) == (REF_TRADES - 1, 1)
    assert res.trades["exit_time"].isna().sum() == 1 and pd.isna(res.trades["exit_time"].iloc[-1])
    assert abs(float(res.stats["equity_final"]) - REF_EQUITY) <= EQUITY_TOL
    assert abs(float(res.equity.iloc[-1]) - REF_EQUITY) <= EQUITY_TOL


@pytest.mark.parametrize("peer", ["bt", "vbt"])
def test_same_trades_as_peer(no_commission, peer):
    nc = no_commission
    assert_same_trades(nc["closed"], nc["open"], nc[peer], peer)
    assert len(nc[peer]["closed"]) + len(nc[peer]["open"]) == REF_TRADES


@pytest.mark.parametrize("peer", ["bt", "vbt"])
def test_same_equity_as_peer(no_commission, peer):
    assert abs(no_commission[peer]["equity_final"] - REF_EQUITY) <= EQUITY_TOL
    assert_same_equity(no_commission["res"], no_commission[peer], peer)


# -- 0.2% commission ---------------------------------------------------------------------------
# All three charge the rate on each fill's notional (qty * fill price), at entry and at exit,
# and leave fill prices untouched: backtesting.py (>= 0.4) applies ``commission`` "twice: at
# trade entry and at trade exit" on the raw price (its commission-adjusted price is used only
# to size relative orders and check cash); vectorbt's ``fees`` is a fraction of each order's
# value. So all three must agree; the open last trade has paid only its entry commission.


@pytest.mark.parametrize("peer", ["bt", "vbt"])
def test_commission_same_as_peer(with_commission, peer):
    wc = with_commission
    assert_same_trades(wc["closed"], wc["open"], wc[peer], peer)
    assert_same_equity(wc["res"], wc[peer], peer)


def test_commission_first_trade_by_hand(with_commission, no_commission):
    wc = with_commission
    first = wc["closed"].iloc[0]
    # signals do not depend on costs: same trades as without commission
    assert first["entry_time"] == no_commission["closed"]["entry_time"].iloc[0]
    entry, exit_ = float(first["entry_price"]), float(first["exit_price"])
    fee = 0.002 * QTY * entry + 0.002 * QTY * exit_
    assert abs(float(first["commission"]) - fee) <= EQUITY_TOL
    assert abs(float(first["pnl"]) - (QTY * (exit_ - entry) - fee)) <= EQUITY_TOL
    # total commission = per-closed-trade fees + the entry fee of the open trade
    open_entry = float(wc["open"]["entry_price"].iloc[0])
    closed = wc["closed"]
    total = 0.002 * QTY * float((closed["entry_price"] + closed["exit_price"]).sum()) + 0.002 * QTY * open_entry
    assert abs(float(wc["res"].stats["commission"]) - total) <= EQUITY_TOL
    # final equity = frictionless final equity minus every commission paid
    assert abs(float(wc["res"].stats["equity_final"]) - (REF_EQUITY - total)) <= EQUITY_TOL


# -- return statistics, annualized alike ---------------------------------------------------------
# vectorbt annualizes by ``year_freq / freq``; given the bars per year as ``year_freq`` in days
# of its 1-day ``freq``, it annualizes as Weaver does (tests/golden/goog_smacross_10_30.json
# states the conventions). Its returns are simple, the first against the starting cash (0),
# its standard deviation is the sample one and its Sortino's downside deviation the root mean
# square of the returns below 0 over all of them: its ratios must be Weaver's. backtesting.py's
# are other definitions (geometric means of daily returns), so it is not compared here.


def bars_per_year(index: pd.DatetimeIndex) -> float:
    return len(index) / ((index[-1] - index[0]) / pd.Timedelta(days=365.25))


@pytest.mark.parametrize("case", ["no_commission", "with_commission"])
def test_return_statistics_same_as_vectorbt_annualized_alike(request, case):
    run = request.getfixturevalue(case)
    res = run["res"]
    per_year = bars_per_year(res.equity.index)
    theirs = run["vbt"]["portfolio"].get_returns_acc(year_freq=pd.Timedelta(days=per_year))
    assert theirs.ann_factor == pytest.approx(per_year, rel=1e-12)

    for name, value in [("sharpe", theirs.sharpe_ratio()), ("sortino", theirs.sortino_ratio()),
                        ("volatility", theirs.annualized_volatility()), ("cagr", theirs.annualized()),
                        ("calmar", theirs.calmar_ratio()), ("max_drawdown", theirs.max_drawdown())]:
        assert float(res.stats[name]) == pytest.approx(float(value), rel=1e-9), name


# -- limit orders, by hand ---------------------------------------------------------------------


class LimitLadder(wv.Strategy):
    """Flat and nothing working → bid the next buy limit; long and nothing working → offer
    the next sell limit. All GTC, 100 shares."""

    def init(self) -> None:
        self.buys = [97.0, 100.0]
        self.sells = [103.0, 102.0]

    def next(self) -> None:
        if self.orders:
            return
        if not self.position and self.buys:
            self.buy(QTY, limit=self.buys.pop(0), tif="gtc")
        elif self.position and self.sells:
            self.sell(QTY, limit=self.sells.pop(0), tif="gtc")


def _hand_bars() -> pd.DataFrame:
    idx = pd.date_range("2024-01-02 14:30", periods=8, freq="1min", tz="UTC", name="timestamp")
    rows = [  # open, high, low, close
        (100.0, 101.0, 99.0, 100.0),   # 0  next(): flat → buy limit 97
        (100.0, 100.5, 98.0, 99.0),    # 1  low 98 > 97: no fill
        (99.0, 99.5, 96.0, 98.0),      # 2  open 99 > 97, low 96 <= 97 → BUY @ 97 (the limit); next(): sell limit 103
        (98.0, 102.0, 97.5, 101.0),    # 3  high 102 < 103: no fill
        (104.0, 105.0, 103.5, 104.5),  # 4  gap up: open 104 >= 103 → SELL @ 104 (the open, better); next(): buy limit 100
        (103.0, 103.5, 101.0, 101.5),  # 5  low 101 > 100: no fill
        (99.0, 100.5, 98.5, 100.0),    # 6  gap down: open 99 <= 100 → BUY @ 99 (the open, better); next(): sell limit 102
        (100.0, 102.0, 99.5, 101.0),   # 7  high 102 == 102, touched → SELL @ 102 (the limit)
    ]
    df = pd.DataFrame(rows, index=idx, columns=["open", "high", "low", "close"])
    df["volume"] = 1_000.0
    return df


def test_limit_orders_by_hand():
    bars = _hand_bars()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = wv.backtest(LimitLadder, bars, cash=CASH, commission=None, slippage=None)
    t = bars.index
    fills = res.fills
    got = [(pd.Timestamp(ts), str(side).lower().split(".")[-1], float(q), float(p))
           for ts, side, q, p in zip(fills["timestamp"], fills["side"], fills["qty"], fills["price"])]
    assert got == [
        (t[2], "buy", 100.0, 97.0),    # limit touched inside the bar: fills at the limit
        (t[4], "sell", 100.0, 104.0),  # gapped through 103: fills at the open 104
        (t[6], "buy", 100.0, 99.0),    # gapped through 100: fills at the open 99
        (t[7], "sell", 100.0, 102.0),  # high exactly at the limit: touched, fills at 102
    ]
    # no fill outside its bar's range
    for ts, _, _, p in got:
        assert bars.at[ts, "low"] <= p <= bars.at[ts, "high"]
    # trades: (104 - 97) * 100 = +700, (102 - 99) * 100 = +300
    tr = res.trades
    assert list(tr["pnl"].astype(float)) == [700.0, 300.0]
    assert list(tr["entry_time"]) == [t[2], t[6]] and list(tr["exit_time"]) == [t[4], t[7]]
    # cash: 100,000 - 9,700 + 10,400 - 9,900 + 10,200 = 101,000, flat at the end
    assert float(res.stats["equity_final"]) == 101_000.0
    assert float(res.equity.iloc[-1]) == 101_000.0
    # equity while long on bar 2 is marked at its close: 100,000 - 9,700 + 100 * 98 = 100,100
    assert float(res.equity.iloc[2]) == 100_100.0
