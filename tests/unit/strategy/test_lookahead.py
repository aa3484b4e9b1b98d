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
