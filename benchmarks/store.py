"""Time saving a backtest to the store and loading it back, on SQLite and PostgreSQL.

Run from the repo root: ``.venv/bin/python benchmarks/store.py [--repeat 5] [--bars N]``.
It backtests SmaCross(10, 30) with a 0.1 % commission on ``data/GOOG.csv`` (or, with
``--bars N``, on ``wv.synthetic(N, "1min", seed=1)``), then on each database: creates an empty
store (a SQLite file in a temporary folder; a database of its own on the PostgreSQL server that
``--pg`` administers, by default ``postgresql://postgres@127.0.0.1:5432/postgres``), upgrades it,
and times ``Store.save_backtest`` and ``Store.load_backtest`` ``--repeat`` times each after one
untimed warm-up of both. It prints the rows written and the median and best wall times; the
load is checked equal to the result every time.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _admin(url: str, sql: str) -> None:
    import asyncpg

    async def run() -> None:
        conn = await asyncpg.connect(url, timeout=5)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run())


def _time(store, result, repeat: int) -> tuple[list[float], list[float]]:
    saves, loads = [], []
    for i in range(repeat + 1):
        t0 = time.perf_counter()
        run_id = store.save_backtest(result)
        t1 = time.perf_counter()
        loaded = store.load_backtest(run_id)
        t2 = time.perf_counter()
        pd.testing.assert_frame_equal(loaded.fills, result.fills, check_exact=True)
        pd.testing.assert_series_equal(loaded.equity, result.equity, check_exact=True)
        if i:  # the first round warms up
            saves.append(t1 - t0)
            loads.append(t2 - t1)
    return saves, loads


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--bars", type=int, default=None, help="synthetic one-minute bars instead of GOOG")
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()

    import weaver as wv
    from weaver.store import Store
    from weaver.strategy.examples import SmaCross

    bars = wv.synthetic(args.bars, "1min", seed=1) if args.bars else wv.load_bars(ROOT / "data" / "GOOG.csv")
    result = wv.backtest(SmaCross, bars, commission=0.001)
    what = f"{args.bars:,} synthetic bars" if args.bars else "GOOG"
    print(f"SmaCross(10, 30) on {what}: {len(result.orders)} orders, {len(result.fills)} fills, "
          f"{len(result.equity)} equity points, {len(result.stats)} stats; median (best) of {args.repeat}")

    with tempfile.TemporaryDirectory() as folder:
        with Store(f"sqlite+aiosqlite:///{folder}/weaver.db") as store:
            store.upgrade()
            saves, loads = _time(store, result, args.repeat)
        print(f"  sqlite      save {statistics.median(saves) * 1e3:7.1f} ms ({min(saves) * 1e3:.1f})"
              f"   load {statistics.median(loads) * 1e3:7.1f} ms ({min(loads) * 1e3:.1f})")

    name = f"weaver_store_bench_{uuid.uuid4().hex[:12]}"
    _admin(args.pg, f'CREATE DATABASE "{name}"')
    try:
        url = args.pg.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://") + f"/{name}"
        with Store(url) as store:
            store.upgrade()
            saves, loads = _time(store, result, args.repeat)
        print(f"  postgresql  save {statistics.median(saves) * 1e3:7.1f} ms ({min(saves) * 1e3:.1f})"
              f"   load {statistics.median(loads) * 1e3:7.1f} ms ({min(loads) * 1e3:.1f})")
    finally:
        _admin(args.pg, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
