from __future__ import annotations

import numpy as np
import pytest

from weaver.clock import Cursor
from weaver.strategy.lines import Line


def make_line(n: int = 5) -> tuple[Line, Cursor]:
    cursor = Cursor()
    return Line(np.arange(n, dtype=float) * 10, cursor, "x"), cursor


def test_negative_indexes_count_back_from_the_cursor() -> None:
    line, cursor = make_line()
    cursor.i = 2

    assert (line[-1], line[-2], line[-3]) == (20.0, 10.0, 0.0)
    assert len(line) == 3
    assert np.asarray(line).tolist() == [0.0, 10.0, 20.0]
    assert line[0:2].tolist() == [0.0, 10.0]


def test_bars_after_the_cursor_are_unreachable() -> None:
    line, cursor = make_line()
    cursor.i = 2

    with pytest.raises(IndexError, match="outside the 3 bars"):
        line[3]
    with pytest.raises(IndexError):
        line[-4]
    assert line[:].tolist() == [0.0, 10.0, 20.0]
