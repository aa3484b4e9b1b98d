"""The store: SQLAlchemy 2 models, Alembic migrations, the unit of work, on SQLite or PostgreSQL.

``Store`` is for synchronous code (notebooks, runners), ``AsyncStore`` for asyncio (the
server). Both open the database the settings name: the SQLite file under ``WEAVER_HOME`` by
default, PostgreSQL with ``WEAVER_DATABASE_URL=postgresql+asyncpg://user@host/db``.
"""

from weaver.store.database import AsyncStore, StoreUnavailableError, store_url
from weaver.store.sync import StoreEventLog, Store

__all__ = ["AsyncStore", "StoreEventLog", "Store", "StoreUnavailableError", "store_url"]
