"""API server benchmark: the event stream's fan-out latency and the HTTP routes' throughput.

    .venv/bin/python benchmarks/api.py [--clients 100] [--events 300] [--databases sqlite,postgresql]
                                       [--client-procs 2] [--interval-ms 10,30] [--parts sse,http]
                                       [--connections 1,16,64] [--http-seconds 5] [--repeat 3]

SSE fan-out: a real ``weaver serve`` (a subprocess, on a scratch SQLite home or a scratch
PostgreSQL database) with ``--clients`` clients connected to ``/api/v1/events/stream``,
spread over ``--client-procs`` processes of their own (this script re-invoked with
``--clients-worker``), each reading its sockets with asyncio and noting when each event's
``id:`` line arrives. A writer in this process appends ``tick`` events through
:class:`weaver.store.AsyncStore`, one per transaction, 10-30 ms apart, and notes when each
commit returned. An event's latency is the time it reached the *last* client minus the time
its commit returned (``time.monotonic``, one clock for every process on Linux). Target:
p99 <= 100 ms on both databases; each client must also get every event, in order.

HTTP throughput: the same kind of server (this script re-invoked with ``--bench-server``:
``create_app`` on uvicorn with ``weaver serve``'s logging, plus one bare route) holding 100
runs created over the API and completed through the store with a SmaCross backtest's result
(statistics, orders, fills), as a worker completes them. ``wrk`` (Debian's package) drives ``GET /api/v1/runs?page_size=50``
and, interleaved with it, the bare route ``GET /bench/bare``, which returns the same JSON
bytes from memory through the same middleware, with no token check and no database. Each at
1, 16 and 64 connections; requests/s and wrk's p50/p99 latency, medians of ``--repeat``.
Target: the real route >= 50% of the bare route's requests/s. The runs list answers from pages
kept until a run changes or for a second (:mod:`weaver.api.cache`), so under wrk nearly every
request is served from a kept page: a page is read from the store about once a second. What
a request costs when it must read the store is measured apart ("miss"): one client, each GET
right after a bench-only ``POST /bench/drop`` that drops the kept pages, as a run's change does.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
# The editable install registers ``weaver`` as a namespace package when the repo root is not
# on sys.path (it was installed before weaver/__init__.py existed); make the real one win.
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.postgres import PG_ADMIN, admin, foreign_transactions  # noqa: E402

DATABASES = ("sqlite", "postgresql")
PARTS = ("sse", "http")
SSE_P99_MS = 100.0  # commit -> every client, p99 <= 100 ms
RUN_ID = "bench-sse"
T0 = datetime(2026, 12, 7, 14, 30, tzinfo=timezone.utc)


def percentile(values: list[float], p: float) -> float:
    """Return the nearest-rank ``p``-th percentile of ``values``."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("MET" if ok else "NOT MET")


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# -- databases and the server ------------------------------------------------------------------


@asynccontextmanager
async def scratch(database: str) -> AsyncIterator[tuple[Path, str | None]]:
    """Yield ``(WEAVER_HOME, WEAVER_DATABASE_URL or None)`` of an empty store; remove it afterwards."""
    with tempfile.TemporaryDirectory(prefix="weaver-bench-api-") as folder:
        if database == "sqlite":
            yield Path(folder), None
            return
        name = f"weaver_bench_{uuid.uuid4().hex[:12]}"
        await admin(f'CREATE DATABASE "{name}"')
        try:
            yield Path(folder), f"{PG_ADMIN.rsplit('/', 1)[0].replace('postgresql://', 'postgresql+asyncpg://')}/{name}"
        finally:
            for attempt in range(20):  # the shared server may be restarting: give it a few seconds
                try:
                    await admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                    break
                except Exception as exc:
                    if attempt == 19:
                        progress(f"could not drop the scratch database {name}: {exc}")
                    await asyncio.sleep(0.5)


class Serve:
    """``weaver serve --port 0`` in a subprocess, its output in files under its home."""

    def __init__(self, home: Path, database_url: str | None, command: list[str] | None = None) -> None:
        self.home = home
        self.token = secrets.token_urlsafe(24)
        env = {k: v for k, v in os.environ.items() if not k.startswith("WEAVER_")}
        env.update({"WEAVER_HOME": str(home), "WEAVER_TOKEN": self.token, "PYTHONPATH": str(ROOT)})
        if database_url is not None:
            env["WEAVER_DATABASE_URL"] = database_url
        self.out, self.err = (home / "serve.out").open("w"), (home / "serve.err").open("w")
        command = command or [sys.executable, "-m", "weaver", "serve", "--port", "0"]
        self.process = subprocess.Popen(command, cwd=home, env=env, stdout=self.out, stderr=self.err)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            match = re.search(r"serving at http://([^/\s]+)/#token=", (home / "serve.out").read_text())
            if match:
                self.address = match[1]
                return
            if self.process.poll() is not None:
                raise RuntimeError(f"weaver serve exited: {(home / 'serve.err').read_text()[-2000:]}")
            time.sleep(0.05)
        raise TimeoutError("weaver serve did not start")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.out.close()
        self.err.close()


# -- the clients (worker processes) ------------------------------------------------------------


async def _client(address: str, token: str, n_events: int, ready: asyncio.Event, arrivals: list[tuple[str, float]],
                  deadline: float) -> None:
    """One SSE client: connect, then note the arrival time of each ``id:`` until ``n_events`` came."""
    host, port = address.rsplit(":", 1)
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write((f"GET /api/v1/events/stream?run_id={RUN_ID} HTTP/1.1\r\nHost: {address}\r\n"
                  f"Authorization: Bearer {token}\r\nAccept: text/event-stream\r\n\r\n").encode())
    head = await reader.readuntil(b"\r\n\r\n")
    if b" 200 " not in head.split(b"\r\n", 1)[0]:
        raise RuntimeError(f"the stream answered {head!r}")
    ready.set()
    rest = b""
    try:
        while len(arrivals) < n_events:
            data = await asyncio.wait_for(reader.read(1 << 16), max(deadline - time.monotonic(), 0.001))
            now = time.monotonic()
            if not data:
                break
            *lines, rest = (rest + data).split(b"\r\n")
            arrivals.extend((line[4:].decode(), now) for line in lines if line.startswith(b"id: "))
    except asyncio.TimeoutError:
        pass
    finally:
        writer.close()


async def _clients_worker(address: str, token: str, n_clients: int, n_events: int, timeout: float) -> None:
    """Connect ``n_clients``, say ``ready``, then print every client's arrivals as one JSON line."""
    deadline = time.monotonic() + timeout
    readies = [asyncio.Event() for _ in range(n_clients)]
    arrivals: list[list[tuple[str, float]]] = [[] for _ in range(n_clients)]
    tasks = [asyncio.create_task(_client(address, token, n_events, readies[i], arrivals[i], deadline))
             for i in range(n_clients)]
    await asyncio.wait_for(asyncio.gather(*(ready.wait() for ready in readies)), 30)
    print("ready", flush=True)
    await asyncio.gather(*tasks)
    print(json.dumps(arrivals), flush=True)


# -- SSE fan-out -------------------------------------------------------------------------------


async def sse_fan_out(database: str, args: argparse.Namespace) -> dict[str, Any]:
    """Return the per-event latencies to the last client, and whether every client got every event in order."""
    from weaver.store import AsyncStore

    async with scratch(database) as (home, url):
        server = await asyncio.to_thread(Serve, home, url)
        workers: list[subprocess.Popen[str]] = []
        try:
            store = AsyncStore(url or f"sqlite+aiosqlite:///{home / 'weaver.db'}")
            for i in range(5):  # connect and compile untimed
                await store.log.append("tick", {"run_id": "warm-up", "timestamp": T0, "bar_index": i},
                                       run_id="warm-up")
            shares = [args.clients // args.client_procs + (i < args.clients % args.client_procs)
                      for i in range(args.client_procs)]
            timeout = 60 + args.events * args.interval[1] / 1000
            for share in (s for s in shares if s):
                workers.append(subprocess.Popen(
                    [sys.executable, __file__, "--clients-worker", server.address, server.token, str(share),
                     str(args.events), str(timeout)], stdout=subprocess.PIPE, text=True, cwd=ROOT))
            for worker in workers:
                line = await asyncio.to_thread(worker.stdout.readline)  # type: ignore[union-attr]
                if line.strip() != "ready":
                    raise RuntimeError(f"a client worker failed: {line!r}")
            progress(f"  {database}: {sum(shares)} clients connected; {args.events} events ...")
            await asyncio.sleep(0.2)
            rng = random.Random(5)
            committed: dict[str, float] = {}
            direct: dict[str, float] = {}
            # the log's own reader beside the server, polling SQLite as often as the server does: its latency
            # is what any reader of the log gets; the stream's share is the difference
            reader = AsyncStore(url or f"sqlite+aiosqlite:///{home / 'weaver.db'}",
                                poll_interval=0.05 if url is None else 1.0)
            after = await reader.log.head()

            async def subscriber() -> None:
                async for event in reader.log.subscribe(after, run_id=RUN_ID):
                    direct[event.cursor or ""] = time.monotonic()
                    if len(direct) == args.events:
                        return

            listening = asyncio.create_task(subscriber())
            if url is not None:
                while reader.log.listener is None:
                    await asyncio.sleep(0.01)
                await reader.log.listener.wait_connected(10)
            await asyncio.sleep(0.2)
            async with foreign_transactions(url and url.rsplit("/", 1)[1]) as foreign:
                for i in range(args.events):
                    event = await store.log.append("tick", {"run_id": RUN_ID, "timestamp": T0, "bar_index": i},
                                                   run_id=RUN_ID)
                    committed[event.cursor or ""] = time.monotonic()
                    await asyncio.sleep(rng.uniform(*args.interval) / 1000)
                await asyncio.wait_for(listening, 30)
            await reader.close()
            results: list[list[tuple[str, float]]] = []
            for worker in workers:
                out, _ = await asyncio.to_thread(worker.communicate, timeout=timeout)
                results += json.loads(out.splitlines()[-1])
            await store.close()
        finally:
            for worker in workers:
                if worker.poll() is None:
                    worker.kill()
            server.stop()
        expected = list(committed)
        complete = sum(1 for arrivals in results if [cursor for cursor, _ in arrivals] == expected)
        last: dict[str, float] = {}
        every: list[float] = []
        for arrivals in results:
            for cursor, at in arrivals:
                if cursor in committed:
                    last[cursor] = max(last.get(cursor, at), at)
                    every.append(at - committed[cursor])
        latencies = [last[cursor] - t for cursor, t in committed.items() if cursor in last]
        reader_latencies = [direct[cursor] - t for cursor, t in committed.items() if cursor in direct]
        share = [last[cursor] - direct[cursor] for cursor in committed if cursor in last and cursor in direct]
        return {"database": database, "clients": len(results), "events": len(expected), "complete": complete,
                "last": latencies, "every": every, "reader": reader_latencies, "share": share,
                "foreign": dict(foreign)}


def print_sse(rows: list[dict[str, Any]], args: argparse.Namespace) -> list[tuple[str, bool | None, str]]:
    print(f"\nSSE fan-out: commit -> arrival at the LAST of {args.clients} clients (spread over {args.client_procs} "
          f"processes), {args.events} tick events appended\none per transaction {args.interval[0]:g}-"
          f"{args.interval[1]:g} ms apart by a writer in another process than the server; 'all pairs' = every "
          "(client, event)\narrival; 'log reader' = AsyncEventLog.subscribe in the writer's process (the floor any "
          "reader of the log gets: NOTIFY\non PostgreSQL, polls 50 ms apart on SQLite as the server does); "
          "'stream share' = last client - log reader, per event (PostgreSQL)")
    header = (f"{'database':<11} {'latency':<12} {'clients':>7} {'events':>6} {'p50 ms':>8} {'p95 ms':>8} "
              f"{'p99 ms':>8} {'max ms':>8} {'complete':>9}")
    print(header)
    print("-" * len(header))
    targets: list[tuple[str, bool | None, str]] = []
    for row in rows:
        rows_of = [("last", row["last"]), ("all pairs", row["every"]), ("log reader", row["reader"])]
        if row["database"] == "postgresql":  # on SQLite the two poll on timers of their own: no per-event share
            rows_of.append(("stream share", row["share"]))
        for name, values in rows_of:
            ms = [1000 * v for v in values] or [math.nan]
            print(f"{row['database']:<11} {name:<12} {row['clients']:>7} {row['events']:>6} {percentile(ms, 50):>8.1f} "
                  f"{percentile(ms, 95):>8.1f} {percentile(ms, 99):>8.1f} {max(ms):>8.1f} "
                  f"{row['complete']:>4}/{row['clients']:<4}")
    for row in rows:
        if row["database"] != "postgresql":
            continue
        if row["foreign"]:
            print(f"note: meanwhile other databases on this PostgreSQL server ran {len(row['foreign'])} transactions "
                  f"holding an xid, the longest seen {1000 * max(row['foreign'].values()):.0f} ms; a reader of the log "
                  "waits for every older transaction in the cluster to end")
        else:
            print("note: meanwhile no other database on this PostgreSQL server held an xid (sampled every 20 ms)")
    for database in DATABASES:
        row = next((r for r in rows if r["database"] == database), None)
        if row is None:
            targets.append((f"SSE fan-out p99 <= {SSE_P99_MS:g} ms to every client, {database}", None, "not run"))
            continue
        p99 = percentile([1000 * v for v in row["last"]], 99) if row["last"] else math.inf
        whole = row["complete"] == row["clients"] and len(row["last"]) == row["events"]
        floor = percentile([1000 * v for v in row["reader"]], 99) if row["reader"] else math.nan
        targets.append((f"SSE fan-out p99 <= {SSE_P99_MS:g} ms to every client, {database}",
                        p99 <= SSE_P99_MS and whole,
                        f"{p99:.1f} ms; the log's own reader {floor:.1f} ms"
                        + ("" if whole else f"; only {row['complete']} clients got every event")))
    return targets


# -- HTTP throughput ---------------------------------------------------------------------------


HTTP_RATIO = 0.5  # GET /api/v1/runs >= 50% of the bare route's requests/s
BARE = "/bench/bare"
DROP = "/bench/drop"
MISSES = 200


def bench_server() -> None:
    """Serve ``create_app`` as ``weaver serve`` does, plus the bare route (``--bench-server`` mode)."""
    import uvicorn
    from fastapi import Response

    from weaver.api.app import create_app
    from weaver.api.cli import _configure_logging
    from weaver.settings import load_settings

    settings = load_settings()
    _configure_logging(settings.secrets())
    app = create_app(settings)
    cached: list[bytes] = []

    @app.get(BARE, include_in_schema=False)
    async def bare() -> Response:  # the same JSON as the real route, from memory
        if not cached:
            cached.append((settings.home / "bare.json").read_bytes())
        return Response(cached[0], media_type="application/json")

    @app.post(DROP, include_in_schema=False)
    async def drop() -> Response:  # what a run's change does to the runs list's kept pages
        app.state.run_service.pages.changed()
        return Response(status_code=204)

    class Server(uvicorn.Server):
        async def startup(self, sockets: Any = None) -> None:
            await super().startup(sockets)
            port = self.servers[0].sockets[0].getsockname()[1]
            print(f"serving at http://127.0.0.1:{port}/#token=(WEAVER_TOKEN)", flush=True)

    Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_config=None, access_log=False,
                          server_header=False)).run()


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}


def wrk(url: str, token: str, connections: int, seconds: float) -> tuple[float, float, float]:
    """Return requests/s, p50 ms and p99 ms of ``wrk`` against ``url``."""
    command = ["wrk", f"-t{min(2, connections)}", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--latency",
               "-H", f"Authorization: Bearer {token}", url]
    out = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60, check=True).stdout
    if re.search(r"Non-2xx or 3xx responses", out):
        raise RuntimeError(f"wrk saw errors on {url}:\n{out}")
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1])
    found = re.findall(r"^\s+(50|99)(?:\.0+)?%\s+([\d.]+)(us|ms|s|m)\s*$", out, re.M)
    latency = {p: float(v) * _UNITS[u] for p, v, u in found}
    if set(latency) != {"50", "99"}:
        raise RuntimeError(f"wrk's latency distribution not understood:\n{out}")
    return rate, latency["50"], latency["99"]


async def http_database(database: str, args: argparse.Namespace) -> list[dict[str, Any]]:
    import httpx

    rows = []
    async with scratch(database) as (home, url):
        serve = Serve(home, url, [sys.executable, str(Path(__file__).resolve()), "--bench-server"])
        try:
            base = f"http://{serve.address}"
            headers = {"Authorization": f"Bearer {serve.token}"}
            async with httpx.AsyncClient(base_url=base, headers=headers, timeout=60) as client:
                ids = []
                for _ in range(100):
                    created = await client.post("/api/v1/runs", json={
                        "strategy_id": "sma_cross", "mode": "backtest", "symbols": ["GOOG"], "timeframe": "1d",
                        "config": {"params": {"fast": random.randint(5, 20), "slow": random.randint(30, 60)}}})
                    created.raise_for_status()
                    ids.append(created.json()["id"])
                progress(f"  http {database}: completing the 100 runs (statistics, orders, fills)")
                await complete_runs(url or f"sqlite+aiosqlite:///{home / 'weaver.db'}", ids)
                page = await client.get("/api/v1/runs", params={"page_size": 50})
                page.raise_for_status()
                assert len(page.json()["items"]) == 50
                (home / "bare.json").write_bytes(page.content)
                progress(f"  http {database}: {MISSES} GETs that must read the store")
                misses = []
                for _ in range(MISSES):
                    (await client.post(DROP)).raise_for_status()
                    started = time.perf_counter()
                    (await client.get("/api/v1/runs", params={"page_size": 50})).raise_for_status()
                    misses.append(1000 * (time.perf_counter() - started))
                rows.append({"database": database, "connections": 1, "route": "miss", "rate": 1000 / _median(misses),
                             "p50": _median(misses), "p99": sorted(misses)[math.ceil(0.99 * len(misses)) - 1]})
            real_url, bare_url = f"{base}/api/v1/runs?page_size=50", f"{base}{BARE}"
            for connections in args.connections:
                measured: dict[str, list[tuple[float, float, float]]] = {"runs": [], "bare": []}
                for _ in range(args.repeat):
                    for name, target in (("runs", real_url), ("bare", bare_url)):
                        progress(f"  http {database}: {name} at {connections} connections")
                        measured[name].append(await asyncio.to_thread(wrk, target, serve.token, connections,
                                                                      args.http_seconds))
                for name, results in measured.items():
                    rows.append({"database": database, "connections": connections, "route": name,
                                 "rate": _median([r[0] for r in results]), "p50": _median([r[1] for r in results]),
                                 "p99": _median([r[2] for r in results])})
        finally:
            serve.stop()
    return rows


async def complete_runs(url: str, ids: list[str]) -> None:
    """Complete each run with one SmaCross backtest's result, as a worker would: a list of finished runs."""
    import weaver as wv
    from weaver.core.runs import RunAction
    from weaver.store import AsyncStore
    from weaver.store.run_records import record_backtest, transition_run
    from weaver.strategy.examples import SmaCross

    result = wv.backtest(SmaCross, wv.load_bars(ROOT / "data" / "GOOG.csv"))
    async with AsyncStore(url) as store:
        for run_id in ids:
            async with store.unit_of_work() as uow:
                await transition_run(uow, run_id, RunAction.START)
            async with store.unit_of_work() as uow:
                await record_backtest(uow, run_id, result)


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def http_part(rows: list[dict[str, Any]]) -> list[tuple[str, bool | None, str]]:
    """Print the HTTP table and return its targets as ``(label, ok, shown)``."""
    print("\nGET /api/v1/runs (100 completed runs stored, page of 50) vs the bare route (same JSON from memory), wrk")
    print(f"{'database':<11} {'conns':>5} {'route':<6} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'runs/bare':>10}")
    print("-" * 62)
    targets = []
    for row in rows:
        bare = next((r for r in rows if r["database"] == row["database"] and r["connections"] == row["connections"]
                     and r["route"] == "bare"), None)
        if bare is None or row["route"] == "miss":
            print(f"{row['database']:<11} {row['connections']:>5} {row['route']:<6} {row['rate']:>9,.0f} "
                  f"{row['p50']:>8.2f} {row['p99']:>8.2f} {'':>10}  (sequential, after the pages were dropped)")
            continue
        ratio = row["rate"] / bare["rate"]
        shown = f"{ratio:.2f}" if row["route"] == "runs" else ""
        print(f"{row['database']:<11} {row['connections']:>5} {row['route']:<6} {row['rate']:>9,.0f} "
              f"{row['p50']:>8.2f} {row['p99']:>8.2f} {shown:>10}")
        if row["route"] == "runs":
            targets.append((f"HTTP runs >= 50% of bare req/s, {row['database']}, {row['connections']} conns",
                            ratio >= HTTP_RATIO, f"{ratio:.0%}"))
    return targets


# -- report ------------------------------------------------------------------------------------


async def run(args: argparse.Namespace) -> int:
    databases = [d for d in DATABASES if d in args.databases.split(",")]
    if set(args.databases.split(",")) - set(DATABASES) or not databases:
        raise SystemExit(f"--databases {args.databases!r}: choose from {', '.join(DATABASES)}")
    parts = args.parts.split(",")
    if set(parts) - set(PARTS):
        raise SystemExit(f"--parts {args.parts!r}: choose from {', '.join(PARTS)}")
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    targets: list[tuple[str, bool | None, str]] = []
    if "sse" in parts:
        rows = [await sse_fan_out(database, args) for database in databases]
        targets += print_sse(rows, args)
    if "http" in parts:
        if shutil.which("wrk") is None:
            raise SystemExit("the HTTP part needs wrk: apt-get install wrk")
        rows = [row for database in databases for row in await http_database(database, args)]
        targets += http_part(rows)
    width = max(len(label) for label, _, _ in targets)
    print("\nTargets:")
    for label, ok, shown in targets:
        print(f"  {label:<{width}} : {verdict(ok)} ({shown})")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--bench-server"]:
        bench_server()
        return 0
    if argv[:1] == ["--clients-worker"]:
        address, token, clients, events, timeout = argv[1:6]
        asyncio.run(_clients_worker(address, token, int(clients), int(events), float(timeout)))
        return 0
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, default=100, help="SSE clients connected at once")
    ap.add_argument("--client-procs", type=int, default=2, help="processes the clients are spread over")
    ap.add_argument("--events", type=int, default=300, help="events appended while they listen")
    ap.add_argument("--interval-ms", default="10,30", help="the writer's pause between events: min,max ms")
    ap.add_argument("--databases", default=",".join(DATABASES), help="comma-separated subset of " + ",".join(DATABASES))
    ap.add_argument("--parts", default=",".join(PARTS), help="comma-separated subset of " + ",".join(PARTS))
    ap.add_argument("--connections", default="1,16,64", help="wrk's connection counts")
    ap.add_argument("--http-seconds", type=int, default=5, help="seconds of each wrk run")
    ap.add_argument("--repeat", type=int, default=3, help="wrk runs per route and connection count (median)")
    args = ap.parse_args(argv)
    args.connections = [int(c) for c in args.connections.split(",")]
    low, _, high = args.interval_ms.partition(",")
    args.interval = (float(low), float(high or low))
    args.client_procs = max(1, min(args.client_procs, args.clients))
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
