"""Client order ids that a restarted run derives again (DESIGN §7).

A strategy's decision is named by where it was made: the run, the bar and the order's place
among that bar's orders, ``{run_id}-{bar}-{seq}``, e.g. ``bt-20240102T143000Z-1``. An order
placed in a hook (``on_fill``, ``on_order``) is named by the event that called the hook
instead: ``{run_id}-{event}-{seq}``, where ``event`` is the fill's execution id or the order
event (``20240102T143000Z-1.accepted``), and ``seq`` counts the hook's orders. A run that is
restarted and fed the same bars makes the same decisions in the same places, so it derives the
same ids, and a broker that refuses a second order with an id it knows (Alpaca does, the
simulator returns the first) stops a double order. Two decisions never share an id: each
place is one bar, or one event, of one run.

Ids are at most :data:`MAX_LENGTH` characters of ``[A-Za-z0-9._-]`` (Alpaca's limit is 128
characters). A place whose name would not fit, or has other characters (a venue's execution
id may), is named by a hash of it instead.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime, timezone

from weaver.core.errors import ParameterError

__all__ = ["MAX_LENGTH", "MAX_RUN_ID_LENGTH", "BarKeys", "bar_key", "check_run_id", "client_order_id", "event_key"]

#: the longest client order id
MAX_LENGTH = 128
#: the longest run id (it leaves room for the place and the sequence)
MAX_RUN_ID_LENGTH = 48
_SAFE = re.compile(r"[A-Za-z0-9._-]+")
_HASHED = 32  # hex digits of a hashed place


def check_run_id(run_id: str) -> str:
    """Return ``run_id`` if it can prefix client order ids, else raise ``ParameterError`` naming it."""
    if not isinstance(run_id, str) or not _SAFE.fullmatch(run_id) or len(run_id) > MAX_RUN_ID_LENGTH:
        raise ParameterError(
            f"run id {run_id!r} must be 1 to {MAX_RUN_ID_LENGTH} characters of [A-Za-z0-9._-]: "
            "it prefixes the run's client order ids")
    return run_id


def bar_key(ts: datetime) -> str:
    """Return a bar's place in an id: its UTC time in compact ISO 8601, ``20240102T143000Z``.

    Microseconds are kept when the bar has them (``20240102T143000.250000Z``).
    """
    if ts.utcoffset():
        ts = ts.astimezone(timezone.utc)
    stamp = ts.strftime("%Y%m%dT%H%M%S")
    return f"{stamp}.{ts.microsecond:06d}Z" if ts.microsecond else f"{stamp}Z"


class BarKeys:
    """:func:`bar_key`, made faster for a run that names many bars: each day's part is made once.

    A run places its orders on bars in time order, so most bars share a day with an earlier
    one; the time of day comes from a table of two-digit strings. A property test holds it
    equal to :func:`bar_key`. The days it remembers belong to it (at most ``limit``; when full
    it starts again).
    """

    __slots__ = ("days", "limit")

    _TWO = tuple(f"{k:02d}" for k in range(100))

    def __init__(self, limit: int = 1 << 14) -> None:
        self.days: dict[int, str] = {}
        self.limit = limit

    def __call__(self, ts: datetime) -> str:
        """Return ``bar_key(ts)``."""
        if ts.microsecond or ts.tzinfo is not timezone.utc:  # the general path
            return bar_key(ts)
        day = ts.toordinal()
        prefix = self.days.get(day)
        if prefix is None:
            if len(self.days) >= self.limit:
                self.days.clear()
            prefix = self.days[day] = ts.strftime("%Y%m%dT")
        two = self._TWO
        return f"{prefix}{two[ts.hour]}{two[ts.minute]}{two[ts.second]}Z"


def event_key(run_id: str, name: str) -> str:
    """Return an event's place in an id: ``name`` (an execution id, ``{order id}.{event}``) less the run's prefix."""
    prefix = f"{run_id}-"
    return name[len(prefix):] if name.startswith(prefix) else name


def client_order_id(run_id: str, key: str, seq: int) -> str:
    """Return the id of the ``seq``-th order (from 1) placed at ``key`` (a bar's or an event's place) by run ``run_id``.

    The result is at most :data:`MAX_LENGTH` characters of ``[A-Za-z0-9._-]``: a key that
    would not fit, or has other characters, is replaced by ``h`` and a hash of it.
    """
    coid = f"{run_id}-{key}-{seq}"
    if len(coid) <= MAX_LENGTH and _SAFE.fullmatch(key):
        return coid
    digest = hashlib.sha256(key.encode()).hexdigest()[:_HASHED]
    return f"{run_id}-h{digest}-{seq}"
