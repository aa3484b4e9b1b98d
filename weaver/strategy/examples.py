"""Example strategies, each also known by a short name for the CLI and reports."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType

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
    """Return a strategy class from a short name, ``"module:Class"`` or ``"path/to/file.py:Class"``.

    Parameters
    ----------
    name
        An example's short name (``"sma_cross"``); ``"module:Class"``, the module found as
        ``python -m`` finds it (the working directory first, then ``sys.path``); or
        ``"path/to/file.py:Class"``, a file relative to the working directory or absolute
        (modules next to the file import, as when it is run). ``sys.path`` is left as it was.

    Raises
    ------
    ParameterError
        For an unknown short name, a missing module, file or class, an attribute that is not a
        ``Strategy`` subclass, or an error raised while importing the module; the message names
        what was tried.
    """
    import os

    if name in EXAMPLES:
        return EXAMPLES[name]
    target, _, attr = name.rpartition(":")  # rpartition: a Windows path keeps its drive's colon
    if not target or not attr.isidentifier():
        raise ParameterError(f"unknown strategy {name!r}; examples: {sorted(EXAMPLES)}, "
                             "or give 'module:Class' or 'path/to/file.py:Class'")
    cwd = os.getcwd()
    if target.endswith(".py") or "/" in target or os.sep in target:
        module = _load_file(name, os.path.abspath(os.path.join(cwd, os.path.expanduser(target))))
    else:
        module = _load_module(name, target, cwd)
    label = module.__name__
    if not hasattr(module, attr):
        own = [n for n, v in vars(module).items()
               if isinstance(v, type) and issubclass(v, Strategy) and v.__module__ == label]
        listed = f"its Strategy subclasses are: {', '.join(own)}" if own else "it defines no Strategy subclass"
        where = getattr(module, "__file__", None) or "built-in"
        raise _cannot_load(name, f"module {label} ({where}) has no attribute {attr!r}; {listed}")
    cls = getattr(module, attr)
    if isinstance(cls, type) and issubclass(cls, Strategy):
        return cls
    if isinstance(cls, type):
        what = f"a class deriving from {', '.join(base.__qualname__ for base in cls.__bases__)}"
    else:
        what = f"a {type(cls).__name__}"
    raise _cannot_load(name, f"{label}.{attr} is {what}, not a weaver.Strategy subclass")


def _cannot_load(name: str, why: str) -> ParameterError:
    return ParameterError(f"cannot load strategy {name!r}: {why}")


@contextmanager
def _searched_first(directory: str) -> Iterator[None]:
    """Put ``directory`` first on ``sys.path`` (unless it is there) during an import."""
    import os
    import sys

    if any(os.path.abspath(entry or os.curdir) == directory for entry in sys.path):
        yield
        return
    sys.path.insert(0, directory)
    try:
        yield
    finally:
        if directory in sys.path:
            sys.path.remove(directory)


def _load_file(name: str, path: str) -> ModuleType:
    import os
    import runpy

    if not os.path.isfile(path):
        raise _cannot_load(name, f"no file {path}")
    label = os.path.splitext(os.path.basename(path))[0]
    try:
        # runpy registers the module only while it runs (its annotations and dataclasses look
        # it up there), so a file never stands in for an importable module of the same name
        with _searched_first(os.path.dirname(path)):
            namespace = runpy.run_path(path, run_name=label)
    except Exception as exc:  # the user's code failed: say how, without a traceback
        raise _cannot_load(name, f"importing {label} ({path}) raised {type(exc).__name__}: {exc}") from exc
    module = ModuleType(label)
    vars(module).update(namespace)
    module.__file__ = path
    return module


def _load_module(name: str, target: str, cwd: str) -> ModuleType:
    import importlib
    import importlib.util
    import sys

    if target in sys.modules:
        return sys.modules[target]
    importlib.invalidate_caches()  # see a file written since the interpreter started
    with _searched_first(cwd):
        try:
            spec = importlib.util.find_spec(target)
        except ModuleNotFoundError as exc:
            if exc.name is None or not f"{target}.".startswith(f"{exc.name}."):
                raise _cannot_load(name, f"importing {target} raised {type(exc).__name__}: {exc}") from exc
            spec = None  # a parent package is missing
        except Exception as exc:  # a parent package failed to import, or a malformed name
            raise _cannot_load(name, f"importing {target} raised {type(exc).__name__}: {exc}") from exc
        if spec is None:
            raise _cannot_load(name, f"no module {target!r} (looked in the working directory {cwd} and sys.path)")
        try:
            return importlib.import_module(target)
        except Exception as exc:  # the user's code failed: say how, without a traceback
            raise _cannot_load(name, f"importing {target} ({spec.origin}) raised {type(exc).__name__}: {exc}") from exc
