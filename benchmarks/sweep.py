"""Sweep benchmark: combinations per second for Weaver's sweeps, raw vectorbt and backtesting.py.

    .venv/bin/python benchmarks/sweep.py [--bars 100000] [--bt-budget 300]

The grid: SmaCross fast in 5..50 step 5 x slow in 20..200 step 20 (100 combinations), 100 shares
per entry, no commission, cash 100,000, on ``wv.synthetic(bars, "1min", seed=1)``. Measured in
one run: Weaver's event-driven sweep on 1 and 2 local worker processes and on a 2-worker Dask
LocalCluster, Weaver's vectorized path, raw vectorbt (MA.run + Portfolio.from_signals + a few
metrics) and backtesting.py's ``Backtest.optimize`` (its own process pool over all cores).
vectorbt's numba compilation is excluded from its timings (a warm-up call first) and measured
apart: a cold compile in a fresh process with an empty numba cache, then a second process
reusing that cache. When backtesting.py's full grid is projected to exceed ``--bt-budget``
seconds, a subset of the grid is optimized and the time extrapolated (said in the table).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # see benchmarks/engine.py
    sys.path.insert(0, str(ROOT))

FASTS = list(range(5, 55, 5))
SLOWS = list(range(20, 220, 20))
CASH, QTY = 100_000, 100
os.environ.setdefault("TQDM_DISABLE", "1")


def bars_of(n: int):
    import weaver as wv

    return wv.synthetic(n, "1min", seed=1)


def weaver_sweep(bars, executor, method):
    import weaver as wv
    from weaver.strategy.examples import SmaCross

    t0 = time.perf_counter()
    res = wv.sweep(SmaCross, bars, executor=executor, method=method, progress=False, fast=FASTS, slow=SLOWS, qty=QTY)
    return time.perf_counter() - t0, res


def raw_vectorbt(bars):
    from weaver.research.vectorized import import_vectorbt

    vbt = import_vectorbt()
    combos = [(f, s) for f in FASTS for s in SLOWS]
    close, open_ = bars["close"], bars["open"]
    t0 = time.perf_counter()
    fast = vbt.MA.run(close, window=[f for f, _ in combos])
    slow = vbt.MA.run(close, window=[s for _, s in combos])
    entries = fast.ma_crossed_above(slow.ma.values).shift(1, fill_value=False)
    exits = fast.ma_crossed_below(slow.ma.values).shift(1, fill_value=False)
    pf = vbt.Portfolio.from_signals(close, entries, exits, price=open_, size=QTY, size_type="amount",
                                    direction="longonly", accumulate=False, init_cash=CASH, fees=0.0, freq="1min")
    out = {"sharpe": pf.sharpe_ratio(), "total_return": pf.total_return(), "max_drawdown": pf.max_drawdown(),
           "n_trades": pf.trades.count(), "equity_final": pf.final_value()}
    return time.perf_counter() - t0, out


def backtesting_optimize(bars, budget: float):
    import backtesting
    from backtesting import Backtest

    from benchmarks.peers import SmaCrossBt
    backtesting.Pool  # noqa: B018 - its default pool: processes over all cores
    df = bars.rename(columns=str.capitalize)[["Open", "High", "Low", "Close", "Volume"]]
    warnings.simplefilter("ignore")
    bt = Backtest(df, SmaCrossBt, cash=CASH, commission=0.0, exclusive_orders=False, finalize_trades=False)
    t0 = time.perf_counter()
    bt.run(fast=10, slow=30)
    one = time.perf_counter() - t0
    projected = one * len(FASTS) * len(SLOWS) / (os.cpu_count() or 1)
    fasts = FASTS
    if projected > budget:
        k = max(1, int(len(FASTS) * budget / projected))
        fasts = FASTS[:k]
    t0 = time.perf_counter()
    bt.optimize(fast=fasts, slow=SLOWS, maximize="Sharpe Ratio")
    seconds = time.perf_counter() - t0
    n = len(fasts) * len(SLOWS)
    return seconds * (len(FASTS) * len(SLOWS)) / n, n


_COMPILE_CHILD = """
import sys, time
sys.path.insert(0, {root!r})
import weaver as wv
from weaver.strategy.examples import SmaCross
bars = wv.synthetic(2000, "1min", seed=1)
from weaver.research.vectorized import import_vectorbt
import_vectorbt()
t0 = time.perf_counter()
wv.sweep(SmaCross, bars, method="vectorized", progress=False, fast=[5, 10], slow=[20, 40])
print(time.perf_counter() - t0)
"""


def compile_times() -> tuple[float, float]:
    """Return (cold, warm) seconds of a first small vectorized sweep in fresh processes."""
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache, "PYTHONWARNINGS": "ignore"}
        code = _COMPILE_CHILD.format(root=str(ROOT))
        out = []
        for _ in range(2):
            done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
            out.append(float(done.stdout.strip().splitlines()[-1]))
    return out[0], out[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=100_000)
    parser.add_argument("--bt-budget", type=float, default=300.0,
                        help="seconds allowed for backtesting.py's optimize before it runs on a subset")
    parser.add_argument("--skip-compile", action="store_true", help="skip the cold/warm numba compile measurement")
    args = parser.parse_args()

    from weaver.research.executors import ProcessExecutor

    n_combos = len(FASTS) * len(SLOWS)
    bars = bars_of(args.bars)
    print(f"{n_combos} combinations x {args.bars:,} one-minute bars, {os.cpu_count()} cores\n", flush=True)
    rows: list[tuple[str, float, str]] = []

    cold = warm = float("nan")
    if not args.skip_compile:
        cold, warm = compile_times()
        print(f"numba: cold first vectorized sweep {cold:.1f}s (compiling); second process {warm:.2f}s (cache)", flush=True)

    # warm the vectorized path and raw vectorbt on small bars: compilation excluded from the timings
    small = bars_of(2_000)
    weaver_sweep(small, None, "vectorized")
    raw_vectorbt(small)

    t_vec, res_vec = weaver_sweep(bars, None, "vectorized")
    rows.append(("weaver vectorized (vectorbt)", t_vec, ""))
    t_raw, raw = raw_vectorbt(bars)
    rows.append(("raw vectorbt", t_raw, ""))
    print(f"vectorized {t_vec:.2f}s, raw vectorbt {t_raw:.2f}s", flush=True)

    t1, res1 = weaver_sweep(bars, ProcessExecutor(1), "event")
    rows.append(("weaver event-driven, 1 process", t1, ""))
    print(f"event 1 worker {t1:.1f}s", flush=True)
    t2, res2 = weaver_sweep(bars, ProcessExecutor(2), "event")
    rows.append(("weaver event-driven, 2 processes", t2, ""))
    print(f"event 2 workers {t2:.1f}s", flush=True)

    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as lc, Client(lc) as client:
        import importlib

        for module in ("weaver.backtesting.engine", "weaver.backtesting.result", "weaver.research._work", "weaver.backtesting.stats"):
            client.run(importlib.import_module, module)  # imports on the workers, untimed
        td, resd = weaver_sweep(bars, client, "event")
    overhead = 1.0 - resd.info["compute_seconds"] / (td * 2)
    rows.append(("weaver event-driven, Dask LocalCluster 2 workers", td,
                 f"{resd.info['batches']} batches; idle/overhead {overhead:.1%} of worker time"))
    print(f"dask {td:.1f}s", flush=True)

    t_bt, n_bt = backtesting_optimize(bars, args.bt_budget)
    note = "" if n_bt == n_combos else f"measured {n_bt} combinations, extrapolated to {n_combos}"
    rows.append(("backtesting.py Backtest.optimize (process pool)", t_bt, note))

    same = (res1.frame.drop(columns="error").equals(res2.frame.drop(columns="error"))
            and res1.frame.drop(columns="error").equals(resd.frame.drop(columns="error")))
    agree = bool((res_vec.frame["n_trades"] == res1.frame["n_trades"]).all()) and bool(
        ((res_vec.frame["equity_final"] - res1.frame["equity_final"]).abs() <= 1e-9 * res1.frame["equity_final"].abs()).all())

    print(f"\n{'engine':<52} {'seconds':>9} {'combos/s':>9}  note")
    for name, seconds, extra in rows:
        print(f"{name:<52} {seconds:>9.2f} {n_combos / seconds:>9.2f}  {extra}")
    print(f"\nnumba compile (excluded above): cold {cold:.1f}s in a fresh process, {warm:.2f}s in a second process")
    print(f"event-driven rows identical across 1 process, 2 processes and Dask: {same}")
    print(f"vectorized vs event-driven: same trade counts and final equity (rel 1e-9) on all {n_combos}: {agree}")
    print("\ntargets")
    checks = [
        (f"vectorized within 1.3x of raw vectorbt: {t_vec / t_raw:.2f}x", t_vec <= 1.3 * t_raw),
        (f"event-driven sweep (2 processes) >= 10x backtesting.py optimize: {t_bt / t2:.1f}x", t_bt >= 10 * t2),
        (f"2 processes >= 1.7x one: {t1 / t2:.2f}x", t1 >= 1.7 * t2),
        (f"Dask scheduling overhead < 10% of compute: {overhead:.1%}", overhead < 0.10),
    ]
    for text, ok in checks:
        print(f"  [{'met' if ok else 'MISSED'}] {text}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
