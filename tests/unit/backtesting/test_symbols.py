"""One strategy class on one symbol or several: ``self.data[sym]``, ``self.data.symbols``, plots, timeframes."""

from __future__ import annotations

import pandas as pd
import pytest

import weaver as wv
from weaver.core.errors import BacktestError, DataError
from weaver.strategy import Strategy

from .conftest import flat_bars, make_bars


class EachSymbol(Strategy):
    """Written for any number of symbols: buys 1 of each on the first bar, closes on the third."""

    def init(self) -> None:
        self.bar = -1
        self.seen: dict[str, float] = {}

    def next(self) -> None:
        self.bar += 1
        for sym in self.data.symbols:
            self.seen[sym] = self.data[sym].close[-1]
            if self.bar == 0:
                self.buy(1, symbol=sym)
            elif self.bar == 2:
                self.close(sym)


def ramp(symbol: str, base: float, n: int = 6, **kw: object) -> pd.DataFrame:
    return make_bars([(base + i, base + i + 2, base + i - 1, base + i + 1) for i in range(n)], symbol=symbol, **kw)


def test_data_by_symbol_works_on_a_single_symbol_too() -> None:
    res = wv.backtest(EachSymbol, ramp("GOOG", 100.0))

    assert res.trades["symbol"].tolist() == ["GOOG"]
    assert res.trades["entry_price"].tolist() == [101.0]


def test_the_same_class_runs_on_several_symbols() -> None:
    res = wv.backtest(EachSymbol, {"AAA": ramp("AAA", 100.0), "BBB": ramp("BBB", 50.0)})

    assert res.trades["symbol"].tolist() == ["AAA", "BBB"]
    assert res.trades["entry_price"].tolist() == [101.0, 51.0]


def test_symbols_lists_them_in_order() -> None:
    seen = []

    class Spy(Strategy):
        def init(self) -> None:
            seen.append(list(self.data.symbols))

    wv.backtest(Spy, ramp("GOOG", 100.0))
    wv.backtest(Spy, {"BBB": ramp("BBB", 50.0), "AAA": ramp("AAA", 100.0)})
    assert seen == [["GOOG"], ["BBB", "AAA"]]


def test_an_unknown_symbol_names_the_ones_there() -> None:
    class Wrong(Strategy):
        def init(self) -> None:
            self.data["MSFT"]

    with pytest.raises(BacktestError, match=r"no data for symbol 'MSFT'; the run has \['GOOG'\]"):
        wv.backtest(Wrong, ramp("GOOG", 100.0))


def test_plot_shows_every_symbols_trades() -> None:
    res = wv.backtest(EachSymbol, {"AAA": ramp("AAA", 100.0), "BBB": ramp("BBB", 50.0)})

    fig = res.plot()

    entries = {t.meta: list(t.y) for t in fig.data if t.name == "entry"}
    candles = {t.meta: t.visible is not False for t in fig.data if t.type == "candlestick"}
    assert entries == {"AAA": [101.0], "BBB": [51.0]}
    assert candles == {"AAA": True, "BBB": False}  # one symbol at a time, the first shown
    (menu,) = fig.layout.updatemenus
    assert [b.label for b in menu.buttons] == ["AAA", "BBB"]
    shows_bbb = menu.buttons[1].args[0]["visible"]
    assert [t.meta for t, shown in zip(fig.data, shows_bbb, strict=True) if shown and t.meta] == ["BBB"] * 3


def test_plot_of_one_symbol_is_unchanged() -> None:
    res = wv.backtest(EachSymbol, {"AAA": ramp("AAA", 100.0), "BBB": ramp("BBB", 50.0)})

    fig = res.plot("BBB")

    assert [t.name for t in fig.data] == ["BBB", "entry", "exit", "equity", "drawdown %"]
    assert list(fig.data[1].y) == [51.0] and not fig.layout.updatemenus


def test_mixed_bar_sizes_are_refused_naming_symbols_and_timeframes() -> None:
    daily = flat_bars(5, symbol="GOOG")
    minutes = make_bars([(10, 11, 9, 10)] * 30, freq="1min", symbol="ESZ4")
    minutes.attrs["timeframe"] = "1m"
    daily.attrs["timeframe"] = "1d"

    with pytest.raises(DataError) as err:
        wv.backtest(EachSymbol, {"GOOG": daily, "ESZ4": minutes})

    message = str(err.value)
    assert "GOOG" in message and "1d" in message and "ESZ4" in message and "1m" in message
    assert "wv.resample" in message


def test_close_bar_sizes_are_a_warning_as_bars_may_be_missing() -> None:
    every_day = ramp("AAA", 100.0, n=8)
    every_other_day = ramp("BBB", 50.0, n=8).iloc[[0, 2, 4, 6]]  # looks like "2d"

    with pytest.warns(wv.data.DataWarning, match=r"AAA is 1d, BBB is 2d \(bars missing from BBB\?\)"):
        res = wv.backtest(EachSymbol, {"AAA": every_day, "BBB": every_other_day})
    assert len(res.equity) == 8


def test_the_same_bar_size_inferred_for_each_symbol_is_fine() -> None:
    res = wv.backtest(EachSymbol, {"AAA": ramp("AAA", 100.0), "BBB": ramp("BBB", 50.0, n=4)})

    assert len(res.trades) == 2
