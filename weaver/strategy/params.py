"""Typed strategy parameters: declared as annotated class attributes, checked before any bar runs."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

import numpy as np

from weaver.core.errors import ParameterError

_SUPPORTED = (bool, int, float, str)


@dataclass(frozen=True, slots=True)
class Param:
    """A strategy parameter: its type, default and optional bounds for widgets and sweeps.

    Declare one with :func:`param`; a plain ``fast: int = 10`` becomes ``Param(int, 10)``.
    """

    type: type
    default: Any
    low: float | None = None
    high: float | None = None
    step: float | None = None
    doc: str = ""
    name: str = ""

    @property
    def type_name(self) -> str:
        """Return the parameter's type as it reads in an error message."""
        return self.type.__name__

    @property
    def choices(self) -> list[Any] | None:
        """Return the allowed values of an enum parameter, else None."""
        return list(self.type) if issubclass(self.type, enum.Enum) else None

    def coerce(self, value: Any, *, owner: str) -> Any:
        """Check ``value`` against the type and bounds; return it in the parameter's type.

        Only lossless conversions are made: an int for a float, an enum's value or name for
        the enum member, and a numpy scalar (as ``np.arange`` gives) for the Python value it
        holds. Anything else raises :class:`ParameterError`.
        """
        given = value
        if isinstance(value, np.generic):  # np.int64(5) -> 5, np.bool_(True) -> True
            value = value.item()
        t = self.type
        ok: Any
        if t is bool:
            ok = value if isinstance(value, bool) else None
        elif t is int:
            ok = value if isinstance(value, int) and not isinstance(value, bool) else None
        elif t is float:
            ok = float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
        elif t is str:
            ok = str(value) if isinstance(value, str) else None
        else:  # an Enum
            ok = _enum_member(t, value)
        if ok is None:
            raise ParameterError(
                f"{owner}.{self.name} must be {self.type_name}, got {value!r} ({type(given).__name__})"
            )
        if self.low is not None and ok < self.low or self.high is not None and ok > self.high:
            raise ParameterError(
                f"{owner}.{self.name}={ok!r} is outside its bounds [{self.low}, {self.high}]"
            )
        return ok


def _enum_member(t: type[enum.Enum], value: Any) -> enum.Enum | None:
    if isinstance(value, t):
        return value
    for member in t:
        if value == member.value or value == member.name:
            return member
    return None


def param(
    default: Any,
    *,
    low: float | None = None,
    high: float | None = None,
    step: float | None = None,
    doc: str = "",
) -> Any:
    """Declare a strategy parameter with bounds, e.g. ``fast: int = param(10, low=2, high=100)``.

    Parameters
    ----------
    default
        The value used when the caller does not give one.
    low, high
        Inclusive bounds; values outside raise :class:`ParameterError`. Widgets use them for
        slider ranges.
    step
        The widget step.
    doc
        A one-line description shown next to the control.
    """
    return Param(type(default), default, low, high, step, doc)


def collect_params(cls: type, annotations: dict[str, Any], namespace: dict[str, Any]) -> dict[str, Param]:
    """Build the :class:`Param` table of a strategy class from its annotated attributes."""
    found: dict[str, Param] = {}
    for name, hint in annotations.items():
        if name.startswith("_") or name not in namespace:
            continue
        value = namespace[name]
        declared = _resolve_type(hint, cls)
        if isinstance(value, Param):
            p = Param(declared or value.type, value.default, value.low, value.high, value.step, value.doc, name)
        else:
            p = Param(declared or type(value), value, name=name)
        if not (p.type in _SUPPORTED or issubclass(p.type, enum.Enum)):
            raise ParameterError(
                f"{cls.__name__}.{name}: parameter type {p.type!r} is not supported; "
                "use int, float, bool, str or an Enum"
            )
        found[name] = Param(p.type, p.coerce(p.default, owner=cls.__name__), p.low, p.high, p.step, p.doc, name)
    return found


def _resolve_type(hint: Any, cls: type) -> type | None:
    if isinstance(hint, type):
        return hint
    if isinstance(hint, str):  # from __future__ import annotations
        import sys

        module = sys.modules.get(cls.__module__)
        scope = {"int": int, "float": float, "bool": bool, "str": str, **vars(module or object())}
        try:
            resolved = eval(hint, scope)  # noqa: S307 - class annotations written by the strategy's author
        except Exception:
            return None
        return resolved if isinstance(resolved, type) else None
    return None
