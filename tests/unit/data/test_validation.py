"""Every refusal names the file, the row (header = row 1), the column and the value."""

from __future__ import annotations

import re
import warnings

import pandas as pd
import pytest

from weaver.core.errors import DataError
from weaver.data import DataWarning, load_bars

GOOD = "2020-01-01 00:00,1,2,0.5,1.5,10\n2020-01-01 00:01,1.5,2,1,1,20\n"


def refused(path, **kwargs) -> str:
    with pytest.raises(DataError) as info:
        load_bars(path, **kwargs)
    return str(info.value)


def assert_names(message: str, path, row: int, column: str, value: str) -> None:
    assert str(path) in message
    assert f"row {row}," in message or f"row {row} " in message
    assert f"'{column}'" in message
    assert value in message


def test_missing_column_names_it_and_lists_found(make_csv):
    path = make_csv("2020-01-01,1,2,0.5,1.5\n", header="Date,Open,High,Low,Close\n")
    message = refused(path)
    assert str(path) in message
    assert "'volume'" in message
    assert "['Date', 'Open', 'High', 'Low', 'Close']" in message


def test_missing_time_column_is_refused(make_csv):
    path = make_csv("1,2,0.5,1.5,3\n", header="Open,High,Low,Close,Volume\n")
    assert "time column" in refused(path)


@pytest.mark.parametrize("bad", ["2020-13-45 00:00", "yesterday", ""])
def test_unparseable_date(make_csv, bad):
    path = make_csv(GOOD + f"{bad},1,2,0.5,1.5,10\n")
    message = refused(path)
    assert_names(message, path, 4, "Datetime", repr(bad) if bad else "nan")


@pytest.mark.parametrize(
    ("column", "row_text", "value"),
    [
        ("Open", "2020-01-01 00:02,nan,2,1,1,1", "nan"),
        ("Close", "2020-01-01 00:02,1,2,1,inf,1", "inf"),
        ("High", "2020-01-01 00:02,1,,1,1,1", "nan"),
    ],
)
def test_nan_or_infinite_price(make_csv, column, row_text, value):
    path = make_csv(GOOD + row_text + "\n")
    message = refused(path)
    assert_names(message, path, 4, column, value)
    assert "NaN or infinite" in message


def test_non_numeric_price(make_csv):
    path = make_csv(GOOD + "2020-01-01 00:02,1,2,abc,1,1\n")
    assert_names(refused(path), path, 4, "Low", "'abc'")


@pytest.mark.parametrize(("text", "column", "value"), [("0,2,0,1,1", "Open", "0.0"), ("1,2,-1,1,1", "Low", "-1.0")])
def test_price_not_positive(make_csv, text, column, value):
    path = make_csv(GOOD + f"2020-01-01 00:02,{text}\n")
    message = refused(path)
    assert_names(message, path, 4, column, value)
    assert "zero or negative" in message


def test_high_below_low(make_csv):
    path = make_csv("2020-01-01 00:00,1,1,3,2,10\n")
    message = refused(path)
    assert_names(message, path, 2, "High", "1.0")
    assert "high is below low" in message and "3.0" in message


@pytest.mark.parametrize(
    ("text", "column", "value", "where"),
    [("5,4,1,2,1", "Open", "5.0", "above high"), ("2,4,1,0.5,1", "Close", "0.5", "below low")],
)
def test_open_or_close_outside_range(make_csv, text, column, value, where):
    path = make_csv(GOOD + f"2020-01-01 00:02,{text}\n")
    message = refused(path)
    assert_names(message, path, 4, column, value)
    assert where in message


@pytest.mark.parametrize(("volume", "value"), [("-5", "-5.0"), ("", "nan")])
def test_negative_or_missing_volume(make_csv, volume, value):
    path = make_csv(GOOD + f"2020-01-01 00:02,1,2,1,1,{volume}\n")
    assert_names(refused(path), path, 4, "Volume", value)


def test_duplicate_timestamp(make_csv):
    path = make_csv(GOOD + "2020-01-01 00:01,1.5,2,1,1,20\n")
    message = refused(path)
    assert_names(message, path, 4, "Datetime", "2020-01-01 00:01:00+00:00")
    assert "duplicate" in message and "row 3" in message


def test_out_of_order(make_csv):
    path = make_csv(GOOD + "2020-01-01 00:00:30,1.5,2,1,1,20\n")
    message = refused(path)
    assert_names(message, path, 4, "Datetime", "2020-01-01 00:00:30+00:00")
    assert "out of time order" in message


def test_counts_more_rows_with_the_same_problem(make_csv):
    path = make_csv(GOOD + "".join(f"2020-01-01 00:0{i},1,2,0,1,1\n" for i in range(2, 5)))
    message = refused(path)
    assert "row 4" in message and "2 more rows with the same problem" in message


def test_blank_line_keeps_row_numbers(make_csv):
    path = make_csv("2020-01-01 00:00,1,2,0.5,1.5,10\n\n2020-01-01 00:02,1,2,3,1,1\n\n")
    message = refused(path)
    assert "row 3," in message  # the blank line itself is row 3: refused as a missing date


def test_dataframe_source_is_named_with_position():
    frame = pd.DataFrame(
        {"timestamp": ["2020-01-01", "2020-01-02"], "open": [1, 1], "high": [2, 2], "low": [1, 3], "close": [1, 1], "volume": [1, 1]}
    )
    message = str(pytest.raises(DataError, load_bars, frame).value)
    assert message.startswith("DataFrame row 3 (iloc 1), column 'high'")


# ---------------------------------------------------------------------------- time zones


def test_naive_mixed_with_offsets_is_refused(make_csv):
    path = make_csv("2020-01-01 00:00,1,2,0.5,1.5,10\n2020-01-01 00:01+01:00,1,2,1,1,1\n")
    message = refused(path)
    assert_names(message, path, 3, "Datetime", "'2020-01-01 00:01+01:00'")
    assert "mixed time zones" in message


def test_different_offsets_without_tz_are_refused(make_csv):
    path = make_csv("2020-01-01T00:00:00+00:00,1,2,0.5,1.5,10\n2020-01-01T02:01:00+02:00,1,2,1,1,1\n")
    message = refused(path)
    assert_names(message, path, 3, "Datetime", "'2020-01-01T02:01:00+02:00'")
    assert "tz=" in message


def test_offsets_of_one_dst_zone_are_accepted_with_tz(make_csv):
    path = make_csv("2020-03-06 09:30:00-05:00,1,2,0.5,1.5,10\n2020-03-09 09:30:00-04:00,1,2,1,1,1\n")
    bars = load_bars(path, tz="America/New_York")
    assert list(bars.index) == [pd.Timestamp("2020-03-06 14:30", tz="UTC"), pd.Timestamp("2020-03-09 13:30", tz="UTC")]


def test_offsets_that_are_not_the_zones_are_refused(make_csv):
    path = make_csv("2020-03-06 09:30:00-05:00,1,2,0.5,1.5,10\n2020-03-09 09:30:00-05:00,1,2,1,1,1\n2020-03-10 09:30:00-04:00,1,2,1,1,1\n")
    message = refused(path, tz="America/New_York")
    assert_names(message, path, 3, "Datetime", "'2020-03-09 09:30:00-05:00'")


def test_single_offset_is_converted_to_utc(make_csv):
    path = make_csv("2020-01-01T09:00:00+09:00,1,2,0.5,1.5,10\n2020-01-01T09:01:00+09:00,1,2,1,1,1\n")
    assert load_bars(path).index[0] == pd.Timestamp("2020-01-01 00:00", tz="UTC")


def test_naive_local_times_are_localized_with_tz(make_csv):
    path = make_csv("2020-07-01 09:30,1,2,0.5,1.5,10\n2020-07-01 09:31,1,2,1,1,1\n")
    bars = load_bars(path, tz="America/New_York")
    assert bars.index[0] == pd.Timestamp("2020-07-01 13:30", tz="UTC")
    assert str(bars.index.tz) == "UTC"


@pytest.mark.parametrize(
    ("stamp", "kind"), [("2020-11-01 01:30", "ambiguous"), ("2020-03-08 02:30", "does not exist")]
)
def test_dst_ambiguous_or_missing_local_time_is_refused(make_csv, stamp, kind):
    path = make_csv(f"2020-01-01 00:00,1,2,0.5,1.5,10\n{stamp},1,2,1,1,1\n")
    message = refused(path, tz="America/New_York")
    assert_names(message, path, 3, "Datetime", stamp)
    assert kind in message


def test_numeric_timestamps_are_refused():
    frame = pd.DataFrame({"time": [1, 2], "open": [1, 1], "high": [1, 1], "low": [1, 1], "close": [1, 1], "volume": [0, 0]})
    assert "numbers are not dates" in str(pytest.raises(DataError, load_bars, frame).value)


def test_unknown_tz_is_refused(make_csv):
    assert "Mars/Olympus" in refused(make_csv(GOOD), tz="Mars/Olympus")


# -------------------------------------------------------------------------------- repair


def test_repair_sorts_and_drops_exact_duplicates_and_warns(make_csv):
    path = make_csv(
        "2020-01-01 00:01,1.5,2,1,1,20\n"
        "2020-01-01 00:00,1,2,0.5,1.5,10\n"
        "2020-01-01 00:01,1.5,2,1,1,20\n"
        "2020-01-01 00:02,1,2,1,1,1\n"
    )
    with pytest.warns(DataWarning, match="sorted rows.*dropped 1 exact duplicate rows") as record:
        bars = load_bars(path, repair=True)
    assert str(path) in str(record[0].message)
    assert len(bars) == 3 and bars.index.is_monotonic_increasing
    assert bars.attrs["repairs"] == [
        "sorted rows into time order (1 rows were earlier than the row before them, first row 3)",
        "dropped 1 exact duplicate rows (rows 4)",
    ]


def test_repair_refuses_duplicates_with_different_values(make_csv):
    path = make_csv(GOOD + "2020-01-01 00:01,1.5,2,1,1,99\n")
    message = refused(path, repair=True)
    assert_names(message, path, 4, "Datetime", "2020-01-01 00:01:00+00:00")
    assert "different values" in message and "Volume" in message
    assert "np." not in message  # plain numbers, not np.float64(...)


def test_clean_data_has_no_repairs_and_no_warning(make_csv):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        bars = load_bars(make_csv(GOOD), repair=True)
    assert bars.attrs["repairs"] == []


def test_row_numbers_survive_a_symbol_filter(make_csv):
    path = make_csv(
        "2020-01-01,A,1,2,1,1,1\n2020-01-01,B,1,2,1,1,1\n2020-01-02,B,1,2,3,1,1\n",
        header="date,symbol,open,high,low,close,volume\n",
    )
    assert re.search(r"row 4, column 'high'", refused(path, symbol="B"))


def test_no_rows_is_refused(make_csv):
    assert "no data rows" in refused(make_csv(""))


def test_columns_that_collide_case_insensitively_are_refused(make_csv):
    path = make_csv("2020-01-01,1,1,1,1,1,1\n", header="Date,Close,close,Open,High,Low,Volume\n")
    assert "'Close' and 'close' both read as 'close'" in refused(path)
