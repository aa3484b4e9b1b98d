"""Pages of a list (roadmap A.2's ``*ListResponse``): ``?page=`` from 1 and ``?page_size=`` up to
:data:`MAX_PAGE_SIZE`; a larger page size answers 422 naming ``page_size``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel, Field

__all__ = ["MAX_PAGE", "MAX_PAGE_SIZE", "Page", "Paging", "paging"]

#: the most items one page holds
MAX_PAGE_SIZE = 500
#: the highest page number: its offset still fits the databases' 64-bit OFFSET
MAX_PAGE = 1_000_000_000

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """One page of a list, and how many items the whole list holds."""

    items: list[T]
    total: int = Field(description="How many items match, on every page")
    page: int = Field(description="This page's number, from 1")
    page_size: int = Field(description="The most items a page holds")


@dataclass(frozen=True, slots=True)
class Paging:
    """Which page a request asks for."""

    page: int
    page_size: int

    @property
    def offset(self) -> int:
        """How many items come before this page."""
        return (self.page - 1) * self.page_size

    def of(self, items: list[T], total: int) -> Page[T]:
        """Return ``items`` as this page of a list of ``total``."""
        return Page(items=items, total=total, page=self.page, page_size=self.page_size)


def paging(default_size: int) -> Callable[..., Awaitable[Paging]]:
    """Return the dependency that reads ``?page=`` and ``?page_size=`` (``default_size`` when absent).

    An ``async def``, as FastAPI would run a plain ``def`` on its thread pool.
    """

    async def dependency(page: int = Query(1, ge=1, le=MAX_PAGE, description="The page, from 1"),
                         page_size: int = Query(default_size, ge=1, le=MAX_PAGE_SIZE,
                                                description=f"Items per page, at most {MAX_PAGE_SIZE}")) -> Paging:
        return Paging(page, page_size)

    return dependency
