"""The store's connection: an async SQLAlchemy engine on SQLite (aiosqlite) or PostgreSQL (asyncpg).

The default store is embedded: the SQLite file ``weaver.db`` under ``WEAVER_HOME``.
``WEAVER_DATABASE_URL=postgresql+asyncpg://user@host/db`` moves everything to PostgreSQL.

SQLite: every write transaction starts with ``BEGIN IMMEDIATE``, which takes the database's
single write lock at once, so writers are serialized (the event log relies on it: see
:mod:`weaver.events.outbox`). Readers use a second engine whose transactions start deferred,
so in WAL mode they neither wait for a writer nor block one.

PostgreSQL: Weaver's connections set ``idle_in_transaction_session_timeout``, because the
event log's readers wait for the oldest running transaction in the whole cluster (DESIGN §5):
a session left idle inside a transaction would stall them for as long as it stays open.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from weaver.core.errors import ParameterError, WeaverError

if TYPE_CHECKING:
    from weaver.events.log import AsyncEventLog
    from weaver.settings import Settings
    from weaver.store.uow import UnitOfWork

__all__ = ["AsyncStore", "StoreUnavailableError", "store_url"]

T = TypeVar("T")

_MIGRATIONS = Path(__file__).with_name("migrations")
#: how long a Weaver session may sit idle inside a transaction before PostgreSQL ends it
IDLE_IN_TRANSACTION_TIMEOUT_MS = 60_000
#: seconds to wait for a connection before calling the store unavailable
CONNECT_TIMEOUT_S = 5.0


class StoreUnavailableError(WeaverError, ConnectionError):
    """Raise when the store cannot be reached: retry later, nothing of the failed call was written.

    ``outcome_unknown`` is True when the connection failed during the commit itself: the
    transaction may then have committed or not, and a retry must be idempotent.
    """

    retriable = True

    def __init__(self, message: str, *, outcome_unknown: bool = False) -> None:
        super().__init__(message)
        self.outcome_unknown = outcome_unknown


def store_url(url: str | URL, source: str = "WEAVER_DATABASE_URL") -> URL:
    """Return ``url`` with the async driver Weaver uses: aiosqlite for SQLite, asyncpg for PostgreSQL.

    Raises
    ------
    ParameterError
        For a URL that does not parse, or names another database or driver; the message
        names the URL (password hidden) and ``source``.
    """
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ParameterError(f"{source}={url!r} is not a database URL: {exc}") from None
    backend, _, driver = parsed.drivername.partition("+")
    if backend == "postgres":
        backend = "postgresql"
    wanted = {"sqlite": "aiosqlite", "postgresql": "asyncpg"}.get(backend)
    if wanted is None:
        raise ParameterError(f"{source}={parsed.render_as_string(hide_password=True)!r}: the store runs on "
                             "SQLite (sqlite:///path) or PostgreSQL (postgresql+asyncpg://user@host/db)")
    if driver and driver not in (wanted, "pysqlite", "psycopg", "psycopg2"):
        raise ParameterError(f"{source}={parsed.render_as_string(hide_password=True)!r}: driver {driver!r} "
                             f"is not supported; Weaver uses {backend}+{wanted}")
    if backend == "sqlite" and parsed.database in (None, "", ":memory:"):
        raise ParameterError(f"{source}={parsed.render_as_string()!r}: the store needs a file "
                             "(sqlite:///path/to/weaver.db); an in-memory SQLite database is per connection")
    return parsed.set(drivername=f"{backend}+{wanted}")


#: asyncpg's errors that mean the connection, not the statement, failed
_CONNECTION_ERRORS = frozenset({"ConnectionDoesNotExistError", "CannotConnectNowError", "ConnectionFailureError",
                                "AdminShutdownError", "CrashShutdownError", "InterfaceError",
                                "PostgresConnectionError", "TooManyConnectionsError"})


def is_unavailable(exc: BaseException) -> bool:
    """Return whether ``exc`` says the database could not be reached (rather than refused a statement)."""
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    if isinstance(exc, (InterfaceError, OperationalError, OSError, asyncio.TimeoutError)):
        return True
    seen: BaseException | None = exc
    while seen is not None:
        if type(seen).__name__ in _CONNECTION_ERRORS:
            return True
        seen = getattr(seen, "orig", None) or seen.__cause__
    return False


class AsyncStore:
    """One store, used from asyncio: its engines, its migrations, its unit of work and event log.

    Parameters
    ----------
    url
        The database; by default the one the settings name (``WEAVER_DATABASE_URL``, or the
        SQLite file under ``WEAVER_HOME``, whose folder is created).
    settings
        The settings to read the URL from; :func:`weaver.settings.load_settings` by default.
    poll_interval
        Seconds between a subscriber's polls of the log when no notification wakes it.

    Notes
    -----
    An engine belongs to the event loop it first runs on. Use one ``AsyncStore`` per loop;
    :class:`weaver.store.Store` runs one on a loop of its own for synchronous code.
    """

    def __init__(self, url: str | URL | None = None, *, settings: Settings | None = None,
                 poll_interval: float = 1.0) -> None:
        source = "url"
        if url is None:
            from weaver.settings import load_settings

            settings = settings or load_settings()
            url = settings.store_url
            source = "WEAVER_DATABASE_URL" if settings.database_url else "WEAVER_HOME"
        self.url = store_url(url, source)
        self.dialect: str = self.url.get_backend_name()
        self.poll_interval = poll_interval
        if self.dialect == "sqlite":
            Path(self.url.database or "").expanduser().parent.mkdir(parents=True, exist_ok=True)
            self.engine = create_async_engine(self.url, connect_args={"timeout": 30}, pool_reset_on_return=None)
            self.read_engine = create_async_engine(self.url, connect_args={"timeout": 30}, pool_reset_on_return=None)
            _sqlite_pragmas(self.read_engine, begin=None)
            _sqlite_pragmas(self.engine, begin="BEGIN IMMEDIATE")
        else:
            self.engine = create_async_engine(
                self.url, pool_pre_ping=True, pool_size=5, max_overflow=10, pool_timeout=CONNECT_TIMEOUT_S,
                connect_args={"timeout": CONNECT_TIMEOUT_S, "server_settings": {
                    "idle_in_transaction_session_timeout": str(IDLE_IN_TRANSACTION_TIMEOUT_MS),
                    "application_name": "weaver"}})
            self.read_engine = self.engine
        self._log: AsyncEventLog | None = None

    def __repr__(self) -> str:
        return f"AsyncStore({self.url.render_as_string(hide_password=True)!r})"

    @property
    def log(self) -> AsyncEventLog:
        """The event log kept in this store."""
        if self._log is None:
            from weaver.events.log import AsyncEventLog

            self._log = AsyncEventLog(self)
        return self._log

    def unit_of_work(self) -> UnitOfWork:
        """Return a unit of work: state changes and their events, committed in one transaction."""
        from weaver.store.uow import UnitOfWork

        return UnitOfWork(self)

    def describe(self) -> str:
        """Return the store's URL with its password hidden, for messages."""
        return self.url.render_as_string(hide_password=True)

    async def guard(self, work: Callable[[], Awaitable[T]], *, committing: bool = False) -> T:
        """Await ``work()``; a failure to reach the database becomes :class:`StoreUnavailableError`."""
        try:
            return await work()
        except StoreUnavailableError:
            raise
        except Exception as exc:
            if is_unavailable(exc):
                raise self.unavailable(exc, committing=committing) from exc
            raise

    def unavailable(self, exc: BaseException, *, committing: bool = False) -> StoreUnavailableError:
        """Return the error that says this store could not be reached, with ``exc``'s reason."""
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0] if str(exc) else type(exc).__name__
        if committing:
            return StoreUnavailableError(
                f"the store {self.describe()} was lost during a commit ({reason}); the transaction may or "
                "may not have committed: retry idempotently", outcome_unknown=True)
        return StoreUnavailableError(f"the store {self.describe()} is unavailable ({reason}); nothing was "
                                     "written: retry when it is back")

    @asynccontextmanager
    async def connect(self, *, write: bool = False) -> AsyncIterator[AsyncConnection]:
        """Yield a connection in a transaction, committed on success (writes) or rolled back.

        A read whose connection is lost after its last statement, before its rollback, keeps
        what it read: the rollback has nothing to undo.
        """
        engine = self.engine if write else self.read_engine
        conn = await self.guard(engine.connect)
        try:
            await self.guard(conn.begin)
            try:
                yield conn
            except Exception as exc:
                if is_unavailable(exc):
                    raise self.unavailable(exc) from exc
                raise
            if write:
                await self.guard(conn.commit, committing=True)
            else:
                try:
                    await conn.rollback()
                except Exception as exc:
                    # a read-only transaction has nothing to undo: what it read stands, and a
                    # connection lost meanwhile (a server restart) is dropped by the pool on close
                    if not is_unavailable(exc):
                        raise
        finally:
            with contextlib.suppress(Exception):  # a connection lost with the server is closed already
                await conn.close()

    async def ping(self) -> None:
        """Ask the database one trivial question.

        Raises
        ------
        StoreUnavailableError
            If it does not answer.
        """
        from sqlalchemy import text

        async with self.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def upgrade(self, revision: str = "head") -> None:
        """Bring the store's schema to ``revision`` (the newest by default) with the migrations."""
        from alembic import command

        await self._alembic(lambda config: command.upgrade(config, revision))

    async def downgrade(self, revision: str) -> None:
        """Take the store's schema back to ``revision`` (``"base"`` removes every table)."""
        from alembic import command

        await self._alembic(lambda config: command.downgrade(config, revision))

    async def current(self) -> str | None:
        """Return the schema's revision, or None when the store has never been upgraded."""
        from alembic.runtime.migration import MigrationContext

        def read(connection: Any) -> str | None:
            return MigrationContext.configure(connection).get_current_revision()

        conn = await self.guard(self.read_engine.connect)
        try:
            return await self.guard(lambda: conn.run_sync(read))
        finally:
            with contextlib.suppress(Exception):
                await conn.close()

    @staticmethod
    def head_revision() -> str:
        """Return the newest revision the migrations know."""
        from alembic.script import ScriptDirectory

        head = ScriptDirectory(str(_MIGRATIONS)).get_current_head()
        assert head is not None  # the package ships its migrations
        return head

    async def _alembic(self, run: Callable[[Any], None]) -> None:
        from alembic.config import Config

        def upgrade(connection: Any) -> None:
            config = Config()
            config.set_main_option("script_location", str(_MIGRATIONS))
            config.attributes["connection"] = connection
            run(config)

        async with self.engine.connect() as conn:
            await self.guard(lambda: conn.run_sync(upgrade))
            await self.guard(conn.commit, committing=True)

    async def close(self) -> None:
        """Close the event log's listener and every pooled connection."""
        if self._log is not None:
            await self._log.close()
        await self.engine.dispose()
        if self.read_engine is not self.engine:
            await self.read_engine.dispose()

    async def __aenter__(self) -> AsyncStore:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


def _sqlite_pragmas(engine: AsyncEngine, begin: str | None) -> None:
    """Set WAL, a busy timeout and foreign keys on each connection; start write transactions with ``begin``."""

    @event.listens_for(engine.sync_engine, "connect")
    def _connect(dbapi_connection: Any, record: Any) -> None:
        # let SQLAlchemy, not the driver, decide when a transaction begins
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "reset")
    def _reset(dbapi_connection: Any, record: Any, reset_state: Any) -> None:
        # the pool's own reset (pool_reset_on_return=None) would roll back every connection
        # returned to it, a round trip to aiosqlite's thread even after a commit: roll back only
        # one still in a transaction (a failed COMMIT can leave one open, holding the write lock)
        if not reset_state.terminate_only and record.driver_connection.in_transaction:
            dbapi_connection.rollback()

    statement = begin or "BEGIN"

    async def _run_begin(driver: Any) -> None:
        await driver.execute(statement)

    @event.listens_for(engine.sync_engine, "begin")
    def _begin(conn: Any) -> None:
        # one trip to aiosqlite's thread (SQLAlchemy's cursor would take three: cursor, execute, close)
        try:
            conn.connection.dbapi_connection.run_async(_run_begin)
        except sqlite3.Error as exc:  # as SQLAlchemy raises it, so a locked database is "unavailable"
            raise DBAPIError.instance(statement, None, exc, sqlite3.Error) from exc
