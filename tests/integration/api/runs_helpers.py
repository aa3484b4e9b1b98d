"""What the runs tests share: registered strategies, a seeded catalog, polling a run, reading its events."""

from __future__ import annotations

import inspect
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import weaver.strategy.examples as examples
from tests.integration.api.server import ROOT, Server, make_server
from tests.integration.store.conftest import pg_database

GOOG = ROOT / "data" / "GOOG.csv"

#: a strategy that sleeps on every bar: a backtest that runs long enough to be stopped or killed
SLOW = '''
import time

import weaver as wv


class Slow(wv.Strategy):
    """Buy once, then sleep ``pause`` seconds on every bar."""

    pause: float = 0.005

    def next(self):
        if not self.position:
            self.buy(1)
        time.sleep(self.pause)
'''


#: a strategy whose code fails at its 100th bar
BROKEN = '''import weaver as wv

class Broken(wv.Strategy):
    def next(self):
        if len(self.data.close) == 100:
            1 / 0
'''


def schema_of(cls: type) -> dict[str, Any]:
    """Return a strategy class's parameters as the registry keeps them: JSON Schema, titled with the class."""
    return cls.params_schema()  # type: ignore[attr-defined, no-any-return]


def store_url(server: Server) -> str:
    """Return the store URL the server uses."""
    return server.env.get("WEAVER_DATABASE_URL") or f"sqlite+aiosqlite:///{server.home / 'weaver.db'}"


def prepared_server(home: Path, database_url: str | None) -> Server:
    """Return a server (not started) whose store holds sma_cross and slow and whose catalog holds GOOG 1d."""
    import weaver as wv
    from weaver.catalog import Catalog
    from weaver.store import Store

    server = make_server(home, database_url)
    Catalog(home / "catalog").write(wv.load_bars(GOOG), symbol="GOOG", timeframe="1d")
    slow_namespace: dict[str, Any] = {}
    exec(compile(SLOW, "<slow>", "exec"), slow_namespace)  # noqa: S102 - the test's own source
    with Store(store_url(server)) as store:
        store.upgrade()
        store.register_strategy("sma_cross", inspect.getsource(examples), schema_of(examples.SmaCross))
        store.register_strategy("slow", SLOW, schema_of(slow_namespace["Slow"]))
        store.register_strategy("broken", BROKEN, {})
    return server


@pytest.fixture(name="server", scope="module",
                params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def module_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """``server`` for a whole module: one started :func:`prepared_server` per database (import it to use it)."""
    urls = iter([None]) if request.param == "sqlite" else pg_database()
    for url in urls:
        server = prepared_server(tmp_path_factory.mktemp(request.param), url).start()
        try:
            yield server
        finally:
            server.stop()


@pytest.fixture(name="client", scope="module")
def module_client(server: Server) -> Iterator[httpx.Client]:
    """``client`` of the module's server (import it with :func:`module_server`)."""
    with server.client() as client:
        yield client


def wait_for(client: httpx.Client, run_id: str, statuses: set[str], timeout: float = 60) -> dict[str, Any]:
    """Poll the run until its status is one of ``statuses``; return it."""
    deadline = time.monotonic() + timeout
    while True:
        run = client.get(f"/api/v1/runs/{run_id}").json()
        if run["status"] in statuses:
            return run
        if time.monotonic() > deadline:
            raise TimeoutError(f"run {run_id} is still {run['status']} after {timeout} s")
        time.sleep(0.05)


def worker_pid(client: httpx.Client, run_id: str, timeout: float = 30) -> int:
    """Wait for the run's log to name its worker process; return the pid."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in client.get(f"/api/v1/runs/{run_id}/logs").json()["items"]:
            found = re.search(r"pid (\d+)", line["message"])
            if found:
                return int(found[1])
        time.sleep(0.05)
    raise TimeoutError(f"run {run_id}'s worker never started")


def wait_for_ticks(url: str, run_id: str, n: int = 1, timeout: float = 30) -> None:
    """Wait until the run has told of ``n`` ticks: its worker is inside the bar loop."""
    deadline = time.monotonic() + timeout
    while len(events(url, run_id, "tick")) < n:
        if time.monotonic() > deadline:
            raise TimeoutError(f"run {run_id} told of no tick in {timeout} s")
        time.sleep(0.1)


def events(url: str, run_id: str, *types: str, until: str | None = None, timeout: float = 20) -> list[Any]:
    """Return the run's events from the store's log, of ``types`` if given, once one of type ``until`` is there.

    On PostgreSQL a reader sees an event only once every transaction older than it has ended,
    anywhere in the cluster (DESIGN §5): another session's open transaction delays it.
    """
    from weaver.store import Store

    deadline = time.monotonic() + timeout
    with Store(url) as store:
        while True:
            found = store.log.read(None, 1000, run_id=run_id, types=types or None)
            if until is None or any(event.type == until for event in found) or time.monotonic() > deadline:
                return found
            time.sleep(0.1)


def alive(pid: int) -> bool:
    """Return whether process ``pid`` exists (a zombie counts as gone: it runs nothing)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        return not Path(f"/proc/{pid}/stat").read_text().split(") ")[1].startswith("Z")
    except (FileNotFoundError, IndexError):
        return False


def wait_gone(pid: int, timeout: float = 10) -> bool:
    """Wait until process ``pid`` is gone; return whether it went."""
    deadline = time.monotonic() + timeout
    while alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True
