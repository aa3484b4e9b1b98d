"""load_bars on files that are not plain comma-separated ISO dates: separators, day-first dates,
epoch numbers, and the hints given when a file is read the wrong way."""

from __future__ import annotations

import sys
import warnings
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from weaver.core.errors import DataError
from weaver.data import load_bars, synthetic
from weaver.data import loader

COLUMNS = ["timestamp", "open", "high", "low", "close", "volume"]
VALUES = ["1", "2", "0.5", "1.5", "10"]
JAN_31 = pd.Timestamp("2020-01-31", tz="UTC")
EPOCH_2020 = pd.Timestamp("2020-01-01", tz="UTC")


@pytest.fixture
def make_rows(make_csv) -> Callable[..., Path]:
    """Write a CSV of ``times`` (one bar each) joined by ``sep`` and return its path."""

    def make(times: list[str], sep: str = ",", header: list[str] = COLUMNS, name: str = "bars.csv") -> Path:
        body = "".join(sep.join([t, *VALUES]) + "\n" for t in times)
        return make_csv(body, name=name, header=sep.join(header) + "\n")

    return make


def make_frame(times: list, **extra) -> pd.DataFrame:
    n = len(times)
    columns = {"time": times, "open": [1.0] * n, "high": [2.0] * n, "low": [0.5] * n, "close": [1.5] * n}
    return pd.DataFrame({**columns, "volume": [10.0] * n, **extra})


def refused(source, **kwargs) -> str:
    with pytest.raises(DataError) as info:
        load_bars(source, **kwargs)
    return str(info.value)


# ------------------------------------------------------------------------------ separators


@pytest.mark.parametrize("sep", [";", "\t", "|", ","])
def test_sep_reads_semicolon_tab_and_pipe_files(make_rows, sep):
    path = make_rows(["2020-01-01 09:30", "2020-01-01 09:31"], sep=sep)

    bars = load_bars(path, sep=sep)

    assert list(bars.index) == [pd.Timestamp("2020-01-01 09:30", tz="UTC"), pd.Timestamp("2020-01-01 09:31", tz="UTC")]
    assert bars.iloc[0].tolist() == [1.0, 2.0, 0.5, 1.5, 10.0]


@pytest.mark.parametrize("sep", [";", "\t"])
def test_the_pandas_fallback_honours_sep_and_agrees_with_the_fast_path(make_csv, monkeypatch, sep):
    # a quoted newline in a column load_bars drops is a case pyarrow refuses and pandas reads
    header = sep.join([*COLUMNS, "note"]) + "\n"
    rows = [sep.join([f"2020-01-0{d}", *VALUES, note]) for d, note in ((1, '"two\nlines"'), (2, "x"))]
    path = make_csv("\n".join(rows) + "\n", header=header)
    odd = load_bars(path, sep=sep)
    plain = make_csv(f"2020-01-01{sep}{sep.join(VALUES)}\n", name="plain.csv", header=sep.join(COLUMNS) + "\n")
    fast = load_bars(plain, sep=sep)

    monkeypatch.setattr(loader, "_read_csv_arrow", lambda *args, **kwargs: None)
    slow = load_bars(plain, sep=sep)

    assert list(odd.index) == [pd.Timestamp("2020-01-01", tz="UTC"), pd.Timestamp("2020-01-02", tz="UTC")]
    pd.testing.assert_frame_equal(fast, slow)


@pytest.mark.parametrize("sep", [";;", "", None, 3])
def test_sep_must_be_one_character(make_rows, sep):
    message = refused(make_rows(["2020-01-01"]), sep=sep)
    assert repr(sep) in message and "pd.read_csv" in message


@pytest.mark.parametrize(
    ("written", "given", "shown"),
    [
        (";", ",", "'timestamp;open;high;…'"),
        ("\t", ",", "'timestamp\\topen\\thigh\\t…'"),
        ("|", ",", "'timestamp|open|high|…'"),
        (",", ";", "'timestamp,open,high,…'"),
    ],
)
def test_a_header_that_did_not_split_suggests_the_separator(make_rows, written, given, shown):
    path = make_rows(["2020-01-01"], sep=written)

    message = refused(path, sep=given)

    assert str(path) in message
    assert f"found one column {shown}" in message
    assert f"is the separator {written!r}? pass sep={written!r}" in message


def test_a_semicolon_file_with_decimal_commas_still_gets_the_separator_hint(make_csv):
    path = make_csv("2020-01-01;1,5;2;0,5;1,5;10\n", header="timestamp;open;high;low;close;volume\n")
    assert "pass sep=';'" in refused(path)


@pytest.mark.parametrize(("written", "read"), [(";", ","), (",", ";")])
def test_a_dataframe_read_with_the_wrong_separator_gets_the_hint(make_rows, written, read):
    frame = pd.read_csv(make_rows(["2020-01-01"], sep=written), sep=read)

    message = refused(frame)

    assert f"found one column 'timestamp{written}open{written}high{written}…'" in message
    assert f"sep={written!r}" in message and "pd.read_csv" in message


def test_decimal_commas_are_refused_with_a_hint(make_csv):
    path = make_csv("2020-01-01;1,5;2;0,5;1,5;10\n", header="timestamp;open;high;low;close;volume\n")

    message = refused(path, sep=";")

    assert "row 2, column 'open', value '1,5': not a number" in message
    assert "decimal=','" in message


# -------------------------------------------------------------------------- missing columns


def test_missing_columns_lists_every_column_of_the_file_and_suggests_a_rename(make_csv):
    path = make_csv("2020-01-01,1,2,0.5,1.5,10\n", header="timestamp,o,h,l,c,v\n")

    message = refused(path)

    assert "missing required column 'open'" in message
    assert "columns found: ['timestamp', 'o', 'h', 'l', 'c', 'v']" in message
    assert ".rename(columns={'o': 'open', 'h': 'high', 'l': 'low', 'c': 'close', 'v': 'volume'})" in message
    assert f"pd.read_csv({str(path)!r})" in message and "load_bars(df" in message


def test_the_rename_suggestion_keeps_the_separator_and_falls_back_to_a_template(make_csv):
    path = make_csv("2020-01-01;1;2;0.5;1.5;10\n", header="Date;Open;High;Low;Close;Qty\n")

    message = refused(path, sep=";")

    assert "columns found: ['Date', 'Open', 'High', 'Low', 'Close', 'Qty']" in message
    assert f"pd.read_csv({str(path)!r}, sep=';')" in message
    assert "'volume'" in message and ".rename(columns=" in message


def test_missing_time_column_lists_every_column_of_the_file(make_csv):
    path = make_csv("2020-01-01,1,2,0.5,1.5,10\n", header="when,open,high,low,close,volume\n")
    assert "columns found: ['when', 'open', 'high', 'low', 'close', 'volume']" in refused(path)


def test_a_dataframe_missing_columns_gets_the_rename_suggestion():
    frame = make_frame(["2020-01-01"]).rename(columns={"volume": "vol"})
    message = refused(frame)
    assert "df.rename(columns={'vol': 'volume'})" in message


# ------------------------------------------------------------------------- day-first dates


@pytest.mark.parametrize(
    ("stamps", "first"),
    [
        (["31/01/2020", "01/02/2020"], JAN_31),
        (["31.01.2020 09:30", "01.02.2020 09:30"], pd.Timestamp("2020-01-31 09:30", tz="UTC")),
        (["31-01-2020 09:30:00", "01-02-2020 09:30:00"], pd.Timestamp("2020-01-31 09:30", tz="UTC")),
    ],
)
def test_dayfirst_dates(make_rows, stamps, first):
    bars = load_bars(make_rows(stamps), dayfirst=True)
    assert bars.index[0] == first and bars.index[1] == first + pd.Timedelta(days=1)


def test_dayfirst_decides_an_ambiguous_date_and_iso_dates_ignore_it(make_rows):
    assert load_bars(make_rows(["01/02/2020"]), dayfirst=True).index[0] == pd.Timestamp("2020-02-01", tz="UTC")
    assert load_bars(make_rows(["01/02/2020"])).index[0] == pd.Timestamp("2020-01-02", tz="UTC")
    assert load_bars(make_rows(["2020-01-02"]), dayfirst=True).index[0] == pd.Timestamp("2020-01-02", tz="UTC")


def test_day_first_dates_read_month_first_suggest_dayfirst(make_rows):
    path = make_rows(["01/02/2020", "13/02/2020"])

    message = refused(path)

    assert "row 3, column 'timestamp', value '13/02/2020'" in message
    assert "dayfirst=True" in message


def test_month_first_dates_read_day_first_suggest_leaving_dayfirst_out(make_rows):
    message = refused(make_rows(["01/02/2020", "01/13/2020"]), dayfirst=True)
    assert "value '01/13/2020'" in message and "leave out dayfirst=True" in message


def test_date_and_time_columns_with_dayfirst(make_csv):
    path = make_csv("31.01.2020,09:30,1,2,0.5,1.5,10\n", header="Date,Time,Open,High,Low,Close,Volume\n")
    assert load_bars(path, dayfirst=True).index[0] == pd.Timestamp("2020-01-31 09:30", tz="UTC")


# ---------------------------------------------------------------------------- epoch numbers


@pytest.mark.parametrize(("unit", "scale"), [("s", 1), ("ms", 10**3), ("us", 10**6), ("ns", 10**9)])
def test_epoch_numbers_in_a_csv_are_read_in_the_unit_their_size_implies(make_rows, unit, scale):
    path = make_rows([str(1577836800 * scale), str(1577836860 * scale)])

    bars = load_bars(path)

    assert list(bars.index) == [EPOCH_2020, EPOCH_2020 + pd.Timedelta(minutes=1)]
    assert bars.attrs["timeframe"] == "1m"


@pytest.mark.parametrize("scale", [1, 10**3, 10**6, 10**9])
def test_integer_epoch_column_of_a_dataframe(scale):
    frame = make_frame([1577836800 * scale, 1577923200 * scale])
    assert list(load_bars(frame).index) == [EPOCH_2020, pd.Timestamp("2020-01-02", tz="UTC")]


def test_epoch_bands_reach_from_1973_to_2262():
    # the smallest second in the seconds band and the largest nanosecond in the nanoseconds band
    low = load_bars(make_frame([10**8])).index[0]
    high = load_bars(make_frame([2**63 - 1])).index[0]
    assert low == pd.Timestamp("1973-03-03 09:46:40", tz="UTC")
    assert high == pd.Timestamp.max.tz_localize("UTC")


def test_fractional_and_nullable_epoch_numbers(make_rows):
    assert load_bars(make_rows(["1577836800.5"])).index[0] == EPOCH_2020 + pd.Timedelta(milliseconds=500)
    frame = make_frame(pd.array([1577836800, 1577836860], dtype="Int64"))
    assert load_bars(frame).index[1] == EPOCH_2020 + pd.Timedelta(minutes=1)


def test_explicit_unit_reads_numbers_outside_the_bands(make_rows):
    assert load_bars(make_rows(["86400"]), unit="s").index[0] == pd.Timestamp("1970-01-02", tz="UTC")
    assert load_bars(make_frame([86_400_000]), unit="ms").index[0] == pd.Timestamp("1970-01-02", tz="UTC")


def test_explicit_unit_overrides_the_size(make_rows):
    # 1577836800 is seconds by its size; told it is milliseconds it is 1970-01-19
    assert load_bars(make_rows(["1577836800"]), unit="ms").index[0] == pd.Timestamp("1970-01-19 06:17:16.8", tz="UTC")


@pytest.mark.parametrize("number", ["15778368000", "86400", "-1577836800", "15778368000000", "15778368000000000"])
def test_a_number_in_no_band_is_refused_naming_row_column_and_value(make_rows, number):
    path = make_rows(["1577836800", number])

    message = refused(path)

    assert f"{path} row 3, column 'timestamp', value {number!r}" in message
    assert "numbers are not dates" in message and "unit=" in message


def test_integer_dates_are_refused_with_the_text_route_that_reads_them():
    frame = make_frame([20200131, 20200201])

    message = refused(frame)
    frame["time"] = frame["time"].astype(str)  # what the message suggests

    assert "DataFrame row 2 (iloc 0), column 'time', value 20200131" in message
    assert "1 more row" in message and "df['time'].astype(str)" in message
    assert load_bars(frame).index[0] == JAN_31


def test_mixed_epoch_units_are_refused(make_rows):
    message = refused(make_rows(["1577836800", "1577836860000"]))
    assert "row 3, column 'timestamp', value '1577836860000'" in message
    assert "milliseconds" in message and "seconds" in message and "row 2" in message
    framed = refused(make_frame([1577836800, 1577836860000]))
    assert "value 1577836860000: milliseconds since the epoch by its size, but row 2 (1577836800) is seconds" in framed


def test_epoch_beyond_what_a_timestamp_holds_is_refused(make_rows):
    message = refused(make_rows(["9999999999"]))
    assert "row 2, column 'timestamp', value '9999999999'" in message and "2262" in message
    assert "2262" in refused(make_frame([10**12]), unit="s")


def test_a_text_row_in_an_epoch_column_is_refused(make_rows):
    message = refused(make_rows(["1577836800", "2020-01-01 00:01"]))
    assert "row 3, column 'timestamp', value '2020-01-01 00:01'" in message


def test_digit_strings_that_read_as_dates_stay_dates(make_rows):
    assert load_bars(make_rows(["20200131"])).index[0] == JAN_31
    assert load_bars(make_rows(["202001310930"])).index[0] == pd.Timestamp("2020-01-31 09:30", tz="UTC")


def test_twelve_digit_milliseconds_that_are_no_date_are_epoch(make_rows):
    # 978307200000 would be the year 9783 as YYYYMMDDHHMM: too late for a timestamp, so milliseconds
    assert load_bars(make_rows(["978307200000"])).index[0] == pd.Timestamp("2001-01-01", tz="UTC")


def test_booleans_are_not_dates():
    assert "value True: True/False is not a date" in refused(make_frame([True, False]))


@pytest.mark.parametrize("unit", ["sec", "m", ""])
def test_unknown_unit_is_refused(make_rows, unit):
    message = refused(make_rows(["1577836800"]), unit=unit)
    assert repr(unit) in message and "'ms'" in message


def test_a_text_date_too_late_for_a_timestamp_is_refused(make_rows):
    message = refused(make_rows(["2020-01-01", "9999-01-01"]))
    assert "row 3, column 'timestamp', value '9999-01-01'" in message


def test_options_reach_every_entry_of_a_dict(make_rows):
    semicolon = make_rows(["31/01/2020"], sep=";", name="a.csv")
    result = load_bars({"A": semicolon, "B": make_frame([1580428800])}, sep=";", dayfirst=True)
    assert result["A"].index[0] == JAN_31 and result["B"].index[0] == JAN_31


# ------------------------------------------------------------------------------ no warnings


ODD_FILES = {
    "dayfirst without the flag": (["31/01/2020", "01/02/2020"], ",", {}),
    "dayfirst with the flag": (["31.01.2020 09:30", "01.02.2020 09:30"], ",", {"dayfirst": True}),
    "month first refused": (["01/02/2020", "13/02/2020"], ",", {}),
    "mixed formats": (["2020-01-01", "01/02/2020"], ",", {}),
    "mixed formats the other way": (["01/02/2020", "2020-01-03"], ",", {}),
    "no inferable format": (["Jan 31st 2020", "Feb 1st 2020"], ",", {}),
    "words": (["yesterday", "today"], ",", {}),
    "semicolons": (["2020-01-01", "2020-01-02"], ";", {"sep": ";"}),
    "semicolons read with commas": (["2020-01-01", "2020-01-02"], ";", {}),
    "epoch seconds": (["1577836800", "1577836860"], ",", {}),
    "epoch milliseconds": (["1577836800000", "1577836860000"], ",", {}),
    "epoch fractions": (["1577836800.25", "1577836860.75"], ",", {}),
    "epoch out of band": (["15778368000", "15778368600"], ",", {}),
    "digits as a date": (["202001310930", "202001310931"], ",", {}),
}


def _load_quietly(make_rows, case: str) -> None:
    times, sep, kwargs = ODD_FILES[case]
    try:
        load_bars(make_rows(times, sep=sep), **kwargs)
    except DataError:
        pass


@pytest.mark.parametrize("case", list(ODD_FILES))
def test_odd_inputs_raise_no_pandas_warnings(make_rows, case):
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        _load_quietly(make_rows, case)
    assert [str(w.message) for w in seen] == []


@pytest.mark.parametrize("case", list(ODD_FILES))
def test_odd_inputs_print_no_tracebacks_when_warnings_are_errors(make_rows, monkeypatch, capfd, case):
    # pandas warns from Cython about day-first guesses; as an error it cannot propagate and
    # Python prints "Exception ignored ... UserWarning" instead
    unraisable: list = []
    monkeypatch.setattr(sys, "unraisablehook", unraisable.append)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _load_quietly(make_rows, case)
    assert unraisable == []
    assert capfd.readouterr().err == ""


def test_an_epoch_dataframe_raises_no_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        bars = load_bars(make_frame([1577836800, 1577836860]))
    assert bars.index[0] == EPOCH_2020


# ---------------------------------------------------------------------------- help and speed


def test_help_documents_the_options_and_the_read_it_yourself_route():
    doc = load_bars.__doc__ or ""
    for text in ("sep", "dayfirst", "unit", "milliseconds", "pd.read_csv(", "load_bars(df", "Examples"):
        assert text in doc


def test_a_semicolon_csv_takes_the_pyarrow_fast_path(tmp_path, monkeypatch):
    path = tmp_path / "SYN.csv"
    synthetic(500, "1min", seed=2).to_csv(path, sep=";")
    calls: list[str] = []
    fast = loader._read_csv_arrow

    def spy(*args, **kwargs):
        frame = fast(*args, **kwargs)
        calls.append("arrow" if frame is not None else "fallback")
        return frame

    monkeypatch.setattr(loader, "_read_csv_arrow", spy)
    bars = load_bars(path, sep=";")
    assert calls == ["arrow"] and len(bars) == 500
