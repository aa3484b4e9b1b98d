"""The report notebook's helpers: the title block says what the broker refused."""

from __future__ import annotations

import weaver as wv
from weaver.reports.notebook import header
from weaver.strategy.examples import SmaCross

from tests.unit.backtesting.test_sizing import DocExample


def test_the_header_lists_what_the_broker_refused() -> None:
    bars = wv.load_bars("data/GOOG.csv")
    result = wv.backtest(DocExample, bars)

    text = header(result, bars, 100_000, 0).data

    assert result.notes and all(f"⚠ {note}" in text for note in result.notes)


def test_a_clean_run_has_a_plain_header() -> None:
    bars = wv.load_bars("data/GOOG.csv")
    result = wv.backtest(SmaCross, bars)

    text = header(result, bars, 100_000, 0).data

    assert "⚠" not in text and "SmaCross(fast=10, slow=30, qty=100)" in text
