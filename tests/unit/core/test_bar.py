"""Tests for Bar validation."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from weaver.core import Bar, DataError

TS = datetime(2024, 1, 2, 14, 30, tzinfo=timezone.utc)


def make_bar(**overrides: object) -> Bar:
    fields: dict[str, object] = dict(
        symbol="GOOG", timestamp=TS, open="100", high="105", low="99", close="104",
        volume="1000",
    )
    fields.update(overrides)
    return Bar.of(**fields)  # type: ignore[arg-type]


def test_of_converts_numbers_to_decimal() -> None:
    bar = Bar.of("GOOG", TS, 100, 105.5, "99", Decimal("104"), 1000)

    assert bar.open == Decimal("100")
    assert bar.high == Decimal("105.5")
    assert bar.low == Decimal("99")
    assert all(
        type(v) is Decimal for v in (bar.open, bar.high, bar.low, bar.close, bar.volume)
    )


def test_of_uses_the_float_repr_not_its_binary_value() -> None:
    assert Bar.of("X", TS, 0.1, 0.1, 0.1, 0.1, 0).open == Decimal("0.1")


def test_bar_is_frozen() -> None:
    bar = make_bar()
    with pytest.raises(AttributeError):
        bar.close = Decimal(1)  # type: ignore[misc]


def test_bar_accepts_doji_and_zero_volume() -> None:
    bar = make_bar(open="100", high="100", low="100", close="100", volume="0")
    assert bar.high == bar.low


@pytest.mark.parametrize(
    ("overrides", "fragments"),
    [
        ({"open": "0"}, ["open", "0", "must be > 0"]),
        ({"low": "-1"}, ["low", "-1"]),
        ({"high": "98"}, ["high 98", "low 99"]),
        ({"open": "106"}, ["open 106", "[99, 105]"]),
        ({"close": "98.5"}, ["close 98.5", "[99, 105]"]),
        ({"volume": "-5"}, ["volume", "-5"]),
        ({"close": "nan"}, ["close", "NaN"]),
        ({"close": "abc"}, ["close", "abc"]),
    ],
)
def test_invalid_bar_names_field_value_and_where(
    overrides: dict[str, object], fragments: list[str]
) -> None:
    with pytest.raises(DataError) as info:
        make_bar(**overrides)

    message = str(info.value)
    for fragment in fragments:
        assert fragment in message
    assert "GOOG" in message
    assert "2024-01-02T14:30:00+00:00" in message


def test_naive_timestamp_is_rejected() -> None:
    with pytest.raises(DataError, match="timestamp.*naive.*GOOG"):
        make_bar(timestamp=datetime(2024, 1, 2, 14, 30))


def test_non_utc_timestamp_is_rejected() -> None:
    est = timezone(timedelta(hours=-5))
    with pytest.raises(DataError, match="UTC"):
        make_bar(timestamp=datetime(2024, 1, 2, 9, 30, tzinfo=est))


def test_empty_symbol_is_rejected() -> None:
    with pytest.raises(DataError, match="symbol"):
        make_bar(symbol="")


def test_data_error_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        make_bar(volume="-1")
