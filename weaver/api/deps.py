"""What routes get injected (roadmap A.6): the settings, the store, the catalog, the worker processes,
from the app's state.

Each is an ``async def``: FastAPI runs a plain ``def`` dependency on its thread pool, a trip
to another thread on every request for what is an attribute read."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request

if TYPE_CHECKING:
    from weaver.api.services.runs import RunService
    from weaver.api.workers import WorkerPool
    from weaver.catalog import Catalog
    from weaver.events.broadcast import Broadcaster
    from weaver.settings import Settings
    from weaver.store.database import AsyncStore

__all__ = ["BroadcasterDep", "CatalogDep", "RunServiceDep", "SettingsDep", "StoreDep", "WorkersDep", "get_broadcaster",
           "get_catalog", "get_run_service", "get_settings", "get_store", "get_workers"]


async def get_settings(request: Request) -> Settings:
    """Return the server's settings."""
    return request.app.state.settings  # type: ignore[no-any-return]


async def get_store(request: Request) -> AsyncStore:
    """Return the server's store."""
    return request.app.state.store  # type: ignore[no-any-return]


async def get_catalog(request: Request) -> Catalog:
    """Return the catalog of bars the server reads."""
    return request.app.state.catalog  # type: ignore[no-any-return]


async def get_workers(request: Request) -> WorkerPool:
    """Return the worker processes that import posted strategies (never the event loop)."""
    return request.app.state.workers  # type: ignore[no-any-return]


async def get_broadcaster(request: Request) -> Broadcaster[bytes]:
    """Return the server's one reader of the event log, which feeds every event stream."""
    return request.app.state.broadcaster  # type: ignore[no-any-return]


SettingsDep = Annotated["Settings", Depends(get_settings)]
StoreDep = Annotated["AsyncStore", Depends(get_store)]
CatalogDep = Annotated["Catalog", Depends(get_catalog)]
WorkersDep = Annotated["WorkerPool", Depends(get_workers)]


async def get_run_service(request: Request) -> RunService:
    """Return the runs' service (runs, their orders and what they left; the run manager behind it)."""
    return request.app.state.run_service  # type: ignore[no-any-return]


RunServiceDep = Annotated["RunService", Depends(get_run_service)]

BroadcasterDep = Annotated["Broadcaster[bytes]", Depends(get_broadcaster)]
