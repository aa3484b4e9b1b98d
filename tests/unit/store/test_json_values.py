"""The store's JSON encoding of statistics and parameters: what plain JSON cannot hold comes back exact."""

from __future__ import annotations

import json
import math
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from weaver.core.errors import DataError
from weaver.store.json_values import decode_items, decode_series, decode_value, encode_series, encode_value


def round_trip(value: object) -> object:
    return decode_value(json.loads(json.dumps(encode_value(value), allow_nan=False)))


@given(st.floats(allow_nan=False))
def test_every_float_comes_back_bit_for_bit(value: float) -> None:
    back = round_trip(value)

    assert type(back) is float and back == value and math.copysign(1, back) == math.copysign(1, value)


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, -0.0, 1e16, 1e-7, 1.5e300])
def test_floats_that_json_or_jsonb_would_change_are_tagged(value: float) -> None:
    encoded = encode_value(value)

    assert encoded == {"$float": repr(value)}
    assert repr(round_trip(value)) == repr(value)


@pytest.mark.parametrize("value", [0.0, 0.1 + 0.2, 100000.0, -3.25, 9999999999999998.0])
def test_floats_in_plain_notation_stay_json_numbers(value: float) -> None:
    assert encode_value(value) == value


@pytest.mark.parametrize("value", [
    pd.Timestamp("2024-01-02 14:30:00.000000001", tz="UTC"),
    pd.Timestamp("2024-01-02 09:30", tz="America/New_York"),
    pd.Timestamp("2024-01-02").as_unit("s"),
    pd.Timedelta("3116 days"),
    -pd.Timedelta(1, "ns"),
    pd.Timedelta(90, "s").as_unit("ms"),
])
def test_times_come_back_with_their_unit_and_zone(value: pd.Timestamp | pd.Timedelta) -> None:
    back = round_trip(value)

    assert type(back) is type(value) and back == value and back.unit == value.unit
    if isinstance(value, pd.Timestamp):
        assert str(back.tz) == str(value.tz)


@pytest.mark.parametrize("value", [None, True, False, 0, -7, 2**70, "text", "$float", Decimal("0.10")])
def test_plain_values_and_decimals_come_back_as_they_were(value: object) -> None:
    back = round_trip(value)

    assert type(back) is type(value) and back == value
    if isinstance(value, Decimal):
        assert str(back) == str(value)


def test_the_tag_is_found_whatever_the_order_of_the_keys() -> None:
    encoded = encode_value(pd.Timestamp("2024-01-02 09:30", tz="America/New_York"))

    assert decode_value(dict(reversed(list(encoded.items())))) == pd.Timestamp("2024-01-02 09:30", tz="America/New_York")


def test_nat_and_numpy_scalars() -> None:
    assert round_trip(pd.NaT) is pd.NaT
    assert round_trip(np.float64(0.5)) == 0.5 and type(round_trip(np.float64(0.5))) is float
    assert round_trip(np.int64(3)) == 3 and type(round_trip(np.int64(3))) is int
    assert round_trip(np.bool_(True)) is True


def test_a_value_without_an_encoding_is_refused_naming_it() -> None:
    with pytest.raises(DataError, match=r"stats\['odd'\].*list"):
        encode_series(pd.Series({"odd": [1, 2]}, dtype=object), "stats")


def test_an_unknown_tag_is_refused_naming_it() -> None:
    with pytest.raises(DataError, match=r"\$complex"):
        decode_value({"$complex": "1+2j"})


def test_a_series_keeps_its_order_name_and_values() -> None:
    series = pd.Series({"z": 1.5, "a": math.nan, "m": pd.Timestamp("2024-01-02", tz="UTC")}, name="stats", dtype=object)

    back = decode_series(json.loads(json.dumps(encode_series(series, "stats"))))

    pd.testing.assert_series_equal(back, series, check_exact=True)


def test_decode_items_holds_what_decode_series_holds_in_its_order() -> None:
    series = pd.Series([1.5, pd.Timestamp("2024-01-02", tz="UTC"), pd.Timedelta(days=3), 7, "x", None],
                       index=["f", "ts", "td", "n", "s", "none"], name="stats", dtype=object)
    data = json.loads(json.dumps(encode_series(series, "stats")))

    items = decode_items(data)

    assert list(items) == list(series.index)
    assert items == decode_series(data).to_dict()
