"""A backtest run's worker process: it reads its run from the store, runs it, and writes what came of it.

The server spawns one per backtest run (``spawn``, never ``fork``: the server is threaded)
and hands it only the run's id and where the store and the catalog are. Everything else
comes from the store, and everything the worker learns goes back to it through the unit of
work: ``tick`` events as the bars go by, then the result (statistics, orders, fills, equity,
positions) and ``run.completed`` in one transaction, or ``run.error`` with the reason. So the
worker shares nothing with the server but the store (DESIGN §7a): the server never holds a
result in memory or converts one on its event loop, and a worker could run on another
machine against the same PostgreSQL.

The run's move to ``completed`` is a compare-and-set on ``running``: a run stopped (or
settled by a restarted server) while its worker was finishing refuses the result whole.
A worker whose server dies exits within a fraction of a second (it watches its parent), so
a restarted server never races an orphan of the old one for long.
"""

from __future__ import annotations

import linecache
import os
import threading
import time
import traceback
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from weaver.store import Store
    from weaver.store.run_records import RunRecord

__all__ = ["TICKS_PER_RUN", "run_worker"]

#: a run tells of its progress at most this many times: every 5 % of its bars
TICKS_PER_RUN = 20
#: how often (seconds) a worker checks that the server that started it is still there
PARENT_CHECK_S = 0.2
#: the exit code of a worker whose server went away
ORPHANED = 70


def run_worker(run_id: str, store_url: str, catalog_root: str, parent_pid: int,
               correlation_id: str | None = None) -> None:
    """Run backtest run ``run_id`` and record its outcome; the target of the spawned process.

    Every event it writes carries ``correlation_id``, the id of the request that started the run.
    """
    _exit_with_parent(parent_pid)
    from weaver.owned_process import tune_owned_process
    from weaver.store import Store

    tune_owned_process()
    with Store(store_url) as store:
        _run(store, run_id, catalog_root, correlation_id)


def _exit_with_parent(parent_pid: int) -> None:
    """Exit as soon as the server that started this worker is gone (it was killed, say)."""

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(PARENT_CHECK_S)
        os._exit(ORPHANED)

    threading.Thread(target=watch, name="weaver-parent-watch", daemon=True).start()


def _run(store: Store, run_id: str, catalog_root: str, correlation_id: str | None) -> None:
    from weaver.core.enums import RunStatus
    from weaver.core.runs import RunAction, RunTransitionError
    from weaver.store.run_records import append_log, get_run, record_backtest, transition_run

    run = store.call(lambda aio: get_run(aio, run_id))
    if run.status is not RunStatus.RUNNING:  # stopped before this worker got going
        return
    started = time.perf_counter()
    try:
        result = _backtest(store, run, catalog_root, correlation_id)
    except Exception as exc:
        reason = _reason(exc)
        detail = _where_in_the_strategy(exc, reason)

        async def fail(aio: Any) -> None:
            async with aio.unit_of_work() as uow:
                await append_log(uow, run_id, "error", detail)
                await transition_run(uow, run_id, RunAction.FAIL, reason=reason, correlation_id=correlation_id)

        try:
            store.call(fail)
        except RunTransitionError:
            pass  # stopped meanwhile: the stop is the news
        return
    seconds = time.perf_counter() - started

    async def complete(aio: Any) -> None:
        async with aio.unit_of_work() as uow:
            writing = time.perf_counter()
            await record_backtest(uow, run_id, result, correlation_id=correlation_id)
            await append_log(uow, run_id, "info", f"completed: {len(result.orders)} orders, {len(result.fills)} "
                                                  f"fills, {len(result.equity)} bars; backtest {seconds:.2f} s, "
                                                  f"result written in {time.perf_counter() - writing:.2f} s")

    try:
        store.call(complete)
    except RunTransitionError:
        return  # stopped while finishing: the result is not the run's
    except Exception as exc:  # a result the store cannot keep: the run fails, saying why
        reason = f"the result could not be stored: {_reason(exc)}"

        async def fail_to_store(aio: Any) -> None:
            async with aio.unit_of_work() as uow:
                await transition_run(uow, run_id, RunAction.FAIL, reason=reason, correlation_id=correlation_id)

        store.call(fail_to_store)


def _backtest(store: Store, run: RunRecord, catalog_root: str, correlation_id: str | None) -> Any:
    from weaver.backtesting.engine import backtest
    from weaver.catalog import Catalog
    from weaver.core.config import RunConfig
    from weaver.store.json_values import decode_mapping
    from weaver.store.run_records import append_log, find_strategy
    from weaver.strategy.source import SOURCE_FILE, load_strategy_class

    record = store.call(lambda aio: find_strategy(aio, str(run.strategy_id)))
    if record.version != run.strategy_version:
        raise LookupError(f"strategy {run.strategy!r} id {run.strategy_id} is version {record.version[:12]}, "
                          f"not the {run.strategy_version} the run was created with")
    cls = load_strategy_class(record.source, record.params_schema.get("title"))
    # this process runs this one strategy: its tracebacks may quote the source's lines
    linecache.cache[SOURCE_FILE] = (len(record.source), None, record.source.splitlines(keepends=True), SOURCE_FILE)
    catalog = Catalog(catalog_root)
    timeframe = run.timeframe or "1d"
    frames = {symbol: catalog.read(symbol, timeframe, run.data_start, run.data_end) for symbol in run.symbols}
    config = RunConfig.from_dict(run.spec["config"])
    params = decode_mapping(run.spec["params"])
    index = _merged_index(frames)

    async def note(aio: Any) -> None:
        async with aio.unit_of_work() as uow:
            await append_log(uow, run.id, "info", f"backtesting {cls.__name__} (version {record.version[:12]}) on "
                                                  f"{len(index)} bars of {', '.join(run.symbols)} {timeframe}")

    store.call(note)
    bars = next(iter(frames.values())) if len(frames) == 1 else frames
    return backtest(cls, bars, config=config, progress=_Ticks(store, run.id, index, correlation_id), **params)


def _merged_index(frames: Mapping[str, pd.DataFrame]) -> pd.DatetimeIndex:
    indexes = [frame.index for frame in frames.values()]
    merged = indexes[0]
    for other in indexes[1:]:
        merged = merged.union(other)
    return merged


class _Ticks:
    """The progress callback: a ``tick`` event at each 5 % of the bars (at most :data:`TICKS_PER_RUN`)."""

    def __init__(self, store: Store, run_id: str, index: pd.DatetimeIndex, correlation_id: str | None) -> None:
        self._store, self._run_id, self._index, self._correlation_id = store, run_id, index, correlation_id
        self._mark = 0  # the last twentieth of the bars told of

    def __call__(self, done: int, total: int) -> None:
        mark = done * TICKS_PER_RUN // total if total else 0
        if mark <= self._mark:
            return
        self._mark = mark
        from weaver.store.database import StoreUnavailableError

        payload = {"run_id": self._run_id, "timestamp": self._index[done - 1].to_pydatetime(),
                   "bar_index": done - 1, "total": total}
        try:
            self._store.log.append("tick", payload, run_id=self._run_id, correlation_id=self._correlation_id)
        except StoreUnavailableError:
            pass  # progress is news, not state: the run goes on, and its result is written later


def _where_in_the_strategy(exc: BaseException, reason: str) -> str:
    """Return ``reason`` and the traceback's frames in the strategy's own source (none of Weaver's)."""
    from weaver.strategy.source import SOURCE_FILE

    frames: list[traceback.FrameSummary] = []
    seen: BaseException | None = exc
    while seen is not None:
        frames += [f for f in traceback.extract_tb(seen.__traceback__) if f.filename == SOURCE_FILE]
        seen = seen.__cause__
    return f"{reason}\n{''.join(traceback.format_list(frames))}".rstrip() if frames else reason


def _reason(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text if type(exc).__module__.startswith("weaver") else f"{type(exc).__name__}: {text}"
