"""Strategies: register posted source (built in a worker process, never on the event loop), list, get, resolve.

A run's ``strategy_id`` is a strategy's name or id: :func:`resolve_strategy` turns it into the
registration a run pins (the newest version of a name). The class a registration's source
defines is its schema's ``title``; a worker builds it with
``weaver.strategy.source.load_strategy_class(record.source, record.params_schema["title"])``.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from weaver.api.errors import ApiError, ErrorCode
from weaver.api.schemas.strategies import StrategyListResponse, StrategyResponse, StrategySummary
from weaver.store import strategies as repository
from weaver.store.errors import ConflictError
from weaver.store.models import is_id
from weaver.store.runs import StrategyRecord, register_strategy, strategy_version

if TYPE_CHECKING:
    from weaver.api.workers import WorkerPool
    from weaver.store.database import AsyncStore

__all__ = ["get_strategy", "list_strategies", "register_examples", "register_source", "resolve_strategy",
           "strategy_response"]

log = logging.getLogger("weaver.api")


def _class_name(schema: dict[str, Any]) -> str | None:
    title = schema.get("title")
    return title if isinstance(title, str) else None


def strategy_response(record: StrategyRecord) -> StrategyResponse:
    """Return a registration as the API shows it."""
    return StrategyResponse(id=record.id, name=record.name, version=record.version,
                            class_name=_class_name(record.params_schema), created_at=record.created_at,
                            params_schema=record.params_schema, source=record.source)


def _refused(field: str, message: str, kind: str, **extra: Any) -> ApiError:
    error = {"field": field, "message": message, "type": kind, **extra}
    return ApiError(422, ErrorCode.VALIDATION_ERROR, f"invalid strategy {field}: {message}", {"errors": [error]})


async def register_source(store: AsyncStore, workers: WorkerPool, *, name: str, source: str,
                          class_name: str | None, timeout: float) -> tuple[StrategyRecord, bool]:
    """Register ``source`` under ``name``; return the registration and whether it is new.

    The source is imported in a worker process to find its class and parameter schema. A
    source already registered under ``name`` (for the same class) is returned as it is,
    without importing it again.

    Raises
    ------
    ApiError
        422 for a source that does not build (its error, line and field), whose import does
        not finish within ``timeout`` seconds, or that kills its worker.
    ConflictError
        If this source is registered under ``name`` for another class.
    """
    from weaver.api.workers import WorkerDiedError, WorkerError, WorkerTimeoutError, describe_exit
    from weaver.strategy.source import StrategySourceError, describe_source

    known = await repository.find_versions(store, name, strategy_version(source))
    if known and class_name in (None, _class_name(known[0].params_schema)):
        return known[0], False
    try:
        described = await workers.call(describe_source, source, class_name, timeout=timeout)
    except StrategySourceError as exc:
        extra = {} if exc.line is None else {"line": exc.line}
        raise _refused(exc.field, str(exc), "strategy_source", **extra) from None
    except WorkerTimeoutError:
        raise _refused("source", f"importing the source did not finish within {timeout:g} s, so its worker was "
                                 "stopped: does it loop or wait at import?", "timeout") from None
    except WorkerDiedError as exc:
        raise _refused("source", f"importing the source ended its worker process ({describe_exit(exc.exitcode)}): "
                                 "os._exit, a crash, or out of memory?", "worker_died") from None
    except WorkerError as exc:
        raise _refused("source", str(exc), "worker_error") from None
    async with store.unit_of_work() as uow:
        record = await register_strategy(uow, name, source, described.params_schema)
    return record, not known


async def register_examples(store: AsyncStore) -> list[StrategyRecord]:
    """Register the example strategies under their short names (``sma_cross``, …); idempotent.

    Their source is the examples module's text, the same for each; the schema's title names
    the class. A registration that conflicts (same source, another schema: a newer Weaver
    describes parameters differently) is logged and left as it is.
    """
    from pathlib import Path

    from weaver.strategy import examples

    source = Path(examples.__file__).read_text(encoding="utf-8")
    records = []
    for name, cls in examples.EXAMPLES.items():
        try:
            async with store.unit_of_work() as uow:
                records.append(await register_strategy(uow, name, source, cls.params_schema()))
        except ConflictError as exc:
            log.warning("example strategy %s not registered: %s", name, exc)
    return records


async def resolve_strategy(store: AsyncStore, name_or_id: str | int, *, field: str = "strategy_id") -> StrategyRecord:
    """Return the registration a run's ``strategy_id`` names: the newest version of a name, or an id.

    Parameters
    ----------
    store
        The store.
    name_or_id
        A registered name, or a registration's id (an int, or text of digits: names start
        with a letter).
    field
        The request field that gave it, for the error.

    Raises
    ------
    ApiError
        404 ``NOT_FOUND`` naming the strategy (and the registered names), with
        ``details == {"field": field, "value": name_or_id}``.
    """
    details = {"field": field, "value": name_or_id}
    text = str(name_or_id).strip()
    if isinstance(name_or_id, int) and not isinstance(name_or_id, bool) or text.isdigit():
        record = await repository.get_strategy(store, int(text)) if is_id(text) else None
        if record is None:
            raise ApiError(404, ErrorCode.NOT_FOUND, f"{field}: no strategy has the id {text}", details)
        return record
    record = await repository.newest_strategy(store, text)
    if record is None:
        names = await repository.strategy_names(store)
        listed = ", ".join(names) if names else "none"
        raise ApiError(404, ErrorCode.NOT_FOUND, f"{field}: no strategy {text!r} is registered; registered: {listed}"
                       f"{' …' if len(names) >= 20 else ''}", details)
    return record


async def get_strategy(store: AsyncStore, strategy: str, version: str | None = None) -> StrategyRecord:
    """Return a registration by id or name (the newest version, or the one whose hash starts with ``version``).

    Raises
    ------
    ApiError
        404 for an unknown strategy or version; 422 for a version prefix that several match.
    """
    record = await resolve_strategy(store, strategy, field="strategy")
    if version is None:
        return record
    if strategy.strip().isdigit():
        matches = [record] if record.version.startswith(version) else []
    else:
        matches = await repository.find_versions(store, record.name, version)
    if not matches:
        raise ApiError(404, ErrorCode.NOT_FOUND, f"version: strategy {record.name!r} has no version {version!r}",
                       {"field": "version", "value": version})
    if len(matches) > 1:
        raise ApiError(422, ErrorCode.VALIDATION_ERROR, f"version: {version!r} starts {len(matches)} versions of "
                       f"{record.name!r}; give more digits", {"field": "version", "value": version})
    return matches[0]


async def list_strategies(store: AsyncStore, *, name: str | None, latest: bool, page: int,
                          page_size: int) -> StrategyListResponse:
    """Return one page of registrations, newest first."""
    entries, total = await repository.list_strategies(store, name=name, latest=latest,
                                                      offset=(page - 1) * page_size, limit=page_size)
    items = [StrategySummary(id=e.id, name=e.name, version=e.version, class_name=_class_name(e.params_schema),
                             created_at=e.created_at) for e in entries]
    return StrategyListResponse(items=items, total=total, page=page, page_size=page_size)
