"""No run stays "running" forever: a server SIGKILLed mid-backtest takes its worker with it, and when it
starts again it settles the run as an error saying why; a server shut down cleanly ends its workers
and settles their runs before it exits. On SQLite and PostgreSQL."""

from __future__ import annotations

import signal
from pathlib import Path

from tests.integration.api.runs_helpers import (
    events,
    prepared_server,
    store_url,
    wait_for_ticks,
    wait_gone,
    worker_pid,
)
from tests.integration.api.test_runs import SPEC

SLOW = {**SPEC, "strategy_id": "slow", "config": {}}


def test_a_run_of_a_killed_server_is_settled_as_an_error_when_it_starts_again(tmp_path: Path,
                                                                           database_url: str | None) -> None:
    server = prepared_server(tmp_path, database_url).start()
    try:
        with server.client() as client:
            running = client.post("/api/v1/runs", json=SLOW).json()["id"]
            waiting = client.post("/api/v1/runs", json=SLOW).json()["id"]
            client.post(f"/api/v1/runs/{running}/start")
            pid = worker_pid(client, running)
            wait_for_ticks(store_url(server), running)

        server.stop(signal.SIGKILL)
        orphan_gone = wait_gone(pid)
        server.start()

        with server.client() as client:
            settled = client.get(f"/api/v1/runs/{running}").json()
            untouched = client.get(f"/api/v1/runs/{waiting}").json()
    finally:
        server.stop()

    assert orphan_gone, f"worker {pid} outlived its server"
    assert settled["status"] == "error" and settled["stopped_at"]
    assert "restart" in settled["error"] and "worker" in settled["error"]
    assert untouched["status"] == "pending"
    told = [e for e in events(store_url(server), running, until="run.error") if e.type.startswith("run.")]
    assert [e.type for e in told] == ["run.created", "run.started", "run.error"]
    assert told[-1].payload["reason"] == settled["error"]


def test_a_server_shut_down_cleanly_ends_its_workers_and_settles_their_runs(tmp_path: Path,
                                                                          database_url: str | None) -> None:
    server = prepared_server(tmp_path, database_url).start()
    try:
        with server.client() as client:
            run_id = client.post("/api/v1/runs", json=SLOW).json()["id"]
            client.post(f"/api/v1/runs/{run_id}/start")
            pid = worker_pid(client, run_id)
        server.stop(signal.SIGTERM)
        gone = wait_gone(pid, timeout=1)
    finally:
        server.stop()

    assert gone, f"worker {pid} outlived its server's shutdown"
    told = [e for e in events(store_url(server), run_id, until="run.error") if e.type.startswith("run.")]
    assert [e.type for e in told] == ["run.created", "run.started", "run.error"]
    assert "shut down" in told[-1].payload["reason"]
