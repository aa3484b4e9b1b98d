"""Tests for the client order id rule (DESIGN §7): derived, bounded, safe."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from weaver.core.errors import ParameterError
from weaver.core.ids import MAX_LENGTH, BarKeys, bar_key, check_run_id, client_order_id, event_key

SAFE = re.compile(r"[A-Za-z0-9._-]{1,128}")


def test_a_bars_key_is_its_utc_time_in_compact_iso() -> None:
    assert bar_key(datetime(2024, 1, 2, 14, 30, tzinfo=timezone.utc)) == "20240102T143000Z"
    assert bar_key(datetime(2024, 1, 2, 14, 30, 0, 250_000, tzinfo=timezone.utc)) == "20240102T143000.250000Z"
    new_york = timezone(timedelta(hours=-5))
    assert bar_key(datetime(2024, 1, 2, 9, 30, tzinfo=new_york)) == "20240102T143000Z"


@settings(max_examples=500)
@given(st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(2200, 1, 1),
                    timezones=st.sampled_from([timezone.utc, timezone(timedelta(hours=-5))])))
def test_the_fast_bar_keys_equal_bar_key(ts: datetime) -> None:
    keys = BarKeys(limit=4)  # small, so the cache also starts again
    assert keys(ts) == bar_key(ts)
    assert keys(ts) == bar_key(ts)  # the remembered day
    later = ts + timedelta(days=3, seconds=7)
    assert keys(later) == bar_key(later)


def test_ids_are_run_place_sequence() -> None:
    assert client_order_id("bt", "20240102T143000Z", 2) == "bt-20240102T143000Z-2"
    assert client_order_id("run7", event_key("run7", "run7-20240102T143000Z-1.1"), 1) == "run7-20240102T143000Z-1.1-1"
    assert event_key("run7", "7f0c2a9e-exec") == "7f0c2a9e-exec"  # a venue's execution id is kept whole


@given(key=st.text(min_size=1, max_size=400), seq=st.integers(1, 10**6))
def test_every_id_is_at_most_128_safe_characters_and_stays_derived(key: str, seq: int) -> None:
    coid = client_order_id("r-1", key, seq)
    assert SAFE.fullmatch(coid) and len(coid) <= MAX_LENGTH
    assert coid.startswith("r-1-") and coid.endswith(f"-{seq}")  # the run's prefix attributes it
    assert coid == client_order_id("r-1", key, seq)  # derived: the same place gives the same id


def test_places_that_do_not_fit_are_hashed_and_still_distinct() -> None:
    long_a, long_b = "a" * 200, "a" * 199 + "b"
    assert client_order_id("bt", long_a, 1) != client_order_id("bt", long_b, 1)
    assert client_order_id("bt", "exec id/with:odd chars", 1).startswith("bt-h")


@pytest.mark.parametrize("run_id", ["", "has space", "x" * 49, "a/b", 7])
def test_a_run_id_that_cannot_prefix_ids_is_refused(run_id: object) -> None:
    with pytest.raises(ParameterError, match="run id"):
        check_run_id(run_id)  # type: ignore[arg-type]
