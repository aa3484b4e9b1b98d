"""Builders shared by the data tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

HEADER = "Datetime,Open,High,Low,Close,Volume\n"


@pytest.fixture
def make_csv(tmp_path: Path) -> Callable[..., Path]:
    """Write a small CSV (header added unless ``header=None``) and return its path."""

    def make(body: str, name: str = "bars.csv", header: str | None = HEADER) -> Path:
        path = tmp_path / name
        path.write_text((header or "") + body)
        return path

    return make
