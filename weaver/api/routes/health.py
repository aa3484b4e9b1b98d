"""``/healthz`` (no token: a probe) and ``/api/v1/info``."""

from __future__ import annotations

import platform
from datetime import datetime, timezone
from importlib.metadata import version
from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field

from weaver.api.deps import CatalogDep, StoreDep

__all__ = ["HealthResponse", "InfoResponse", "health", "v1"]

health = APIRouter(tags=["health"])
v1 = APIRouter(tags=["health"])


class HealthResponse(BaseModel):
    """Whether the server and its store answer."""

    status: Literal["ok"]
    database: Literal["ok"]

    model_config = {"json_schema_extra": {"examples": [{"status": "ok", "database": "ok"}]}}


class InfoResponse(BaseModel):
    """What this server is and holds."""

    name: Literal["weaver"] = "weaver"
    version: str = Field(description="Weaver's version")
    python: str
    database: Literal["sqlite", "postgresql"] = Field(description="The store's database (its URL is not shown)")
    schema_revision: str | None = Field(description="The store's Alembic revision")
    symbols: int = Field(description="How many symbols the catalog holds")
    time: datetime = Field(description="The server's clock, UTC")

    model_config = {"json_schema_extra": {"examples": [{
        "name": "weaver", "version": "0.1.0", "python": "3.11.7", "database": "sqlite", "schema_revision": "0002",
        "symbols": 2, "time": "2026-12-05T14:30:00Z"}]}}


@health.get("/healthz", response_model=HealthResponse, summary="Health check (no token needed)",
            responses={503: {"description": "The store is unavailable"}})
async def healthz(store: StoreDep) -> HealthResponse:
    """Answer 200 when the server and its store answer, 503 when the store does not."""
    await store.ping()
    return HealthResponse(status="ok", database="ok")


@v1.get("/info", response_model=InfoResponse, summary="What this server is and holds")
async def info(store: StoreDep, catalog: CatalogDep) -> InfoResponse:
    """Return the server's version, its store's kind and revision, and the catalog's size."""
    return InfoResponse(version=version("weaver"), python=platform.python_version(),
                        database=store.dialect,  # type: ignore[arg-type]
                        schema_revision=await store.current(), symbols=len(catalog.symbols()),
                        time=datetime.now(timezone.utc))
