"""Commission and slippage models for the simulated broker.

Commissions are computed in ``Decimal``. A model charges *per order*: its ``total`` is the fee
for an order's cumulative filled quantity and notional, and the charge for one fill is the
increase of that total. So a minimum (or maximum, or a per-order fee) applies once per order
across all of its partial fills, the way most brokers bill (e.g. a per-share minimum of 1.00
on an order filled 40 + 60 shares is 1.00 in total, not 2.00). Fees are not rounded to cents.

Slippage is a function ``(order, price, bar) -> price`` of plain floats; ``make_slippage``
builds one from ``None``, a number of basis points, or a callable.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Union

if TYPE_CHECKING:
    from weaver.core import Order

    from weaver.sim.bar import BarView

__all__ = [
    "CommissionModel",
    "Combined",
    "FunctionCommission",
    "NoCommission",
    "Percent",
    "PerOrder",
    "PerShare",
    "SlippageFn",
    "make_commission",
    "make_slippage",
]

_ZERO = Decimal(0)

SlippageFn = Callable[["Order", float, "BarView"], float]


def _dec(value: float | int | Decimal | str) -> Decimal:
    """Convert a number to Decimal through its shortest repr (0.001 -> Decimal('0.001'))."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool):
        raise TypeError(f"expected a number, got {value!r}")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, str):
        return Decimal(value)
    # float() first: numpy scalars repr as 'np.float64(...)'
    return Decimal(repr(float(value)))


class CommissionModel:
    """Base of commission models: a fee per order as a function of its cumulative fills.

    Subclasses implement ``total``; ``charge`` derives the fee of one fill from it.
    Models combine with ``+`` into a ``Combined`` model.
    """

    __slots__ = ()

    def total(self, qty: Decimal, notional: Decimal) -> Decimal:
        """Return the fee for an order that has filled ``qty`` shares worth ``notional``."""
        raise NotImplementedError

    def charge(
        self, prev_qty: Decimal, prev_notional: Decimal, qty: Decimal, price: Decimal
    ) -> Decimal:
        """Return the fee for filling ``qty`` at ``price`` after ``prev_qty``/``prev_notional``.

        Parameters
        ----------
        prev_qty, prev_notional
            What this order had filled before this fill (zero on its first fill).
        qty, price
            This fill.
        """
        before = self.total(prev_qty, prev_notional) if prev_qty else _ZERO
        return self.total(prev_qty + qty, prev_notional + qty * price) - before

    def __add__(self, other: object) -> Combined:
        if not isinstance(other, CommissionModel):
            return NotImplemented
        return Combined(self, other)

    def __call__(self, qty: Decimal, price: Decimal) -> Decimal:
        """Return the fee of a single fill that is an order's only fill."""
        return self.charge(_ZERO, _ZERO, _dec(qty), _dec(price))


class NoCommission(CommissionModel):
    """Charge nothing."""

    __slots__ = ()

    def total(self, qty: Decimal, notional: Decimal) -> Decimal:
        """Return zero."""
        return _ZERO

    def charge(
        self, prev_qty: Decimal, prev_notional: Decimal, qty: Decimal, price: Decimal
    ) -> Decimal:
        """Return zero."""
        return _ZERO

    def __repr__(self) -> str:
        return "NoCommission()"


class PerShare(CommissionModel):
    """Charge ``rate`` per share, at least ``minimum`` and at most ``maximum`` per order.

    Parameters
    ----------
    rate
        Fee per share (e.g. 0.005).
    minimum
        Minimum fee per order (charged on the first fill, counted against later fills).
    maximum
        Cap per order, or None for no cap.
    """

    __slots__ = ("rate", "minimum", "maximum")

    def __init__(
        self,
        rate: float | Decimal,
        minimum: float | Decimal = 0,
        maximum: float | Decimal | None = None,
    ) -> None:
        self.rate = _dec(rate)
        self.minimum = _dec(minimum)
        self.maximum = None if maximum is None else _dec(maximum)
        if self.rate < 0 or self.minimum < 0:
            raise ValueError(f"PerShare rate and minimum must be >= 0, got {rate!r}, {minimum!r}")
        if self.maximum is not None and self.maximum < self.minimum:
            raise ValueError(f"PerShare maximum {maximum!r} is below minimum {minimum!r}")

    def total(self, qty: Decimal, notional: Decimal) -> Decimal:
        """Return ``clamp(rate * qty, minimum, maximum)`` for a non-empty order."""
        if not qty:
            return _ZERO
        fee = max(self.rate * abs(qty), self.minimum)
        if self.maximum is not None and fee > self.maximum:
            fee = self.maximum
        return fee

    def __repr__(self) -> str:
        return f"PerShare({self.rate}, minimum={self.minimum}, maximum={self.maximum})"


class Percent(CommissionModel):
    """Charge a fraction of the notional (``0.001`` = 0.1 %), at least ``minimum`` per order."""

    __slots__ = ("rate", "minimum")

    def __init__(self, rate: float | Decimal, minimum: float | Decimal = 0) -> None:
        self.rate = _dec(rate)
        self.minimum = _dec(minimum)
        if self.rate < 0 or self.minimum < 0:
            raise ValueError(f"Percent rate and minimum must be >= 0, got {rate!r}, {minimum!r}")

    def total(self, qty: Decimal, notional: Decimal) -> Decimal:
        """Return ``max(rate * notional, minimum)`` for a non-empty order."""
        if not qty:
            return _ZERO
        return max(self.rate * abs(notional), self.minimum)

    def __repr__(self) -> str:
        return f"Percent({self.rate}, minimum={self.minimum})"


class PerOrder(CommissionModel):
    """Charge a flat ``amount`` once per order, on its first fill."""

    __slots__ = ("amount",)

    def __init__(self, amount: float | Decimal) -> None:
        self.amount = _dec(amount)
        if self.amount < 0:
            raise ValueError(f"PerOrder amount must be >= 0, got {amount!r}")

    def total(self, qty: Decimal, notional: Decimal) -> Decimal:
        """Return ``amount`` once the order has any fill."""
        return self.amount if qty else _ZERO

    def __repr__(self) -> str:
        return f"PerOrder({self.amount})"


class FunctionCommission(CommissionModel):
    """Wrap a plain callable ``(qty, price) -> fee``, called once per fill (no per-order state)."""

    __slots__ = ("fn",)

    def __init__(self, fn: Callable[[Decimal, Decimal], Any]) -> None:
        self.fn = fn

    def total(self, qty: Decimal, notional: Decimal) -> Decimal:
        """Return the fee as if the whole order were one fill at its average price."""
        if not qty:
            return _ZERO
        return _dec(self.fn(qty, notional / qty))

    def charge(
        self, prev_qty: Decimal, prev_notional: Decimal, qty: Decimal, price: Decimal
    ) -> Decimal:
        """Return ``fn(qty, price)`` as a Decimal."""
        return _dec(self.fn(qty, price))

    def __repr__(self) -> str:
        return f"FunctionCommission({self.fn!r})"


class Combined(CommissionModel):
    """Sum several commission models (``Percent(0.001) + PerOrder(1)``)."""

    __slots__ = ("models",)

    def __init__(self, *models: CommissionModel) -> None:
        flat: list[CommissionModel] = []
        for m in models:
            if not isinstance(m, CommissionModel):
                m = make_commission(m)
            flat.extend(m.models if isinstance(m, Combined) else (m,))
        self.models = tuple(flat)

    def total(self, qty: Decimal, notional: Decimal) -> Decimal:
        """Return the sum of the models' totals."""
        return sum((m.total(qty, notional) for m in self.models), _ZERO)

    def charge(
        self, prev_qty: Decimal, prev_notional: Decimal, qty: Decimal, price: Decimal
    ) -> Decimal:
        """Return the sum of the models' charges for this fill."""
        return sum((m.charge(prev_qty, prev_notional, qty, price) for m in self.models), _ZERO)

    def __repr__(self) -> str:
        return " + ".join(map(repr, self.models))


CommissionSpec = Union[None, float, Decimal, CommissionModel, Callable[[Decimal, Decimal], Any]]


def make_commission(spec: CommissionSpec) -> CommissionModel:
    """Build a commission model from a user-facing spec.

    Parameters
    ----------
    spec
        None (no commission), a number (a ``Percent`` rate: 0.001 = 0.1 % of notional),
        a ``CommissionModel``, or a callable ``(qty, price) -> fee`` applied per fill.

    Raises
    ------
    TypeError
        If ``spec`` is none of these.
    """
    if spec is None:
        return NoCommission()
    if isinstance(spec, CommissionModel):
        return spec
    if isinstance(spec, (int, float, Decimal)) and not isinstance(spec, bool):
        return NoCommission() if spec == 0 else Percent(spec)
    if callable(spec):
        return FunctionCommission(spec)
    raise TypeError(
        f"commission must be None, a rate, a CommissionModel or a callable, got {spec!r}"
    )


def make_slippage(spec: None | float | SlippageFn) -> SlippageFn | None:
    """Build a slippage function ``(order, price, bar) -> price`` from a user-facing spec.

    Parameters
    ----------
    spec
        None (no slippage), a number of basis points moved against the order (buys pay
        ``price * (1 + bps / 10_000)``, sells receive ``price * (1 - bps / 10_000)``), or a
        callable ``(order, price, bar) -> adjusted price``. The broker clamps the result
        into the bar's low-high range either way.

    Raises
    ------
    TypeError, ValueError
        If ``spec`` is not one of these, or the bps are negative.
    """
    if spec is None:
        return None
    if isinstance(spec, (int, float, Decimal)) and not isinstance(spec, bool):
        bps = float(spec)
        if bps < 0:
            raise ValueError(f"slippage in bps must be >= 0, got {spec!r}")
        if bps == 0:
            return None
        return _BpsSlippage(bps)
    if callable(spec):
        return spec
    raise TypeError(f"slippage must be None, a number of bps or a callable, got {spec!r}")


class _BpsSlippage:
    """Adverse slippage of a fixed number of basis points."""

    __slots__ = ("bps", "_up", "_down")

    def __init__(self, bps: float) -> None:
        self.bps = bps
        self._up = 1.0 + bps / 10_000.0
        self._down = 1.0 - bps / 10_000.0

    def __call__(self, order: Order, price: float, bar: BarView) -> float:
        return price * (self._up if order.side.sign > 0 else self._down)

    def __repr__(self) -> str:
        return f"make_slippage({self.bps})"
