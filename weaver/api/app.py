"""``create_app(settings)``: the API server (DESIGN §6), built with nothing done at import.

At start it opens the store and upgrades it, registers the example strategies under their short
names, seeds an empty catalog with the sample data, and reads (or generates) the token; at stop it stops the worker processes
and closes the store. Routes get what they need through :mod:`weaver.api.deps`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.metadata import version

from fastapi import Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware

from weaver.api.errors import ErrorResponse, install_error_handlers
from weaver.api.middleware import BodyLimit, CatchAll, HostOriginGuard, RequestContext
from weaver.api.security import ensure_token, require_token
from weaver.settings import Settings, load_settings

__all__ = ["MAX_BODY_BYTES", "create_app"]

#: the largest request body the server reads: a strategy's source is far smaller
MAX_BODY_BYTES = 1 << 20

_ERRORS = {status: {"model": ErrorResponse, "description": description} for status, description in (
    (401, "Missing or invalid token"), (403, "Host or Origin not allowed"), (413, "Request body too large"),
    (422, "Invalid request: the fields are named"), (500, "Unexpected error: no internals are shown"),
    (503, "The store is unavailable"))}


def create_app(settings: Settings | None = None) -> FastAPI:
    """Return the API server's app for ``settings`` (read from the environment by default)."""
    settings = settings or load_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        import asyncio

        from weaver.api.routes.events import sse_frame
        from weaver.api.services.market import seed_catalog
        from weaver.api.services.runs import RunService
        from weaver.api.services.strategies import register_examples
        from weaver.api.workers import WorkerPool
        from weaver.catalog import Catalog
        from weaver.events.broadcast import Broadcaster
        from weaver.live.manager import RunManager
        from weaver.store.database import AsyncStore

        app.state.token = ensure_token(settings)
        store = AsyncStore(settings=settings)
        app.state.store = store
        app.state.catalog = Catalog(settings.catalog_path)
        app.state.workers = WorkerPool()  # posted strategies are imported there, never on the loop
        # the event stream: one reader of the log (one LISTEN connection) feeds every client
        poll = settings.sse_poll_interval if store.dialect == "sqlite" else store.poll_interval  # else NOTIFY wakes it
        broadcaster = Broadcaster(store.log, sse_frame, poll_interval=poll, queue_limit=settings.sse_queue,
                                  batch=max(1, min(500, settings.sse_queue // 4)))  # a client has 4 pages of slack
        app.state.broadcaster = broadcaster
        try:
            await store.upgrade()
            await register_examples(store)  # under their short names; idempotent
            await asyncio.to_thread(seed_catalog, app.state.catalog)  # the sample data, into an empty catalog
            await broadcaster.start()
            # runs: the manager supervises backtest workers and settles runs a dead server left running
            manager = RunManager(store, settings.catalog_path)
            app.state.run_service = RunService(store, app.state.catalog, manager)
            broadcaster.watch(app.state.run_service.saw)  # a run changed anywhere drops the runs list's pages
            await manager.settle()
            try:
                yield
            finally:
                await manager.close()
        finally:
            await broadcaster.close()
            await app.state.workers.close()
            await store.close()

    app = FastAPI(title="Weaver", version=version("weaver"), lifespan=lifespan, responses=_ERRORS,
                  description="Runs, orders, candles, strategies and a live event stream. Every /api/v1 route "
                              "needs `Authorization: Bearer <token>` (the event stream also takes `?token=`).")
    app.state.settings = settings
    install_error_handlers(app)

    from weaver.api.routes import events, health, market, orders, runs, strategies

    app.include_router(health.health)
    for router in (health.v1, market.router, strategies.router, runs.v1, orders.v1):
        app.include_router(router, prefix="/api/v1", dependencies=[Depends(require_token)])
    app.include_router(events.router, prefix="/api/v1")  # each route names its token check: the stream takes ?token=

    # added innermost first: a request meets RequestContext, the catch-all, the guard, the size limit
    app.add_middleware(CORSMiddleware, allow_origins=settings.allowed_origins, allow_methods=["*"],
                       allow_headers=["Authorization", "Content-Type", "Last-Event-ID", "X-Correlation-ID"],
                       expose_headers=["X-Correlation-ID"])
    app.add_middleware(BodyLimit, max_bytes=MAX_BODY_BYTES)
    app.add_middleware(HostOriginGuard, allowed_hosts=settings.allowed_hosts,
                       allowed_origins=settings.allowed_origins)
    app.add_middleware(CatchAll)
    app.add_middleware(RequestContext)
    return app
