"""Alembic's environment for the store: runs the migrations on the connection it is handed.

:meth:`weaver.store.AsyncStore.upgrade` (and ``weaver db upgrade``) hands a connection in
``config.attributes["connection"]``. Run as ``alembic -c weaver/store/alembic.ini upgrade
head``, it opens the store that the settings name (``WEAVER_DATABASE_URL`` or the SQLite
file under ``WEAVER_HOME``).
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from weaver.store.models import Base

target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata,
                      render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()


def _run_standalone() -> None:
    from weaver.store.database import AsyncStore

    async def main() -> None:
        store = AsyncStore()
        try:
            async with store.engine.connect() as connection:
                await connection.run_sync(_run)
                await connection.commit()
        finally:
            await store.close()

    asyncio.run(main())


if context.is_offline_mode():
    raise SystemExit("the store's migrations run online only: weaver db upgrade")
connection = context.config.attributes.get("connection")
if connection is None:
    _run_standalone()
else:
    _run(connection)
