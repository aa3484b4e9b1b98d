from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import weaver as wv
from weaver.core.errors import BacktestError, LookAheadError
from weaver.strategy import Strategy
from weaver.strategy.indicators import sma


def peek_next_close(close: np.ndarray) -> np.ndarray:
    return pd.Series(close).shift(-1).to_numpy()


def centred_mean(close: np.ndarray, n: int) -> np.ndarray:
    return pd.Series(close).rolling(n, center=True).mean().to_numpy()


def normalised_by_max(close: np.ndarray) -> np.ndarray:
    return np.asarray(close) / np.max(close)


def user_sma(close: np.ndarray, n: int) -> np.ndarray:
    """A user's indicator (Weaver's sma under another name): the guard checks it."""
    return sma(close, n)


class UserSmaCross(Strategy):
    fast: int = 10
    slow: int = 30

    def init(self) -> None:
        self.f = self.indicator(user_sma, self.data.close, self.fast)
        self.s = self.indicator(user_sma, self.data.close, self.slow)


def strategy_with(func, *args):  # noqa: ANN001, ANN202
    class Uses(Strategy):
        def init(self) -> None:
            self.x = self.indicator(func, self.data.close, *args)

    return Uses


@pytest.mark.parametrize(("func", "args"), [(peek_next_close, ()), (centred_mean, (5,)), (normalised_by_max, ())])
def test_an_indicator_that_peeks_is_refused_by_name(func, args) -> None:  # noqa: ANN001
    bars = wv.synthetic(300, "1d", seed=3)

    with pytest.raises(LookAheadError, match=func.__name__) as err:
        wv.backtest(strategy_with(func, *args), bars)
    assert "with the whole history but" in str(err.value)
    assert "np." not in str(err.value)  # plain numbers, not np.float64(...)


def test_causal_indicators_pass_and_the_guard_can_be_turned_off() -> None:
    bars = wv.synthetic(300, "1d", seed=3)

    ok = wv.backtest(strategy_with(sma, 20), bars)
    off = wv.backtest(strategy_with(peek_next_close), bars, lookahead_check=False)

    assert ok.timings["lookahead_check"] >= 0
    assert len(off.equity) == 300


def test_an_indicator_failing_on_a_shorter_history_is_reported_by_name() -> None:
    def needs_all(close: np.ndarray) -> np.ndarray:
        if len(close) != 300:
            raise ValueError("wrong length")
        return np.asarray(close)

    with pytest.raises(BacktestError, match="needs_all.*look-ahead check"):
        wv.backtest(strategy_with(needs_all), wv.synthetic(300, "1d", seed=3))


def test_an_indicator_returning_a_frame_gives_one_line_per_column() -> None:
    def two(close: np.ndarray) -> pd.DataFrame:
        s = pd.Series(close)
        return pd.DataFrame({"fast": s.rolling(3).mean(), "slow": s.rolling(5).mean()})

    seen = []

    class Uses(Strategy):
        def init(self) -> None:
            self.fast, self.slow = self.indicator(two, self.data.close)

        def next(self) -> None:
            seen.append((self.fast[-1], self.slow[-1]))

    bars = wv.synthetic(40, "1d", seed=3)
    wv.backtest(Uses, bars)

    close = bars["close"].to_numpy()
    assert seen[0] == pytest.approx((close[2:5].mean(), close[0:5].mean()))
    assert len(seen) == 36


def test_an_indicator_of_the_wrong_length_is_refused_by_name() -> None:
    with pytest.raises(BacktestError, match=r"short\(…\) returned shape \(3,\)"):
        wv.backtest(strategy_with(short), wv.synthetic(40, "1d", seed=3))


def short(close: np.ndarray) -> np.ndarray:
    return np.asarray(close)[:3]


# -- the guard's memo: one check per distinct declaration on the same bars ----------------------


def count_checks(monkeypatch) -> list[str]:
    from weaver.strategy import lookahead

    checked: list[str] = []
    check = lookahead.check_indicator

    def counting(spec, index):
        checked.append(spec.name)
        return check(spec, index)

    monkeypatch.setattr(lookahead, "check_indicator", counting)
    return checked


def run_on(prepared, strategy, **params):
    from weaver.backtesting.engine import run_backtest

    return run_backtest(strategy, prepared, strategy.validate_params(**params))


def test_an_identical_declaration_on_the_same_bars_is_checked_once(monkeypatch) -> None:
    from weaver.backtesting.engine import PreparedBars, prepare_bars

    checked = count_checks(monkeypatch)
    prepared = PreparedBars(prepare_bars(wv.synthetic(500, "1h", seed=7)))

    for fast, slow in [(5, 20), (5, 40), (10, 20), (5, 20)]:
        run_on(prepared, UserSmaCross, fast=fast, slow=slow)

    assert sorted(checked) == ["user_sma(…, 10)", "user_sma(…, 20)", "user_sma(…, 40)", "user_sma(…, 5)"]


def test_other_bars_are_checked_again(monkeypatch) -> None:
    from weaver.backtesting.engine import PreparedBars, prepare_bars

    checked = count_checks(monkeypatch)
    frames = prepare_bars(wv.synthetic(500, "1h", seed=7))

    run_on(PreparedBars(frames), UserSmaCross, fast=5, slow=20)
    run_on(PreparedBars(frames), UserSmaCross, fast=5, slow=20)

    assert len(checked) == 4


def test_weavers_own_indicators_are_trusted_and_a_users_are_checked(monkeypatch) -> None:
    from weaver.strategy.examples import SmaCross

    checked = count_checks(monkeypatch)
    bars = wv.synthetic(500, "1h", seed=7)

    wv.backtest(SmaCross, bars, fast=5, slow=20)
    assert checked == []  # causal by construction, proven below for every one of them

    wv.backtest(UserSmaCross, bars, fast=5, slow=20)
    assert sorted(checked) == ["user_sma(…, 20)", "user_sma(…, 5)"]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_every_indicator_weaver_trusts_passes_the_look_ahead_check(seed: int) -> None:
    from weaver.strategy import indicators
    from weaver.strategy.base import IndicatorSpec, as_arrays
    from weaver.strategy.lookahead import check_indicator

    bars = wv.synthetic(400, "1h", seed=seed)
    h, l, c = (bars[f].to_numpy() for f in ("high", "low", "close"))
    calls = {
        "sma": (c, 20), "ema": (c, 20), "rsi": (c, 14), "atr": (h, l, c, 14), "bollinger": (c, 20, 2.0),
        "cross_above": (c, indicators.sma(c, 10)), "cross_below": (c, indicators.sma(c, 10)),
    }
    trusted = [name for name in dir(indicators) if getattr(getattr(indicators, name), "__weaver_causal__", False)]

    assert sorted(trusted) == sorted(calls)
    for name, args in calls.items():
        func = getattr(indicators, name)
        values = as_arrays(func(*args), len(bars), name)
        check_indicator(IndicatorSpec(name, func, args, {}, values), bars.index)


@pytest.mark.parametrize(("func", "args"), [(peek_next_close, ()), (centred_mean, (5,)), (normalised_by_max, ())])
def test_a_peeking_indicator_is_refused_on_every_run(func, args) -> None:
    from weaver.backtesting.engine import PreparedBars, prepare_bars

    prepared = PreparedBars(prepare_bars(wv.synthetic(300, "1d", seed=3)))

    for _ in range(3):
        with pytest.raises(LookAheadError, match=func.__name__):
            run_on(prepared, strategy_with(func, *args))


def test_unhashable_or_writable_arguments_are_checked_every_time(monkeypatch) -> None:
    from weaver.backtesting.engine import PreparedBars, prepare_bars

    def weighted(close: np.ndarray, weights: list) -> np.ndarray:
        return sma(close, len(weights))

    checked = count_checks(monkeypatch)
    prepared = PreparedBars(prepare_bars(wv.synthetic(300, "1d", seed=3)))
    writable = np.zeros(300)

    for _ in range(2):
        run_on(prepared, strategy_with(weighted, [1, 2, 3]))
        run_on(prepared, strategy_with(np.add, writable))

    assert len(checked) == 4


def test_a_writable_input_changed_in_place_is_checked_again() -> None:
    # x / max(x) only peeks when a later bar holds the maximum
    from weaver.core.errors import LookAheadError as Refused
    from weaver.strategy.base import IndicatorSpec
    from weaver.strategy.lookahead import check_indicators

    index = pd.date_range("2024-01-01", periods=50, freq="1D", tz="UTC")
    x = np.linspace(2.0, 1.0, 50)

    def spec() -> IndicatorSpec:
        return IndicatorSpec("normalised_by_max(…)", normalised_by_max, (x,), {}, [normalised_by_max(x)])

    check_indicators([spec()], index)
    x[-1] = 5.0

    with pytest.raises(Refused, match="normalised_by_max"):
        check_indicators([spec()], index)


def test_an_indicator_giving_other_values_for_the_same_declaration_is_checked_again() -> None:
    # a function reading outside state: the same declaration, a different series, a fresh check
    from weaver.strategy.base import IndicatorSpec
    from weaver.strategy.lookahead import check_indicators

    index = pd.date_range("2024-01-01", periods=50, freq="1D", tz="UTC")
    x = np.linspace(2.0, 1.0, 50)
    x.flags.writeable = False
    state = {"peek": False}

    def moody(close: np.ndarray) -> np.ndarray:
        return peek_next_close(close) if state["peek"] else np.asarray(close) * 2

    check_indicators([IndicatorSpec("moody(…)", moody, (x,), {}, [moody(x)])], index)
    state["peek"] = True

    with pytest.raises(LookAheadError, match="moody"):
        check_indicators([IndicatorSpec("moody(…)", moody, (x,), {}, [moody(x)])], index)


def test_the_memo_keeps_no_array_or_function_alive() -> None:
    import gc
    import weakref

    from weaver.strategy.base import IndicatorSpec
    from weaver.strategy.lookahead import check_indicators

    index = pd.date_range("2024-01-01", periods=50, freq="1D", tz="UTC")
    x = np.linspace(1.0, 2.0, 50)
    x.flags.writeable = False

    def double(close: np.ndarray, k: int = 2) -> np.ndarray:
        return np.asarray(close) * k

    check_indicators([IndicatorSpec("double(…)", double, (x,), {"k": 3}, [double(x, k=3)])], index)
    refs = weakref.ref(x), weakref.ref(double)
    del x, double
    gc.collect()

    assert [r() for r in refs] == [None, None]
