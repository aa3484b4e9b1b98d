"""``weaver db``: create or upgrade the store's tables, and show the revision they are at.

Both commands open the store the settings name: ``WEAVER_DATABASE_URL``, or the SQLite file
``weaver.db`` under ``WEAVER_HOME``. What goes wrong (a URL Weaver cannot use, a server that
does not answer, a home it cannot write) is one line naming the variable, not a traceback.
"""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from weaver.store.database import AsyncStore

T = TypeVar("T")

_DESCRIPTION = """\
Manage the store's schema. The store is the SQLite file weaver.db under WEAVER_HOME
(~/.weaver by default), or the database WEAVER_DATABASE_URL names
(postgresql+asyncpg://user:password@host/db). Examples:

  weaver db upgrade      # create the tables, or bring them to this Weaver's revision
  weaver db current      # the revision the store is at (exit status 1: not initialized)
"""


def add_parser(sub: Any) -> None:
    """Add the ``db`` command and its ``upgrade`` and ``current`` actions to the ``weaver`` command."""
    parser = sub.add_parser("db", help="create or upgrade the store's tables; show their revision",
                            description=_DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    upgrade = actions.add_parser("upgrade", help="create the tables or bring them to the newest revision",
                                 description="Bring the store's schema to REVISION (the newest by default).")
    upgrade.add_argument("revision", nargs="?", default="head", help="the revision to reach (default: head)")
    upgrade.set_defaults(func=cmd_upgrade)
    current = actions.add_parser("current", help="print the store's revision",
                                 description="Print the revision the store's schema is at; exit 1 if it has none.")
    current.set_defaults(func=cmd_current)


def cmd_upgrade(args: argparse.Namespace) -> int:
    """Upgrade the store; print its URL (password hidden) and the revision it reached."""

    async def work(store: AsyncStore) -> tuple[str | None, str | None]:
        before = await store.current()
        await store.upgrade(args.revision)
        return before, await store.current()

    described, (before, after) = _with_store(work)
    head = _head()
    print(f"store: {described}")
    was = "unchanged" if before == after else f"was {before}" if before else "created"
    print(f"revision {_name(after, head)}, {was}")
    return 0


def cmd_current(args: argparse.Namespace) -> int:
    """Print the store's URL and revision; return 1 when the store has never been upgraded."""
    from weaver.settings import load_settings
    from weaver.store.database import store_url

    settings = load_settings()
    url = store_url(settings.store_url, _source(settings))
    if url.get_backend_name() == "sqlite" and not Path(url.database or "").expanduser().exists():
        revision, described = None, url.render_as_string(hide_password=True)
    else:
        described, revision = _with_store(lambda store: store.current())
    print(f"store: {described}")
    if revision is None:
        print("not initialized: run `weaver db upgrade` to create its tables")
        return 1
    head = _head()
    print(f"revision {_name(revision, head)}")
    return 0


def _head() -> str:
    from weaver.store.database import AsyncStore

    return AsyncStore.head_revision()


def _name(revision: str | None, head: str) -> str:
    if revision == head:
        return f"{revision} (head)"
    return f"{revision} (this Weaver's head is {head}: `weaver db upgrade` brings the store there)"


def _source(settings: Any) -> str:
    """Return the variable the store's URL comes from."""
    return "WEAVER_DATABASE_URL" if settings.database_url else "WEAVER_HOME"


def _with_store(work: Callable[[AsyncStore], Awaitable[T]]) -> tuple[str, T]:
    """Open the store the settings name, await ``work(store)``, close it; return its URL and the result.

    A failure to open or reach the store becomes one :class:`~weaver.core.errors.WeaverError`
    whose message names the store and the variable that chose it.
    """
    import asyncio

    from sqlalchemy.exc import SQLAlchemyError

    from weaver.core.errors import ParameterError, WeaverError
    from weaver.settings import load_settings
    from weaver.store.database import AsyncStore

    settings = load_settings()
    source = _source(settings)
    try:
        store = AsyncStore(settings=settings)
    except OSError as exc:  # the SQLite file's folder cannot be made
        raise WeaverError(f"{source}={str(settings.home)!r}: cannot create the store's folder "
                          f"({exc.strerror or exc})") from None
    described = store.describe()

    async def run() -> T:
        try:
            return await work(store)
        finally:
            await store.close()

    try:
        return described, asyncio.run(run())
    except ParameterError:
        raise
    except WeaverError as exc:  # the store is unavailable
        raise WeaverError(f"{exc} ({source})") from None
    except (SQLAlchemyError, OSError) as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0] or type(exc).__name__
        raise WeaverError(f"the store {described} ({source}) cannot be used: {reason}") from None
