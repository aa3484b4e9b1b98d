"""The run manager: it starts each backtest run's worker process, watches it, ends it on a stop, and
settles every run that would otherwise stay "running" forever.

A run's status is decided in the store, by compare-and-sets on the lifecycle table
(:mod:`weaver.store.run_records`); the manager never keeps a run's state of its own. It owns
only the processes:

- ``launch``: one worker per run (``spawn`` context: the server is threaded), at most
  ``slots`` at once; the others wait their turn, running, and their log says so. The worker
  writes its own progress and result (:mod:`weaver.live.backtest_worker`).
- The worker's exit is awaited on its sentinel (no thread per run). A worker that exits
  while its run is still running (killed, crashed, out of memory) fails the run, saying how
  it ended.
- ``terminate``: a stop ends the worker (SIGTERM, then SIGKILL) and reaps it.
- ``settle``: at start, runs left running by a server that is gone become errors, saying
  so; their workers went with that server (a worker exits when its parent does).
- ``close``: at shutdown, running runs become errors ("the server shut down") and their
  workers are ended.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import signal
from pathlib import Path
from typing import TYPE_CHECKING

from weaver.core.enums import RunMode, RunStatus
from weaver.core.runs import RunAction, RunTransitionError
from weaver.live.backtest_worker import run_worker

if TYPE_CHECKING:
    from multiprocessing.process import BaseProcess

    from weaver.store.database import AsyncStore

__all__ = ["RunManager"]

log = logging.getLogger("weaver.live")

#: the reason given to a run left running by a server that is gone
RESTARTED = ("the server restarted while the run was running: its backtest worker is gone "
             "(it exits with the server); start a new run")
#: the reason given to a run still running when the server shuts down
SHUT_DOWN = "the server shut down while the run was running; start a new run"


class RunManager:
    """Start, watch, stop and settle backtest runs' worker processes.

    Parameters
    ----------
    store
        The server's store; its URL is handed to each worker.
    catalog
        The catalog of bars the workers read.
    slots
        How many workers run at once (the CPUs by default).
    stop_timeout
        Seconds a worker gets to exit after SIGTERM before it is killed.
    """

    def __init__(self, store: AsyncStore, catalog: Path, *, slots: int | None = None,
                 stop_timeout: float = 5.0) -> None:
        self._store = store
        self._url = store.url.render_as_string(hide_password=False)
        self._catalog = str(catalog)
        self._context = multiprocessing.get_context("spawn")
        self._slots = asyncio.Semaphore(slots or os.cpu_count() or 2)
        self._stop_timeout = stop_timeout
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._processes: dict[str, BaseProcess] = {}

    def __repr__(self) -> str:
        return f"<RunManager: {len(self._processes)} workers, {len(self._tasks)} runs>"

    # --- the server's start and stop -------------------------------------------------------------

    async def settle(self) -> list[str]:
        """Fail every run a previous server left running; return their ids."""
        from weaver.store.run_records import runs_in_status

        settled = []
        for run in await runs_in_status(self._store, RunStatus.RUNNING):
            if run.mode is RunMode.BACKTEST and await self._fail(run.id, RESTARTED):
                settled.append(run.id)
        if settled:
            log.warning("settled %d run(s) left running by the last server: %s", len(settled), ", ".join(settled))
        return settled

    async def close(self) -> None:
        """Fail the runs still running (the server shuts down) and end their workers."""
        runs = list(self._tasks)
        for run_id in runs:
            await self._fail(run_id, SHUT_DOWN)
        await asyncio.gather(*(self.terminate(run_id) for run_id in runs), return_exceptions=True)

    # --- one run ---------------------------------------------------------------------------------

    def launch(self, run_id: str, correlation_id: str | None = None) -> None:
        """Start run ``run_id``'s worker (the run is already ``running`` in the store).

        ``correlation_id`` is the starting request's: every event the worker writes carries it.
        """
        task = asyncio.get_running_loop().create_task(self._supervise(run_id, correlation_id),
                                                      name=f"weaver-run-{run_id}")
        self._tasks[run_id] = task
        task.add_done_callback(lambda _: self._tasks.pop(run_id, None))

    async def terminate(self, run_id: str) -> None:
        """End run ``run_id``'s worker, if it has one, and wait until it is reaped."""
        task = self._tasks.get(run_id)
        if task is None:
            return
        process = self._processes.get(run_id)
        if process is None:  # waiting for a slot, or being spawned: the task ends it
            task.cancel()
        else:
            with contextlib.suppress(ProcessLookupError):
                process.terminate()
        try:
            await asyncio.wait_for(asyncio.shield(task), self._stop_timeout)
        except TimeoutError:
            if process is not None:
                log.warning("run %s: worker %s ignored SIGTERM for %.0f s; killing it", run_id, process.pid,
                            self._stop_timeout)
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.shield(task)
        except asyncio.CancelledError:
            if not task.cancelled():
                raise

    async def _supervise(self, run_id: str, correlation_id: str | None) -> None:
        process: BaseProcess | None = None
        try:
            if self._slots.locked():
                await self._log(run_id, "info", "waiting for a free worker: every slot is busy")
            async with self._slots:
                process = self._context.Process(target=run_worker, name=f"weaver-backtest-{run_id[:12]}",
                                                args=(run_id, self._url, self._catalog, os.getpid(), correlation_id),
                                                daemon=True)
                await asyncio.to_thread(process.start)
                self._processes[run_id] = process
                await self._log(run_id, "info", f"backtest worker started: pid {process.pid}")
                await _exited(process)
                process.join()
        except asyncio.CancelledError:
            if process is not None and process.pid is not None:
                process.kill()
                await asyncio.to_thread(process.join, self._stop_timeout)
            raise
        except Exception as exc:  # the worker could not be started: the run says so
            log.exception("run %s: the worker failed to start", run_id)
            if process is not None and process.is_alive():
                process.kill()
            await self._fail(run_id, f"the backtest worker could not be started: {type(exc).__name__}: {exc}",
                             correlation_id)
            return
        finally:
            self._processes.pop(run_id, None)
        log.info("run %s: worker %s %s", run_id, process.pid, _ended(process.exitcode))
        # a worker settles its own run; one that did not (killed, crashed) fails it here
        await self._fail(run_id, f"the backtest worker (pid {process.pid}) {_ended(process.exitcode)} "
                                 "before it finished", correlation_id)

    # --- writing to the store --------------------------------------------------------------------

    async def _fail(self, run_id: str, reason: str, correlation_id: str | None = None) -> bool:
        """Move the run to error with ``reason``; return False if it was no longer running."""
        from weaver.store.errors import NotFoundError
        from weaver.store.run_records import append_log, transition_run

        try:
            async with self._store.unit_of_work() as uow:
                await transition_run(uow, run_id, RunAction.FAIL, reason=reason, correlation_id=correlation_id)
                await append_log(uow, run_id, "error", reason)
        except (RunTransitionError, NotFoundError):
            return False
        except Exception:
            log.exception("run %s: could not record its failure (%s)", run_id, reason)
            return False
        return True

    async def _log(self, run_id: str, level: str, message: str) -> None:
        from weaver.store.errors import NotFoundError
        from weaver.store.run_records import append_log

        try:
            async with self._store.unit_of_work() as uow:
                await append_log(uow, run_id, level, message)
        except NotFoundError:
            pass  # stopped and deleted meanwhile
        except Exception:
            log.exception("run %s: could not write the log line %r", run_id, message)


async def _exited(process: BaseProcess) -> None:
    """Wait until ``process`` exits, on its sentinel (the event loop watches the fd: no thread)."""
    loop = asyncio.get_running_loop()
    done = loop.create_future()
    loop.add_reader(process.sentinel, lambda: done.done() or done.set_result(None))
    try:
        await done
    finally:
        loop.remove_reader(process.sentinel)


def _ended(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        try:
            return f"was killed by {signal.Signals(-exitcode).name}"
        except ValueError:
            return f"was killed by signal {-exitcode}"
    return f"exited with code {exitcode}"
