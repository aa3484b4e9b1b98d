"""Strategies as the API shows them: a registration's request, the registered strategy, lists of them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["NAME_PATTERN", "StrategyCreate", "StrategyListResponse", "StrategyResponse", "StrategySummary"]

#: a strategy's name: a letter first (so a name never reads as an id), then letters, digits, ``_.-``
NAME_PATTERN = r"^[A-Za-z][A-Za-z0-9_.\-]{0,199}$"

_SOURCE_EXAMPLE = ('import weaver as wv\nfrom weaver.indicators import crossover, sma\n\n\n'
                   'class SmaCross(wv.Strategy):\n    """Buy when the fast SMA crosses above the slow one."""\n\n'
                   '    fast: int = wv.param(10, low=2, high=200, doc="fast SMA window (bars)")\n'
                   '    slow: int = wv.param(30, low=3, high=500, doc="slow SMA window (bars)")\n\n'
                   '    def init(self):\n        self.f = self.indicator(sma, self.data.close, self.fast)\n'
                   '        self.s = self.indicator(sma, self.data.close, self.slow)\n\n'
                   '    def next(self):\n        if crossover(self.f, self.s):\n            self.buy(100)\n'
                   '        elif crossover(self.s, self.f):\n            self.close()\n')
_VERSION_EXAMPLE = "5f0c3e8a9b1d4c7e2a6f8b0d1c3e5a7f9b2d4c6e8a0f1b3d5c7e9a2b4d6f8a0c"
_SCHEMA_EXAMPLE = {
    "$schema": "https://json-schema.org/draft/2020-12/schema", "title": "SmaCross",
    "description": "Buy when the fast SMA crosses above the slow one.", "type": "object",
    "additionalProperties": False,
    "properties": {
        "fast": {"type": "integer", "title": "fast", "description": "fast SMA window (bars)", "default": 10,
                 "minimum": 2, "maximum": 200},
        "slow": {"type": "integer", "title": "slow", "description": "slow SMA window (bars)", "default": 30,
                 "minimum": 3, "maximum": 500}}}


class StrategyCreate(BaseModel):
    """A strategy's source to register under a name."""

    name: str = Field(pattern=NAME_PATTERN, description="The name runs use: a letter, then up to 199 letters, "
                                                        "digits or `_.-`")
    source: str = Field(min_length=1, description="Python source defining one weaver.Strategy subclass")
    class_name: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$",
                                   description="The class to register when the source defines several")

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"name": "my_sma", "source": _SOURCE_EXAMPLE}]})


class StrategySummary(BaseModel):
    """A registered strategy as lists show it (no source, no schema)."""

    id: int = Field(description="The registration's id: a run's strategy_id may give it")
    name: str
    version: str = Field(description="SHA-256 of the source, hex: the same source is the same version")
    class_name: str | None = Field(description="The weaver.Strategy subclass the source defines (its "
                                               "params_schema's title; None if registered without one)")
    created_at: datetime

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": 4, "name": "my_sma", "version": _VERSION_EXAMPLE, "class_name": "SmaCross",
        "created_at": "2026-12-05T14:30:00Z"}]})


class StrategyResponse(StrategySummary):
    """A registered strategy: its version, source, and its parameters as JSON Schema."""

    params_schema: dict[str, Any] = Field(description="The parameters as a JSON Schema object (draft 2020-12): "
                                                      "type, default, minimum/maximum, x-step, enum per parameter")
    source: str

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": 4, "name": "my_sma", "version": _VERSION_EXAMPLE, "class_name": "SmaCross",
        "created_at": "2026-12-05T14:30:00Z", "params_schema": _SCHEMA_EXAMPLE, "source": _SOURCE_EXAMPLE}]})


class StrategyListResponse(BaseModel):
    """One page of registered strategies, newest first."""

    items: list[StrategySummary]
    total: int = Field(description="How many match, on every page")
    page: int
    page_size: int

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "items": [{"id": 4, "name": "my_sma", "version": _VERSION_EXAMPLE, "class_name": "SmaCross",
                   "created_at": "2026-12-05T14:30:00Z"}], "total": 1, "page": 1, "page_size": 20}]})
