"""A user's story over HTTP, on SQLite and PostgreSQL: register a strategy, create a backtest run,
start it, follow the event stream until ``run.completed``, then read the orders and stats."""

from __future__ import annotations

import pandas as pd
import pytest

import weaver as wv
from tests.integration.api.server import ROOT, Server
from tests.integration.api.sse import SseStream

SOURCE = '''\
import weaver as wv
from weaver.indicators import crossover, sma


class Crossing(wv.Strategy):
    """Long while the fast average is above the slow one."""

    fast: int = wv.param(10, low=2, high=100)
    slow: int = wv.param(30, low=5, high=300)

    def init(self):
        self.f = self.indicator(sma, self.data.close, self.fast)
        self.s = self.indicator(sma, self.data.close, self.slow)

    def next(self):
        if crossover(self.f, self.s):
            self.buy(qty=100)
        elif crossover(self.s, self.f):
            self.close()
'''

pytestmark = pytest.mark.slow


def test_register_create_start_follow_the_stream_until_completed_and_read_the_result(server: Server) -> None:
    with server.client() as client:
        registered = client.post("/api/v1/strategies", json={"name": "crossing", "source": SOURCE})
        assert registered.status_code == 201, registered.text
        strategy = registered.json()
        assert strategy["params_schema"]["properties"]["fast"]["minimum"] == 2

        created = client.post("/api/v1/runs", json={
            "strategy_id": "crossing", "mode": "backtest", "symbols": ["GOOG"], "timeframe": "1d",
            "config": {"cash": "100000", "params": {"fast": 12, "slow": 40}}})
        assert created.status_code == 201, created.text
        run = created.json()
        assert run["status"] == "pending"

        with SseStream(server, params={"run_id": run["id"]}) as stream:
            assert stream.status == 200
            started = client.post(f"/api/v1/runs/{run['id']}/start")
            assert started.status_code == 200, started.text
            seen: list[str] = []
            while not seen or seen[-1] not in ("run.completed", "run.error"):
                (frame,) = stream.events(1, timeout=120)
                assert frame.id == frame.envelope["cursor"] and frame.event == frame.envelope["type"]
                seen.append(frame.event)

        assert seen[0] == "run.started" and seen[-1] == "run.completed", seen
        assert "tick" in seen
        done = client.get(f"/api/v1/runs/{run['id']}").json()
        orders = client.get("/api/v1/orders", params={"run_id": run["id"], "page_size": 500}).json()

    expected = wv.backtest(_crossing(), wv.load_bars(ROOT / "data" / "GOOG.csv"), fast=12, slow=40)
    assert done["status"] == "completed"
    assert orders["total"] == len(expected.orders)
    assert [o["client_order_id"] for o in orders["items"]] == list(expected.orders["client_order_id"])
    stats = done["stats"]
    assert stats["total_trades"] == expected.stats["n_trades"]
    assert float(stats["total_pnl"]) == pytest.approx(expected.equity.iloc[-1] - expected.equity.iloc[0], abs=0.01)
    numbers = {k: v for k, v in expected.stats.items() if isinstance(v, (int, float)) and not pd.isna(v)}
    assert numbers and {k: stats["values"][k] for k in numbers} == pytest.approx(numbers, rel=1e-12)


def _crossing() -> type:
    namespace: dict = {}
    exec(compile(SOURCE, "<crossing>", "exec"), namespace)  # noqa: S102 - the test's own source
    return namespace["Crossing"]
