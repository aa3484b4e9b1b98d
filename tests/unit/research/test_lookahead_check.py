"""wv.check_lookahead: the whole strategy re-run on cut histories, its orders compared."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import weaver as wv
from weaver.core.errors import BacktestError, DataError, LookAheadError, ParameterError
from weaver.research.lookahead import LookAheadCheck, check_lookahead
from weaver.strategy import Strategy
from weaver.strategy.examples import MomentumRotation, RsiReversion, SmaCross
from weaver.strategy.indicators import sma

# -- strategies ---------------------------------------------------------------------------------


class Peek(Strategy):
    """Copies the closes in init() and trades on tomorrow's close."""

    def init(self) -> None:
        self.closes = np.asarray(self.data.close)  # in init(), the whole history

    def next(self) -> None:
        i = len(self.data) - 1
        if i + 1 < len(self.closes):
            if self.closes[i + 1] > self.closes[i] and not self.position:
                self.buy()
            elif self.closes[i + 1] < self.closes[i] and self.position:
                self.close()


class FrameInNext(Strategy):
    """Reads ``self.data.df`` in next(): the bars up to the current one, nothing after."""

    def next(self) -> None:
        df = self.data.df
        if len(df) < 20:
            return
        above = df["close"].iloc[-1] > df["close"].iloc[-20:].mean()
        if above and not self.position:
            self.buy(10)
        elif not above and self.position:
            self.close()


class FrameFromInit(Strategy):
    """Keeps ``self.data.df`` from init() (the whole history there) and reads the next bar."""

    def init(self) -> None:
        self.frame = self.data.df

    def next(self) -> None:
        i = len(self.data) - 1
        if i + 1 < len(self.frame):
            up = self.frame["close"].iloc[i + 1] > self.frame["close"].iloc[i]
            if up and not self.position:
                self.buy(10)
            elif not up and self.position:
                self.close()


class ReadsAhead(Strategy):
    """Knows the whole history's length from a parameter and reads the next close unguarded."""

    horizon: int = 0

    def init(self) -> None:
        self.closes = np.asarray(self.data.close)

    def next(self) -> None:
        i = len(self.data) - 1
        if i + 1 < self.horizon and self.closes[i + 1] > self.closes[i] and not self.position:
            self.buy(1)


class Scripted(Strategy):
    """Buys one unit at bar ``buy_at`` and closes at bar ``close_at``: no indicators, no peeking."""

    buy_at: int = 3
    close_at: int = 7

    def next(self) -> None:
        i = len(self.data) - 1
        if i == self.buy_at:
            self.buy(1)
        elif i == self.close_at:
            self.close()


class DayBids(Strategy):
    """Keeps one day limit bid far below the market working: a new one after each expires."""

    def next(self) -> None:
        if not self.orders:
            self.buy(1, limit=self.data.close[-1] * 0.5)


class PeeksAtSecond(Strategy):
    """Trades the second symbol on its next close, read from a copy kept in init()."""

    def init(self) -> None:
        self.other = self.symbols[1]
        self.closes = np.asarray(self.data[self.other].close)

    def next(self) -> None:
        i = len(self.data[self.other]) - 1
        if i + 1 < len(self.closes) and not np.isnan(self.closes[i]):
            if self.closes[i + 1] > self.closes[i] and not self.get_position(self.other):
                self.buy(1, symbol=self.other)
            elif self.closes[i + 1] < self.closes[i] and self.get_position(self.other):
                self.close(self.other)


class InitReadsAhead(Strategy):
    """Reads a fixed bar in init(): there on the whole history, past the end of a cut one."""

    at: int = 0

    def init(self) -> None:
        self.level = float(self.data.close[self.at])

    def next(self) -> None:
        if self.data.close[-1] > self.level and not self.position:
            self.buy(1)
        elif self.data.close[-1] < self.level and self.position:
            self.close()


class TrailingExit(Strategy):
    """Buys on a fresh 20-bar high and protects the position with a 5 % trailing stop."""

    def next(self) -> None:
        close = self.data.close
        if len(close) < 21 or self.position or self.orders:
            return
        if close[-1] > max(close.values[-21:-1]):
            self.buy(10)
            self.sell(10, trail_percent=5, tif="gtc")


class FirstSymbolTrend(Strategy):
    """Holds the first symbol while it closes above its 20-bar SMA; runs on several symbols."""

    def init(self) -> None:
        self.sma = self.indicator(sma, self.data[self.symbols[0]].close, 20)

    def next(self) -> None:
        above = self.data[self.symbols[0]].close[-1] > self.sma[-1]
        if above and not self.position:
            self.buy(10)
        elif not above and self.position:
            self.close()


class Coin(Strategy):
    """Trades on unseeded random numbers: each run draws others."""

    def init(self) -> None:
        self.rng = np.random.default_rng()

    def next(self) -> None:
        if self.rng.random() < 0.5 and not self.position:
            self.buy(1)
        elif self.position:
            self.close()


class Fails(Strategy):
    def next(self) -> None:
        raise RuntimeError("broken")


def peek_next_close(close: np.ndarray) -> np.ndarray:
    return pd.Series(close).shift(-1).to_numpy()


class PeekingIndicator(Strategy):
    def init(self) -> None:
        self.tomorrow = self.indicator(peek_next_close, self.data.close)


# -- builders -----------------------------------------------------------------------------------


def make_reversed(bars: pd.DataFrame, symbol: str) -> pd.DataFrame:
    """A second symbol on the same timestamps: ``bars``' rows in reverse order."""
    other = pd.DataFrame(bars.to_numpy()[::-1], index=bars.index, columns=bars.columns)
    other.attrs.update(bars.attrs)
    other.attrs["symbol"] = symbol
    return other


def first_up_bar(close: np.ndarray) -> int:
    """The first bar whose next close is higher: where Peek places its first order."""
    return int(np.argmax(close[1:] > close[:-1]))


# -- it catches a strategy that reads ahead -------------------------------------------------------


def test_a_strategy_reading_the_next_close_is_caught_at_its_first_order(goog) -> None:
    close = goog["close"].to_numpy()
    first = first_up_bar(close)
    qty = int(100_000 // close[first])
    day = f"{goog.index[first]:%Y-%m-%d}"

    check = check_lookahead(Peek, goog)

    assert not check.passed
    assert not check
    assert check.first_bar == goog.index[first]
    assert check.detail == (
        f"on {day} the run on the whole history places buy {qty} GOOG at market, "
        f"the run on the bars up to {day} places nothing: the strategy reads bars after the current one"
    )


def test_the_backtest_options_reach_every_run(goog) -> None:
    close = goog["close"].to_numpy()
    qty = int(1_000 // close[first_up_bar(close)])

    check = check_lookahead(Peek, goog, cash=1_000, commission=0.001)

    assert f"places buy {qty} GOOG at market" in check.detail


def test_a_frame_kept_from_init_is_the_whole_history_and_is_caught(goog) -> None:
    check = check_lookahead(FrameFromInit, goog)

    assert not check.passed
    assert "places buy 10 GOOG at market" in check.detail


def test_a_frame_read_in_next_ends_at_the_current_bar_so_it_passes(goog) -> None:
    check = check_lookahead(FrameInNext, goog)

    assert check.passed, check.detail


def test_a_run_that_raises_past_the_cut_is_reported_with_the_bar_and_the_error(goog) -> None:
    check = check_lookahead(ReadsAhead, goog, horizon=len(goog))

    assert not check.passed
    assert check.first_bar in check.cuts
    day = f"{check.first_bar:%Y-%m-%d}"
    assert check.detail.startswith(f"on {day} the run on the bars up to {day} raises IndexError")
    assert "the run on the whole history does not" in check.detail


def test_the_earliest_differing_bar_over_all_cuts_is_named(goog) -> None:
    check = check_lookahead(Peek, goog, cuts=8)

    assert check.first_bar == min(check.cuts)


def test_a_peek_at_a_second_symbol_that_starts_later_is_caught(goog) -> None:
    late = make_reversed(goog, "LATE").iloc[300:]
    late.attrs.update(goog.attrs, symbol="LATE")

    check = check_lookahead(PeeksAtSecond, {"GOOG": goog, "LATE": late})

    assert not check.passed
    assert check.first_bar >= late.index[0]
    assert "LATE" in check.detail


def test_a_cut_run_whose_init_raises_is_reported_at_the_cut(goog) -> None:
    at = len(goog) - 1

    check = check_lookahead(InitReadsAhead, goog, at=at)

    assert not check.passed
    day = f"{check.first_bar:%Y-%m-%d}"
    assert check.first_bar == min(check.cuts)
    assert check.detail.startswith(f"on {day} the run on the bars up to {day} raises IndexError")
    assert "before its first bar" in check.detail


def test_unseeded_randomness_makes_the_runs_differ(goog) -> None:
    assert not check_lookahead(Coin, goog).passed


def test_an_indicator_the_always_on_guard_refuses_fails_the_check(goog) -> None:
    check = check_lookahead(PeekingIndicator, goog)

    assert not check.passed
    assert check.first_bar is None
    assert "peek_next_close" in check.detail
    assert check.runs == 1


# -- causal strategies pass ---------------------------------------------------------------------


def test_sma_cross_passes(goog) -> None:
    check = check_lookahead(SmaCross, goog)

    assert check.passed
    assert check
    assert check.first_bar is None
    assert len(check.cuts) == 8
    assert check.runs == 9
    assert check.seconds > 0


def test_rsi_reversion_passes(goog) -> None:
    check = check_lookahead(RsiReversion, goog)

    assert check.passed, check.detail


def test_momentum_rotation_on_two_symbols_passes(goog) -> None:
    bars = {"GOOG": goog, "EGOO": make_reversed(goog, "EGOO")}

    check = check_lookahead(MomentumRotation, bars, lookback=20, every=5)

    assert check.passed, check.detail


def test_a_trailing_stop_whose_stop_moved_after_the_cut_passes(goog) -> None:
    check = check_lookahead(TrailingExit, goog, cuts=16)

    assert check.passed, check.detail
    assert "trailing" not in check.detail


def test_cuts_before_a_second_symbol_starts_run_without_its_bars(goog) -> None:
    late = make_reversed(goog, "LATE").iloc[1000:]
    late.attrs.update(goog.attrs, symbol="LATE")

    check = check_lookahead(FirstSymbolTrend, {"GOOG": goog, "LATE": late})

    assert check.passed, check.detail
    assert check.cuts[0] < late.index[0]


def test_day_orders_do_not_expire_at_a_cut_inside_a_session() -> None:
    # every bar is cut mid-session or at its end: a cut run whose last bar ended the session
    # would expire the working bid there and place a new one that the whole run does not
    bars = wv.synthetic(600, "5min", seed=4)

    check = check_lookahead(DayBids, bars, cuts=20)

    assert check.passed, check.detail


def test_numpy_scalar_parameters_work(goog) -> None:
    check = check_lookahead(SmaCross, goog, fast=np.int64(10), slow=np.int64(30), qty=np.int32(50))

    assert check.passed
    assert check.params == {"fast": 10, "slow": 30, "qty": 50}
    assert type(check.params["fast"]) is int


# -- the cut bars -------------------------------------------------------------------------------


def test_cuts_fall_on_order_bars_and_spread_from_the_first_order_to_the_second_last_bar() -> None:
    bars = wv.synthetic(12, "1d", seed=5)
    # Scripted orders at bars 3 and 7; cuts span bars 3 (the first order) to 10 (the second
    # last): the last order bar 7 and the first 3, then 10, then the spread 3, 5.33, 7.67, 10
    check = check_lookahead(Scripted, bars, cuts=4)

    assert check.passed
    assert check.cuts == [bars.index[i] for i in (3, 5, 7, 10)]
    assert check.runs == 5


def test_more_cuts_than_bars_to_cut_use_every_bar() -> None:
    bars = wv.synthetic(12, "1d", seed=5)

    check = check_lookahead(Scripted, bars, cuts=50)

    assert check.cuts == list(bars.index[3:11])


def test_sma_cross_cuts_start_at_its_first_order_after_the_warm_up(goog) -> None:
    orders = wv.backtest(SmaCross, goog).orders
    placed = set(orders["created_at"])

    check = check_lookahead(SmaCross, goog)

    assert check.cuts == sorted(check.cuts)
    assert check.cuts[0] == orders["created_at"].iloc[0]
    assert check.cuts[-1] == goog.index[-2]
    assert check.cuts[0] >= goog.index[29]  # slow=30: the first bar with both SMAs
    assert orders["created_at"].iloc[-1] in check.cuts
    assert len(placed & set(check.cuts)) >= 4


# -- the result ---------------------------------------------------------------------------------


def test_raise_for_lookahead_raises_with_the_detail(goog) -> None:
    check = check_lookahead(Peek, goog)

    with pytest.raises(LookAheadError) as err:
        check.raise_for_lookahead()

    assert str(err.value) == check.detail


def test_raise_for_lookahead_returns_a_passed_check(goog) -> None:
    check = check_lookahead(SmaCross, goog)

    assert check.raise_for_lookahead() is check


def test_the_result_reads_in_one_line_and_in_html(goog) -> None:
    bad = check_lookahead(Peek, goog)
    good = check_lookahead(SmaCross, goog, fast=5)

    assert isinstance(bad, LookAheadCheck)
    for check in (bad, good):
        assert "\n" not in repr(check)
        assert "\n" not in check.summary
    assert repr(bad).startswith("<LookAheadCheck Peek: looks ahead from 2004-08-19")
    assert "fast=5" in good.summary and "no look-ahead found" in good.summary
    assert bad.detail in bad.summary
    html = bad._repr_html_()
    assert "#c62828" in html and "reads bars after the current one" in html
    assert "#2e7d32" in good._repr_html_()


def test_the_html_escapes_the_detail() -> None:
    check = LookAheadCheck(strategy="S", params={}, passed=False, first_bar=None,
                           detail="a <b> & c", cuts=[], runs=1, seconds=0.1)

    assert "a &lt;b&gt; &amp; c" in check._repr_html_()


def test_it_is_a_lazy_public_name() -> None:
    assert wv.check_lookahead is check_lookahead


# -- bad input ----------------------------------------------------------------------------------


@pytest.mark.parametrize("strategy", [object, "sma_cross", len, int])
def test_something_not_a_strategy_subclass_is_refused(goog, strategy) -> None:  # noqa: ANN001
    with pytest.raises(BacktestError, match="Strategy subclass"):
        check_lookahead(strategy, goog)


@pytest.mark.parametrize("cuts", [0, -3, True, 2.5, "8"])
def test_cuts_must_be_a_whole_number_of_at_least_one(goog, cuts) -> None:  # noqa: ANN001
    with pytest.raises(ParameterError, match=f"cuts must be a whole number >= 1, got {cuts!r}"):
        check_lookahead(SmaCross, goog, cuts=cuts)


def test_a_numpy_integer_is_a_number_of_cuts(goog) -> None:
    assert len(check_lookahead(SmaCross, goog, cuts=np.int64(3)).cuts) == 3


def test_too_few_bars_after_the_warm_up_are_refused_with_the_numbers(goog) -> None:
    with pytest.raises(DataError, match=r"30 bars.*bar 29 \(2004-09-30\)"):
        check_lookahead(SmaCross, goog.iloc[:30])


def test_an_unknown_parameter_is_refused(goog) -> None:
    with pytest.raises(ParameterError, match="no parameter 'fastest'"):
        check_lookahead(SmaCross, goog, fastest=3)


def test_a_run_on_the_whole_history_that_fails_raises_as_a_backtest_does(goog) -> None:
    with pytest.raises(BacktestError, match="Fails.next.. raised RuntimeError: broken"):
        check_lookahead(Fails, goog)
