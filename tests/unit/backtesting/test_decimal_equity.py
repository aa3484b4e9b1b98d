"""The float equity curve ends where the Decimal accounting does, to the cent, for every example.

A backtest keeps two books. The broker books each fill into the run's ``Portfolio`` in
``Decimal`` as it happens (cash, positions, cost basis: DESIGN §4, money is Decimal at the
edges); after the loop, the result builds ``result.equity`` from the fills again, in floats
and vectorized (cash flows summed per bar, positions marked at each close). They share the
fills and nothing else, so their agreement on the last bar — the Decimal portfolio's cash
plus its positions marked at the last closes, against ``result.equity.iloc[-1]`` — shows that
the float curve loses nothing to rounding, misses no fill, commission or reduced quantity, and
marks every symbol's position at the right price, over thousands of bars and fills.

The run's portfolio is the one ``wv.backtest`` itself made: ``Run`` is wrapped to keep each
instance it builds, so the result and the portfolio come from the same call.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

import weaver as wv
from weaver.backtesting import engine
from weaver.strategy.examples import MomentumRotation, RsiReversion, SmaCross

from .builders import reversed_copy, with_gaps

GOOG = wv.load_bars("data/GOOG.csv")
HALF_CENT = Decimal("0.005")


def backtest_with_its_run(monkeypatch: pytest.MonkeyPatch, strategy: type, bars: Any,
                          **kw: Any) -> tuple[Any, engine.Run]:
    """Return ``wv.backtest``'s result and the ``Run`` (its Decimal portfolio) that made it."""
    runs: list[engine.Run] = []

    class KeptRun(engine.Run):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            runs.append(self)

    monkeypatch.setattr(engine, "Run", KeptRun)
    result = wv.backtest(strategy, bars, **kw)
    assert len(runs) == 1
    return result, runs[0]


def decimal_final_equity(run: engine.Run) -> Decimal:
    """Return the run's Decimal cash plus its positions marked at each symbol's last close."""
    last_closes = {sym: Decimal(repr(float(closes[-1]))) for sym, closes in run.closes.items()}
    return run.portfolio.equity(last_closes)


CASES = {
    "sma_cross": (SmaCross, GOOG, {"fast": 10, "slow": 30}),
    "sma_cross_commission": (SmaCross, GOOG, {"fast": 5, "slow": 20, "commission": 0.001}),
    "rsi_reversion": (RsiReversion, GOOG, {}),
    "rsi_reversion_commission": (RsiReversion, GOOG, {"commission": 0.001}),
    "momentum_rotation": (MomentumRotation, {"GOOG": GOOG, "REV": reversed_copy(GOOG, "REV")},
                          {"lookback": 20, "every": 5}),
    "momentum_rotation_gaps_top2": (MomentumRotation,
                                    {"GOOG": GOOG, "REV": with_gaps(reversed_copy(GOOG, "REV"), (100, 140)),
                                     "HALF": reversed_copy(GOOG.iloc[len(GOOG) // 2:], "HALF")},
                                    {"lookback": 10, "every": 3, "top": 2, "commission": 0.0005}),
}


@pytest.mark.parametrize("case", list(CASES))
def test_the_equity_curve_ends_at_the_decimal_portfolios_equity_to_the_cent(monkeypatch, case) -> None:  # noqa: ANN001
    strategy, bars, kw = CASES[case]

    result, run = backtest_with_its_run(monkeypatch, strategy, bars, **kw)
    books = decimal_final_equity(run)
    curve = Decimal(repr(float(result.equity.iloc[-1])))

    assert len(result.fills) > 10  # the books had something to disagree on
    # to the cent: within half a cent (a quantize could split a pair 1e-9 apart across a half cent)
    assert abs(books - curve) < HALF_CENT, f"{case}: Decimal {books} vs equity curve {curve}"
    assert result.stats["equity_final"] == float(curve)
