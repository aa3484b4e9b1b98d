"""The benchmark strategy written for the peers: SMA(fast)/SMA(slow) crossover, long only.

Imported by ``engine.py`` and ``sweep.py`` (both put this folder's parent on ``sys.path``);
a module-level class, so backtesting.py's optimizer can pickle it for its process pool.
"""

from __future__ import annotations

import pandas as pd
from backtesting import Strategy
from backtesting.lib import crossover

QTY = 100  # shares bought on each cross up


def SMA(values, k):  # noqa: N802 - backtesting.py's idiom
    return pd.Series(values).rolling(k).mean()


class SmaCrossBt(Strategy):
    """backtesting.py's SmaCross: buy ``QTY`` on the cross up, close on the cross down."""

    fast = 10
    slow = 30

    def init(self):
        self.f = self.I(SMA, self.data.Close, self.fast)
        self.s = self.I(SMA, self.data.Close, self.slow)

    def next(self):
        if crossover(self.f, self.s):
            if not self.position:
                self.buy(size=QTY)
        elif crossover(self.s, self.f):
            self.position.close()
