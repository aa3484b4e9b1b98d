"""Worker processes: an answer, an exception, a hang, a crash, and the next call still works."""

from __future__ import annotations

import asyncio
import math
import os
import sys
import threading
import time

import pytest

from weaver.api.workers import WorkerDiedError, WorkerError, WorkerPool, WorkerTimeoutError
from weaver.strategy.source import StrategySourceError, describe_source


def test_calls_answer_raise_hang_and_crash_and_the_pool_keeps_serving() -> None:
    async def scenario() -> dict[str, object]:
        pool = WorkerPool(max_workers=2)
        seen: dict[str, object] = {}
        seen["sqrt"] = await pool.call(math.sqrt, 16.0, timeout=30)
        with pytest.raises(ValueError, match="math domain error"):
            await pool.call(math.sqrt, -1.0, timeout=30)
        started = time.perf_counter()
        with pytest.raises(WorkerTimeoutError, match=r"within 0.5 s") as hung:
            await pool.call(time.sleep, 60, timeout=0.5)
        seen["hang_s"] = time.perf_counter() - started
        seen["timeout"] = hung.value.timeout
        with pytest.raises(WorkerDiedError, match="exit code 7") as died:
            await pool.call(os._exit, 7, timeout=30)
        seen["exitcode"] = died.value.exitcode
        with pytest.raises(WorkerError, match="SystemExit: 3"):
            await pool.call(sys.exit, 3, timeout=30)
        with pytest.raises(WorkerError, match="cannot be sent back"):
            await pool.call(threading.Lock, timeout=30)
        seen["after"] = await pool.call(describe_source, "import weaver as wv\nclass S(wv.Strategy):\n    n: int = 3\n",
                                        timeout=30)
        with pytest.raises(StrategySourceError, match="line 1"):
            await pool.call(describe_source, "x = (", timeout=30)
        seen["calls"], seen["failures"] = pool.calls, pool.failures
        await pool.close()
        with pytest.raises(WorkerError, match="closed"):
            await pool.call(math.sqrt, 1.0, timeout=30)
        return seen

    seen = asyncio.run(scenario())

    assert seen["sqrt"] == 4.0
    assert seen["timeout"] == 0.5 and seen["hang_s"] < 5  # type: ignore[operator]
    assert seen["exitcode"] == 7
    assert seen["after"].class_name == "S"  # type: ignore[attr-defined]
    assert (seen["calls"], seen["failures"]) == (8, 4)


def test_calls_run_side_by_side_up_to_max_workers_and_never_on_the_loop() -> None:
    async def scenario() -> tuple[float, float, list[float]]:
        pool = WorkerPool(max_workers=2)
        await pool.call(math.sqrt, 1.0, timeout=30)  # the forkserver is warm
        ticks: list[float] = []

        async def tick() -> None:  # the loop stays free while the workers sleep
            for _ in range(10):
                ticks.append(time.perf_counter())
                await asyncio.sleep(0.05)

        started = time.perf_counter()
        await asyncio.gather(tick(), *(pool.call(time.sleep, 0.4, timeout=30) for _ in range(4)))
        elapsed = time.perf_counter() - started
        started = time.perf_counter()
        for _ in range(5):
            await pool.call(math.sqrt, 1.0, timeout=30)
        per_call = (time.perf_counter() - started) / 5
        return elapsed, per_call, ticks

    elapsed, per_call, ticks = asyncio.run(scenario())

    assert 0.8 <= elapsed < 2.0  # four 0.4 s calls, two at a time
    assert max(b - a for a, b in zip(ticks, ticks[1:])) < 0.3
    assert per_call < 0.5, per_call


def test_a_killed_forkserver_is_started_again() -> None:
    from multiprocessing import forkserver

    async def scenario() -> float:
        pool = WorkerPool(max_workers=1)
        await pool.call(math.sqrt, 1.0, timeout=30)
        pid = forkserver._forkserver._forkserver_pid
        os.kill(pid, 9)
        time.sleep(0.2)
        return await pool.call(math.sqrt, 9.0, timeout=30)

    assert asyncio.run(scenario()) == 3.0


def test_fork_is_refused() -> None:
    with pytest.raises(WorkerError, match="fork"):
        WorkerPool(method="fork")
