"""Engine benchmark: Weaver (backtest and rehearsal) vs backtesting.py vs backtrader vs a bare Python loop.

    .venv/bin/python benchmarks/engine.py [--repeat 3] [--sizes 100000,1000000]

SMA(10)/SMA(30) crossover, long only, 100 shares bought on the cross up and closed on the
cross down, market orders filled at the next bar's open, no commission, cash 100,000, on
``wv.synthetic(n, "1min", seed=1)``. Every run happens in a fresh subprocess (this script
re-invoked with ``--one ENGINE N``) that builds the bars untimed, times only the backtest
including its statistics, and prints one JSON line. Medians over ``--repeat`` runs. The
``rehearse`` row is Weaver's ``wv.rehearse``: the same run fed a bar at a time through the
driver a paper run uses; its ``weaver x`` column is how much faster the backtest is.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# The editable install registers ``weaver`` as a namespace package when the repo root is not
# on sys.path (it was installed before weaver/__init__.py existed); make the real one win.
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

CASH = 100_000
QTY = 100
FAST, SLOW = 10, 30
ENGINES = ("weaver", "rehearse", "backtesting.py", "backtrader", "limit")
BACKTRADER_BUDGET_S = 180.0  # skip backtrader sizes projected to take longer than this in total

CHILD_ENV = {
    **os.environ,
    "TQDM_DISABLE": "1",          # backtesting.py's progress bar (tqdm >= 4.66 reads this)
    "PYTHONWARNINGS": "ignore",
}


# -- one run (child process) ---------------------------------------------------------------


def _bars(n: int):
    import weaver as wv

    return wv.synthetic(n, "1min", seed=1)


def run_weaver(bars) -> dict:
    import weaver as wv
    from weaver.strategy.examples import SmaCross

    backtest = wv.backtest  # resolve the lazy attribute outside the timing
    t0 = time.perf_counter()
    res = backtest(SmaCross, bars, cash=CASH, commission=None, slippage=None, fast=FAST, slow=SLOW, qty=QTY)
    stats = res.stats
    seconds = time.perf_counter() - t0
    return {"seconds": seconds, "trades": int(stats["n_trades"] + stats["n_open_trades"]), "equity": float(stats["equity_final"]),
            "lookahead_check": float(res.timings.get("lookahead_check", float("nan"))),
            "timings": {k: float(v) for k, v in res.timings.items()}}


def run_backtesting(bars) -> dict:
    import warnings

    from backtesting import Backtest

    from benchmarks.peers import QTY as PEER_QTY
    from benchmarks.peers import SmaCrossBt

    assert (SmaCrossBt.fast, SmaCrossBt.slow, PEER_QTY) == (FAST, SLOW, QTY)
    df = bars.rename(columns=str.capitalize)[["Open", "High", "Low", "Close", "Volume"]]
    warnings.simplefilter("ignore")
    t0 = time.perf_counter()
    bt = Backtest(df, SmaCrossBt, cash=CASH, commission=0.0, exclusive_orders=False, finalize_trades=False)
    stats = bt.run()
    seconds = time.perf_counter() - t0
    trades = len(stats["_trades"]) + len(stats["_strategy"].trades)  # closed + the open one
    return {"seconds": seconds, "trades": trades, "equity": float(stats["Equity Final [$]"])}


def run_backtrader(bars) -> dict:
    import backtrader as bt

    class SmaCrossBtr(bt.Strategy):
        params = (("fast", FAST), ("slow", SLOW))

        def __init__(self):
            f = bt.ind.SMA(self.data.close, period=self.p.fast)
            s = bt.ind.SMA(self.data.close, period=self.p.slow)
            self.cross = bt.ind.CrossOver(f, s)
            self.entries = 0

        def next(self):
            if self.cross[0] > 0:
                if not self.position:
                    self.buy(size=QTY)
                    self.entries += 1
            elif self.cross[0] < 0:
                self.close()

    t0 = time.perf_counter()
    cerebro = bt.Cerebro(stdstats=False)  # no observers: the leanest backtrader run
    cerebro.adddata(bt.feeds.PandasData(dataname=bars))
    cerebro.addstrategy(SmaCrossBtr)
    cerebro.broker.setcash(CASH)
    cerebro.broker.setcommission(commission=0.0)
    strat = cerebro.run()[0]
    equity = cerebro.broker.getvalue()
    seconds = time.perf_counter() - t0
    return {"seconds": seconds, "trades": strat.entries, "equity": float(equity)}


def run_limit(bars) -> dict:
    """A bare Python loop over precomputed signals: one decision per bar, no framework."""
    import numpy as np

    n = len(bars)
    close = bars["close"]
    f, s = close.rolling(FAST).mean().to_numpy(), close.rolling(SLOW).mean().to_numpy()
    with np.errstate(invalid="ignore"):
        up = (f[1:] > s[1:]) & (f[:-1] < s[:-1])
        down = (f[1:] < s[1:]) & (f[:-1] > s[:-1])
    up = [False] + up.tolist()
    down = [False] + down.tolist()
    opens = bars["open"].to_numpy().tolist()
    last_close = float(close.iloc[-1])

    t0 = time.perf_counter()
    cash, pos, pending, trades = float(CASH), 0, 0, 0
    for i in range(n):
        if pending:  # the order placed on the previous bar fills at this bar's open
            if pending > 0:
                cash -= QTY * opens[i]
                pos = QTY
                trades += 1
            else:
                cash += pos * opens[i]
                pos = 0
            pending = 0
        if up[i]:
            if not pos:
                pending = 1
        elif down[i]:
            if pos:
                pending = -1
    equity = cash + pos * last_close
    seconds = time.perf_counter() - t0
    return {"seconds": seconds, "trades": trades, "equity": equity}


def run_rehearse(bars) -> dict:
    """Weaver's rehearsal: the same run fed a bar at a time through the driver, as a paper run."""
    import weaver as wv
    from weaver.strategy.examples import SmaCross

    rehearse = wv.rehearse
    t0 = time.perf_counter()
    res = rehearse(SmaCross, bars, cash=CASH, commission=None, slippage=None, fast=FAST, slow=SLOW, qty=QTY)
    stats = res.stats
    seconds = time.perf_counter() - t0
    return {"seconds": seconds, "trades": int(stats["n_trades"] + stats["n_open_trades"]),
            "equity": float(stats["equity_final"])}


RUNNERS = {"weaver": run_weaver, "rehearse": run_rehearse, "backtesting.py": run_backtesting,
           "backtrader": run_backtrader, "limit": run_limit}


def one(engine: str, n: int) -> None:
    # Warm up on a few bars first (untimed), so the timed run measures the engine's work and
    # not one-time imports (weaver imports its heavier modules on first use, for instance); the cold
    # cost is measured separately by the end-to-end GOOG runs.
    RUNNERS[engine](_bars(1_000))
    bars = _bars(n)
    out = RUNNERS[engine](bars)
    out["rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KB on Linux
    out.update(engine=engine, bars=n)
    print(json.dumps(out), flush=True)


# -- driver ----------------------------------------------------------------------------------


def spawn(engine: str, n: int) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--one", engine, str(n)]
    proc = subprocess.run(cmd, cwd=ROOT, env=CHILD_ENV, capture_output=True, text=True)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode or not lines:
        raise RuntimeError(f"{engine} n={n} failed (rc={proc.returncode}):\n{proc.stderr[-3000:]}")
    return json.loads(lines[-1])


def summarize(engine: str, n: int, runs: list[dict]) -> dict:
    med = statistics.median(r["seconds"] for r in runs)
    row = {"engine": engine, "bars": n, "seconds": med, "bars_s": n / med,
           "rss_mb": statistics.median(r["rss_mb"] for r in runs),
           "trades": runs[0]["trades"], "equity": runs[0]["equity"], "runs": len(runs)}
    if engine == "weaver":
        row["lookahead_check"] = statistics.median(r["lookahead_check"] for r in runs)
        row["timings"] = {k: statistics.median(r["timings"][k] for r in runs) for k in runs[0]["timings"]}
    if len({(r["trades"], round(r["equity"], 6)) for r in runs}) != 1:
        row["note"] = "results differ between repeats!"
    print(f"  {engine:<15} {n:>9,}  {med:8.3f} s  ({len(runs)} run{'s' * (len(runs) > 1)})", file=sys.stderr, flush=True)
    return row


def measure_round_robin(engines: dict[str, int], n: int) -> list[dict]:
    """Run every engine ``repeat`` times, interleaved (a, b, c, a, b, c, ...).

    The machine is shared and its speed drifts; interleaving lets every engine see the same
    conditions, so the ratios taken from one run are fair.
    """
    runs: dict[str, list[dict]] = {e: [] for e in engines}
    for round_ in range(max(engines.values(), default=0)):
        for engine, repeat in engines.items():
            if round_ < repeat:
                runs[engine].append(spawn(engine, n))
    return [summarize(engine, n, r) for engine, r in runs.items()]


COLD_STATS = ("import weaver as wv; from weaver.strategy.examples import SmaCross; "
              "r = wv.backtest(SmaCross, 'data/GOOG.csv'); r.stats")
COLD_NOSTATS = ("import weaver as wv; from weaver.strategy.examples import SmaCross; "
                "r = wv.backtest(SmaCross, 'data/GOOG.csv')")


def cold(code: str, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=CHILD_ENV, capture_output=True, text=True)
        times.append(time.perf_counter() - t0)
        if proc.returncode:
            raise RuntimeError(f"cold run failed:\n{proc.stderr[-3000:]}")
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3, help="runs per engine and size (median taken)")
    ap.add_argument("--sizes", default="100000,1000000", help="comma-separated bar counts")
    ap.add_argument("--engines", default=",".join(ENGINES), help="comma-separated subset of " + ",".join(ENGINES))
    ap.add_argument("--one", nargs=2, metavar=("ENGINE", "N"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.one:
        one(args.one[0], int(args.one[1]))
        return 0

    sizes = sorted(int(s) for s in args.sizes.split(","))
    engines = [e for e in ENGINES if e in args.engines.split(",")]
    rows, notes = [], []
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs; SmaCross({FAST},{SLOW}) on wv.synthetic(n, '1min', seed=1); "
          f"median of {args.repeat}, engines interleaved run by run", file=sys.stderr)
    bt_per_bar = None
    for n in sizes:
        plan: dict[str, int] = {}
        for engine in engines:
            repeat = args.repeat
            if engine == "backtrader" and bt_per_bar is not None:
                projected = bt_per_bar * n
                if projected > BACKTRADER_BUDGET_S:
                    notes.append(f"backtrader at {n:,} bars skipped: projected {projected:.0f} s per run "
                                 f"(> {BACKTRADER_BUDGET_S:.0f} s)")
                    continue
                if projected * repeat > BACKTRADER_BUDGET_S:
                    repeat = 1
                    notes.append(f"backtrader at {n:,} bars run once (projected {projected:.0f} s per run)")
            plan[engine] = repeat
        for row in measure_round_robin(plan, n):
            if row["engine"] == "backtrader":
                bt_per_bar = row["seconds"] / n
            rows.append(row)

    # Weaver's bars/s over each row's bars/s, at the same size
    weaver_rate = {r["bars"]: r["bars_s"] for r in rows if r["engine"] == "weaver"}
    header = f"{'engine':<15} {'bars':>9} {'median s':>9} {'bars/s':>11} {'weaver x':>9} {'peak RSS MB':>12} {'trades':>7} {'final equity':>14}"
    print(header)
    print("-" * len(header))
    for r in rows:
        ratio = weaver_rate.get(r["bars"], float("nan")) / r["bars_s"]
        print(f"{r['engine']:<15} {r['bars']:>9,} {r['seconds']:>9.3f} {r['bars_s']:>11,.0f} {ratio:>8.2f}x "
              f"{r['rss_mb']:>12.1f} {r['trades']:>7} {r['equity']:>14,.2f}{'  ' + r['note'] if 'note' in r else ''}")
    for note in notes:
        print(f"note: {note}")

    big = max(sizes)
    w = next((r for r in rows if r["engine"] == "weaver" and r["bars"] == big), None)
    if w is not None:
        t = w["timings"]
        print(f"\nWeaver at {big:,} bars: " + ", ".join(f"{k} {v:.3f} s" for k, v in t.items())
              + f"; look-ahead guard {w['lookahead_check']:.3f} s ({100 * w['lookahead_check'] / w['seconds']:.1f}% of the run)")

    cold_stats, cold_nostats = cold(COLD_STATS), cold(COLD_NOSTATS)
    print(f"cold end-to-end GOOG (python -c, import + load + backtest + stats): {cold_stats:.3f} s median of 3")
    print(f"cold end-to-end GOOG without touching stats:                        {cold_nostats:.3f} s median of 3")

    def rate(engine: str) -> float | None:
        r = next((r for r in rows if r["engine"] == engine and r["bars"] == big), None)
        return r and r["bars_s"]

    def rss(engine: str) -> float | None:
        r = next((r for r in rows if r["engine"] == engine and r["bars"] == big), None)
        return r and r["rss_mb"]

    def verdict(ok: bool | None) -> str:
        return "n/a" if ok is None else ("MET" if ok else "NOT MET")

    wr, btp, btr = rate("weaver"), rate("backtesting.py"), rate("backtrader")
    print(f"\nTargets ({big:,} bars):")
    print(f"  >= 8x backtesting.py bars/s : {verdict(wr and btp and wr / btp >= 8)}"
          + (f" ({wr / btp:.2f}x)" if wr and btp else ""))
    print(f"  >= 25x backtrader bars/s    : {verdict(wr and btr and wr / btr >= 25)}"
          + (f" ({wr / btr:.2f}x)" if wr and btr else " (backtrader not run at this size)"))
    wm, bm = rss("weaver"), rss("backtesting.py")
    print(f"  peak RSS <= backtesting.py  : {verdict(wm and bm and wm <= bm)}"
          + (f" ({wm:.0f} vs {bm:.0f} MB)" if wm and bm else ""))
    print(f"  cold GOOG run < 2 s         : {verdict(cold_stats < 2.0)} ({cold_stats:.2f} s)")
    rehearsal = next((r for r in rows if r["engine"] == "rehearse" and r["bars"] == 100_000), None)
    print(f"  rehearse >= 10,000 bars/s at 100,000 bars : {verdict(rehearsal and rehearsal['bars_s'] >= 10_000)}"
          + (f" ({rehearsal['bars_s']:,.0f} bars/s)" if rehearsal else " (not run at that size)"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
