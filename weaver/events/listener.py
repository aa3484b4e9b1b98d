"""One LISTEN connection per store that wakes every reader of the log in this process.

A notification is a hint that something may have committed, nothing more: its payload is at
most 8,000 bytes and a disconnected listener misses it. Readers therefore also poll on a
timer, and every reader is woken after the listener reconnects, so it polls then too.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from sqlalchemy.engine import URL

__all__ = ["Listener"]

log = logging.getLogger(__name__)


class Listener:
    """LISTEN on one channel over one asyncpg connection and fan each notification out.

    The connection is opened when the first reader registers and closed with :meth:`close`.
    When it is lost (its backend killed, the server restarted), the listener reconnects with
    a backoff and wakes every reader, which polls: nothing sent while it was away is missed,
    since the readers read the log, not the notifications.

    Parameters
    ----------
    url
        The PostgreSQL database, as the store's SQLAlchemy URL.
    channel
        The channel to listen on.
    check_interval
        Seconds between checks that the connection is still alive (a dropped socket can be
        silent until something is sent on it).
    """

    def __init__(self, url: URL, channel: str, *, check_interval: float = 5.0) -> None:
        self._dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
        self._channel = channel
        self._check_interval = check_interval
        self._wakers: set[asyncio.Event] = set()
        self._task: asyncio.Task[None] | None = None
        self._connected = asyncio.Event()
        #: how many times a connection was opened (the first included)
        self.connections = 0
        #: the backend process id of the current connection, or None between connections
        self.backend_pid: int | None = None

    def register(self) -> asyncio.Event:
        """Return an event that is set at each notification and after each reconnect."""
        waker = asyncio.Event()
        self._wakers.add(waker)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name=f"weaver-listen-{self._channel}")
        return waker

    def unregister(self, waker: asyncio.Event) -> None:
        """Stop waking ``waker``."""
        self._wakers.discard(waker)

    async def wait_connected(self, timeout: float | None = None) -> None:
        """Wait until the LISTEN connection is up."""
        await asyncio.wait_for(self._connected.wait(), timeout)

    def _wake(self, *_: Any) -> None:
        for waker in self._wakers:
            waker.set()

    async def _run(self) -> None:
        import asyncpg

        delay = 0.1
        while True:
            conn = None
            try:
                conn = await asyncpg.connect(self._dsn, timeout=5,
                                             server_settings={"application_name": "weaver-listener"})
                lost = asyncio.Event()
                conn.add_termination_listener(lambda _conn: lost.set())
                await conn.add_listener(self._channel, self._wake)
                self.connections += 1
                self.backend_pid = conn.get_server_pid()
                self._connected.set()
                delay = 0.1
                self._wake()  # anything committed before LISTEN took effect is read now
                while not lost.is_set():
                    with contextlib.suppress(asyncio.TimeoutError):
                        await asyncio.wait_for(lost.wait(), self._check_interval)
                    if not lost.is_set():
                        await conn.execute("SELECT 1", timeout=self._check_interval)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # connection refused, killed backend, server restart...
                log.info("event listener lost its connection (%s); reconnecting in %.1f s",
                         type(exc).__name__, delay)
            finally:
                self._connected.clear()
                self.backend_pid = None
                if conn is not None:
                    with contextlib.suppress(Exception):
                        conn.terminate()
            self._wake()  # readers poll while the listener is away
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)

    async def close(self) -> None:
        """Stop listening and close the connection."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None
        self._wake()
