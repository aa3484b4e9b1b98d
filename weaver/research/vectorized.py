"""The vectorized fast path: signal strategies swept with vectorbt, many combinations at once.

A strategy qualifies when it describes its rule as arrays:

- a classmethod ``signals(data, **params) -> (entries, exits)``: boolean arrays, one value per
  bar, computed with the same indicator functions as its ``init()``/``next()``, where
  ``data`` maps ``open``, ``high``, ``low``, ``close``, ``volume`` to float arrays. An entry
  on bar t means "``next()`` buys on bar t when flat"; an exit means "``next()`` closes the
  position on bar t";
- a fixed size in shares: the class attribute ``vector_size`` names the parameter holding it
  (``vector_size = "qty"``); a strategy without the attribute qualifies when it has a ``qty``
  parameter, which is then taken as the shares per entry.

The simulation then matches the event-driven engine's rules for such a strategy: long only,
one position at a time (no pyramiding), market orders filled at the next bar's open, the same
commission rate on each fill's notional, equity marked at each bar's close. Cash is where the
two could part: the engine's broker refuses an entry whose cost at the signal bar's close
exceeds the cash (at submit) and reduces one that fits there but not at the next open (at the
fill, DESIGN §4), while vectorbt checks the cost at the fill alone. Every entry is checked
both ways after the simulation; a combination with an entry on which they disagree (or come
within a rounding error of the cash) is run by the event engine instead, so every row is the
engine's number. ``info["event_rows"]`` counts them. Slippage, volume participation, commission models other than a
plain rate, a fill model of one's own, margin, a ``start`` after a warm-up, and portfolios of several
symbols sharing cash need the event-driven path.

vectorbt (and numba) are imported only here. Its compiled functions are cached on disk (numba
``cache=True``, turned on for Weaver's calls only: :func:`cached_simulators`), so a second
process loads them instead of compiling.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from weaver.core.config import RunConfig
from weaver.research._work import STAT_NAMES, Item

_FIELDS = ("open", "high", "low", "close", "volume")
#: cells (bars x combinations) per vectorbt call, to bound memory
_CHUNK_CELLS = 20_000_000


def size_parameter(strategy: type) -> str | None:
    """Return the name of the parameter giving shares per entry, or None."""
    name = getattr(strategy, "vector_size", None)
    if name is None and "qty" in getattr(strategy, "params", {}):
        name = "qty"
    return name if name in getattr(strategy, "params", {}) else None


def unsupported(strategy: type, config: RunConfig, frames: dict[str, Any], per_symbol: bool) -> str | None:
    """Return why the vectorized path cannot run this sweep with ``config``, or None when it can."""
    if not callable(getattr(strategy, "signals", None)):
        return f"{strategy.__name__} has no signals(data, **params) classmethod"
    if size_parameter(strategy) is None:
        return (f"{strategy.__name__} does not say how many shares an entry buys: set vector_size = "
                "'<parameter>' on the class (or give it a 'qty' parameter)")
    if config.slippage not in (None, 0):
        return "slippage needs the event-driven path"
    if config.participation is not None:
        return "volume participation needs the event-driven path"
    if _fee_rate(config.commission) is None:
        return f"commission {config.commission!r} is not a plain rate; it needs the event-driven path"
    if config.fill_model is not None:
        return "a fill model of your own needs the event-driven path"
    if config.margin != 1:
        return f"margin={config.margin} (buying power beyond the cash) needs the event-driven path"
    if config.start is not None:
        return f"start={config.start!r} (a warm-up before the first bar that trades) needs the event-driven path"
    if len(frames) > 1 and not per_symbol:
        return "a portfolio of several symbols sharing cash needs the event-driven path (or per_symbol=True)"
    return None


def _fee_rate(commission: Any) -> float | None:
    if commission is None:
        return 0.0
    if isinstance(commission, int | float | Decimal) and not isinstance(commission, bool):
        return float(commission)
    from weaver.sim.costs import NoCommission, Percent

    if isinstance(commission, NoCommission):
        return 0.0
    if isinstance(commission, Percent) and not getattr(commission, "minimum", 0):
        return float(commission.rate)
    return None


def import_vectorbt() -> Any:
    """Import and return vectorbt (numba compiles its kernels on first use)."""
    import vectorbt as vbt

    return vbt


_CACHING_LOCK = threading.Lock()


@contextmanager
def cached_simulators() -> Iterator[None]:
    """Let numba cache vectorbt's portfolio simulators on disk while the block runs, then stop.

    vectorbt 1.2 compiles most kernels with ``cache=True`` but not the portfolio simulators
    (``simulate_from_signals_nb`` & co., the bulk of a 13 s cold compile). With their disk
    cache on for Weaver's own calls, a later process loads the machine code in well under a
    second. Afterwards each dispatcher gets back the cache it had, so vectorbt is left as it
    was found (but for the code it compiled, as any use leaves it). Nothing changes when
    vectorbt's folder is read-only (numba keeps its cache beside the code): then it compiles.
    """
    import importlib.util
    import warnings

    spec = importlib.util.find_spec("vectorbt")
    where = Path(spec.origin).parent if spec and spec.origin else None
    if where is None or not os.access(where, os.W_OK):
        yield
        return
    from numba.core.registry import CPUDispatcher
    from vectorbt.portfolio import nb

    with _CACHING_LOCK:  # sweeps in threads share vectorbt's dispatchers
        restore = []
        for name in dir(nb):
            fn = getattr(nb, name)
            if isinstance(fn, CPUDispatcher) and type(fn._cache).__name__ == "NullCache" and not fn.signatures:
                restore.append((fn, fn._cache))
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    fn.enable_caching()
        try:
            yield
        finally:
            for fn, cache in restore:
                fn._cache = cache


def run_vectorized(
    strategy: type,
    frames: dict[str, pd.DataFrame],
    items: list[Item],
    config: RunConfig,
    on_rows: Callable[[list[dict[str, Any]]], None],
) -> dict[str, Any]:
    """Simulate every item with vectorbt; report rows (as the event path's) through ``on_rows``.

    The items vectorbt cannot reproduce exactly (see the module docstring) are run by the
    event engine in this process.
    """
    from weaver.research._work import Job, run_items

    vbt = import_vectorbt()
    fee = _fee_rate(config.commission) or 0.0
    cash = float(config.cash)
    size_name = size_parameter(strategy)
    started = time.perf_counter()
    by_symbol: dict[str | None, list[Item]] = {}
    for item in items:
        by_symbol.setdefault(item[1], []).append(item)
    deferred: list[Item] = []
    for symbol, group in by_symbol.items():
        frame = frames[symbol] if symbol is not None else next(iter(frames.values()))
        data = {f: np.ascontiguousarray(frame[f].to_numpy(dtype=float)) for f in _FIELDS}
        n = len(frame)
        per_chunk = max(1, _CHUNK_CELLS // max(n, 1))
        for k in range(0, len(group), per_chunk):
            chunk = group[k:k + per_chunk]
            with cached_simulators():
                rows = _simulate(vbt, strategy, frame, data, chunk, cash, fee, size_name)
            deferred += [item for item, row in zip(chunk, rows, strict=True) if row is None]
            on_rows([row for row in rows if row is not None])
    if deferred:
        on_rows(run_items(Job(strategy, config), frames, deferred)[0])
    return {"compute_seconds": time.perf_counter() - started, "event_rows": len(deferred)}


def _simulate(vbt: Any, strategy: type, frame: pd.DataFrame, data: dict[str, np.ndarray], chunk: list[Item],
              cash: float, fee: float, size_name: str | None) -> list[dict[str, Any] | None]:
    """Return one row per item of ``chunk``, None for an item the event engine must run."""
    n, m = len(frame), len(chunk)
    # one row per combination while building (contiguous), transposed for vectorbt
    entries = np.zeros((m, n), dtype=bool)
    exits = np.zeros((m, n), dtype=bool)
    errors: dict[int, str] = {}
    for j, (_, _, params) in enumerate(chunk):
        try:
            e, x = strategy.signals(data, **params)
            e, x = np.asarray(e, dtype=bool), np.asarray(x, dtype=bool)
            if e.shape != (n,) or x.shape != (n,):
                raise ValueError(f"signals() returned shapes {e.shape} and {x.shape}; expected ({n},)")
        except Exception as exc:
            errors[j] = f"{type(exc).__name__}: {exc}"
            continue
        # a signal on bar t is an order placed at t's close, filled at t+1's open
        entries[j, 1:] = e[:-1]
        exits[j, 1:] = x[:-1]
    sizes = np.array([[float(p[size_name]) if size_name else np.inf for _, _, p in chunk]])
    pf = vbt.Portfolio.from_signals(
        close=data["close"][:, None], entries=np.ascontiguousarray(entries.T), exits=np.ascontiguousarray(exits.T),
        price=data["open"][:, None], size=sizes, size_type="amount", direction="longonly", accumulate=False,
        fees=fee, init_cash=cash, allow_partial=False, raise_reject=False,
    )
    del exits
    # the equity curve from the fills, as the event engine builds it (rounded to 1e-8 the same
    # way); one row per combination
    orders = pf.orders.records_arr
    cell = orders["col"] * n + orders["idx"]
    buy = orders["side"] == 0
    signed = np.where(buy, orders["size"], -orders["size"])
    flow = -(signed * orders["price"]) - orders["fees"]
    held = np.cumsum(np.bincount(cell, weights=signed, minlength=n * m).reshape(m, n), axis=1, dtype=float)
    held[np.abs(held) < 1e-12] = 0.0
    cash_after = np.cumsum(np.bincount(cell, weights=flow, minlength=n * m).reshape(m, n), axis=1, dtype=float)
    cash_after += cash
    equity = cash_after + held * data["close"]
    np.round(equity, 8, out=equity)
    deferred = _cash_disagreements(entries, held, cash_after, buy, cell, data, sizes[0], fee)
    bought = np.zeros((m, n), dtype=bool)
    bought.reshape(-1)[cell[buy]] = True
    # the orders the engine places: the fills, and the entries signalled while flat that got none
    attempts = _entry_attempts(entries, held)
    rejected = (attempts & ~bought).sum(axis=1)
    counts = np.bincount(orders["col"], minlength=m) + rejected
    del entries, bought, attempts
    stats = vector_stats(frame.index, frame.attrs.get("timeframe"), equity, held != 0,
                         pf.trades.records_arr, data["close"], (counts, rejected, np.zeros(m, dtype=np.int64)))
    rows: list[dict[str, Any] | None] = []
    for j, (pos, _, _) in enumerate(chunk):
        if j in errors:
            rows.append({"_pos": pos, "error": errors[j]})
        elif deferred[j]:
            rows.append(None)
        else:
            rows.append({"_pos": pos, **stats[j], "error": None})
    return rows


def _entry_attempts(entries: np.ndarray, held: np.ndarray) -> np.ndarray:
    """Return the bars where an entry reaches the broker: signalled while flat (one row per combination)."""
    flat_before = np.empty_like(entries)
    flat_before[:, 0] = True
    flat_before[:, 1:] = held[:, :-1] == 0
    return entries & flat_before


def _cash_disagreements(entries: np.ndarray, held: np.ndarray, cash_after: np.ndarray, buy: np.ndarray,
                        cell: np.ndarray, data: dict[str, np.ndarray], qty: np.ndarray, fee: float) -> np.ndarray:
    """Return, per combination, whether an entry's cash check could go otherwise in the engine.

    The engine submits an entry when its cost at the signal bar's close (with commission)
    fits the cash, and fills it in full when its cost at the open fits too (else reduces it);
    vectorbt filled it when the cost at the open fitted. They agree when submitted == filled;
    a cost within a rounding error of the cash could go either way in Decimal arithmetic.
    """
    m, n = entries.shape
    attempts = _entry_attempts(entries, held)
    rows, bars = np.nonzero(attempts)
    if not len(rows):
        return np.zeros(m, dtype=bool)
    prior = bars - 1  # an entry fills at bar t >= 1; its signal bar is t - 1
    available = cash_after[rows, prior]
    at_close = qty[rows] * data["close"][prior] * (1.0 + fee)
    at_open = qty[rows] * data["open"][bars] * (1.0 + fee)
    filled = np.zeros(m * n, dtype=bool)
    filled[cell[buy]] = True
    filled = filled.reshape(m, n)[rows, bars]
    tolerance = 1e-9 * np.maximum(np.abs(available), 1.0)
    close_call = (np.abs(at_close - available) <= tolerance) | (np.abs(at_open - available) <= tolerance)
    disagree = ((at_close <= available) != filled) | close_call
    return np.bincount(rows[disagree], minlength=m) > 0


def vector_stats(index: pd.DatetimeIndex, timeframe: str | None, equity: np.ndarray, exposed: np.ndarray,
                 trades: np.ndarray, close: np.ndarray,
                 orders: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None) -> list[dict[str, Any]]:
    """Return :func:`weaver.backtesting.stats.compute_stats`' numbers for each row of ``equity``.

    ``equity`` and ``exposed`` have one row per combination and one column per bar. The
    formulas are ``compute_stats``' (:func:`~weaver.backtesting.stats.return_ratios`), applied to all rows at once, so
    both paths' rows compare. ``trades`` are vectorbt trade records (``col``, ``size``,
    ``entry_price``, ``entry_fees``, ``exit_fees``, ``pnl``, ``status``: 1 = closed).
    ``orders`` holds each row's counts of orders placed, rejected and reduced (zeros when None).
    """
    from weaver.backtesting.stats import periods_per_year, return_ratios

    m, n = equity.shape
    ppy = periods_per_year(index, timeframe)
    returns = np.zeros_like(equity)
    with np.errstate(divide="ignore", invalid="ignore"):
        np.divide(equity[:, 1:], equity[:, :-1], out=returns[:, 1:])
        returns[:, 1:] -= 1.0
    start_value, end_value = equity[:, 0], equity[:, -1]

    def finite(a: Any) -> np.ndarray:
        a = np.asarray(a, dtype=float)
        return np.where(np.isfinite(a), a, np.nan)

    ratios = return_ratios(returns.T, ppy)  # one column per combination
    cagr = np.asarray(ratios.cagr, dtype=float)
    sharpe, sortino, vol = finite(ratios.sharpe), finite(ratios.sortino), finite(ratios.volatility)
    # drawdowns from the running peak (max_drawdown's, taken on the equity itself)
    peak = np.maximum.accumulate(equity, axis=1)
    mdd = np.min(equity / peak, axis=1) - 1.0
    with np.errstate(divide="ignore", invalid="ignore"):
        calmar = np.where(mdd < 0, cagr / np.abs(mdd), np.nan)
    last_peak = np.maximum.accumulate(np.where(equity >= peak, np.arange(n), 0), axis=1)
    times = index.asi8
    longest = (times - times[last_peak]).max(axis=1) if n else np.zeros(m, dtype=np.int64)
    del peak, last_peak, returns

    col = trades["col"]
    closed = trades["status"] == 1
    pnl = trades["pnl"]
    ret_pct = 100.0 * pnl / (trades["entry_price"] * trades["size"])
    n_trades = np.bincount(col, minlength=m)
    n_closed = np.bincount(col[closed], minlength=m)
    win = closed & (pnl > 0)
    loss = closed & (pnl < 0)
    n_win = np.bincount(col[win], minlength=m)
    gains = np.bincount(col[win], weights=pnl[win], minlength=m)
    losses = -np.bincount(col[loss], weights=pnl[loss], minlength=m)
    n_loss = np.bincount(col[loss], minlength=m)
    ret_sum = np.bincount(col[closed], weights=ret_pct[closed], minlength=m)
    best = np.full(m, -np.inf)
    worst = np.full(m, np.inf)
    np.maximum.at(best, col[closed], ret_pct[closed])
    np.minimum.at(worst, col[closed], ret_pct[closed])
    fees = np.bincount(col, weights=trades["entry_fees"] + trades["exit_fees"], minlength=m)
    exposure = 100.0 * exposed.mean(axis=1) if n else np.zeros(m)
    equity_peak = equity.max(axis=1)
    buy_hold = float(close[-1] / close[0] - 1.0)
    placed, rejected, reduced = orders if orders is not None else (np.zeros(m, dtype=np.int64),) * 3
    duration = index[-1] - index[0]

    out = []
    for j in range(m):
        has = n_closed[j] > 0
        row = {
            "start": index[0], "end": index[-1], "duration": duration,
            "exposure_pct": float(exposure[j]),
            "equity_start": float(start_value[j]), "equity_final": float(end_value[j]),
            "equity_peak": float(equity_peak[j]),
            "total_return": float(end_value[j] / start_value[j] - 1.0),
            "buy_hold_return": buy_hold,
            "cagr": float(finite(cagr[j])), "volatility": float(vol[j]), "sharpe": float(sharpe[j]),
            "sortino": float(sortino[j]), "calmar": float(finite(calmar[j])),
            "max_drawdown": float(mdd[j]),
            "max_drawdown_duration": pd.Timedelta(int(longest[j]), unit="ns"),
            "n_trades": int(n_closed[j]),
            "n_open_trades": int(n_trades[j] - n_closed[j]),
            "win_rate": float(n_win[j] / n_closed[j]) if has else np.nan,
            "profit_factor": float(gains[j] / losses[j]) if n_loss[j] else np.nan,
            "avg_trade_pct": float(ret_sum[j] / n_closed[j]) if has else np.nan,
            "best_trade_pct": float(best[j]) if has else np.nan,
            "worst_trade_pct": float(worst[j]) if has else np.nan,
            "commission": float(fees[j]),
            "n_orders": int(placed[j]), "n_orders_rejected": int(rejected[j]), "n_orders_reduced": int(reduced[j]),
        }
        out.append({k: row[k] for k in STAT_NAMES})
    return out
