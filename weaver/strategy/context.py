"""What a strategy touches, and nothing more: the context a run gives it.

A strategy never sees the broker, the clock or the run that drives it: it submits and cancels
orders, reads the account, the time and prices, and declares indicators over its data, all
through a :class:`StrategyContext`. The runtime builds one per run; a backtest's fast loop
builds its own, with indicators computed once over the whole history.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

    from weaver.clock.cursor import Cursor
    from weaver.core import Order, Portfolio
    from weaver.strategy.base import IndicatorSpec
    from weaver.strategy.lines import Data


@dataclass(slots=True, kw_only=True)
class StrategyContext:
    """Everything a strategy touches.

    Attributes
    ----------
    submit, cancel, open_orders
        Orders in and out: ``submit(order) -> order`` (idempotent by client order id),
        ``cancel(client_order_id) -> order``, ``open_orders() -> [order]``.
    portfolio
        The run's own account: cash and positions, from its own fills.
    now
        The time of the bar being processed.
    price_of
        The last close of a symbol (the reference price for sizing).
    datas
        Each symbol's :class:`~weaver.strategy.lines.Data`, the strategy's symbol first.
    cursor
        The position of the bar being processed (lines and client order ids read it).
    declare
        ``declare(spec) -> arrays``: an indicator's values on the bars so far, one array per
        output; the run keeps them current as bars arrive.
    fractional
        Whether sizes may become fractional quantities.
    run_id
        The prefix of the run's client order ids.
    """

    submit: Callable[[Order], Order]
    cancel: Callable[[str], Order]
    open_orders: Callable[[], list[Order]]
    portfolio: Portfolio
    now: Callable[[], datetime]
    price_of: Callable[[str], float]
    datas: dict[str, Data]
    cursor: Cursor
    declare: Callable[[IndicatorSpec], list[np.ndarray]]
    fractional: bool = False
    run_id: str = "bt"
