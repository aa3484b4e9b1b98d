"""The cursor: the position of the bar being processed, shared by a run's clock and lines."""

from __future__ import annotations


class Cursor:
    """The index of the bar being processed; one per run, shared by every line."""

    __slots__ = ("i",)

    def __init__(self, i: int = -1) -> None:
        self.i = i
