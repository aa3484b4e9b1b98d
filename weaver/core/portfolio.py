"""Position and portfolio accounting in ``Decimal``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from weaver.core._checks import to_decimal
from weaver.core.enums import OrderSide
from weaver.core.errors import DataError
from weaver.core.fills import Fill

__all__ = ["Account", "Portfolio", "Position"]

_ZERO = Decimal(0)
_BUY = OrderSide.BUY
_COST_QUANTUM = Decimal("1e-12")


def _cost_share(cost: Decimal, closed: Decimal, qty: Decimal) -> Decimal:
    # A partial close removes cost * closed / qty, which may not terminate (1/3). Cut it to
    # 12 decimals so every booked amount is a finite decimal and sums of them stay exact;
    # what is cut stays in the cost basis and is realized when the position closes.
    share = cost * closed / qty
    if share.as_tuple().exponent >= -12:  # type: ignore[operator]
        return share
    return share.quantize(_COST_QUANTUM)


@dataclass(frozen=True, slots=True)
class Account:
    """A broker account snapshot.

    Parameters
    ----------
    cash
        Settled cash.
    equity
        Cash plus the market value of all positions.
    buying_power
        What the broker lets the account spend on new positions.
    """

    cash: Decimal
    equity: Decimal
    buying_power: Decimal


@dataclass(slots=True)
class Position:
    """A signed position in one symbol; it changes only through ``apply(fill)``.

    Parameters
    ----------
    symbol
        The instrument.
    qty
        Signed quantity: positive long, negative short, zero flat.
    avg_price
        Average entry price of the open quantity (0 when flat).
    realized_pnl
        P&L realized by closing trades, before commission.
    commission
        Commission paid by all fills so far.
    cost_basis
        Signed cost of the open quantity (``avg_price * qty`` when opened at
        ``avg_price``); defaults to that product. P&L is computed from it, so realized
        plus unrealized P&L stays exact even when ``avg_price`` is a rounded quotient.
    """

    symbol: str
    qty: Decimal = _ZERO
    avg_price: Decimal = _ZERO
    realized_pnl: Decimal = _ZERO
    commission: Decimal = _ZERO
    cost_basis: Decimal | None = None

    def __post_init__(self) -> None:
        self.qty = to_decimal(self.qty, "qty")
        self.avg_price = to_decimal(self.avg_price, "avg_price")
        self.realized_pnl = to_decimal(self.realized_pnl, "realized_pnl")
        self.commission = to_decimal(self.commission, "commission")
        if self.avg_price < 0:
            raise DataError(f"avg_price {self.avg_price} must be >= 0 ({self.symbol})")
        if self.cost_basis is None:
            self.cost_basis = self.avg_price * self.qty
        else:
            self.cost_basis = to_decimal(self.cost_basis, "cost_basis")

    def __bool__(self) -> bool:
        return self.qty != 0

    @property
    def is_long(self) -> bool:
        """Return whether the position is long."""
        return self.qty > 0

    @property
    def is_short(self) -> bool:
        """Return whether the position is short."""
        return self.qty < 0

    @property
    def side(self) -> OrderSide | None:
        """Return BUY for a long position, SELL for a short one, None when flat."""
        if self.qty > 0:
            return OrderSide.BUY
        if self.qty < 0:
            return OrderSide.SELL
        return None

    def market_value(self, price: Decimal) -> Decimal:
        """Return the signed value of the position at ``price``."""
        return self.qty * price

    def unrealized_pnl(self, price: Decimal) -> Decimal:
        """Return the P&L of closing the open quantity at ``price``."""
        return self.qty * price - self._cost

    @property
    def _cost(self) -> Decimal:
        return self.cost_basis if self.cost_basis is not None else self.avg_price * self.qty

    def apply(self, fill: Fill) -> Decimal:
        """Update the position with a fill and return the P&L that fill realized.

        Adding to a position moves the average price; reducing it realizes
        ``(price - avg_price) * closed_qty`` for a long (the mirror for a short); closing
        to zero resets the average price to 0; crossing zero realizes the closed part
        and opens the rest at the fill price. Commission is accumulated separately and
        not deducted from the realized P&L.

        Parameters
        ----------
        fill
            An execution in this position's symbol.

        Returns
        -------
        Decimal
            The realized P&L of this fill (0 when it only opens or adds).

        Raises
        ------
        DataError
            If the fill is for another symbol.
        """
        if fill.symbol != self.symbol:
            raise DataError(f"fill for {fill.symbol} applied to position in {self.symbol}")
        return self._book(fill.signed_qty, fill.price, fill.commission)

    def _book(self, signed: Decimal, price: Decimal, commission: Decimal) -> Decimal:
        """Book ``signed`` units at ``price``; return the realized P&L (see :meth:`apply`)."""
        # locals and comparisons with a Decimal zero: every fill of a backtest passes here
        if commission:
            self.commission += commission
        qty, cost = self.qty, self.cost_basis
        if cost is None:
            cost = self.avg_price * qty
        if not qty:  # opening from flat: the average is the price (no division)
            self.qty, self.cost_basis, self.avg_price = signed, signed * price, price
            return _ZERO
        if (qty > _ZERO) == (signed > _ZERO):
            qty += signed
            cost = cost + signed * price
            self.qty, self.cost_basis, self.avg_price = qty, cost, cost / qty
            return _ZERO

        held = abs(qty)
        closed = min(abs(signed), held)
        # The closed share of the cost basis; exact when the whole position closes.
        removed = cost if closed == held else _cost_share(cost, closed, held)
        closing = closed if signed > _ZERO else -closed
        realized = -closing * price - removed
        self.realized_pnl += realized
        qty += closing
        cost = cost - removed
        if not qty:
            opening = signed - closing
            cost = opening * price
            self.avg_price = price if opening else _ZERO
            qty = opening
        self.qty, self.cost_basis = qty, cost
        return realized


@dataclass(slots=True)
class Portfolio:
    """Cash plus positions, updated fill by fill.

    Parameters
    ----------
    cash
        Cash balance; fills move it by ``-signed_qty * price - commission``.
    positions
        Positions by symbol, flat ones included once traded.
    """

    cash: Decimal
    positions: dict[str, Position] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.cash = to_decimal(self.cash, "cash")

    def apply(self, fill: Fill) -> Decimal:
        """Book a fill into cash and its position; return the P&L it realized.

        Parameters
        ----------
        fill
            The execution to book.

        Returns
        -------
        Decimal
            The realized P&L of this fill, before commission.
        """
        return self.book(fill.symbol, fill.qty if fill.side is _BUY else -fill.qty, fill.price, fill.commission)

    def book(self, symbol: str, signed: Decimal, price: Decimal, commission: Decimal) -> Decimal:
        """Book ``signed`` units of ``symbol`` (negative: sold) at ``price``; return the realized P&L.

        What :meth:`apply` does with a fill's values, for a caller that has them without one
        (the simulator, per fill). The values must be clean Decimals (a fill checks them).
        """
        position = self.positions.get(symbol)
        if position is None:
            position = self.positions[symbol] = Position(symbol)
        realized = position._book(signed, price, commission)
        self.cash -= signed * price + commission
        return realized

    def position(self, symbol: str) -> Position:
        """Return the position in ``symbol``, or a new flat one (not stored) if none."""
        position = self.positions.get(symbol)
        return position if position is not None else Position(symbol)

    @property
    def realized_pnl(self) -> Decimal:
        """Return the realized P&L of all positions, before commission."""
        return sum((p.realized_pnl for p in self.positions.values()), _ZERO)

    @property
    def commission(self) -> Decimal:
        """Return the commission paid on all fills."""
        return sum((p.commission for p in self.positions.values()), _ZERO)

    def _price(self, prices: Mapping[str, Decimal], position: Position) -> Decimal:
        try:
            return prices[position.symbol]
        except KeyError:
            raise DataError(
                f"no price for open position {position.symbol} (qty {position.qty})"
            ) from None

    def market_value(self, prices: Mapping[str, Decimal]) -> Decimal:
        """Return the signed value of all open positions at ``prices``.

        Raises
        ------
        DataError
            If an open position has no price; flat positions need none.
        """
        return sum(
            (p.market_value(self._price(prices, p)) for p in self.positions.values() if p),
            _ZERO,
        )

    def unrealized_pnl(self, prices: Mapping[str, Decimal]) -> Decimal:
        """Return the unrealized P&L of all open positions at ``prices``.

        Raises
        ------
        DataError
            If an open position has no price.
        """
        return sum(
            (p.unrealized_pnl(self._price(prices, p)) for p in self.positions.values() if p),
            _ZERO,
        )

    def equity(self, prices: Mapping[str, Decimal]) -> Decimal:
        """Return cash plus the value of all open positions at ``prices``.

        Parameters
        ----------
        prices
            Last price by symbol; only open positions need one.

        Raises
        ------
        DataError
            If an open position has no price.
        """
        return self.cash + self.market_value(prices)
