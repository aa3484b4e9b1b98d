"""Bars delivered one at a time give the same decisions as the vectorized backtest."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

import weaver as wv
from weaver.clock import session_ends
from weaver.core import Portfolio
from weaver.core.errors import ParameterError
from weaver.sim import SimulatedBroker
from weaver.strategy import Strategy
from weaver.strategy.examples import RsiReversion, SmaCross
from weaver.strategy.indicators import sma
from weaver.strategy.runtime import StreamingRuntime


def stream(strategy: type[Strategy], bars: pd.DataFrame, *, window: int | None = None,
           warmup: int = 0, **params: object) -> tuple[SimulatedBroker, StreamingRuntime]:
    """Feed ``bars`` one at a time through a SimulatedBroker, as the engine's loop would."""
    symbol = bars.attrs["symbol"]
    portfolio = Portfolio(cash=Decimal(100_000), positions={})
    clock = {"now": None}
    runtime_box: dict[str, StreamingRuntime] = {}
    broker = SimulatedBroker(
        portfolio, symbols=[symbol], clock=lambda: clock["now"],
        price_of=lambda s: runtime_box["rt"].price_of(s),
    )
    runtime = StreamingRuntime(strategy, params, broker=broker, portfolio=portfolio, symbols=[symbol],
                               history={symbol: bars.iloc[:warmup]}, window=window, run_id="bt")
    runtime_box["rt"] = runtime
    ends = session_ends(bars.index, bars.attrs.get("timeframe"))
    for i in range(warmup, len(bars)):
        ts = bars.index[i].to_pydatetime()
        row = bars.iloc[i]
        bar = (row["open"], row["high"], row["low"], row["close"], row["volume"])
        clock["now"] = ts
        if broker.has_working(symbol):
            broker.process_bar(symbol, ts, *map(float, bar), session_end=bool(ends[i]))
        runtime.on_bar(ts, {symbol: bar})
    return broker, runtime


def fills_of(broker: SimulatedBroker) -> list[tuple]:
    return [(f.order_id, pd.Timestamp(f.timestamp), f.side.value, f.qty, f.price) for f in broker.fills]


def fills_of_result(res: wv.BacktestResult) -> list[tuple]:
    f = res.fills
    return [(o, pd.Timestamp(t), s, Decimal(repr(q)).normalize(), Decimal(repr(p)))
            for o, t, s, q, p in zip(f["order_id"], f["timestamp"], f["side"], f["qty"], f["price"], strict=True)]


@pytest.mark.parametrize(("strategy", "params"), [(SmaCross, {}), (RsiReversion, {})])
def test_one_bar_at_a_time_gives_the_backtests_orders_and_fills(strategy, params) -> None:  # noqa: ANN001
    bars = wv.load_bars("data/GOOG.csv")

    expected = wv.backtest(strategy, bars, **params)
    broker, _ = stream(strategy, bars, **params)

    got = [(o, t, s, q.normalize(), p) for o, t, s, q, p in fills_of(broker)]
    assert len(got) > 4
    assert got == fills_of_result(expected)
    assert [o.status.value for o in broker.orders.values()] == expected.orders["status"].tolist()


def test_a_warm_history_and_a_rolling_window_keep_finite_memory_indicators_exact() -> None:
    bars = wv.load_bars("data/GOOG.csv").iloc[:600]

    expected = wv.backtest(SmaCross, bars)
    broker, runtime = stream(SmaCross, bars, window=60, warmup=20)  # no trade before bar 30

    assert [f[1:] for f in fills_of(broker)] == [f[1:] for f in fills_of_result(expected)]
    assert runtime.bars_seen == 600


def test_indicator_values_match_the_vectorized_pass_bar_by_bar() -> None:
    bars = wv.load_bars("data/GOOG.csv").iloc[:300]
    seen: list[float] = []

    class Record(Strategy):
        def init(self) -> None:
            self.s = self.indicator(sma, self.data.close, 20)

        def next(self) -> None:
            seen.append(self.s[-1])

    stream(Record, bars)

    expected = sma(bars["close"].to_numpy(), 20)[19:]
    assert seen == pytest.approx(expected.tolist(), rel=0, abs=0)


def test_an_indicator_on_derived_data_is_refused_with_its_name() -> None:
    class Derived(Strategy):
        def init(self) -> None:
            self.x = self.indicator(sma, self.data.close * 2, 5)

    bars = wv.load_bars("data/GOOG.csv").iloc[:50]

    with pytest.raises(ParameterError, match=r"sma\(…, 5\): argument 0 is derived from the data"):
        stream(Derived, bars, warmup=10)


def test_bars_for_an_unknown_symbol_are_refused() -> None:
    bars = wv.load_bars("data/GOOG.csv").iloc[:40]
    _, runtime = stream(SmaCross, bars)

    with pytest.raises(ParameterError, match="unknown symbols"):
        runtime.on_bar(pd.Timestamp("2014-01-02", tz="UTC").to_pydatetime(), {"AAPL": (1, 1, 1, 1, 1)})
    assert np.isfinite(runtime.price_of("GOOG"))
