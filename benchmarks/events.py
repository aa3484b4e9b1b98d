"""Event log benchmark: Weaver's appends vs raw executemany, and commit-to-reader latency.

    .venv/bin/python benchmarks/events.py [--events 1000] [--batches 20] [--repeat 5]
                                          [--latency-events 300] [--databases sqlite,postgresql]

Throughput: ``order.filled`` events (realistic payloads: Decimal quantities and prices, aware
datetimes) appended one per transaction (``AsyncEventLog.append``, the payload's validation
inside the timing) and 1,000 per transaction, each beside a raw baseline that inserts the same
rows into a table of the same shape in the same database: ``asyncpg`` ``executemany`` on
PostgreSQL, ``sqlite3`` ``executemany`` on SQLite, also one transaction per single-event
append and per batch. The raw rows, payload JSON included, are made before the timing; so,
in the "batch" mode, are Weaver's checked events (``new_event``: pydantic validation and the
payload's JSON), and ``append_many`` is timed: like for like, the target's comparison. The
"batch + checks" mode also times the 1,000 ``new_event`` calls, to show what validation
adds. Weaver and raw take turns round by round (the one going first alternates) and the
medians over ``--repeat`` rounds are compared.

Latency (PostgreSQL): a subscriber (``AsyncEventLog.subscribe``, a store and connections of
its own) in the same process and event loop as a writer that appends events one at a time,
5-10 ms apart; latency = the time the subscriber receives an event - the time its commit
returned to the writer. Once with the NOTIFY listener, once polling only
(``subscribe(listen=False)``), whose latency is about the poll interval.

PostgreSQL runs in a scratch database created for the run and dropped after it; SQLite in a
temporary directory.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import re
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
# The editable install registers ``weaver`` as a namespace package when the repo root is not
# on sys.path (it was installed before weaver/__init__.py existed); make the real one win.
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.postgres import PG_ADMIN, admin, foreign_transactions  # noqa: E402

DATABASES = ("sqlite", "postgresql")
BATCH = 1_000
TYPE = "order.filled"
RAW_COLUMNS = ("type", "version", "run_id", "correlation_id", "causation_id", "ts", "payload")
BATCH_TARGET = 0.5   # batched appends >= 50% of the raw baseline's rows/s (like for like: the "batch" mode)
NOTIFY_P99_MS = 20.0  # NOTIFY p99 <= 20 ms on loopback

SIDES = """\
weaver: append = new_event (pydantic validation, JSON-ready payload) + one transaction per event (pool
        checkout, with a pre-ping on PostgreSQL; PostgreSQL: INSERT ... RETURNING id, tx and pg_notify;
        SQLite: the INSERT and last_insert_rowid() in one trip to aiosqlite's thread);
        batch = append_many of 1,000 checked events (new_event before the timing, as raw's rows are made
        before it) in one transaction (PostgreSQL: one INSERT ... SELECT FROM unnest(column arrays)
        RETURNING id, tx, and pg_notify; SQLite: one multi-row INSERT, its ids from last_insert_rowid());
        batch + checks = the same with the 1,000 new_event(...) calls inside the timing.
raw:    the same rows (payload JSON text made before the timing) into a copy of the outbox table in the
        same database (PostgreSQL: CREATE TABLE ... (LIKE outbox INCLUDING ALL), so the xid8
        pg_current_xact_id() default and the (tx, id) index too; SQLite: outbox's own DDL, AUTOINCREMENT,
        WAL, synchronous=NORMAL), by asyncpg executemany / sqlite3 executemany on one connection, one
        transaction (BEGIN IMMEDIATE on SQLite) per single row and per batch; no RETURNING, no NOTIFY."""


# -- the events --------------------------------------------------------------------------------


def fill_payloads(n: int, run_id: str, seed: int) -> list[dict[str, Any]]:
    """Return ``n`` order.filled payloads as a runner builds them: Python values, not yet validated."""
    from weaver.core.enums import OrderStatus

    rng = random.Random(seed)
    t0 = datetime(2026, 12, 7, 14, 30, tzinfo=timezone.utc)
    symbols = ("AAPL", "MSFT", "GOOG", "AMZN", "NVDA", "SPY")
    payloads = []
    for i in range(n):
        ts_event = t0 + timedelta(milliseconds=137 * i)
        qty = Decimal(rng.randrange(1, 500))
        payloads.append({
            "run_id": run_id, "client_order_id": f"{run_id}-o{i:07d}", "symbol": rng.choice(symbols),
            "status": OrderStatus.FILLED, "ts_event": ts_event, "ts_init": ts_event + timedelta(microseconds=850),
            "exec_id": f"x{seed}-{i:08d}", "qty": qty, "price": Decimal(rng.randrange(1_000, 50_000)) / 100,
            "commission": Decimal("0.35"), "filled_qty": qty})
    return payloads


def raw_rows(payloads: list[dict[str, Any]], run_id: str, dialect: str) -> list[tuple[Any, ...]]:
    """Return the rows the raw baseline inserts: the same columns, the payload as its JSON text."""
    from weaver.events import LATEST, validate_payload

    ts = datetime.now(timezone.utc)
    # SQLAlchemy's SQLite DateTime stores naive UTC text; asyncpg takes the aware datetime
    ts_value: Any = ts.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f") if dialect == "sqlite" else ts
    return [(TYPE, LATEST[TYPE], run_id, None, None, ts_value, json.dumps(validate_payload(TYPE, p)))
            for p in payloads]


# -- the two sides -----------------------------------------------------------------------------


class WeaverSide:
    """Weaver's event log: append (one event, one transaction) and append_many (1,000 events)."""

    def __init__(self, store: Any) -> None:
        from weaver.events import new_event

        self._log = store.log
        self._new_event = new_event

    async def single(self, payloads: list[dict[str, Any]], run_id: str) -> None:
        append = self._log.append
        for payload in payloads:
            await append(TYPE, payload, run_id=run_id)

    def check(self, payloads: list[dict[str, Any]], run_id: str) -> list[Any]:
        """Return the checked events of ``payloads`` (validated, their JSON made), ready for append_many."""
        return [self._new_event(TYPE, p, run_id=run_id) for p in payloads]

    async def batches(self, events: list[Any]) -> None:
        append_many = self._log.append_many
        for start in range(0, len(events), BATCH):
            await append_many(events[start:start + BATCH])

    async def checked_batches(self, payloads: list[dict[str, Any]], run_id: str) -> None:
        new_event, append_many = self._new_event, self._log.append_many
        for start in range(0, len(payloads), BATCH):
            await append_many([new_event(TYPE, p, run_id=run_id) for p in payloads[start:start + BATCH]])


class RawPostgres:
    """asyncpg executemany into ``raw_outbox``, a copy of the outbox table."""

    SQL = f"INSERT INTO raw_outbox ({', '.join(RAW_COLUMNS)}) VALUES ({', '.join(f'${i + 1}' for i in range(7))})"

    def __init__(self, conn: Any) -> None:
        self._conn = conn

    @classmethod
    async def open(cls, dsn: str) -> RawPostgres:
        import asyncpg

        conn = await asyncpg.connect(dsn)
        await conn.execute("CREATE TABLE raw_outbox (LIKE outbox INCLUDING ALL)")
        return cls(conn)

    async def single(self, rows: list[tuple[Any, ...]]) -> None:
        conn, sql = self._conn, self.SQL
        for row in rows:
            async with conn.transaction():
                await conn.executemany(sql, [row])

    async def batches(self, rows: list[tuple[Any, ...]]) -> None:
        conn, sql = self._conn, self.SQL
        for start in range(0, len(rows), BATCH):
            async with conn.transaction():
                await conn.executemany(sql, rows[start:start + BATCH])

    async def close(self) -> None:
        await self._conn.close()


class RawSqlite:
    """sqlite3 executemany into ``raw_outbox``, made from the outbox's own DDL."""

    SQL = f"INSERT INTO raw_outbox ({', '.join(RAW_COLUMNS)}) VALUES ({', '.join('?' * 7)})"

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    @classmethod
    async def open(cls, path: str) -> RawSqlite:
        conn = sqlite3.connect(path, isolation_level=None, timeout=30)
        for pragma in ("journal_mode=WAL", "busy_timeout=30000", "foreign_keys=ON", "synchronous=NORMAL"):
            conn.execute(f"PRAGMA {pragma}")
        ddl = conn.execute("SELECT sql FROM sqlite_master WHERE tbl_name = 'outbox' AND sql IS NOT NULL "
                           "ORDER BY type DESC").fetchall()  # the table first, then its indexes
        for (sql,) in ddl:
            sql = re.sub(r"\bix_outbox_", "ix_raw_outbox_", sql)
            conn.execute(re.sub(r"(TABLE|ON) (\"?)outbox\b\2", r"\1 raw_outbox", sql))
        return cls(conn)

    async def single(self, rows: list[tuple[Any, ...]]) -> None:
        conn, sql = self._conn, self.SQL
        for row in rows:
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(sql, [row])
            conn.execute("COMMIT")

    async def batches(self, rows: list[tuple[Any, ...]]) -> None:
        conn, sql = self._conn, self.SQL
        for start in range(0, len(rows), BATCH):
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(sql, rows[start:start + BATCH])
            conn.execute("COMMIT")

    async def close(self) -> None:
        self._conn.close()


# -- databases ---------------------------------------------------------------------------------


@asynccontextmanager
async def scratch(database: str) -> AsyncIterator[tuple[str, str]]:
    """Yield ``(store URL, raw DSN or path)`` of an empty database; remove it afterwards."""
    if database == "sqlite":
        with tempfile.TemporaryDirectory(prefix="weaver-bench-") as folder:
            path = str(Path(folder) / "weaver.db")
            yield f"sqlite+aiosqlite:///{path}", path
        return
    name = f"weaver_bench_{uuid.uuid4().hex[:12]}"
    await admin(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN.rsplit("/", 1)[0]
    try:
        yield f"{base.replace('postgresql://', 'postgresql+asyncpg://')}/{name}", f"{base}/{name}"
    finally:
        for attempt in range(20):  # the shared server may be restarting: give it a few seconds
            try:
                await admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                break
            except Exception as exc:  # refused, reset, "the database system is starting up"
                if attempt == 19:
                    print(f"could not drop the scratch database {name}: {exc}", file=sys.stderr)
                await asyncio.sleep(0.5)


async def describe_postgres(dsn: str) -> str:
    import asyncpg

    conn = await asyncpg.connect(dsn)
    try:
        version = (await conn.fetchval("SHOW server_version")).split()[0]
        sync = await conn.fetchval("SHOW synchronous_commit")
        fsync = await conn.fetchval("SHOW fsync")
    finally:
        await conn.close()
    return f"PostgreSQL {version} (synchronous_commit={sync}, fsync={fsync})"


# -- throughput --------------------------------------------------------------------------------


async def timed(work: Callable[[], Awaitable[None]]) -> float:
    t0 = time.perf_counter()
    await work()
    return time.perf_counter() - t0


async def throughput(database: str, args: argparse.Namespace) -> tuple[list[dict[str, Any]], str]:
    """Return one row per mode (single, batch) with the median rows/s of each side, and a description."""
    from weaver.store import AsyncStore

    async with scratch(database) as (url, raw_target):
        store = AsyncStore(url)
        raw: RawPostgres | RawSqlite | None = None
        try:
            await store.upgrade()
            raw = await (RawPostgres.open(raw_target) if database == "postgresql" else RawSqlite.open(raw_target))
            described = (await describe_postgres(raw_target) if database == "postgresql"
                         else f"SQLite {sqlite3.sqlite_version} (WAL, synchronous=NORMAL)")
            weaver = WeaverSide(store)
            batch, checked = f"batch {BATCH:,}", f"batch {BATCH:,} + checks"
            modes = {"single": args.events, batch: args.batches * BATCH, checked: args.batches * BATCH}
            data = {mode: fill_payloads(n, f"bench-{i}", seed=i) for i, (mode, n) in enumerate(modes.items())}
            rows = {mode: raw_rows(payloads, f"bench-{i}", database) for i, (mode, payloads) in enumerate(data.items())}

            # warm up both sides untimed: connections, prepared statements, SQLAlchemy's compiled cache
            warm = fill_payloads(BATCH, "warm-up", seed=99)
            warm_rows = raw_rows(warm, "warm-up", database)
            await weaver.single(warm[:20], "warm-up")
            await weaver.checked_batches(warm, "warm-up")
            await raw.single(warm_rows[:20])
            await raw.batches(warm_rows)

            seconds: dict[tuple[str, str], list[float]] = {(m, s): [] for m in modes for s in ("weaver", "raw")}
            for round_ in range(args.repeat):
                for i, mode in enumerate(modes):
                    run_id = f"bench-{i}"
                    if mode == "single":
                        sides = {"weaver": lambda: weaver.single(data["single"], run_id),
                                 "raw": lambda: raw.single(rows["single"])}
                    elif mode == batch:
                        events = weaver.check(data[mode], run_id)  # made before the timing, as raw's rows are
                        sides = {"weaver": lambda: weaver.batches(events), "raw": lambda: raw.batches(rows[mode])}
                    else:
                        sides = {"weaver": lambda: weaver.checked_batches(data[mode], run_id),
                                 "raw": lambda: raw.batches(rows[mode])}
                    order = ("weaver", "raw") if round_ % 2 == 0 else ("raw", "weaver")
                    for side in order:
                        seconds[(mode, side)].append(await timed(sides[side]))
                        print(f"  {database:<10} {mode:<20} {side:<6} round {round_ + 1}: "
                              f"{modes[mode] / seconds[(mode, side)][-1]:>9,.0f} rows/s", file=sys.stderr, flush=True)
            result = []
            for mode, n in modes.items():
                w = statistics.median(seconds[(mode, "weaver")])
                r = statistics.median(seconds[(mode, "raw")])
                result.append({"database": database, "mode": mode, "rows": n, "weaver": n / w, "raw": n / r})
            return result, described
        finally:
            if raw is not None:
                await raw.close()
            await store.close()


# -- latency -----------------------------------------------------------------------------------


def percentile(values: list[float], p: float) -> float:
    """Return the nearest-rank ``p``-th percentile of ``values``."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


async def latency(url: str, n: int, *, listen: bool, poll_interval: float, seed: int) -> list[float]:
    """Return each event's commit-to-reader latency in seconds, for a subscriber that listens or only polls."""
    from weaver.store import AsyncStore

    run_id = f"latency-{'notify' if listen else 'poll'}"
    payloads = fill_payloads(n, run_id, seed)
    rng = random.Random(seed)
    received: dict[int, float] = {}
    committed: dict[int, float] = {}
    async with AsyncStore(url, poll_interval=poll_interval) as reader, AsyncStore(url) as writer:
        for payload in fill_payloads(5, "warm-up", seed=98):  # connect and compile outside the measurement
            await writer.log.append(TYPE, payload, run_id="warm-up")
        after = await reader.log.head()

        async def subscriber() -> None:
            async for event in reader.log.subscribe(after, run_id=run_id, listen=listen):
                received[event.id] = time.perf_counter()
                if len(received) == n:
                    return

        task = asyncio.create_task(subscriber())
        if listen:
            while reader.log.listener is None:
                await asyncio.sleep(0.01)
            await reader.log.listener.wait_connected(10)
        await asyncio.sleep(0.3)  # the subscriber's first read is done; it now waits
        for payload in payloads:
            written = await writer.log.append(TYPE, payload, run_id=run_id)
            committed[written.id] = time.perf_counter()
            await asyncio.sleep(rng.uniform(0.005, 0.010))
        await asyncio.wait_for(task, 3 * poll_interval + 30)
    return [received[id_] - t for id_, t in committed.items()]


# -- report ------------------------------------------------------------------------------------


def verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("MET" if ok else "NOT MET")


async def run(args: argparse.Namespace) -> int:
    databases = [d for d in DATABASES if d in args.databases.split(",")]
    unknown = set(args.databases.split(",")) - set(DATABASES)
    if unknown or not databases:
        raise SystemExit(f"--databases {args.databases!r}: choose from {', '.join(DATABASES)}")
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs; {TYPE} events; median of {args.repeat} rounds, "
          "weaver and raw interleaved", file=sys.stderr, flush=True)

    rows: list[dict[str, Any]] = []
    described: list[str] = []
    for database in databases:
        result, about = await throughput(database, args)
        rows += result
        described.append(about)

    lat: dict[str, list[float]] = {}
    foreign: dict[str, dict[tuple[int, str], float]] = {}
    if "postgresql" in databases and args.latency_events > 0:
        async with scratch("postgresql") as (url, _):
            from weaver.store import AsyncStore

            async with AsyncStore(url) as store:
                await store.upgrade()
            for name, listen in (("NOTIFY", True), ("polling", False)):
                print(f"  latency {name}: {args.latency_events} events ...", file=sys.stderr, flush=True)
                async with foreign_transactions(url.rsplit("/", 1)[1]) as seen:
                    lat[name] = await latency(url, args.latency_events, listen=listen,
                                              poll_interval=args.poll_interval, seed=7)
                foreign[name] = dict(seen)

    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs; " + "; ".join(described)
          + f"; {TYPE} events; median of {args.repeat} rounds, weaver and raw taking turns")
    header = f"{'database':<11} {'mode':<20} {'rows':>7} {'weaver rows/s':>14} {'raw rows/s':>11} {'weaver/raw':>11}"
    print(header)
    print("-" * len(header))
    for r in rows:
        print(f"{r['database']:<11} {r['mode']:<20} {r['rows']:>7,} {r['weaver']:>14,.0f} {r['raw']:>11,.0f} "
              f"{r['weaver'] / r['raw']:>10.2f}x")
    print(SIDES)

    if lat:
        print(f"\ncommit -> reader latency on PostgreSQL, {args.latency_events} events appended one per transaction "
              f"5-10 ms apart,\nsubscriber on its own store in the same event loop; poll interval {args.poll_interval:g} s "
              "(the NOTIFY subscriber polls too, as a fallback)")
        header = f"{'reader':<8} {'events':>6} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'max ms':>8}"
        print(header)
        print("-" * len(header))
        for name, values in lat.items():
            ms = [1000 * v for v in values]
            print(f"{name:<8} {len(ms):>6} {percentile(ms, 50):>8.2f} {percentile(ms, 95):>8.2f} "
                  f"{percentile(ms, 99):>8.2f} {max(ms):>8.2f}")
        for name, seen in foreign.items():
            if seen:
                print(f"note: during the {name} run other databases on this server ran {len(seen)} transactions holding "
                      f"an xid, the longest seen {1000 * max(seen.values()):.0f} ms; a reader waits for every older "
                      "transaction in the cluster to end")
            else:
                print(f"note: during the {name} run no other database on this server held an xid (sampled every 20 ms)")

    targets: list[tuple[str, bool | None, str]] = []
    for database in DATABASES:
        ratios = {r["mode"]: r["weaver"] / r["raw"] for r in rows if r["database"] == database}
        ratio, checked = ratios.get(f"batch {BATCH:,}"), ratios.get(f"batch {BATCH:,} + checks")
        targets.append((f"batched appends >= {BATCH_TARGET:.0%} of raw rows/s, {database}",
                        None if ratio is None else ratio >= BATCH_TARGET,
                        "not run" if ratio is None else
                        f"{ratio:.0%}; with the checks in the timing too: {checked:.0%}"))
    p99 = percentile([1000 * v for v in lat["NOTIFY"]], 99) if "NOTIFY" in lat else None
    targets.append((f"NOTIFY p99 <= {NOTIFY_P99_MS:g} ms on loopback", None if p99 is None else p99 <= NOTIFY_P99_MS,
                    "not run" if p99 is None else f"{p99:.2f} ms"))
    width = max(len(label) for label, _, _ in targets)
    print("\nTargets:")
    for label, ok, shown in targets:
        print(f"  {label:<{width}} : {verdict(ok)} ({shown})")
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=1_000, help="single-event appends per round and side")
    ap.add_argument("--batches", type=int, default=20, help=f"batches of {BATCH:,} events per round and side")
    ap.add_argument("--repeat", type=int, default=5, help="rounds (median taken)")
    ap.add_argument("--latency-events", type=int, default=300, help="events per latency run (0 skips latency)")
    ap.add_argument("--poll-interval", type=float, default=1.0,
                    help="the latency subscribers' poll interval in seconds (the store's default: 1.0)")
    ap.add_argument("--databases", default=",".join(DATABASES), help="comma-separated subset of " + ",".join(DATABASES))
    args = ap.parse_args(argv)
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
