"""``/api/v1/strategies``: register a strategy's source, list the registered ones, get one with its
parameters as JSON Schema."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from weaver.api.deps import SettingsDep, StoreDep, WorkersDep
from weaver.api.errors import ErrorResponse
from weaver.api.schemas.strategies import NAME_PATTERN, StrategyCreate, StrategyListResponse, StrategyResponse
from weaver.api.services import strategies as service

__all__ = ["router"]

router = APIRouter(tags=["strategies"])

_NOT_FOUND = {404: {"model": ErrorResponse, "description": "No such strategy or version; the message names it"}}


@router.post("/strategies", response_model=StrategyResponse, status_code=201, summary="Register a strategy's source",
             responses={200: {"model": StrategyResponse, "description": "This source was registered under this "
                                                                        "name already: the same id and version"},
                        400: {"model": ErrorResponse, "description": "The body could not be read as JSON text"},
                        409: {"model": ErrorResponse, "description": "This source is registered under this name "
                                                                     "for another class"},
                        422: {"model": ErrorResponse, "description": "Invalid fields, or a source that does not "
                                                                     "import: its error, line and field"}})
async def register(body: StrategyCreate, response: Response, store: StoreDep, workers: WorkersDep,
                   settings: SettingsDep) -> StrategyResponse:
    """Register `source` under `name` and return its id, its version (the SHA-256 of the source) and
    its parameters as JSON Schema.

    The source is imported in a worker process, never in the server: it must define exactly one
    `weaver.Strategy` subclass, or name the one meant with `class_name`. A source that fails to
    import is refused with its error and line; one that takes longer than
    `WEAVER_STRATEGY_IMPORT_TIMEOUT` seconds (10 by default) or kills its worker is refused too.
    Registering the same source under the same name again answers 200 with the same id and version;
    a changed source is a new version (201).
    """
    record, created = await service.register_source(store, workers, name=body.name, source=body.source,
                                                    class_name=body.class_name,
                                                    timeout=settings.strategy_import_timeout)
    if not created:
        response.status_code = 200
    return service.strategy_response(record)


@router.get("/strategies", response_model=StrategyListResponse, summary="List registered strategies")
async def list_strategies(
        store: StoreDep,
        name: Annotated[str | None, Query(pattern=NAME_PATTERN, description="Only this name's versions")] = None,
        latest: Annotated[bool, Query(description="Only each name's newest version")] = False,
        page: Annotated[int, Query(ge=1, le=1_000_000, description="The page, from 1")] = 1,
        page_size: Annotated[int, Query(ge=1, le=100, description="Strategies per page, at most 100")] = 20,
) -> StrategyListResponse:
    """Return one page of registrations, newest first, without their sources."""
    return await service.list_strategies(store, name=name, latest=latest, page=page, page_size=page_size)


@router.get("/strategies/{strategy}", response_model=StrategyResponse, summary="Get a strategy", responses=_NOT_FOUND)
async def get_strategy(
        store: StoreDep,
        strategy: Annotated[str, Path(description="A name (its newest version) or an id", max_length=200)],
        version: Annotated[str | None, Query(pattern=r"^[0-9a-f]{6,64}$",
                                             description="A version of the name: its hash or the hash's first "
                                                         "6 or more digits")] = None,
) -> StrategyResponse:
    """Return a registered strategy with its source and its parameters as JSON Schema (type, default,
    minimum and maximum, `x-step`, `enum` for each), which forms are built from."""
    return service.strategy_response(await service.get_strategy(store, strategy, version))
