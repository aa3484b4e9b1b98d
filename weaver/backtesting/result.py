"""What a backtest returns: trades, orders, fills, the equity curve, statistics and a chart."""

from __future__ import annotations

import html
from collections import deque
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from weaver.core import Order, OrderSide, OrderStatus, OrderType, RunConfig, TimeInForce
from weaver.core.fills import RECORD_WIDTH

if TYPE_CHECKING:
    import plotly.graph_objects as go

TRADE_COLUMNS = [
    "symbol", "side", "qty", "entry_time", "entry_price", "exit_time", "exit_price",
    "pnl", "return_pct", "duration", "commission",
]


class BacktestResult:
    """The outcome of :func:`weaver.backtest`.

    Attributes
    ----------
    config
        The run options it ran with (:class:`~weaver.core.config.RunConfig`): with
        ``params`` and the bars, what describes the run.
    params
        Every strategy parameter's value, the defaults filled in.
    trades
        One row per round trip (FIFO lots): symbol, side ("long"/"short"), qty, entry and
        exit time and price, pnl (after commission), return_pct, duration, commission. A
        trade still open at the end has empty exit fields and its pnl marked at the last
        close.
    orders, fills
        Every order, with its final status and, when it was rejected, canceled or expired,
        the ``reason``; and every fill.
    equity
        Account value at each bar's close, open positions marked at the close.
    stats
        See :mod:`weaver.backtesting.stats` (computed on first use).
    notes
        What the broker refused, one line per kind: ``"17 orders reduced: insufficient
        cash at fill, first on 2005-01-10"``; empty when it refused nothing.
    """

    def __init__(
        self,
        *,
        strategy: str,
        params: dict[str, Any],
        config: RunConfig,
        bars: dict[str, pd.DataFrame],
        trades: pd.DataFrame | dict[str, Any],
        orders: pd.DataFrame | list[Order],
        fills: pd.DataFrame | dict[str, Any],
        equity: pd.Series,
        exposure: np.ndarray,
        timeframe: str | None,
        hold_closes: tuple[float, float],
        refused: list[Order] | None = None,
    ) -> None:
        self.strategy = strategy
        self.params = params
        self.config = config
        self.bars = bars
        self._trades = trades
        self._orders = orders
        self._fills = fills
        self.equity = equity
        self.exposure = exposure
        self.timeframe = timeframe
        self._hold_closes = hold_closes
        self._refused = list(refused or ())
        self.timings: dict[str, float] = {}

    @cached_property
    def trades(self) -> pd.DataFrame:
        """Return the round trips, one row each (see the class docstring)."""
        trades = self._trades
        return trades if isinstance(trades, pd.DataFrame) else _trades_frame(trades)

    @cached_property
    def orders(self) -> pd.DataFrame:
        """Return every order, one row each, with its final status and any reject reason."""
        orders = self._orders
        return orders if isinstance(orders, pd.DataFrame) else _orders_frame(orders)

    @cached_property
    def fills(self) -> pd.DataFrame:
        """Return every fill, one row each: timestamp, symbol, side, qty, price, commission, order_id."""
        fills = self._fills
        return fills if isinstance(fills, pd.DataFrame) else _fills_frame(fills)

    @cached_property
    def stats(self) -> pd.Series:
        """Return the run's statistics (computed once, on first use)."""
        from weaver.backtesting.stats import OrderCounts, compute_stats

        reduced = sum(1 for o in self._refused if o.filled_qty)
        counts = OrderCounts(len(self._orders), len(self._refused) - reduced, reduced)
        # buy and hold: the first symbol's first and last closes carried onto the run's bars
        return compute_stats(self.equity, self._trades, self._hold_closes, self.exposure, self.timeframe, counts)

    @cached_property
    def notes(self) -> list[str]:
        """Return what the broker refused, one line per kind (see the class docstring)."""
        return refusal_notes(self._refused)

    @property
    def drawdown(self) -> pd.Series:
        """Return the drawdown at each bar as a fraction of the running peak."""
        from weaver.backtesting.stats import drawdown

        return drawdown(self.equity)

    def plot(self, symbol: str | None = None) -> go.Figure:
        """Return a plotly figure: candles with trade markers, equity, and drawdown."""
        from weaver.backtesting.plots import plot_result

        return plot_result(self, symbol)

    def plot_monthly(self) -> go.Figure:
        """Return a heatmap of monthly returns (percent), years down and months across."""
        from weaver.backtesting.plots import plot_monthly_returns

        return plot_monthly_returns(self)

    def plot_trade_returns(self) -> go.Figure:
        """Return the distribution of the closed trades' returns (percent)."""
        from weaver.backtesting.plots import plot_trade_returns

        return plot_trade_returns(self)

    def monthly_returns(self) -> pd.DataFrame:
        """Return each month's return as a fraction, years down, months (and the year) across."""
        from weaver.backtesting.plots import monthly_returns

        return monthly_returns(self.equity, float(self.stats["equity_start"]))

    def _repr_html_(self) -> str:
        s = self.stats
        keys = ["start", "end", "equity_final", "total_return", "cagr", "sharpe", "sortino",
                "max_drawdown", "n_trades", "n_open_trades", "win_rate", "profit_factor", "exposure_pct"]
        rows = "".join(
            f"<tr><th style='text-align:left'>{k}</th><td style='text-align:right'>{html.escape(_fmt(s[k]))}</td></tr>"
            for k in keys
        )
        params = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        title = html.escape(f"{self.strategy}({params}) on {', '.join(self.bars)}")
        notes = "".join(f"<p style='color:#a15c00;margin:2px 0'>&#9888; {html.escape(n)} (see res.orders.reason)</p>"
                        for n in self.notes)
        trades = self.trades.tail(5).to_html(index=False, float_format=lambda x: f"{x:,.2f}")
        return (f"<div><b>{title}</b>{notes}<table>{rows}</table>"
                f"<details><summary>last trades ({len(self.trades)} in all)</summary>{trades}</details></div>")

    def __repr__(self) -> str:
        s = self.stats
        still = f" (+{s['n_open_trades']} open)" if s["n_open_trades"] else ""
        notes = "".join(f"; {n}" for n in self.notes)
        return (f"<BacktestResult {self.strategy} {list(self.bars)}: {s['n_trades']} trades{still}, "
                f"final equity {s['equity_final']:,.2f}, return {s['total_return']:.2%}, "
                f"sharpe {_fmt(s['sharpe'])}{notes}>")


def refusal_notes(refused: list[Order]) -> list[str]:
    """Return one line per kind of refusal: how many orders, why, and when the first was.

    An order the broker filled in part for lack of cash is "reduced"; one it refused without
    filling any of it is "rejected". The kind is the reason up to its first colon
    (``"insufficient cash at fill: reduced from 540 to 526 ..."`` is "insufficient cash at fill").
    """
    groups: dict[tuple[str, str], list[Order]] = {}
    for order in refused:
        verb = "reduced" if order.filled_qty else "rejected"
        kind = (order.reason or order.status.value).split(":", 1)[0]
        groups.setdefault((verb, kind), []).append(order)
    notes = []
    for (verb, kind), orders in groups.items():
        n = len(orders)
        first = orders[0].updated_at  # the refusal: the last event of a finished order
        notes.append(f"{n} order{'' if n == 1 else 's'} {verb}: {kind}, first on {_when(first)}")
    return notes


def _when(ts: Any) -> str:
    stamp = pd.Timestamp(ts)
    return f"{stamp:%Y-%m-%d}" if stamp == stamp.normalize() else str(stamp)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return "nan" if value != value else f"{value:,.4f}" if abs(value) < 10 else f"{value:,.2f}"
    return str(value)


@dataclass(frozen=True, eq=False)
class RunRecord:
    """What a finished run leaves for its result: plain data, no engine or driver behind it.

    Attributes
    ----------
    strategy
        The strategy class's name.
    frames
        The bars, ``{symbol: frame}``.
    index
        The run's merged bar times.
    symbols
        The symbols, the strategy's own first.
    closes
        Each symbol's closes on ``index`` (NaN before its first bar, carried over gaps).
    timeframe
        The bar size.
    initial_cash
        The starting cash.
    config
        The run options it ran with.
    orders
        Every order placed, in submission order.
    fill_log
        Every fill's record (``Fill.record()``), in execution order, laid end to end in one list.
    fill_bars
        The bar of each fill, when known (else read from the fills' times).
    refused
        The orders the broker refused in whole or in part.
    """

    strategy: str
    frames: dict[str, pd.DataFrame]
    index: pd.DatetimeIndex
    symbols: list[str]
    closes: dict[str, np.ndarray]
    timeframe: str | None
    initial_cash: Decimal
    config: RunConfig
    orders: list[Order]
    fill_log: list[Any]
    fill_bars: list[int] = field(default_factory=list)
    refused: list[Order] = field(default_factory=list)


def build_result(run: RunRecord, params: dict[str, Any]) -> BacktestResult:
    """Assemble the result tables and the equity curve from a finished run (vectorized)."""
    index = run.index
    orders = run.orders  # tabled on first use: sweeps never look
    n = len(index)
    if len(run.fill_bars) * RECORD_WIDTH == len(run.fill_log):  # the loop noted each fill's bar
        bar_of = np.array(run.fill_bars, dtype=np.intp)
        fills = _fill_columns(run.fill_log, index[bar_of])
    else:
        fills = _fill_columns(run.fill_log)
        bar_of = _bar_numbers(index, fills["timestamp"]) if run.fill_log else np.zeros(0, int)
    signed, price, fee = fills["signed_qty"], fills["price"], fills["commission"]
    cash_delta = -(signed * price) - fee
    # in place, a few 8-byte-per-bar arrays at a time: this runs on millions of bars
    equity = np.bincount(bar_of, weights=cash_delta, minlength=n).astype(float, copy=False)
    np.cumsum(equity, out=equity)
    equity += float(run.initial_cash)
    exposed = np.zeros(n, dtype=bool)
    for sym in run.symbols:
        mine = fills["symbol"] == sym
        held = np.bincount(bar_of[mine], weights=signed[mine], minlength=n).astype(float, copy=False)
        np.cumsum(held, out=held)
        held[(held < 1e-12) & (held > -1e-12)] = 0.0  # float dust of a closed position
        exposed |= held != 0
        # only where something is held: before a symbol's first bar its close is NaN
        np.multiply(held, run.closes[sym], out=held, where=held != 0)
        equity += held
        del held
    np.round(equity, 8, out=equity)  # float sums of cent prices leave 1e-11 dust
    first_closes = run.closes[run.symbols[0]]
    return BacktestResult(
        strategy=run.strategy,
        params=params,
        config=run.config,
        bars=run.frames,
        trades=_trade_columns(fills, run),  # tabled on first use
        orders=orders,
        fills=fills,  # tabled on first use
        equity=pd.Series(equity, index=index, name="equity", copy=False),
        exposure=exposed,
        timeframe=run.timeframe,
        # the first symbol's closes carried onto the run's bars: its first and last
        hold_closes=(float(first_closes[0]), float(first_closes[-1])),
        refused=run.refused,
    )


def _bar_numbers(index: pd.DatetimeIndex, stamps: pd.DatetimeIndex) -> np.ndarray:
    """Return the position in ``index`` of each of ``stamps`` (fills happen on bars).

    A binary search over the sorted bars: ``get_indexer`` would build a hash table of every
    bar and keep it on the index (32 MB at a million bars). It remains the fallback.
    """
    if index.is_monotonic_increasing and (index.tz is None) == (stamps.tz is None):
        bars, at = index.asi8, stamps.as_unit(index.unit).asi8
        pos = np.searchsorted(bars, at)
        if pos.max() < len(bars) and (bars[pos] == at).all():
            return pos
    return index.get_indexer(stamps)


_FILL_COLUMNS = ["timestamp", "symbol", "side", "qty", "price", "commission", "order_id", "exec_id"]


def _fill_columns(log: list[Any], stamps: pd.DatetimeIndex | None = None) -> dict[str, Any]:
    """Return the fills of a fill log (their records end to end) as columns, plus ``signed_qty``.

    ``stamps`` are their timestamps when known (their bars'), else they are read from the log.
    """
    count = len(log) // RECORD_WIDTH
    buy = np.array(log[2::RECORD_WIDTH], dtype=bool)
    qty = np.fromiter(map(float, log[3::RECORD_WIDTH]), dtype=float, count=count)
    fees = log[6::RECORD_WIDTH]
    commission = (np.zeros(count) if not any(fees)
                  else np.fromiter(map(float, fees), dtype=float, count=count))
    return {
        "timestamp": (pd.DatetimeIndex(log[5::RECORD_WIDTH]) if stamps is None
                      else stamps).tz_convert("UTC") if count else pd.DatetimeIndex([], tz="UTC"),
        "symbol": np.array(log[1::RECORD_WIDTH], dtype=object),
        "side": np.where(buy, "buy", "sell"),
        "qty": qty,
        "price": np.fromiter(map(float, log[4::RECORD_WIDTH]), dtype=float, count=count),
        "commission": commission,
        "order_id": log[0::RECORD_WIDTH],
        "exec_id": log[7::RECORD_WIDTH],
        "signed_qty": np.where(buy, qty, -qty),
    }


def _fills_frame(columns: dict[str, Any]) -> pd.DataFrame:
    if not len(columns["qty"]):
        return pd.DataFrame({c: pd.Series(dtype=object) for c in _FILL_COLUMNS})
    return pd.DataFrame({c: columns[c] for c in _FILL_COLUMNS})


_ORDER_COLUMNS = [
    "client_order_id", "symbol", "side", "type", "qty", "limit_price", "stop_price", "trail_price",
    "trail_percent", "tif",
    "status", "filled_qty", "avg_fill_price", "created_at", "filled_at", "updated_at", "reason",
]
_VALUE = {m: m.value for e in (OrderSide, OrderType, OrderStatus, TimeInForce) for m in e}


def _orders_frame(orders: Any) -> pd.DataFrame:
    orders = list(orders)
    if not orders:
        return pd.DataFrame(columns=_ORDER_COLUMNS)

    def prices(name: str) -> np.ndarray:
        return np.array([np.nan if (v := getattr(o, name)) is None else float(v) for o in orders])

    return pd.DataFrame({
        "client_order_id": [o.client_order_id for o in orders],
        "symbol": [o.symbol for o in orders],
        "side": [_VALUE[o.side] for o in orders],
        "type": [_VALUE[o.type] for o in orders],
        "qty": np.fromiter((o.qty for o in orders), dtype=float, count=len(orders)),
        "limit_price": prices("limit_price"),
        "stop_price": prices("stop_price"),
        "trail_price": prices("trail_price"),
        "trail_percent": prices("trail_percent"),
        "tif": [_VALUE[o.tif] for o in orders],
        "status": [_VALUE[o.status] for o in orders],
        "filled_qty": np.fromiter((o.filled_qty for o in orders), dtype=float, count=len(orders)),
        "avg_fill_price": prices("avg_fill_price"),
        "created_at": pd.to_datetime([o.created_at for o in orders], utc=True),
        "filled_at": pd.to_datetime([o.filled_at for o in orders], utc=True),
        # the time of the order's last event: when it was filled, rejected, canceled or expired
        "updated_at": pd.to_datetime([o.updated_at or o.created_at for o in orders], utc=True),
        "reason": [o.reason for o in orders],
    })


_NAT = np.iinfo(np.int64).min


def _trade_columns(fills: dict[str, Any], run: RunRecord) -> dict[str, Any]:
    """Pair fills into round trips, first in first out, per symbol; return the trade columns.

    A lot still open at the end becomes a trade with empty exit fields whose pnl is marked
    at the symbol's last close. Commission is shared out per unit: a trade carries its
    part of the entry fill's fee and of the exit fill's. The columns are those of
    ``BacktestResult.trades`` but ``duration``, in its row order (by entry time, then symbol).
    """
    parts = []
    all_stamps = fills["timestamp"].as_unit("ns").asi8
    for sym in run.symbols:
        mine = fills["symbol"] == sym
        if not mine.any():
            continue
        stamps = all_stamps[mine]
        q = fills["signed_qty"][mine]
        price = fills["price"][mine]
        fee = fills["commission"][mine]
        last = float(run.closes[sym][-1])
        pair = _paired if _flat_to_flat(q) else _fifo
        parts.append((sym, pair(stamps, q, price, fee, last)))
    if not parts:
        return {c: np.zeros(0) for c in TRADE_COLUMNS if c != "duration"}
    # columns: direction, qty, entry ns, entry price, entry fee/unit, exit ns, exit price,
    # exit fee/unit, mark (the exit price, or the last close for a trade still open)
    cols = [np.concatenate([p[1][k] for p in parts]) for k in range(9)]
    symbol = np.concatenate([np.full(len(p[1][0]), p[0], dtype=object) for p in parts])
    if len(parts) > 1:  # by entry time, then symbol; stable
        rank = np.unique(symbol, return_inverse=True)[1]
        order = np.lexsort((rank, cols[2]))
        cols, symbol = [c[order] for c in cols], symbol[order]
    direction, qty, entry_ns, entry_price, entry_fee, exit_ns, exit_price, exit_fee, mark = cols
    commission = (entry_fee + exit_fee) * qty
    pnl = direction * (mark - entry_price) * qty - commission
    return {
        "symbol": symbol,
        "side": np.where(direction > 0, "long", "short"),
        "qty": qty,
        "entry_time": pd.DatetimeIndex(entry_ns.astype("datetime64[ns]")).tz_localize("UTC"),
        "entry_price": entry_price,
        "exit_time": pd.DatetimeIndex(exit_ns.astype("datetime64[ns]")).tz_localize("UTC"),
        "exit_price": exit_price,
        "pnl": pnl,
        "return_pct": 100.0 * pnl / (entry_price * qty),
        "commission": commission,
    }


def empty_trades() -> pd.DataFrame:
    """Return a trade table without rows (the columns of ``BacktestResult.trades``)."""
    return pd.DataFrame({c: pd.Series(dtype=object) for c in TRADE_COLUMNS})


def _trades_frame(columns: dict[str, Any]) -> pd.DataFrame:
    if not len(columns["qty"]):
        return empty_trades()
    return pd.DataFrame({
        **{c: columns[c] for c in TRADE_COLUMNS if c != "duration"},
        "duration": columns["exit_time"] - columns["entry_time"],
    }, columns=TRADE_COLUMNS)


def _flat_to_flat(q: np.ndarray) -> bool:
    """Return whether every fill either opens from flat or closes to flat (no partial lots)."""
    held = np.cumsum(q)
    flat = np.abs(held) < 1e-9
    return bool(flat[1::2].all() and not flat[0::2].any())


def _paired(stamps: np.ndarray, q: np.ndarray, price: np.ndarray, fee: np.ndarray,
            last: float) -> list[np.ndarray]:
    """Trades of fills that alternate open-from-flat and close-to-flat, vectorized."""
    opens, closes = slice(0, None, 2), slice(1, None, 2)
    n_open, n_closed = len(q[opens]), len(q[closes])
    qty = np.abs(q[opens])
    exit_ns = np.full(n_open, _NAT, dtype=np.int64)
    exit_ns[:n_closed] = stamps[closes]
    exit_price = np.full(n_open, np.nan)
    exit_price[:n_closed] = price[closes]
    exit_fee = np.zeros(n_open)
    exit_fee[:n_closed] = fee[closes] / np.abs(q[closes])
    mark = exit_price.copy()
    mark[n_closed:] = last
    return [np.sign(q[opens]), qty, stamps[opens], price[opens], fee[opens] / qty,
            exit_ns, exit_price, exit_fee, mark]


def _fifo(stamps: np.ndarray, q: np.ndarray, price: np.ndarray, fee: np.ndarray,
          last: float) -> list[np.ndarray]:
    """Trades of any fill sequence: partial closes, adds and flips, matched first in first out."""
    rows: list[tuple[float, ...]] = []
    lots: deque[list[Any]] = deque()  # [direction, qty, price, ns, fee per unit]
    for ns, qi, pi, fi in zip(stamps.tolist(), q.tolist(), price.tolist(), fee.tolist(), strict=True):
        direction = 1.0 if qi > 0 else -1.0
        remaining = abs(qi)
        fee_per_unit = fi / remaining
        while remaining > 1e-12 and lots and lots[0][0] != direction:
            lot = lots[0]
            take = min(lot[1], remaining)
            rows.append((lot[0], take, lot[3], lot[2], lot[4], ns, pi, fee_per_unit, pi))
            lot[1] -= take
            remaining -= take
            if lot[1] <= 1e-12:
                lots.popleft()
        if remaining > 1e-12:
            lots.append([direction, remaining, pi, ns, fee_per_unit])
    rows.extend((lot[0], lot[1], lot[3], lot[2], lot[4], _NAT, np.nan, 0.0, last) for lot in lots)
    dtypes = [float, float, np.int64, float, float, np.int64, float, float, float]
    if not rows:
        return [np.zeros(0, dtype=d) for d in dtypes]
    return [np.array(col, dtype=d) for col, d in zip(zip(*rows, strict=True), dtypes, strict=True)]
