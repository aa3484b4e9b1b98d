"""Registered strategies read back: by id, by name (the newest version), by version, and paged lists.

:func:`weaver.store.runs.register_strategy` writes them. Reads take an
:class:`~weaver.store.AsyncStore` and return :class:`~weaver.store.runs.StrategyRecord`\\ s, or
:class:`StrategyEntry` rows (no source) for lists; what is not there is None or empty, and
the caller says what that means.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from weaver.store.models import STRATEGIES
from weaver.store.runs import StrategyRecord

if TYPE_CHECKING:
    from sqlalchemy.sql import Select

    from weaver.store.database import AsyncStore

__all__ = ["StrategyEntry", "find_versions", "get_strategy", "list_strategies", "newest_strategy", "strategy_names"]

_LISTED = (STRATEGIES.c.id, STRATEGIES.c.name, STRATEGIES.c.version, STRATEGIES.c.params_schema,
           STRATEGIES.c.created_at)


@dataclass(frozen=True, slots=True)
class StrategyEntry:
    """A registered strategy as lists show it: everything but its source."""

    id: int
    name: str
    version: str
    params_schema: dict[str, Any]
    created_at: datetime


def _record(row: Any) -> StrategyRecord:
    return StrategyRecord(row.id, row.name, row.version, row.source, row.params_schema, row.created_at)


async def _rows(store: AsyncStore, query: Select[Any]) -> list[Any]:
    async def read() -> list[Any]:
        async with store.connect() as conn:
            return list((await conn.execute(query)).all())

    return await store.guard(read)


async def get_strategy(store: AsyncStore, strategy_id: int) -> StrategyRecord | None:
    """Return the registration with id ``strategy_id``, or None."""
    rows = await _rows(store, select(STRATEGIES).where(STRATEGIES.c.id == strategy_id))
    return _record(rows[0]) if rows else None


async def newest_strategy(store: AsyncStore, name: str) -> StrategyRecord | None:
    """Return the newest version registered under ``name`` (the last registered), or None."""
    rows = await _rows(store, select(STRATEGIES).where(STRATEGIES.c.name == name)
                       .order_by(STRATEGIES.c.id.desc()).limit(1))
    return _record(rows[0]) if rows else None


async def find_versions(store: AsyncStore, name: str, version_prefix: str) -> list[StrategyRecord]:
    """Return the versions of ``name`` whose hash starts with ``version_prefix``, newest first."""
    escaped = version_prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    rows = await _rows(store, select(STRATEGIES).where(STRATEGIES.c.name == name,
                                                        STRATEGIES.c.version.like(f"{escaped}%", escape="\\"))
                       .order_by(STRATEGIES.c.id.desc()))
    return [_record(row) for row in rows]


async def list_strategies(store: AsyncStore, *, name: str | None = None, latest: bool = False, offset: int = 0,
                          limit: int = 20) -> tuple[list[StrategyEntry], int]:
    """Return one page of registrations, newest first, and how many there are in all.

    Parameters
    ----------
    name
        Only this name's versions.
    latest
        Only each name's newest version.
    offset, limit
        The page: skip ``offset`` rows, return at most ``limit``.
    """
    where = [] if name is None else [STRATEGIES.c.name == name]
    if latest:
        newest = select(func.max(STRATEGIES.c.id)).where(*where).group_by(STRATEGIES.c.name)
        where = [STRATEGIES.c.id.in_(newest.scalar_subquery())]
    page = select(*_LISTED).where(*where).order_by(STRATEGIES.c.id.desc()).offset(offset).limit(limit)
    count = select(func.count()).select_from(STRATEGIES).where(*where)

    async def read() -> tuple[list[Any], int]:
        async with store.connect() as conn:
            return list((await conn.execute(page)).all()), int((await conn.execute(count)).scalar_one())

    rows, total = await store.guard(read)
    return [StrategyEntry(r.id, r.name, r.version, r.params_schema, r.created_at) for r in rows], total


async def strategy_names(store: AsyncStore, limit: int = 20) -> list[str]:
    """Return up to ``limit`` registered names, sorted: for messages that say what there is."""
    rows = await _rows(store, select(STRATEGIES.c.name).distinct().order_by(STRATEGIES.c.name).limit(limit))
    return [row.name for row in rows]
