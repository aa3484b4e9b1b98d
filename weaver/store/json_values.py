"""How the store writes statistics and parameters as JSON, so that they come back exactly.

A run's statistics are a pandas Series of mixed values: floats (NaN and infinities among
them), ints, Timestamps, Timedeltas. JSON holds none of NaN, infinity, a time or a Decimal,
and PostgreSQL's JSONB changes some numbers it does hold: it keeps a number as a decimal, so
``-0.0`` loses its sign and ``1e16`` comes back as the integer ``10000000000000000``. Each
value is therefore written as plain JSON when it survives both dialects unchanged, and as a
one-key object naming its kind otherwise:

==========================  ===================================================================
value                       JSON
==========================  ===================================================================
None, bool, int, str        itself
float in plain notation     itself (``0.1``, ``174300.841``: Python's shortest repr, which
                            JSONB keeps digit for digit)
any other float             ``{"$float": "nan"}``, ``"inf"``, ``"-inf"``, ``"-0.0"``, ``"1e-07"``
Decimal                     ``{"$decimal": "0.10"}``
pandas Timestamp            ``{"$timestamp": "2024-01-02T09:30:00-05:00", "unit": "ns",
                            "tz": "America/New_York"}`` (``tz`` null when naive)
pandas Timedelta            ``{"$timedelta": "P3116DT0H0M0S", "unit": "ns"}`` (ISO 8601)
pandas NaT                  ``{"$nat": null}``
datetime, date              ``{"$datetime": "..."}``, ``{"$date": "2024-01-02"}`` (ISO 8601)
==========================  ===================================================================

Numpy scalars are written as the Python numbers they hold and come back as those. Any other
value (a list, a dict, an object) is refused rather than written as its ``str()``.

A Series is ``{"name": ..., "keys": [...], "values": {key: value}}``: JSONB does not keep
the order of an object's keys, so the order is the ``keys`` list, and ``values`` can still be
queried by key (``stats->'values'->>'sharpe'``).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

from weaver.core.errors import DataError

__all__ = ["decode_items", "decode_mapping", "decode_series", "decode_value", "encode_mapping", "encode_series",
           "encode_value"]


def encode_value(value: Any, where: str = "value") -> Any:
    """Return ``value`` as JSON that :func:`decode_value` turns back into an equal value of its type.

    Raises
    ------
    DataError
        For a value of a kind the encoding does not know; the message names ``where``.
    """
    if value is None or value is True or value is False or isinstance(value, str):
        return value
    if isinstance(value, np.bool_):
        return bool(value)
    if value is pd.NaT:
        return {"$nat": None}
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, Decimal):
        return {"$decimal": str(value)}
    if isinstance(value, numbers.Real):
        number = float(value)
        text = repr(number)
        # plain notation survives JSONB as a decimal with its digits; exponents, -0.0, NaN and
        # the infinities do not (or are not JSON at all)
        if "e" in text or "n" in text or (number == 0 and math.copysign(1, number) < 0):
            return {"$float": text}
        return number
    if isinstance(value, pd.Timestamp):
        return {"$timestamp": value.isoformat(), "unit": value.unit, "tz": None if value.tz is None else str(value.tz)}
    if isinstance(value, pd.Timedelta):
        return {"$timedelta": value.isoformat(), "unit": value.unit}
    if isinstance(value, datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, date):
        return {"$date": value.isoformat()}
    raise DataError(f"{where} = {value!r}: a {type(value).__name__} has no JSON encoding in the store "
                    "(numbers, strings, bools, None, Decimals, times and time spans do)")


def decode_value(data: Any) -> Any:
    """Return the value that :func:`encode_value` wrote as ``data``.

    Raises
    ------
    DataError
        For an object that is not one of the encoding's tagged kinds.
    """
    if not isinstance(data, dict):
        return data
    # JSONB keeps an object's keys in an order of its own: find the tag by its "$"
    tags = [key for key in data if key.startswith("$")]
    tag = tags[0] if len(tags) == 1 else None
    text = data.get(tag) if tag is not None else None
    if tag == "$float":
        return float(text)
    if tag == "$timestamp":
        stamp = pd.Timestamp(text)
        if data["tz"] is not None:
            stamp = stamp.tz_convert(data["tz"])
        return stamp.as_unit(data["unit"])
    if tag == "$timedelta":
        return pd.Timedelta(text).as_unit(data["unit"])
    if tag == "$nat":
        return pd.NaT
    if tag == "$decimal":
        return Decimal(text)
    if tag == "$datetime":
        return datetime.fromisoformat(text)
    if tag == "$date":
        return date.fromisoformat(text)
    raise DataError(f"the stored JSON value {data!r} is of no known kind ({tag or tags!r}); "
                    "see weaver.store.json_values for the encoding")


def encode_mapping(values: Mapping[str, Any], what: str) -> dict[str, Any]:
    """Return ``{key: encode_value(value)}`` of a mapping with string keys (``what`` names it in errors)."""
    encoded = {}
    for key, value in values.items():
        if not isinstance(key, str):
            raise DataError(f"{what} key {key!r}: the store keeps string keys only")
        encoded[key] = encode_value(value, f"{what}[{key!r}]")
    return encoded


def decode_mapping(data: Mapping[str, Any]) -> dict[str, Any]:
    """Return the mapping that :func:`encode_mapping` wrote as ``data``."""
    return {key: decode_value(value) for key, value in data.items()}


def encode_series(series: pd.Series, what: str) -> dict[str, Any]:
    """Return a Series of values keyed by unique strings as ``{"name", "keys", "values"}``.

    Raises
    ------
    DataError
        For a key that is not a string or appears twice, or a value without an encoding;
        the message names ``what`` and the key.
    """
    keys = list(series.index)
    if len(set(keys)) != len(keys):
        twice = sorted({k for k in keys if keys.count(k) > 1}, key=str)
        raise DataError(f"{what} has the keys {twice} more than once; the store keeps each key once")
    values = encode_mapping(dict(zip(keys, series.tolist(), strict=True)), what)
    name = series.name
    if name is not None and not isinstance(name, str):
        raise DataError(f"{what} is named {name!r}; the store keeps a string name or none")
    return {"name": name, "keys": keys, "values": values}


def decode_items(data: Mapping[str, Any]) -> dict[str, Any]:
    """Return the values of the Series that :func:`encode_series` wrote as ``data``, by key, in its order.

    What :func:`decode_series` holds, without building a Series (a tenth of the time: the API
    reads the statistics of every run on a page this way).
    """
    values = data["values"]
    return {key: decode_value(values[key]) for key in data["keys"]}


def decode_series(data: Mapping[str, Any]) -> pd.Series:
    """Return the Series (of dtype object) that :func:`encode_series` wrote as ``data``."""
    items = decode_items(data)
    return pd.Series(list(items.values()), index=pd.Index(list(items)), name=data["name"], dtype=object)
