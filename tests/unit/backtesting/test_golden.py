"""The golden file: the statistics of SmaCross(10, 30) on data/GOOG.csv, pinned independently.

``tests/golden/goog_smacross_10_30.json`` holds the statistics of
``wv.backtest(SmaCross, wv.load_bars("data/GOOG.csv"), fast=10, slow=30)``, computed by the
hand formulas below from the run's equity curve and trade table (plain numpy, nothing of
``weaver.backtesting.stats`` nor empyrical), with the conventions they follow written into
the file (its ``"conventions"``), some checkpoints of the equity curve and every trade. Two
checks hold it:

- the hand formulas on today's run give the file's numbers: the engine's equity curve and
  trades have not drifted;
- ``result.stats`` gives the same numbers: the statistics code computes what the
  conventions say, checked by code that shares nothing with it.

Floats agree to a relative 1e-9 (the same formulas summed in another order differ in their
last bits); counts, times and names exactly. A deliberate change to the engine's numbers or
to a convention regenerates the file, and the commit says why::

    python tests/unit/backtesting/test_golden.py --regenerate

(from any directory; the script puts this worktree's ``weaver`` first on the path). Without
``--regenerate`` it prints the document it would write.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[3]
GOLDEN = ROOT / "tests" / "golden" / "goog_smacross_10_30.json"
DATA = ROOT / "data" / "GOOG.csv"
PARAMS = {"fast": 10, "slow": 30}
REL = 1e-9
REGENERATE = "python tests/unit/backtesting/test_golden.py --regenerate"

CONVENTIONS = {
    "run": "wv.backtest(SmaCross, wv.load_bars('data/GOOG.csv'), fast=10, slow=30): qty 100, long only, "
           "market orders filled at the next bar's open, no commission, no slippage, cash 100,000",
    "equity": "E[t], the account value at bar t's close (cash plus open positions marked at the close), "
              "for t = 0 .. n-1 (n bars)",
    "returns": "simple bar-over-bar returns, one per bar: r[0] = 0 (nothing fills on the first bar, so E[0] "
               "is the starting cash), r[t] = E[t] / E[t-1] - 1; n returns",
    "periods_per_year": "taken from the bars: n / years, years = (last bar's time - first bar's time) in days "
                        "/ 365.25 (histories spanning at least 30 days; shorter ones fall back on the bar size, "
                        "which this run does not need)",
    "risk_free_rate": "0 (Sharpe and Sortino on the returns themselves; the Sortino target return is 0 too)",
    "standard_deviation": "sample standard deviation, ddof=1, over all n returns: std(r)",
    "total_return": "E[n-1] / E[0] - 1 (a fraction: 0.25 is +25%)",
    "cagr": "(E[n-1] / E[0]) ** (1 / years) - 1; the same as the n returns compounded to the power "
            "periods_per_year / n",
    "volatility": "annualized: std(r) * sqrt(periods_per_year)",
    "sharpe": "mean(r) / std(r) * sqrt(periods_per_year)",
    "sortino": "mean(r) / downside_deviation * sqrt(periods_per_year), downside_deviation = "
               "sqrt(sum(min(r[t], 0) ** 2) / n): the root mean square of the returns below 0, the others "
               "counting as 0, over all n returns (not over the negative ones alone)",
    "max_drawdown": "min over t of E[t] / max(E[0..t]) - 1 (a fraction, 0 or negative)",
    "calmar": "cagr / abs(max_drawdown)",
    "trades": "round trips, first in first out; n_trades counts the closed ones (an exit time), and the "
              "trade statistics below are over those alone; a trade still open at the end is counted in "
              "n_open_trades",
    "trade_pnl": "(exit_price - entry_price) * qty for a long, (entry_price - exit_price) * qty for a short, "
                 "minus the trade's commission",
    "trade_return_pct": "100 * trade_pnl / (entry_price * qty), a percentage",
    "win_rate": "closed trades with trade_pnl > 0 / n_trades (a fraction)",
    "profit_factor": "sum of the winning trade_pnl / -(sum of the losing trade_pnl)",
    "best_trade_pct, worst_trade_pct, avg_trade_pct": "max, min and mean of the closed trades' trade_return_pct",
    "times": "ISO 8601, UTC",
    "tolerance": "floats agree to a relative 1e-9; counts, times and names exactly",
}

#: the statistics the hand formulas give, by ``result.stats``' names
STATISTICS = ("equity_start", "equity_final", "equity_peak", "total_return", "cagr", "volatility", "sharpe",
              "sortino", "max_drawdown", "calmar", "n_trades", "n_open_trades", "win_rate", "profit_factor",
              "best_trade_pct", "worst_trade_pct", "avg_trade_pct")


def run_backtest() -> Any:
    import weaver as wv
    from weaver.strategy.examples import SmaCross

    return wv.backtest(SmaCross, wv.load_bars(DATA), **PARAMS)


# -- the hand formulas ---------------------------------------------------------------------


def years_spanned(index: pd.DatetimeIndex) -> float:
    return (index[-1] - index[0]) / pd.Timedelta(days=1) / 365.25


def hand_statistics(equity: pd.Series, trades: pd.DataFrame) -> dict[str, Any]:
    """Return the statistics of an equity curve and its trades, by the conventions above."""
    e = equity.to_numpy(dtype=float)
    n = len(e)
    years = years_spanned(equity.index)
    per_year = n / years
    r = np.concatenate(([0.0], e[1:] / e[:-1] - 1.0))
    mean = r.sum() / n
    sd = math.sqrt(((r - mean) ** 2).sum() / (n - 1))
    downside = math.sqrt((np.minimum(r, 0.0) ** 2).sum() / n)
    drawdowns = e / np.maximum.accumulate(e) - 1.0
    cagr = (e[-1] / e[0]) ** (1.0 / years) - 1.0
    max_drawdown = float(drawdowns.min())

    closed = trades[trades["exit_time"].notna()]
    pnl, ret = trade_pnl(closed)
    wins, losses = pnl[pnl > 0], pnl[pnl < 0]
    return {
        "periods_per_year": per_year,
        "equity_start": float(e[0]),
        "equity_final": float(e[-1]),
        "equity_peak": float(e.max()),
        "total_return": float(e[-1] / e[0] - 1.0),
        "cagr": float(cagr),
        "volatility": sd * math.sqrt(per_year),
        "sharpe": float(mean / sd * math.sqrt(per_year)),
        "sortino": float(mean / downside * math.sqrt(per_year)),
        "max_drawdown": max_drawdown,
        "calmar": float(cagr / abs(max_drawdown)),
        "n_trades": len(closed),
        "n_open_trades": len(trades) - len(closed),
        "win_rate": len(wins) / len(closed),
        "profit_factor": float(wins.sum() / -losses.sum()),
        "best_trade_pct": float(ret.max()),
        "worst_trade_pct": float(ret.min()),
        "avg_trade_pct": float(ret.sum() / len(ret)),
    }


def trade_pnl(trades: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Return closed trades' pnl and return % from their prices, quantities and commission."""
    direction = np.where(trades["side"] == "long", 1.0, -1.0)
    entry, exit_ = trades["entry_price"].to_numpy(float), trades["exit_price"].to_numpy(float)
    qty = trades["qty"].to_numpy(float)
    pnl = direction * (exit_ - entry) * qty - trades["commission"].to_numpy(float)
    return pnl, 100.0 * pnl / (entry * qty)


def _time(stamp: Any) -> str | None:
    return None if pd.isna(stamp) else pd.Timestamp(stamp).tz_convert("UTC").isoformat()


def _price(value: Any) -> float | None:
    return None if pd.isna(value) else float(value)


def checkpoints(equity: pd.Series, trades: pd.DataFrame) -> dict[str, Any]:
    """Return points of the equity curve and of the first, the last and the last closed trades."""
    first, last = trades.iloc[0], trades.iloc[-1]
    last_closed = trades[trades["exit_time"].notna()].iloc[-1]
    return {
        "n_bars": len(equity),
        "first_bar": _time(equity.index[0]),
        "last_bar": _time(equity.index[-1]),
        "equity_first": float(equity.iloc[0]),
        "equity_last": float(equity.iloc[-1]),
        "equity_min": float(equity.min()),
        "equity_min_at": _time(equity.idxmin()),
        "equity_max": float(equity.max()),
        "equity_max_at": _time(equity.idxmax()),
        "equity_sum": float(equity.sum()),
        "first_trade": {"entry_time": _time(first["entry_time"]), "entry_price": _price(first["entry_price"]),
                        "exit_time": _time(first["exit_time"]), "exit_price": _price(first["exit_price"])},
        "last_trade": {"entry_time": _time(last["entry_time"]), "entry_price": _price(last["entry_price"]),
                       "exit_time": _time(last["exit_time"]), "exit_price": _price(last["exit_price"])},
        "last_closed_trade": {"entry_time": _time(last_closed["entry_time"]),
                              "entry_price": _price(last_closed["entry_price"]),
                              "exit_time": _time(last_closed["exit_time"]),
                              "exit_price": _price(last_closed["exit_price"])},
    }


def trade_rows(trades: pd.DataFrame) -> list[dict[str, Any]]:
    return [{"symbol": t["symbol"], "side": t["side"], "qty": float(t["qty"]),
             "entry_time": _time(t["entry_time"]), "entry_price": _price(t["entry_price"]),
             "exit_time": _time(t["exit_time"]), "exit_price": _price(t["exit_price"]),
             "pnl": float(t["pnl"]), "commission": float(t["commission"])}
            for _, t in trades.iterrows()]


def golden_document(result: Any) -> dict[str, Any]:
    """Return the golden file's content for a run: conventions, checkpoints, statistics, trades."""
    return {
        "what": "statistics of wv.backtest(SmaCross, wv.load_bars('data/GOOG.csv'), fast=10, slow=30), "
                "computed by hand from its equity curve and trades (tests/unit/backtesting/test_golden.py)",
        "regenerate": REGENERATE,
        "conventions": CONVENTIONS,
        "checkpoints": checkpoints(result.equity, result.trades),
        "statistics": hand_statistics(result.equity, result.trades),
        "trades": trade_rows(result.trades),
    }


# -- the checks ----------------------------------------------------------------------------


def assert_matches(got: Any, want: Any, where: str = "") -> None:
    """Floats to a relative REL, everything else exactly, recursively."""
    if isinstance(want, dict):
        assert isinstance(got, dict) and set(got) == set(want), f"{where}: keys {sorted(got)} != {sorted(want)}"
        for key in want:
            assert_matches(got[key], want[key], f"{where}.{key}")
    elif isinstance(want, list):
        assert isinstance(got, list) and len(got) == len(want), f"{where}: {len(got)} items, not {len(want)}"
        for k, (g, w) in enumerate(zip(got, want, strict=True)):
            assert_matches(g, w, f"{where}[{k}]")
    elif isinstance(want, float):
        assert got == pytest.approx(want, rel=REL, abs=0.0), f"{where}: {got!r} != {want!r}"
    else:
        assert type(got) is type(want) and got == want, f"{where}: {got!r} != {want!r}"


def golden() -> dict[str, Any]:
    return json.loads(GOLDEN.read_text())


@pytest.fixture(scope="module")
def result() -> Any:
    return run_backtest()


def test_the_run_gives_the_golden_numbers_by_hand(result) -> None:  # noqa: ANN001
    want = golden()
    got = json.loads(json.dumps(golden_document(result)))  # as the file stores it

    assert_matches(got["checkpoints"], want["checkpoints"], "checkpoints")
    assert_matches(got["trades"], want["trades"], "trades")
    assert_matches(got["statistics"], want["statistics"], "statistics")
    assert got["conventions"] == want["conventions"], f"the conventions changed: {REGENERATE}"


def test_the_stats_code_gives_the_golden_numbers(result) -> None:  # noqa: ANN001
    want = golden()["statistics"]

    stats = {name: result.stats[name] for name in STATISTICS}
    assert_matches({k: v if isinstance(v, int) else float(v) for k, v in stats.items()},
                   {k: want[k] for k in STATISTICS}, "result.stats")


def test_the_periods_per_year_are_the_bars_per_year(result) -> None:  # noqa: ANN001
    from weaver.backtesting.stats import periods_per_year

    assert_matches(float(periods_per_year(result.equity.index, result.timeframe)),
                   golden()["statistics"]["periods_per_year"], "periods_per_year")


def test_the_trade_table_agrees_with_its_prices(result) -> None:  # noqa: ANN001
    trades = result.trades
    closed = trades[trades["exit_time"].notna()]

    pnl, ret = trade_pnl(closed)
    np.testing.assert_allclose(closed["pnl"].to_numpy(float), pnl, rtol=REL, atol=0)
    np.testing.assert_allclose(closed["return_pct"].to_numpy(float), ret, rtol=REL, atol=0)


def test_the_golden_file_states_its_conventions() -> None:
    doc = golden()

    assert set(CONVENTIONS) <= set(doc["conventions"])
    assert doc["regenerate"] == REGENERATE
    for name in ("sharpe", "sortino", "cagr", "volatility", "max_drawdown", "calmar", "win_rate", "profit_factor",
                 "periods_per_year", "returns", "standard_deviation", "risk_free_rate"):
        assert any(name in key for key in doc["conventions"]), name


def main(argv: list[str]) -> int:
    document = json.dumps(golden_document(run_backtest()), indent=2) + "\n"
    if "--regenerate" in argv:
        GOLDEN.parent.mkdir(parents=True, exist_ok=True)
        GOLDEN.write_text(document)
        print(f"wrote {GOLDEN}")
    else:
        print(document, end="")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))  # this checkout's weaver, before any other installed
    sys.exit(main(sys.argv[1:]))
