"""The store: SQLAlchemy 2 models, Alembic migrations, the unit of work, on SQLite or PostgreSQL.

``Store`` is for synchronous code (notebooks, runners), ``AsyncStore`` for asyncio (the
server). Both open the database the settings name: the SQLite file under ``WEAVER_HOME`` by
default, PostgreSQL with ``WEAVER_DATABASE_URL=postgresql+asyncpg://user@host/db``.

:mod:`weaver.store.runs` registers strategies and saves and loads runs
(``store.save_backtest(result)``, ``store.load_backtest(run_id)``); ``weaver db upgrade``
creates or upgrades the tables.
"""

from weaver.store.database import AsyncStore, StoreUnavailableError, store_url
from weaver.store.errors import ConflictError, NotFoundError
from weaver.store.sync import Store, StoreEventLog

__all__ = ["AsyncStore", "ConflictError", "NotFoundError", "Store", "StoreEventLog", "StoreUnavailableError", "store_url"]
