"""Example strategies, each also known by a short name for the CLI and reports."""

from __future__ import annotations

import numpy as np

from weaver.core.errors import ParameterError
from weaver.strategy.base import Strategy
from weaver.strategy.indicators import atr, cross_above, cross_below, crossover, rsi, sma
from weaver.strategy.params import param


class SmaCross(Strategy):
    """Buy ``qty`` shares when the fast SMA crosses above the slow one; close on the cross back.

    Long only. ``signals()`` gives the same entries and exits as arrays for vectorized sweeps.
    """

    short_name = "sma_cross"
    #: the parameter that sizes ``signals()``' entries, for the vectorized sweep
    vector_size = "qty"
    fast: int = param(10, low=2, high=200, step=1, doc="fast SMA window (bars)")
    slow: int = param(30, low=3, high=500, step=1, doc="slow SMA window (bars)")
    qty: int = param(100, low=1, high=1_000_000, step=1, doc="shares per trade")

    def init(self) -> None:
        self.f = self.indicator(sma, self.data.close, self.fast)
        self.s = self.indicator(sma, self.data.close, self.slow)

    def next(self) -> None:
        if crossover(self.f, self.s):
            if not self.position:
                self.buy(self.qty)
        elif crossover(self.s, self.f):
            self.close()

    @classmethod
    def signals(cls, data: dict[str, np.ndarray], fast: int = 10, slow: int = 30, **_: object) -> tuple[np.ndarray, np.ndarray]:
        """Return (entries, exits) boolean arrays: the crossings ``next()`` acts on."""
        f, s = sma(data["close"], fast), sma(data["close"], slow)
        return cross_above(f, s), cross_below(f, s)


class RsiReversion(Strategy):
    """Mean reversion: when RSI dips below ``oversold``, bid ``discount`` below the close.

    The entry is a GTC limit order (replaced each bar while RSI stays low); once filled, a
    protective stop sits ``stop_atr`` ATRs below the entry, and the position is closed at
    market when RSI recovers above ``exit_level``.
    """

    short_name = "rsi_reversion"
    period: int = param(14, low=2, high=100, doc="RSI window")
    oversold: float = param(30.0, low=1.0, high=50.0, doc="RSI entry level")
    exit_level: float = param(55.0, low=30.0, high=99.0, doc="RSI exit level")
    discount: float = param(0.005, low=0.0, high=0.1, doc="limit price below the close (fraction)")
    stop_atr: float = param(3.0, low=0.5, high=10.0, doc="stop distance in ATRs")
    size: float = param(0.95, low=0.01, high=1.0, doc="fraction of equity per entry")

    def init(self) -> None:
        d = self.data
        self.rsi = self.indicator(rsi, d.close, self.period)
        self.atr = self.indicator(atr, d.high, d.low, d.close, 14)
        self.entry = None
        self.stop = None

    def next(self) -> None:
        close = self.data.close[-1]
        if not self.position:
            if self.stop is not None:  # the stop filled: forget it
                self.stop = None
            if self.entry is not None and self.entry.is_open:
                self.cancel(self.entry)
            if self.rsi[-1] < self.oversold:
                self.entry = self.buy(size=self.size, limit=close * (1 - self.discount), tif="gtc")
            return
        if self.stop is None:
            self.stop = self.sell(self.position.qty, stop=self.position.avg_price - self.stop_atr * self.atr[-1], tif="gtc")
        if self.rsi[-1] > self.exit_level:
            self.cancel(self.stop)
            self.stop = None
            self.close()


class MomentumRotation(Strategy):
    """Hold the ``top`` symbols with the best ``lookback``-bar return, rebalanced every ``every`` bars.

    Needs several symbols; equity is split equally among the holdings.
    """

    short_name = "momentum_rotation"
    lookback: int = param(20, low=2, high=250, doc="momentum window (bars)")
    top: int = param(1, low=1, high=20, doc="symbols held")
    every: int = param(5, low=1, high=60, doc="bars between rebalances")

    def init(self) -> None:
        symbols = self.symbols
        if len(symbols) < 2:
            raise ParameterError(f"MomentumRotation needs at least two symbols, got {symbols}")
        self.momentum = {s: self.indicator(_momentum, self.data[s].close, self.lookback, name=f"momentum({s})")
                         for s in symbols}
        self.bar = 0

    def next(self) -> None:
        self.bar += 1
        if (self.bar - 1) % self.every:
            return
        ranked = sorted(self.symbols, key=lambda s: self.momentum[s][-1], reverse=True)
        keep = set(ranked[: self.top])
        for s in self.symbols:
            if s not in keep and self.get_position(s):
                self.close(s)
        budget = self.equity / self.top
        for s in keep:
            price = self.data[s].close[-1]
            want = int(budget * 0.98 // price)
            have = int(self.get_position(s).qty)
            if want > have:
                self.buy(want - have, symbol=s)
            elif want < have:
                self.sell(have - want, symbol=s)


def _momentum(close: np.ndarray, n: int) -> np.ndarray:
    """Return the ``n``-bar rate of change of ``close``."""
    c = np.asarray(close, dtype=float)
    out = np.full_like(c, np.nan)
    out[n:] = c[n:] / c[:-n] - 1.0
    return out


EXAMPLES: dict[str, type[Strategy]] = {
    cls.short_name: cls for cls in (SmaCross, RsiReversion, MomentumRotation)  # type: ignore[misc]
}


def resolve(name: str) -> type[Strategy]:
    """Return a strategy class from a short name (``"sma_cross"``) or ``"module:Class"``."""
    if name in EXAMPLES:
        return EXAMPLES[name]
    if ":" in name:
        import importlib

        module, _, attr = name.partition(":")
        try:
            cls = getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError) as exc:
            raise ParameterError(f"cannot load strategy {name!r}: {exc}") from exc
        if isinstance(cls, type) and issubclass(cls, Strategy):
            return cls
        raise ParameterError(f"{name!r} is not a weaver.Strategy subclass")
    raise ParameterError(f"unknown strategy {name!r}; examples: {sorted(EXAMPLES)}, or give 'module:Class'")
