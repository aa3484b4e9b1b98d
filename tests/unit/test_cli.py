"""``weaver backtest``: statistics, and what the broker refused, on the terminal and in JSON."""

from __future__ import annotations

import json

import pytest

from weaver.cli import main

DOC_EXAMPLE = "tests.unit.backtesting.test_sizing:DocExample"  # all equity on every cross up


def test_backtest_prints_the_statistics_and_the_refusals(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["backtest", DOC_EXAMPLE, "data/GOOG.csv"])

    out = capsys.readouterr().out
    assert code == 0
    assert "n_orders_reduced" in out
    (note,) = [line for line in out.splitlines() if line.startswith("note: ")]
    assert note.startswith("note: ") and " orders reduced: insufficient cash at fill, first on 2004-" in note


def test_backtest_json_carries_the_notes(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["backtest", DOC_EXAMPLE, "data/GOOG.csv", "--json"])

    payload = json.loads(capsys.readouterr().out)
    assert code == 0
    assert payload["n_orders_reduced"] > 0
    assert payload["notes"] == [n for n in payload["notes"] if "orders reduced: insufficient cash at fill" in n] != []


def test_a_clean_backtest_has_no_notes(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["backtest", "sma_cross", "data/GOOG.csv", "--json"])

    payload = json.loads(capsys.readouterr().out)
    assert code == 0 and payload["notes"] == [] and payload["n_orders_rejected"] == 0
