"""``RunConfig``: the options of a run, apart from the strategy's own parameters.

A run is a strategy class, its parameters, bars, and these options: the account it starts
with, what trading costs, how orders fill, and what is checked. Every entry point
(``wv.backtest``, ``wv.rehearse``, ``wv.sweep``, ``wv.walk_forward``, ``wv.explore``) takes
them as keywords, or as one ``config=RunConfig(...)``; a run's result carries the
``RunConfig`` it ran with next to its ``params``, so a run is described by the two.

The options that are plain values (numbers, flags, strings) persist as plain JSON values
(:meth:`RunConfig.to_dict`, :meth:`RunConfig.from_dict`). A model object (a commission model,
a slippage function, a fill model) cannot be written as data: ``to_dict`` names it, and
``from_dict`` needs it given again.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol, runtime_checkable

from weaver.core.errors import ParameterError

__all__ = ["FillModelLike", "RunConfig"]


@runtime_checkable
class FillModelLike(Protocol):
    """What a fill model offers the simulated broker (``weaver.sim.FillModel`` and its subclasses)."""

    def match(self, order: Any, bar: Any, capacity: Decimal | None = None) -> Any:
        """Return how much of ``order`` fills on ``bar`` and at what price, or None."""
        ...


#: a commission: a rate of notional, a model (``weaver.sim.PerShare`` …) or ``f(qty, price) -> fee``
Commission = float | Decimal | Callable[..., Any] | None
#: slippage: basis points against the order, or ``f(order, price, bar) -> price``
Slippage = float | Decimal | Callable[..., Any] | None
#: the first bar that trades: a bar position or a time
Start = int | str | date | None

_Money = Decimal | int | float | str


def _option(default: Any, accepts: Any, doc: str) -> Any:
    """Declare a field: its default, what a caller may pass for it, and its one-paragraph doc."""
    return field(default=default, metadata={"accepts": accepts, "doc": doc})


@dataclass(frozen=True, slots=True)
class RunConfig:
    """The options of a run: account, costs, fills and checks, apart from the strategy's parameters.

    Every option has the default that ``wv.backtest`` uses, and every entry point takes each
    of them as a keyword too. Values are checked here, once, and converted: amounts become
    exact ``Decimal``\\s (a float through its shortest repr, so ``0.1`` is ``Decimal("0.1")``),
    a time for ``start`` becomes its ISO string. ``dataclasses.replace(config, cash=...)``
    (or :meth:`replace`) makes a changed copy, checked again.

    Attributes
    ----------
    cash
        The starting cash.
    commission, slippage
        Trading costs (see the fields' docs in ``help(wv.backtest)``).
    fill_model, seed
        How orders fill, and the seed of the random numbers a fill model draws.
    participation, allow_short, fractional, margin
        What the simulated broker allows.
    session_tz, start, lookahead_check
        Where sessions end, the first bar that trades, and the look-ahead guard.

    Raises
    ------
    ParameterError
        For a value an option does not take, naming the option and the value.

    Examples
    --------
    >>> config = RunConfig(cash=50_000, commission=0.001)
    >>> config.cash
    Decimal('50000')
    >>> RunConfig.from_dict(config.to_dict()) == config
    True
    """

    cash: Decimal = _option(
        Decimal(100_000), _Money,
        "The starting cash (> 0). A float is taken at its shortest repr (``0.1`` is 0.1 exactly), a "
        "string as written.")
    commission: Commission = _option(
        None, Commission,
        "None, a rate of notional (``0.001`` = 0.1 %), a model from :mod:`weaver.sim` (``PerShare``, "
        "``Percent``, ``PerOrder``, combined with ``+``) or ``f(qty, price) -> fee``.")
    slippage: Slippage = _option(
        None, Slippage,
        "None, basis points against the order (``5``), or ``f(order, price, bar) -> price``; applied "
        "to market and stop fills by the default fill model, never past a limit or outside the bar.")
    fill_model: FillModelLike | None = _option(
        None, FillModelLike | None,
        "None for the default rules (market orders at the next open, DESIGN §4), or a fill model "
        "such as :class:`~weaver.sim.RandomSlippageFillModel`. Give a model its own slippage, not "
        "``slippage=``.")
    seed: int | None = _option(
        None, int | None,
        "The seed of the ``numpy.random.Generator`` each run gives its fill model, so a model that "
        "draws random numbers draws the same ones in every run with this seed. None: the model "
        "keeps the generator it was made with. Never a global seed.")
    participation: float | None = _option(
        None, float | None,
        "At most this fraction (0 < p <= 1) of a bar's volume fills per bar and symbol; the rest "
        "keeps working. None: no volume limit.")
    allow_short: bool = _option(True, bool, "Allow sales that take a position below zero.")
    fractional: bool = _option(
        False, bool, "Allow fractional quantities (a ``size`` becomes units to 1e-8, not whole units).")
    margin: Decimal = _option(
        Decimal(1), _Money,
        "The buying-power multiplier (>= 1): a buy may spend ``cash + (margin - 1) * equity``. 1 "
        "(the default) is a cash account; 2 is Reg T's overnight margin.")
    session_tz: str = _option(
        "America/New_York", str, "The exchange's time zone, where sessions (and day orders) end.")
    start: int | str | None = _option(
        None, Start,
        "The first bar that trades: a bar position, or a time (``\"2010-01-01\"``, a datetime; a naive "
        "one is UTC). The bars before it only warm the indicators up, and the result covers the bars "
        "from it on. None: the first bar.")
    lookahead_check: bool = _option(
        True, bool, "Refuse indicators whose values depend on later bars (the always-on guard).")

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            checked = _CHECKS[f.name](f.name, value)
            if checked is not value:
                object.__setattr__(self, f.name, checked)
        if self.fill_model is not None and self.slippage is not None:
            raise ParameterError(
                f"run options fill_model={_describe(self.fill_model)} and slippage={self.slippage!r}: slippage= "
                "applies to the default fill model; give it to your model instead (FillModel(slippage=...))")

    # -- changed copies ---------------------------------------------------------------------

    def replace(self, **changes: Any) -> RunConfig:
        """Return a copy with ``changes`` (checked as the constructor checks them)."""
        return dataclasses.replace(self, **changes)

    # -- as plain data --------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """Return every option as a plain JSON value, in the fields' order.

        Amounts (``Decimal``) become strings, exactly as they are; numbers, flags, strings
        and None stay as they are. An object (a commission model, a slippage function, a
        fill model) cannot be written as data: it becomes ``{"object": "module.Name"}``,
        with ``"repr"`` when its class has a repr of its own, and :meth:`from_dict` must be
        given it again.
        """
        return {f.name: _plain(getattr(self, f.name)) for f in dataclasses.fields(self)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], **objects: Any) -> RunConfig:
        """Return the config that :meth:`to_dict` wrote as ``data``; missing keys take the defaults.

        Parameters
        ----------
        data
            Option name -> plain value, as :meth:`to_dict` returns it.
        **objects
            Values that replace entries of ``data``: the objects ``to_dict`` could only
            name (``fill_model=model``).

        Raises
        ------
        ParameterError
            For a key that is no option, an object that is only named in ``data`` and not
            given in ``objects``, or a value the option does not take.
        """
        names = [f.name for f in dataclasses.fields(cls)]
        unknown = [k for k in (*data, *objects) if k not in names]
        if unknown:
            raise ParameterError(unknown_options(unknown, names))
        values = {**data, **objects}
        named = {k: v["object"] for k, v in values.items() if isinstance(v, Mapping) and "object" in v}
        if named:
            listed = ", ".join(f"{k} (the object {v})" for k, v in named.items())
            again = ", ".join(f"{k}=..." for k in named)
            raise ParameterError(f"run options {listed} cannot be read back from data: give them again, "
                                 f"RunConfig.from_dict(data, {again})")
        return cls(**values)


def unknown_options(unknown: list[str], known: list[str], what: str = "a run option") -> str:
    """Return the message for names that are no option: each named, with the closest known name."""
    import difflib

    parts = []
    for name in unknown:
        close = difflib.get_close_matches(name, known, n=1)
        parts.append(f"{name!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
    return f"{', '.join(parts)} {'is' if len(unknown) == 1 else 'are'} not {what}; the run options are: {', '.join(known)}"


# -- checks: each returns the value as stored, or raises naming the option and the value ----


def _refuse(name: str, value: Any, why: str) -> ParameterError:
    return ParameterError(f"run option {name}={value!r}: {why}")


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real | Decimal) and not isinstance(value, bool)


def _decimal(name: str, value: Any) -> Decimal:
    """Convert an amount exactly: a Decimal as is, an int exactly, a float at its shortest repr, a string as written."""
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, bool) or not isinstance(value, numbers.Real | str):
        raise _refuse(name, value, "must be a number (a Decimal, int, float or numeric string)")
    elif isinstance(value, numbers.Integral):
        result = Decimal(int(value))
    elif isinstance(value, str):
        try:
            result = Decimal(value.strip())
        except InvalidOperation:
            raise _refuse(name, value, "must be a number (a Decimal, int, float or numeric string)") from None
    else:
        result = Decimal(repr(float(value)))  # float(): a numpy scalar's repr is 'np.float64(...)'
    if not result.is_finite():
        raise _refuse(name, value, "must be a finite number")
    return result


def _check_cash(name: str, value: Any) -> Decimal:
    amount = _decimal(name, value)
    if amount <= 0:
        raise _refuse(name, value, "the starting cash must be > 0")
    return amount


def _check_margin(name: str, value: Any) -> Decimal:
    amount = _decimal(name, value)
    if amount < 1:
        raise _refuse(name, value, "the buying-power multiplier must be >= 1 (1: a cash account)")
    return amount


def _check_cost(name: str, value: Any) -> Any:
    """A commission or slippage: None, a number >= 0 (a numeric string becomes a Decimal), or a callable."""
    if value is None or callable(value):
        return value
    if isinstance(value, str):
        try:
            value = Decimal(value.strip())
        except InvalidOperation:
            raise _refuse(name, value, "must be None, a number >= 0 or a callable") from None
    if not _is_number(value):
        raise _refuse(name, value, "must be None, a number >= 0 or a callable (a model from weaver.sim)")
    if not (math.isfinite(value) and value >= 0):
        raise _refuse(name, value, "must be >= 0 and finite")
    if value.__class__ not in (int, float, Decimal):  # a numpy scalar: the Python number it holds
        value = int(value) if isinstance(value, numbers.Integral) else float(value)
    return value


def _check_fill_model(name: str, value: Any) -> Any:
    if value is None or callable(getattr(value, "match", None)):
        return value
    raise _refuse(name, value, "must be None or a fill model (weaver.sim.FillModel or a subclass)")


def _check_seed(name: str, value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise _refuse(name, value, "must be None or a whole number >= 0")
    return int(value)


def _check_participation(name: str, value: Any) -> float | None:
    if value is None:
        return None
    if not _is_number(value) or not 0 < value <= 1:  # also NaN
        raise _refuse(name, value, "must be None or a fraction of the bar's volume, 0 < participation <= 1")
    return value if value.__class__ is float else float(value)


def _check_flag(name: str, value: Any) -> bool:
    if value is True or value is False:
        return value
    raise _refuse(name, value, "must be True or False")


def _check_zone(name: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _refuse(name, value, "must be a time zone name such as 'America/New_York'")
    import zoneinfo

    try:  # the zone database pandas reads too, so a name it finds is one the engine finds
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise _refuse(name, value, "no such time zone; use an IANA name such as 'America/New_York' or 'UTC'") from None
    return value


def _check_start(name: str, value: Any) -> int | str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, date):  # a datetime or a date (a pandas Timestamp too): its ISO string
        return value.isoformat()
    if type(value).__name__ == "datetime64":  # numpy's, as an index's .values holds: its ISO string
        return str(value)
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise _refuse(name, value, "must be a bar position (an int >= 0) or a time (a string or a datetime)")
    if value < 0:
        raise _refuse(name, value, "a bar position counts from 0, the first bar")
    return int(value)


_CHECKS: dict[str, Callable[[str, Any], Any]] = {
    "cash": _check_cash,
    "commission": _check_cost,
    "slippage": _check_cost,
    "fill_model": _check_fill_model,
    "seed": _check_seed,
    "participation": _check_participation,
    "allow_short": _check_flag,
    "fractional": _check_flag,
    "margin": _check_margin,
    "session_tz": _check_zone,
    "start": _check_start,
    "lookahead_check": _check_flag,
}


# -- as data ------------------------------------------------------------------------------


def _describe(value: Any) -> str:
    """Return ``module.Name`` of a function or class, or of an object's class."""
    target = value if isinstance(value, type) or hasattr(value, "__qualname__") else type(value)
    return f"{getattr(target, '__module__', '?')}.{getattr(target, '__qualname__', type(target).__name__)}"


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Decimal):
        return str(value)
    described: dict[str, str] = {"object": _describe(value)}
    cls = type(value)
    if not hasattr(value, "__qualname__") and cls.__repr__ is not object.__repr__:
        described["repr"] = repr(value)
    return described
