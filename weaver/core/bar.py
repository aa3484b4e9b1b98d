"""The OHLCV bar."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from weaver.core._checks import check_utc, to_decimal
from weaver.core.errors import DataError

__all__ = ["Bar"]

_PRICE_FIELDS = ("open", "high", "low", "close")


@dataclass(frozen=True, slots=True)
class Bar:
    """One OHLCV bar of a symbol, stamped with its open time in UTC.

    Numeric fields given as ``int``, ``float`` or ``str`` are converted to ``Decimal``.

    Raises
    ------
    DataError
        If the timestamp is naive or not UTC, a price is not positive, ``high < low``,
        ``open`` or ``close`` lies outside ``[low, high]``, or the volume is negative.
        The message names the field, its value, the symbol and the timestamp.
    """

    symbol: str
    timestamp: datetime
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal

    def __post_init__(self) -> None:
        try:
            self._validate()
        except DataError as err:
            raise DataError(f"{err} in bar {self.symbol!r} at {self._where()}") from None

    def _where(self) -> str:
        ts = self.timestamp
        return ts.isoformat() if isinstance(ts, datetime) else repr(ts)

    def _validate(self) -> None:
        if not isinstance(self.symbol, str) or not self.symbol:
            raise DataError(f"symbol must be a non-empty string, got {self.symbol!r}")
        check_utc(self.timestamp)
        for name in (*_PRICE_FIELDS, "volume"):
            value = getattr(self, name)
            if not isinstance(value, Decimal):
                object.__setattr__(self, name, to_decimal(value, name))
        for name in _PRICE_FIELDS:
            value = getattr(self, name)
            if value <= 0:
                raise DataError(f"{name} {value} must be > 0")
        if self.high < self.low:
            raise DataError(f"high {self.high} is below low {self.low}")
        for name in ("open", "close"):
            value = getattr(self, name)
            if not self.low <= value <= self.high:
                raise DataError(
                    f"{name} {value} is outside [low, high] = [{self.low}, {self.high}]"
                )
        if self.volume < 0:
            raise DataError(f"volume {self.volume} must be >= 0")

    @classmethod
    def of(
        cls,
        symbol: str,
        timestamp: datetime,
        open: Decimal | int | float | str,
        high: Decimal | int | float | str,
        low: Decimal | int | float | str,
        close: Decimal | int | float | str,
        volume: Decimal | int | float | str = 0,
    ) -> Bar:
        """Build a bar from plain numbers, converting each through ``Decimal(str(x))``.

        Parameters
        ----------
        symbol, timestamp
            The instrument and the bar's open time (timezone-aware, UTC).
        open, high, low, close, volume
            Numbers as ``Decimal``, ``int``, ``float`` or numeric strings.

        Returns
        -------
        Bar
            The validated bar.
        """
        # __post_init__ converts, so conversion errors carry the symbol and timestamp.
        return cls(symbol, timestamp, open, high, low, close, volume)  # type: ignore[arg-type]
