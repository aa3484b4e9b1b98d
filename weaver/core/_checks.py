"""Validation helpers shared by the value objects (private: use the public constructors)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation

from weaver.core.errors import DataError

_ZERO_OFFSET = timedelta(0)


def to_decimal(value: Decimal | int | float | str, field: str = "value") -> Decimal:
    """Convert a number to a finite ``Decimal``, going through ``str`` for floats.

    Parameters
    ----------
    value
        A ``Decimal``, ``int``, ``float`` or numeric string. ``0.1`` becomes
        ``Decimal("0.1")``, not the float's binary expansion.
    field
        Name used in the error message.

    Returns
    -------
    Decimal
        The converted value.

    Raises
    ------
    DataError
        If the value is a bool, not numeric, NaN or infinite.
    """
    if value.__class__ is Decimal:  # the common case, kept cheap: orders and fills are hot
        if value.is_finite():
            return value  # type: ignore[return-value]
        result = value
    elif isinstance(value, Decimal):
        result = value
    elif isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise DataError(f"{field} must be a number, got {type(value).__name__} {value!r}")
    else:
        try:
            result = Decimal(str(value).strip())
        except InvalidOperation:
            raise DataError(f"{field} must be a number, got {value!r}") from None
    if not result.is_finite():
        raise DataError(f"{field} must be finite, got {result}")
    return result


def check_aware(timestamp: datetime, field: str = "timestamp") -> None:
    """Raise ``DataError`` unless ``timestamp`` is a timezone-aware datetime."""
    if timestamp.__class__ is datetime and timestamp.tzinfo is timezone.utc:
        return
    if not isinstance(timestamp, datetime):
        raise DataError(f"{field} must be a datetime, got {type(timestamp).__name__}")
    if timestamp.utcoffset() is None:
        raise DataError(f"{field} {timestamp.isoformat()} is naive; give it a timezone (UTC)")


def check_utc(timestamp: datetime, field: str = "timestamp") -> None:
    """Raise ``DataError`` unless ``timestamp`` is aware with a zero UTC offset."""
    check_aware(timestamp, field)
    if timestamp.utcoffset() != _ZERO_OFFSET:
        raise DataError(f"{field} {timestamp.isoformat()} must be in UTC")
