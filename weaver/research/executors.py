"""Where a sweep's combinations run: in this process, on local processes, or on Dask.

Every executor takes the same job, bars and items and returns the same rows; they differ only
in where the work happens. The bars travel to each worker once (a process pool's
initializer, or one broadcast ``scatter`` on Dask), and combinations go in batches sized so
that scheduling stays a small fraction of the compute.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from typing import Any, Protocol

from weaver.core.errors import BacktestError, ParameterError
from weaver.research._work import Item, Job, run_items

Rows = list[dict[str, Any]]
OnRows = Callable[[Rows], None]


class Executor(Protocol):
    """Runs batches of sweep items; calls ``on_rows`` as each batch finishes."""

    name: str
    workers: int
    #: seconds one batch should take at least, so per-task overhead stays small
    target_batch_seconds: float

    def run(self, job: Job, frames: dict[str, Any], items: list[Item], on_rows: OnRows,
            seconds_per_item: float | None = None) -> dict[str, Any]:
        """Run ``items``, report rows through ``on_rows``; return run facts (batches, restarts, …).

        ``seconds_per_item`` is a known cost of one item, for sizing batches; a sweep passes
        none, and the executor times its first items itself.
        """
        ...


def batches(items: list[Item], workers: int, seconds_per_item: float | None, target_seconds: float) -> list[list[Item]]:
    """Split ``items`` into batches of about ``target_seconds`` each, at least ~4 per worker when possible."""
    n = len(items)
    if n == 0:
        return []
    per_item = seconds_per_item if seconds_per_item and seconds_per_item > 0 else target_seconds
    size = max(1, math.ceil(target_seconds / per_item))
    size = min(size, max(1, math.ceil(n / (4 * max(workers, 1)))))  # keep the workers balanced
    return [items[i:i + size] for i in range(0, n, size)]


def _first_batches(items: list[Item], workers: int, seconds_per_item: float | None,
                   target_seconds: float) -> tuple[list[list[Item]], list[Item] | None]:
    """Return the batches to start with, and the items to batch once the first comes back.

    Not timed yet: one combination per worker, timed where it runs, and the rest later in
    batches sized by that timing (no serial probe in this process). Timed: all batches now.
    """
    if seconds_per_item is None and len(items) > workers:
        return [[item] for item in items[:workers]], items[workers:]
    return batches(items, workers, seconds_per_item, target_seconds), None


class InProcessExecutor:
    """Run every combination here, one after another (no parallelism; easiest to debug)."""

    name = "in-process"
    workers = 1
    target_batch_seconds = 0.05

    def run(self, job: Job, frames: dict[str, Any], items: list[Item], on_rows: OnRows,
            seconds_per_item: float | None = None) -> dict[str, Any]:
        compute = 0.0
        for batch in batches(items, 1, seconds_per_item, self.target_batch_seconds):
            rows, spent = run_items(job, frames, batch)
            compute += spent
            on_rows(rows)
        return {"compute_seconds": compute}

    def __repr__(self) -> str:
        return "InProcessExecutor()"


class ProcessExecutor:
    """Run combinations on local worker processes (default: one per core).

    The bars reach each worker once, through the pool's initializer. When a worker dies
    (killed, out of memory), the pool breaks; the batches it had not returned run again on
    a fresh pool, up to ``max_restarts`` times, after which their rows record the failure.

    Parameters
    ----------
    workers
        Number of processes (default ``os.cpu_count()``).
    max_restarts
        How many fresh pools to start after worker deaths before giving up on the rest.
    mp_context
        A :mod:`multiprocessing` start method (``"fork"``, ``"forkserver"``, ``"spawn"``).
        When None: ``forkserver`` if this process runs other threads (a notebook kernel, a
        server), which must not be forked, else the platform's default. Strategy classes
        defined in a notebook work with any of them (they travel by value, with cloudpickle).
    """

    name = "processes"
    target_batch_seconds = 0.1

    def __init__(self, workers: int | None = None, *, max_restarts: int = 3, mp_context: str | None = None) -> None:
        if workers is not None and (not isinstance(workers, int) or workers < 1):
            raise ParameterError(f"workers must be a positive int, got {workers!r}")
        self.workers = workers or os.cpu_count() or 1
        self.max_restarts = max_restarts
        self.mp_context = mp_context

    def run(self, job: Job, frames: dict[str, Any], items: list[Item], on_rows: OnRows,
            seconds_per_item: float | None = None) -> dict[str, Any]:
        import multiprocessing
        from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
        from concurrent.futures.process import BrokenProcessPool

        import cloudpickle

        blob = cloudpickle.dumps(job)
        method = self.mp_context or _safe_start_method()
        ctx = multiprocessing.get_context(method)
        pending, later = _first_batches(items, self.workers, seconds_per_item, self.target_batch_seconds)
        restarts, compute, lost = 0, 0.0, 0
        while pending:
            failed: list[list[Item]] = []
            pool = ProcessPoolExecutor(min(self.workers, len(pending)), mp_context=ctx,
                                       initializer=_init_worker, initargs=(blob, frames))
            try:
                live = {pool.submit(_run_in_worker, batch): batch for batch in pending}
                while live:
                    done, _ = wait(live, return_when=FIRST_COMPLETED)
                    for fut in done:
                        batch = live.pop(fut)
                        try:
                            rows, spent = fut.result()
                        except BrokenProcessPool:
                            failed.append(batch)
                            continue
                        compute += spent
                        on_rows(rows)
                        if later is not None:  # the first timing sizes the rest
                            for rest in batches(later, self.workers, spent / len(batch), self.target_batch_seconds):
                                live[pool.submit(_run_in_worker, rest)] = rest
                            later = None
            finally:
                pool.shutdown(wait=True, cancel_futures=True)
            if later is not None:  # the pool broke before any batch came back
                failed.extend(batches(later, self.workers, None, self.target_batch_seconds))
                later = None
            if not failed:
                break
            restarts += 1
            if restarts > self.max_restarts:
                rows = [{"_pos": pos, "error": f"BacktestError: the worker process died {restarts} times running this batch"}
                        for batch in failed for pos, _, _ in batch]
                lost = len(rows)
                on_rows(rows)
                break
            # halve the lost batches so a combination that kills its worker is isolated
            pending = [half for batch in failed for half in _halves(batch)]
        return {"compute_seconds": compute, "restarts": restarts, "lost": lost,
                "start_method": ctx.get_start_method()}

    def __repr__(self) -> str:
        return f"ProcessExecutor(workers={self.workers})"


def _halves(batch: list[Item]) -> list[list[Item]]:
    if len(batch) < 2:
        return [batch]
    mid = len(batch) // 2
    return [batch[:mid], batch[mid:]]


def _safe_start_method() -> str | None:
    """Return how to start workers from this process: never by forking a threaded one.

    A fork copies only the calling thread, with any lock another thread held (a notebook
    kernel, a server and Dask all run threads), so the child can hang on it; ``forkserver``
    forks from a clean single-threaded server instead. A process without other threads
    keeps the platform's default (``fork`` on Linux: the fastest to start).
    """
    import threading

    return "forkserver" if threading.active_count() > 1 else None


def _init_worker(blob: bytes, frames: dict[str, Any]) -> None:
    from weaver.research._work import init_worker

    init_worker(blob, frames)


def _run_in_worker(batch: list[Item]) -> tuple[Rows, float]:
    from weaver.research._work import run_in_worker

    return run_in_worker(batch)


class DaskExecutor:
    """Run combinations on a Dask ``distributed`` cluster.

    The bars are scattered to every worker once (``broadcast=True``); combinations go in
    batches of at least ``target_batch_seconds`` of compute each, so the scheduler's per-task
    overhead (about a millisecond) stays well under 10% of the work. Dask itself re-runs the
    tasks of a worker that dies.

    Parameters
    ----------
    client
        A ``distributed.Client``, or a scheduler address such as ``"tcp://10.0.0.5:8786"``
        (a client is then opened and closed around each sweep).
    connect_timeout
        How long to try reaching a scheduler given by address.
    """

    name = "dask"
    target_batch_seconds = 0.5

    def __init__(self, client: Any, *, connect_timeout: str = "10s") -> None:
        self.connect_timeout = connect_timeout
        self._client = client if not isinstance(client, str) else None
        self.address = client if isinstance(client, str) else None

    @property
    def workers(self) -> int:  # type: ignore[override]
        if self._client is None:
            return 1
        return max(1, sum(w.get("nthreads", 1) for w in self._client.scheduler_info().get("workers", {}).values()))

    def run(self, job: Job, frames: dict[str, Any], items: list[Item], on_rows: OnRows,
            seconds_per_item: float | None = None) -> dict[str, Any]:
        from distributed import Client

        if self._client is not None:
            return self._run(self._client, job, frames, items, on_rows, seconds_per_item)
        try:
            client = Client(self.address, timeout=self.connect_timeout)
        except OSError as exc:
            raise BacktestError(f"cannot reach the Dask scheduler at {self.address!r}: {exc}") from exc
        with client:
            self._client = client
            try:
                return self._run(client, job, frames, items, on_rows, seconds_per_item)
            finally:
                self._client = None

    def _run(self, client: Any, job: Job, frames: dict[str, Any], items: list[Item], on_rows: OnRows,
             seconds_per_item: float | None) -> dict[str, Any]:
        import cloudpickle
        from distributed import as_completed

        from weaver.research._work import run_in_dask

        started = time.perf_counter()
        [shared] = client.scatter([frames], broadcast=True, hash=False)
        blob = cloudpickle.dumps(job)
        workers = self.workers
        first, later = _first_batches(items, workers, seconds_per_item, self.target_batch_seconds)
        futures = [client.submit(run_in_dask, blob, shared, batch, pure=False) for batch in first]
        count, compute = len(futures), 0.0
        done = as_completed(futures)
        try:
            for fut in done:
                rows, spent = fut.result()
                compute += spent
                on_rows(rows)
                if later is not None:  # the first timing sizes the rest
                    more = [client.submit(run_in_dask, blob, shared, batch, pure=False)
                            for batch in batches(later, workers, spent / len(rows), self.target_batch_seconds)]
                    futures += more
                    count += len(more)
                    done.update(more)
                    later = None
        finally:
            client.cancel(futures + [shared])
        wall = time.perf_counter() - started
        return {"compute_seconds": compute, "batches": count, "wall_seconds": wall}

    def __repr__(self) -> str:
        return f"DaskExecutor({self.address or self._client!r})"


def resolve_executor(executor: Any) -> Any:
    """Return an executor for a sweep's ``executor=`` argument.

    None or ``"processes"``: local processes, one per core. An int n: n local processes
    (1 means in this process). ``"in-process"``/``"serial"``: here. A ``distributed.Client``
    or a scheduler address (``"tcp://…"``, ``"host:8786"``): Dask. An executor object is
    used as is.
    """
    if executor is None or executor == "processes":
        return ProcessExecutor()
    if isinstance(executor, bool):
        raise ParameterError(f"executor={executor!r} is not an executor")
    if isinstance(executor, int):
        return InProcessExecutor() if executor == 1 else ProcessExecutor(executor)
    if isinstance(executor, str):
        if executor in ("in-process", "inprocess", "serial"):
            return InProcessExecutor()
        if "://" in executor or ":" in executor:
            return DaskExecutor(executor)
        raise ParameterError(
            f"executor={executor!r} is not known; use None or 'processes', 'in-process', a number of "
            "workers, a distributed.Client, or a Dask scheduler address such as 'tcp://127.0.0.1:8786'"
        )
    if type(executor).__name__ == "Client" and type(executor).__module__.startswith("distributed"):
        return DaskExecutor(executor)
    if hasattr(executor, "run") and hasattr(executor, "workers"):
        return executor
    raise ParameterError(f"executor={executor!r} is not an executor, a distributed.Client or an address")
