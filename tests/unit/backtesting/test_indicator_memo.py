"""Weaver's own indicators are pure: runs on the same prepared bars compute each declaration once."""

from __future__ import annotations

import numpy as np

import weaver as wv
from weaver.backtesting.engine import PreparedBars, Run, prepare_bars, run_backtest
from weaver.core import RunConfig
from weaver.strategy import Strategy
from weaver.strategy.examples import SmaCross
from weaver.strategy.indicators import sma


def _run(strategy: type, bars: PreparedBars, **params: object) -> Run:
    run = Run(strategy, bars, strategy.validate_params(**params), RunConfig())
    run.initialize(lookahead_check=False)
    return run


def _values(run: Run) -> list[np.ndarray]:
    return [a for spec in run.strategy._indicators for a in spec.arrays]


def test_a_second_run_on_the_same_bars_reuses_the_indicator_values() -> None:
    bars = PreparedBars(prepare_bars(wv.synthetic(500, "1min", seed=3)))

    first = _values(_run(SmaCross, bars, fast=5, slow=20))
    second = _values(_run(SmaCross, bars, fast=5, slow=40))

    assert second[0] is first[0]  # sma(close, 5): the same declaration
    assert second[1] is not first[1]  # sma(close, 40) is another one
    np.testing.assert_array_equal(second[1], sma(bars.closes[bars.symbols[0]], 40))
    assert not second[0].flags.writeable  # shared, so nobody may change it


def test_results_are_the_same_with_the_values_reused() -> None:
    frames = prepare_bars(wv.synthetic(3_000, "1min", seed=4))
    bars = PreparedBars(frames)
    run_backtest(SmaCross, bars, {"fast": 10, "slow": 30, "qty": 10})

    reused = run_backtest(SmaCross, bars, {"fast": 10, "slow": 30, "qty": 10})
    fresh = run_backtest(SmaCross, frames, {"fast": 10, "slow": 30, "qty": 10})

    assert reused.equity.equals(fresh.equity) and reused.trades.equals(fresh.trades)


def test_other_functions_are_computed_every_run() -> None:
    calls = []

    def noisy(x: np.ndarray) -> np.ndarray:
        calls.append(1)
        return x + np.random.default_rng().normal(size=len(x))

    class Noisy(Strategy):
        def init(self) -> None:
            self.x = self.indicator(noisy, self.data.close)

    bars = PreparedBars(prepare_bars(wv.synthetic(200, "1min", seed=5)))
    _run(Noisy, bars)
    _run(Noisy, bars)

    assert len(calls) == 2


def test_writable_inputs_are_not_memoized() -> None:
    bars = PreparedBars(prepare_bars(wv.synthetic(200, "1min", seed=6)))
    mine = np.arange(200, dtype=float)  # writable: could change between runs

    class OnMine(Strategy):
        def init(self) -> None:
            self.x = self.indicator(sma, mine, 5)

    first = _values(_run(OnMine, bars))[0]
    mine[:] = 1.0
    second = _values(_run(OnMine, bars))[0]

    assert second[-1] == 1.0 and first[-1] != 1.0


def test_the_values_belong_to_the_bars_they_were_computed_on() -> None:
    # no global memo: other prepared bars, even of the same frames, compute their own
    frames = prepare_bars(wv.synthetic(300, "1min", seed=7))
    one, other = PreparedBars(frames), PreparedBars(frames)

    first = _values(_run(SmaCross, one, fast=7, slow=21))
    again = _values(_run(SmaCross, other, fast=7, slow=21))

    assert again[0] is not first[0] and len(one.memo) == len(other.memo) == 2
    np.testing.assert_array_equal(again[0], first[0])


def test_the_memo_goes_with_its_bars() -> None:
    import gc
    import weakref

    bars = PreparedBars(prepare_bars(wv.synthetic(300, "1min", seed=7)))
    values = _values(_run(SmaCross, bars, fast=7, slow=21))
    memo, kept = weakref.ref(bars.memo), weakref.ref(values[0].base if values[0].base is not None else values[0])

    del bars, values
    gc.collect()

    assert memo() is None and kept() is None


def test_a_function_marked_pure_is_computed_once() -> None:
    from weaver.indicators import pure

    calls = []

    @pure
    def doubled(x: np.ndarray) -> np.ndarray:
        calls.append(1)
        return 2 * np.asarray(x)

    class Doubled(Strategy):
        def init(self) -> None:
            self.x = self.indicator(doubled, self.data.close)

    bars = PreparedBars(prepare_bars(wv.synthetic(200, "1min", seed=8)))
    first = _values(_run(Doubled, bars))[0]
    second = _values(_run(Doubled, bars))[0]

    assert len(calls) == 1 and second is first
