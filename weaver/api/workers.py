"""Run code the server must not run itself (a posted strategy's import, a backtest) in worker processes.

The server is one threaded process with an event loop (DESIGN §7a); user code never runs on
it. :class:`WorkerPool` runs each call ``fn(*args)`` in a process of its own, started with
``forkserver`` (``spawn`` where there is none; never ``fork``, which would copy a threaded
process), and awaits the answer without blocking the loop:

- a call that does not answer within its ``timeout`` has its process killed and raises
  :class:`WorkerTimeoutError`;
- a process that dies (``os._exit``, a segfault, the OOM killer) raises :class:`WorkerDiedError`
  with its exit code;
- an exception raised by ``fn`` is raised again in the caller (or, if it cannot travel, a
  :class:`WorkerError` with its type and message).

A process per call is what makes this robust: a call that hangs, crashes or leaves threads,
modules or patched globals behind takes its process with it, and the next call starts
clean. The forkserver imports ``preload`` once, so a call costs a ``fork`` of a warm process
(milliseconds) rather than a fresh interpreter. At most ``max_workers`` calls run at once;
the rest wait their turn.

Results and exceptions travel back pickled. The worker runs the posted code with the
server's user and environment: it is a wall against hangs and crashes, not a sandbox.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import pickle
import signal
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from weaver.core.errors import WeaverError

__all__ = ["WorkerDiedError", "WorkerError", "WorkerPool", "WorkerTimeoutError", "describe_exit"]

T = TypeVar("T")

#: modules the forkserver imports once, so that each call's process starts with them: the worker
#: loop (this module; with it FastAPI, which the package imports), the loader, and the indicators
#: (pandas) that strategies import
DEFAULT_PRELOAD = ("weaver.api.workers", "weaver.strategy.source", "weaver.indicators")


class WorkerError(WeaverError):
    """Raise when a worker process could not give a call's answer."""


class WorkerTimeoutError(WorkerError):
    """Raise when a call ran longer than its timeout; its process was killed."""

    def __init__(self, message: str, timeout: float) -> None:
        super().__init__(message)
        self.timeout = timeout


class WorkerDiedError(WorkerError):
    """Raise when a call's process exited without answering; ``exitcode`` is its exit status
    (negative: the signal that killed it)."""

    def __init__(self, message: str, exitcode: int | None) -> None:
        super().__init__(message)
        self.exitcode = exitcode


class WorkerPool:
    """Run functions in processes of their own, at most ``max_workers`` at a time.

    Parameters
    ----------
    max_workers
        Calls that run at once; more wait for a free slot.
    method
        The :mod:`multiprocessing` start method: ``"forkserver"`` by default where the
        platform has it, else ``"spawn"``. ``"fork"`` is refused.
    preload
        Modules the forkserver imports before it forks the first worker.
    """

    def __init__(self, max_workers: int = 2, *, method: str | None = None,
                 preload: Sequence[str] = DEFAULT_PRELOAD) -> None:
        if not isinstance(max_workers, int) or max_workers < 1:
            raise WorkerError(f"max_workers must be a positive int, got {max_workers!r}")
        methods = multiprocessing.get_all_start_methods()
        method = method or ("forkserver" if "forkserver" in methods else "spawn")
        if method == "fork" or method not in methods:
            raise WorkerError(f"start method {method!r} is not allowed here: use forkserver or spawn "
                              "(forking a threaded server can deadlock its child)")
        self.method = method
        self.max_workers = max_workers
        self._ctx = multiprocessing.get_context(method)
        if method == "forkserver" and preload:
            # a hint: it applies if the forkserver is not running yet (it is one per process)
            self._ctx.set_forkserver_preload(list(preload))
        self._slots: asyncio.Semaphore | None = None
        self._running: set[Any] = set()
        self._closed = False
        self.calls = 0
        self.failures = 0

    def __repr__(self) -> str:
        return f"WorkerPool(max_workers={self.max_workers}, method={self.method!r}, running={len(self._running)})"

    async def call(self, fn: Callable[..., T], *args: Any, timeout: float) -> T:
        """Return ``fn(*args)`` computed in a worker process.

        ``fn`` and ``args`` must pickle (``fn`` a module-level function). ``timeout`` counts
        from the moment the call's process starts, not while it waits for a slot.

        Raises
        ------
        WorkerTimeoutError
            If ``fn`` did not return within ``timeout`` seconds.
        WorkerDiedError
            If the process exited without answering.
        WorkerError
            If the pool is closed, or ``fn``'s exception could not be sent back.
        Exception
            What ``fn`` raised.
        """
        if self._closed:
            raise WorkerError("the worker pool is closed")
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.max_workers)
        async with self._slots:
            if self._closed:  # closed while this call waited for a slot
                raise WorkerError("the worker pool is closed")
            self.calls += 1
            try:
                return await self._run(fn, args, timeout)
            except WorkerError:
                self.failures += 1
                raise

    async def _run(self, fn: Callable[..., T], args: tuple[Any, ...], timeout: float) -> T:
        reader, writer = self._ctx.Pipe(duplex=False)
        process = self._ctx.Process(target=_work, args=(writer, fn, args), daemon=True,
                                    name=f"weaver-worker-{getattr(fn, '__name__', 'call')}")
        loop = asyncio.get_running_loop()
        try:
            await asyncio.to_thread(process.start)  # a forkserver or spawn start blocks for a moment
            writer.close()  # the child holds the only writer now: its death reads as end of file
            self._running.add(process)
            ready = loop.create_future()

            def wake() -> None:
                if not ready.done():
                    ready.set_result(None)

            loop.add_reader(reader.fileno(), wake)
            loop.add_reader(process.sentinel, wake)
            try:
                await asyncio.wait_for(ready, timeout)
            except asyncio.TimeoutError:
                raise WorkerTimeoutError(f"the call did not finish within {timeout:g} s; its worker was "
                                         "stopped", timeout) from None
            finally:
                loop.remove_reader(reader.fileno())
                loop.remove_reader(process.sentinel)
            if reader.poll():
                try:
                    status, value = await asyncio.to_thread(reader.recv)
                except (EOFError, OSError):
                    status, value = "died", None
            else:
                status, value = "died", None
            if status == "died":
                await asyncio.to_thread(process.join, 5)
                code = process.exitcode
                raise WorkerDiedError(f"the worker exited with {describe_exit(code)} before answering", code)
            if status == "error":
                raise value
            return value  # type: ignore[no-any-return]
        finally:
            reader.close()
            writer.close()
            self._running.discard(process)
            if process.pid is not None:
                if process.exitcode is None:
                    process.kill()
                await asyncio.to_thread(process.join, 5)
                with contextlib.suppress(ValueError):
                    process.close()

    async def close(self) -> None:
        """Stop taking calls and kill the processes of calls still running."""
        self._closed = True
        for process in list(self._running):
            with contextlib.suppress(Exception):
                process.kill()


def describe_exit(code: int | None) -> str:
    """Return a process's exit status in words: ``"exit code 1"``, ``"signal SIGKILL"``."""
    if code is None:
        return "an unknown status"
    if code < 0:
        try:
            return f"signal {signal.Signals(-code).name}"
        except ValueError:
            return f"signal {-code}"
    return f"exit code {code}"


def _work(writer: Any, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
    """Run ``fn(*args)`` in the worker and send ``("ok", result)`` or ``("error", exception)`` back."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the server's to handle; it stops us
    try:
        answer: tuple[str, Any] = ("ok", fn(*args))
    except Exception as exc:
        answer = ("error", exc)
    except BaseException as exc:  # SystemExit from the code run: never raise it in the server
        answer = ("error", WorkerError(f"the call raised {type(exc).__name__}: {exc}"))
    try:
        data = pickle.dumps(answer)
        pickle.loads(data)  # what cannot come back whole comes back as its type and message
    except Exception as exc:
        if answer[0] == "ok":
            answer = ("error", WorkerError(f"the call's result cannot be sent back: {type(exc).__name__}: {exc}"))
        else:
            error = answer[1]
            answer = ("error", WorkerError(f"the call raised {type(error).__name__}: {error}"))
        data = pickle.dumps(answer)
    writer.send_bytes(data)
    writer.close()
