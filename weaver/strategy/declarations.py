"""Keys for indicator declarations, so that the same declaration is recognised when it comes back.

A sweep declares the same indicators over and over (``sma(close, 20)`` in every combination
whose window is 20). Two declarations are the same when they call the same function object on
the same number of bars with the same read-only arrays (the engine's bars are; a writable
array could have changed in place) and equal plain values (numbers, strings, tuples of them).
Anything else (a list, a writable array, a pandas object, a line) has no key.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from fractions import Fraction
from typing import Any

import numpy as np

_PLAIN = (int, float, complex, str, bytes, bool, type(None), Decimal, Fraction, np.number, np.bool_)


class _Unkeyed(Exception):
    pass


def declaration_key(func: Callable[..., Any], args: tuple, kwargs: dict[str, Any], n: int) -> tuple | None:
    """Return a key standing for ``func(*args, **kwargs)`` on ``n`` bars, or None if it has none.

    The key holds ids, of the function and of each array (:func:`keyed_arrays`), and keeps
    none of them alive: a key is good only while they live (an id can be reused after).
    """
    try:
        key = (id(func), n, tuple(_token(a) for a in args),
               tuple(sorted((k, _token(v)) for k, v in kwargs.items())))
        hash(key)
    except (_Unkeyed, TypeError):  # TypeError: an unhashable plain value
        return None
    return key


def keyed_arrays(args: tuple, kwargs: dict[str, Any]) -> list[np.ndarray]:
    """Return the arrays a declaration's key holds by identity, in the key's order."""
    return _arrays_in((*args, *(kwargs[k] for k in sorted(kwargs))))


def _token(value: Any) -> tuple:
    if isinstance(value, np.ndarray):
        if value.flags.writeable:  # could be changed in place between two runs
            raise _Unkeyed
        return ("array", id(value))
    if isinstance(value, _PLAIN):
        return (type(value), value)
    if type(value) is tuple:
        return (tuple, tuple(_token(v) for v in value))
    raise _Unkeyed


def _arrays_in(values: Any) -> list[np.ndarray]:
    out: list[np.ndarray] = []
    for v in values:
        if isinstance(v, np.ndarray):
            out.append(v)
        elif type(v) is tuple:
            out.extend(_arrays_in(v))
    return out
