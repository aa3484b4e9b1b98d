"""The runs list answers from kept pages, and is never staler than what its client could know.

- The server's own writes: a run created, started, stopped or deleted through the API is in
  (or out of) the very next list, whatever pages were kept before.
- The event stream: a run another process wrote is listed once its event came on the stream.
- Nothing tells of a run deleted by another process: the list shows it gone once the page
  it was on is a second old (the test allows slack for a busy machine).

Against a real server on SQLite and on PostgreSQL, with the same queries asked before every
change, so each answer comes from a kept page unless the change dropped it.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx

from tests.integration.api.runs_helpers import (  # noqa: F401 - module_server and module_client are fixtures
    module_client,
    module_server,
    store_url,
    wait_for_ticks,
)
from tests.integration.api.server import Server
from tests.integration.api.sse import SseStream

RUNS = "/api/v1/runs"
SPEC = {"strategy_id": "sma_cross", "mode": "backtest", "symbols": ["GOOG"], "timeframe": "1d",
        "start_time": "2006-01-01T00:00:00Z", "end_time": "2012-12-31T00:00:00Z"}
QUERIES: list[dict[str, Any]] = [{}, {"page_size": 50}, {"status": "pending"}, {"status": "running"},
                                 {"status": "stopped"}, {"strategy": "slow"}, {"mode": "backtest", "page_size": 1}]


def listed(client: httpx.Client) -> dict[str, set[str]]:
    """Ask every query of QUERIES; return the run ids each lists."""
    found = {}
    for query in QUERIES:
        answer = client.get(RUNS, params=query)
        assert answer.status_code == 200, answer.text
        found[str(query)] = {run["id"] for run in answer.json()["items"]}
    return found


def test_the_list_shows_the_servers_own_writes_at_once(server: Server, client: httpx.Client) -> None:
    before = listed(client)  # every query's page kept
    run_id = client.post(RUNS, json={**SPEC, "strategy_id": "slow"}).json()["id"]
    created = listed(client)
    assert client.post(f"{RUNS}/{run_id}/start").status_code == 200
    started = listed(client)
    wait_for_ticks(store_url(server), run_id)
    assert client.post(f"{RUNS}/{run_id}/stop").status_code == 200
    stopped = listed(client)
    assert client.delete(f"{RUNS}/{run_id}").status_code == 204
    deleted = listed(client)

    def having(found: dict[str, set[str]]) -> set[str]:
        return {query for query, ids in found.items() if run_id in ids}

    assert having(before) == set()
    assert having(created) == {"{}", "{'page_size': 50}", "{'status': 'pending'}", "{'strategy': 'slow'}",
                               "{'mode': 'backtest', 'page_size': 1}"}
    assert having(started) == {"{}", "{'page_size': 50}", "{'status': 'running'}", "{'strategy': 'slow'}",
                               "{'mode': 'backtest', 'page_size': 1}"}
    assert having(stopped) == {"{}", "{'page_size': 50}", "{'status': 'stopped'}", "{'strategy': 'slow'}",
                               "{'mode': 'backtest', 'page_size': 1}"}
    assert having(deleted) == set()


async def _create_elsewhere(url: str, n: int) -> list[str]:
    """Write ``n`` runs through a store of this process's own, as a notebook or another server would."""
    from weaver.store import AsyncStore
    from weaver.store.run_records import create_run, find_strategy

    async with AsyncStore(url) as store:
        strategy = await find_strategy(store, "sma_cross")
        ids = []
        for _ in range(n):
            async with store.unit_of_work() as uow:
                run = await create_run(uow, strategy=strategy, mode="backtest", symbols=["GOOG"], timeframe="1d",
                                       spec={"params": {}, "config": {}})
            ids.append(run.id)
            await asyncio.sleep(0.05)
        return ids


def test_a_run_written_elsewhere_is_listed_once_its_event_came_on_the_stream(server: Server,
                                                                           client: httpx.Client) -> None:
    url = store_url(server)
    with SseStream(server, params={"type": "run.created"}) as stream:
        listed(client)
        ids = asyncio.run(_create_elsewhere(url, 10))
        for run_id in ids:
            while True:
                frame = stream.next(timeout=10)
                assert frame is not None, f"run.created of {run_id} never came"
                if frame.data and frame.envelope["run_id"] == run_id:
                    break
            found = listed(client)  # right after the event: from pages kept a moment ago, unless dropped
            assert run_id in found["{}"] and run_id in found["{'status': 'pending'}"]


def test_a_run_deleted_elsewhere_is_gone_from_the_list_within_a_second(server: Server, client: httpx.Client) -> None:
    from weaver.store import AsyncStore
    from weaver.store.run_records import delete_run

    run_id = client.post(RUNS, json=SPEC).json()["id"]
    assert run_id in listed(client)["{}"]

    async def delete() -> None:
        async with AsyncStore(store_url(server)) as store, store.unit_of_work() as uow:
            await delete_run(uow, run_id)

    asyncio.run(delete())
    deleted_at = time.monotonic()
    while run_id in listed(client)["{}"]:  # a page is kept for a second at most; the rest is slack for a busy machine
        assert time.monotonic() - deleted_at < 5, "a run deleted elsewhere was still listed after 5 s"
        time.sleep(0.05)
    assert time.monotonic() - deleted_at < 2.5
